"""One error language: every error a client can provoke is Chinese, with a stable English
code and ``details`` as ``{field: [messages]}`` — walked over the whole OpenAPI document.

For every operation the test sends what a careless or hostile client sends: no token,
the wrong role's token, malformed query parameters, an empty and a wrong JSON body,
unknown ids in the path, a method the path does not take.  Every error answer must be
the one shape, its message and every field message written in Chinese, and no English
framework sentence ("Not a valid date.", "The requested URL was not found…") anywhere.
Pages answer browsers in HTML.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

CJK = re.compile(r"[\u3400-\u9fff]")
#: Two English words in a row: the mark of a framework sentence (field names, codes and
#: example values such as ``Authorization: Bearer`` are single tokens or quoted).
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}\s+[a-z]{2,}\b")
UNKNOWN_USCC = "91110000000000000A"  # well formed? no: fails its check character
VALID_UNKNOWN_USCC = "914403054JURQ2830R"


def _english(text: str) -> bool:
    """An English sentence in ``text`` (allowing the HTTP header example in the 401)."""
    return bool(ENGLISH_SENTENCE.search(text.replace("Authorization: Bearer", "")))


def _check_error(resp: Any, where: str) -> str:
    body = resp.get_json(silent=True)
    assert body is not None, f"{where}: {resp.status_code} is not JSON: {resp.data[:200]!r}"
    assert set(body) == {"error"}, f"{where}: {body}"
    error = body["error"]
    assert set(error) <= {"code", "message", "details", "context"}, f"{where}: {error}"
    assert re.fullmatch(r"[a-z_]+", error["code"]), f"{where}: code {error['code']!r}"
    message = error["message"]
    assert CJK.search(message), f"{where}: message not Chinese: {message!r}"
    assert not _english(message), f"{where}: English in message: {message!r}"
    details = error["details"]
    assert isinstance(details, dict), f"{where}: details {details!r}"
    for field, messages in details.items():
        assert isinstance(field, str), f"{where}: {details}"
        assert isinstance(messages, list), f"{where}: {field}: {messages!r}"
        assert messages, f"{where}: {field}: no message"
        for text in messages:
            assert isinstance(text, str), f"{where}: {field}: {text!r}"
            assert CJK.search(text), f"{where}: {field}: not Chinese: {text!r}"
            assert not _english(text), f"{where}: {field}: English: {text!r}"
    return error["code"]


def _path_values(path: str, value: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "uscc":
            return VALID_UNKNOWN_USCC
        if name == "list_type":
            return "no_such_list"
        if name == "receipt":
            return "R" * 20
        return value

    return re.sub(r"\{(\w+)\}", one, path)


def _bad_query(params: list[dict[str, Any]]) -> dict[str, str]:
    bad: dict[str, str] = {}
    for param in params:
        if param["in"] != "query":
            continue
        schema = param.get("schema", {})
        kind, fmt = schema.get("type"), schema.get("format")
        if kind == "integer":
            bad[param["name"]] = "abc"
        elif fmt == "date":
            bad[param["name"]] = "2026-13-45"
        elif kind == "boolean":
            bad[param["name"]] = "perhaps"
        elif "enum" in schema:
            bad[param["name"]] = "no-such-value"
    return bad


@pytest.fixture
def tokens(factory, authority):
    regulator = factory.token("regulator", authority)
    department = factory.token("department", None, name="市财政局政府采购处")
    admin = factory.token("admin", None, name="运维")
    factory.commit()
    return {"regulator": regulator, "department": department, "admin": admin}


def test_every_error_the_openapi_document_promises_is_chinese(client, tokens):
    spec = client.get("/api/v1/openapi.json").get_json()
    seen: Counter[int] = Counter()
    operations = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            operations += 1
            params = op.get("parameters", [])
            url = _path_values(path, "999999")
            send = getattr(client, method)
            attempts: list[tuple[str, dict[str, Any]]] = []
            bad_query = _bad_query(params)
            for role in (None, "department", "regulator", "admin"):
                headers = {} if role is None else tokens[role].headers
                attempts.append((f"{role} plain", {"headers": headers}))
                if bad_query:
                    attempts.append(
                        (f"{role} bad query", {"headers": headers, "query_string": bad_query})
                    )
                if "requestBody" in op:
                    for body in ({}, {"unexpected": 1}, [1, 2], "text"):
                        attempts.append(
                            (f"{role} body {body!r}", {"headers": headers, "json": body})
                        )
                    attempts.append(
                        (
                            f"{role} broken json",
                            {
                                "headers": headers,
                                "data": b"{not json",
                                "content_type": "application/json",
                            },
                        )
                    )
            for label, kwargs in attempts:
                resp = send(url, **kwargs)
                if resp.status_code >= 400:
                    _check_error(resp, f"{method.upper()} {path} [{label}]")
                    seen[resp.status_code] += 1
            other = "patch" if method != "patch" else "put"
            resp = getattr(client, other)(url)
            if resp.status_code >= 400:
                _check_error(resp, f"{other.upper()} {path}")
                seen[resp.status_code] += 1
    assert operations >= 50
    # the walk reached every kind of error a client can provoke without data
    for status in (400, 401, 403, 404, 405, 422):
        assert seen[status] > 0, f"no {status} provoked: {dict(seen)}"


def test_the_documented_error_examples_are_chinese(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    checked = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            for status, response in op.get("responses", {}).items():
                if not status.isdigit() or int(status) < 400:
                    continue
                assert CJK.search(response.get("description", "")), (
                    f"{method.upper()} {path} {status}: {response.get('description')!r}"
                )
                for media in response.get("content", {}).values():
                    example = media.get("example")
                    if example is None:
                        continue
                    error = example["error"]
                    assert CJK.search(error["message"]), f"{path} {status}: {error}"
                    for messages in error["details"].values():
                        assert all(CJK.search(m) for m in messages), f"{path} {status}"
                    checked += 1
    assert checked > 100


def test_framework_messages_become_chinese_field_lists(client, tokens):
    resp = client.get(
        f"/api/v1/sanctions/{VALID_UNKNOWN_USCC}",
        query_string={"as_of": "2026-02-30", "scenario": "x" * 500},
        headers=tokens["department"].headers,
    )
    assert resp.status_code == 422
    details = resp.get_json()["error"]["details"]
    assert details["as_of"] == ["日期无效，应为 YYYY-MM-DD，如 2026-11-29"]
    resp = client.post(
        "/api/v1/sanctions/check",
        json={"codes": "914403054JURQ2830R", "colour": "red"},
        headers=tokens["department"].headers,
    )
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"] == {"codes": ["应为列表"], "colour": ["未知字段"]}


def test_a_domain_error_names_its_field_and_keeps_its_facts_apart(client, tokens):
    resp = client.get("/api/v1/public/entities/91440300ABC")
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["details"] == {"uscc": ["统一社会信用代码应为18位，实际为11位"]}
    assert error["context"] == {"check": "length"}


def test_pages_answer_browsers_in_html(client):
    for url in ("/no-such-page", "/lists/no_such_list/extra/parts"):
        resp = client.get(url, headers={"Accept": "text/html,application/xhtml+xml"})
        assert resp.status_code == 404
        assert resp.mimetype == "text/html"
        text = resp.get_data(as_text=True)
        assert "页面不存在" in text
        assert "The requested URL" not in text
    api = client.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert api.status_code == 404
    assert api.mimetype == "application/json"
    assert _check_error(api, "GET /api/v1/no-such-thing") == "not_found"
    wrong_method = client.delete("/search", headers={"Accept": "text/html"})
    assert wrong_method.status_code == 405
    assert wrong_method.mimetype == "text/html"
    assert "请求方式不受支持" in wrong_method.get_data(as_text=True)


def test_the_answers_a_walk_without_data_cannot_provoke_are_chinese_too(
    client, make_client, tokens, factory
):
    """What the walk above does not send: a body of the wrong media type to every
    operation that takes one (415), an upload over the limit (413), a client over its
    limit (429), and a path the API does not have under every prefix (404)."""
    spec = client.get("/api/v1/openapi.json").get_json()
    seen: Counter[int] = Counter()
    bodies = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "requestBody" not in op:
                continue
            bodies += 1
            for role in ("department", "regulator", "admin"):
                resp = getattr(client, method)(
                    _path_values(path, "999999"),
                    data="codes=1",
                    content_type="text/plain",
                    headers=tokens[role].headers,
                )
                if resp.status_code >= 400:
                    _check_error(resp, f"{method.upper()} {path} [{role} text/plain]")
                    seen[resp.status_code] += 1
    assert bodies >= 15
    assert seen[415] + seen[422] > 0, dict(seen)

    small = make_client(api={"max_upload_mb": 1, "public_rate_limit": "2/minute"})
    boundary = "----registry-language"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"x" * (2 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    too_large = small.post(
        "/api/v1/imports",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=tokens["regulator"].headers,
    )
    assert too_large.status_code == 413
    _check_error(too_large, "POST /api/v1/imports [2 MB]")
    code = factory.uscc()
    answers = [small.get(f"/api/v1/public/entities/{code}") for _ in range(3)]
    assert answers[-1].status_code == 429
    for resp in answers:
        _check_error(resp, "GET /api/v1/public/entities [rate]")
    for prefix in ("/api/v1/", "/api/v1/public/", "/api/v1/imports/", "/api/v1/sanctions/x/"):
        resp = client.get(prefix + "no/such/thing", headers=tokens["admin"].headers)
        assert resp.status_code in (404, 405), prefix
        _check_error(resp, f"GET {prefix}no/such/thing")


def test_the_api_document_a_department_reads_is_chinese(client):
    """Each operation's summary (the line a reader scans in the index), its description
    and each group's description are Chinese."""
    spec = client.get("/api/v1/openapi.json").get_json()
    summaries = [
        (f"{method.upper()} {path}", op.get("summary", ""))
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and method in ("get", "post", "put", "delete", "patch")
    ]
    assert len(summaries) >= 50
    assert [s for s in summaries if not CJK.search(s[1])] == []
    # The paragraphs under them are written in Chinese too (field names and codes aside).
    english = [
        (f"{method.upper()} {path}", op["description"][:60])
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict)
        and op.get("description")
        and len(CJK.findall(op["description"])) < len(ENGLISH_SENTENCE.findall(op["description"]))
    ]
    assert english == []
    tags = [(tag["name"], tag.get("description", "")) for tag in spec["tags"]]
    assert [t for t in tags if not CJK.search(t[1])] == []
