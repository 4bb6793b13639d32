"""Hostile bodies against every JSON endpoint of the OpenAPI document: no 500, ever.

For each operation whose request body is JSON (found in ``/api/v1/openapi.json``, so a
new endpoint is covered without touching this test), hypothesis sends bodies an
attacker would: nesting far past the limit, strings past the size limit, the
documented fields with values of every wrong type, arbitrary JSON, and bytes under
the wrong content type.  Every answer must be below 500 and, for a refusal, the API's
one error shape.  The app runs with ``TESTING`` on, so an unexpected exception fails
the test instead of becoming a 500.  Bounded: a dozen examples per operation, the same
ones every run (derandomized)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.helpers import assert_error_shape

EXAMPLES = 12
_PARAM = re.compile(r"\{([^}]+)\}")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
wrong_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(alphabet="\x00\u202e\ud7ff'\"<>{}[]%_\\", max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just("9" * 5000),
    st.just("2026-02-30"),
)


def hostile_bodies(properties: list[str]) -> st.SearchStrategy[tuple[bytes, str]]:
    """``(raw body, content type)`` pairs for an operation with these properties."""
    as_json = "application/json"
    deep = st.integers(min_value=33, max_value=60_000).map(lambda n: (b"[" * n + b"]" * n, as_json))
    deep_inside = st.integers(min_value=33, max_value=5_000).map(
        lambda n: (b'{"a": ' + b"{" * n + b"}" * n + b"}", as_json)
    )
    huge = st.integers(min_value=1_100, max_value=3_000).map(
        lambda kb: (json.dumps({"x": "很" * (kb * 1024 // 3)}).encode(), as_json)
    )
    typed = st.fixed_dictionaries(
        {}, optional=dict.fromkeys(properties, wrong_values) if properties else {}
    ).map(lambda body: (json.dumps(body).encode(), as_json))
    anything = json_values.map(lambda v: (json.dumps(v).encode(), as_json))
    wrong_type = st.tuples(
        st.binary(max_size=200) | st.just(b'{"uscc": "x"}'),
        st.sampled_from(
            [
                "text/plain",
                "application/x-www-form-urlencoded",
                "application/xml",
                "multipart/form-data; boundary=x",
                "application/json; charset=gb18030",
                "",
            ]
        ),
    )
    garbage = st.binary(max_size=300).map(lambda b: (b, as_json))
    return st.one_of(deep, deep_inside, huge, typed, anything, wrong_type, garbage)


def json_operations(client) -> list[tuple[str, str, list[str]]]:
    """``(method, path, property names)`` of every operation taking a JSON body."""
    document = client.get("/api/v1/openapi.json").json
    schemas = document.get("components", {}).get("schemas", {})
    found = []
    for path, item in sorted(document["paths"].items()):
        for method, operation in sorted(item.items()):
            if not isinstance(operation, dict):
                continue  # the path's own "parameters"
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"].get("schema", {})
            ref = schema.get("$ref", "")
            if ref:
                schema = schemas.get(ref.rsplit("/", 1)[-1], {})
            found.append((method.upper(), path, sorted(schema.get("properties", {}))))
    return found


def concrete(path: str, uscc: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "list_type":
            return "customs_aeo"
        if "uscc" in name or "code" in name:
            return uscc
        return "1"

    return _PARAM.sub(value, path)


def role_of(path: str) -> str | None:
    if path.startswith("/api/v1/public"):
        return None
    if path.startswith(("/api/v1/sanctions", "/api/v1/subscriptions")):
        return "department"
    return "regulator"


def attack(
    client: Any,
    method: str,
    url: str,
    headers: dict[str, str],
    properties: list[str],
    seen: dict[int, int],
) -> None:
    """Send one operation its hostile bodies; count the statuses in ``seen``."""

    @given(sent=hostile_bodies(properties))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(sent: tuple[bytes, str]) -> None:
        body, content_type = sent
        answer = client.open(
            url, method=method, data=body, content_type=content_type, headers=headers
        )
        seen[answer.status_code] = seen.get(answer.status_code, 0) + 1
        assert answer.status_code < 500, (method, url, answer.status_code, body[:80])
        if answer.status_code >= 400:
            assert_error_shape(answer, answer.status_code)

    run()


def test_no_json_endpoint_answers_500_to_a_hostile_body(
    make_client, factory, regulator, department, write_record
):
    write_record()  # something for ids to find
    entity = factory.entity()
    factory.entry(entity.uscc, authority_uscc=regulator.authority, status="proposed")
    factory.commit()
    client = make_client(
        api={
            "public_rate_limit": "1000000/minute",
            "public_filing_rate_limit": "1000000/minute",
        }
    )
    operations = json_operations(client)
    assert len(operations) >= 15, operations
    tokens = {"regulator": regulator, "department": department}
    seen: dict[int, int] = {}

    for method, path, properties in operations:
        role = role_of(path)
        headers = tokens[role].headers if role else {}
        url = concrete(path, entity.uscc)

        attack(client, method, url, headers, properties, seen)
    # the guards were met, not only the views' own validation
    assert {400, 413, 415} <= set(seen), seen


@pytest.mark.parametrize("levels", [33, 1000, 100_000])
def test_depth_refusals_name_the_limit(client, levels: int) -> None:
    answer = client.post(
        "/api/v1/public/objections",
        data=b"[" * levels + b"]" * levels,
        content_type="application/json",
    )
    error: dict[str, Any] = assert_error_shape(answer, 400)
    assert error["code"] == "too_deep"
