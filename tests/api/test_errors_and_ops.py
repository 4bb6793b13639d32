"""One error shape everywhere (404, 405, 413, 422, 429, 503), never HTML; /metrics; docs."""

from __future__ import annotations

import io

import pytest

from api import create_app
from tests.conftest import make_config


def _is_error(resp, status: int, code: str) -> None:
    assert resp.status_code == status
    assert resp.mimetype == "application/json"
    body = resp.json
    assert set(body) == {"error"}
    assert {"code", "message", "details"} <= set(body["error"])
    assert set(body["error"]) <= {"code", "message", "details", "context"}
    assert body["error"]["code"] == code
    text = resp.get_data(as_text=True)
    assert "<html" not in text.lower()
    assert "Traceback" not in text


def test_unknown_path_404_and_wrong_method_405(client):
    _is_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    resp = client.put("/api/v1/public/search?q=x")
    _is_error(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]
    _is_error(client.delete("/api/v1/penalties"), 405, "method_not_allowed")


def test_invalid_json_is_400_and_wrong_fields_422(client, regulator):
    resp = client.post(
        "/api/v1/penalties",
        data="{not json",
        content_type="application/json",
        headers=regulator.headers,
    )
    _is_error(resp, 400, "bad_request")
    resp = client.post("/api/v1/penalties", json={"nonsense": 1}, headers=regulator.headers)
    _is_error(resp, 422, "invalid")
    assert "nonsense" in resp.json["error"]["details"]


def test_upload_over_the_limit_is_413_json(make_client, regulator):
    small = make_client(api={"max_upload_mb": 1})
    # The multipart body is built by hand: werkzeug's test client would spool a body
    # this size to a temporary file that nobody reads (and so nobody closes).
    boundary = "----registry-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"x" * (2 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    resp = small.post(
        "/api/v1/imports",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=regulator.headers,
    )
    _is_error(resp, 413, "too_large")


def test_public_rate_limit_429_with_retry_after(make_client, factory, rt):
    limited = make_client(api={"public_rate_limit": "3/minute"})
    code = factory.uscc()
    for _ in range(3):
        assert limited.get(f"/api/v1/public/entities/{code}").status_code == 404
    resp = limited.get(f"/api/v1/public/entities/{code}")
    _is_error(resp, 429, "rate_limited")
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    # Another client address has its own allowance; token holders are not limited.
    other = limited.get(f"/api/v1/public/entities/{code}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 404
    assert limited.get("/healthz").status_code == 200


def test_database_down_is_503_json():
    config = make_config(
        "postgresql+psycopg2://nobody@127.0.0.1:1/none",
        database={"connect_timeout_s": 1},
        ops={"metrics_public": True},  # an admin token could not be checked either
    )
    app = create_app(config)
    app.config["TESTING"] = True
    client = app.test_client()
    _is_error(client.get("/api/v1/public/entities/914403054JURQ2830R"), 503, "unavailable")
    _is_error(
        client.get("/api/v1/penalties", headers={"Authorization": "Bearer cr_x"}),
        503,
        "unavailable",
    )
    assert client.get("/readyz").status_code == 503
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "registry_database_up 0.0" in metrics.get_data(as_text=True)


def test_metrics_prometheus_text(client, regulator, factory):
    admin = factory.token("admin")
    factory.commit()
    client.get("/api/v1/public/entities/914403054JURQ2830R")
    client.get("/api/v1/penalties", headers=regulator.headers)
    data = {"file": (io.BytesIO(b"not,a,penalty,file\n"), "x.csv")}
    client.post(
        "/api/v1/imports", data=data, content_type="multipart/form-data", headers=regulator.headers
    )
    resp = client.get("/metrics", headers=admin.headers)
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    text = resp.get_data(as_text=True)
    assert (
        'registry_http_requests_total{endpoint="/api/v1/public/entities/<string:uscc>",'
        'method="GET",status="404"} 1.0'
    ) in text
    assert 'registry_http_request_duration_seconds_bucket{endpoint="/api/v1/penalties"' in text
    assert 'registry_imports_total{outcome="fatal"} 1.0' in text
    assert "registry_database_up 1.0" in text
    assert "registry_dirty_entities" in text
    assert regulator.secret not in text
    assert admin.secret not in text


def test_openapi_documents_every_path_with_errors_and_examples(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in (
        "/api/v1/public/entities/{uscc}",
        "/api/v1/public/search",
        "/api/v1/public/lists/{list_type}/entries",
        "/api/v1/public/changes",
        "/api/v1/sanctions/{uscc}",
        "/api/v1/sanctions/check",
        "/api/v1/sanctions/person-check",
        "/api/v1/sanctions/feedback",
        "/api/v1/subscriptions",
        "/api/v1/subscriptions/{subscription_id}/deliveries",
        "/api/v1/penalties",
        "/api/v1/penalties/{penalty_id}/revoke",
        "/api/v1/imports",
        "/api/v1/list-entries",
        "/api/v1/list-entries/{entry_id}/confirm",
        "/api/v1/list-entries/{entry_id}/reject",
        "/api/v1/list-entries/{entry_id}/remove",
        "/api/v1/repairs",
        "/api/v1/repairs/{repair_id}/approve",
        "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}/resolve",
    ):
        assert path in paths, path
    for path, item in paths.items():
        for method, op in item.items():
            if method == "parameters":
                continue
            codes = set(op["responses"])
            assert codes & {"200", "201"}, (method, path)
            assert "503" in codes, (method, path)
            errors = [c for c in codes if c.startswith(("4", "5"))]
            for code in errors:
                content = op["responses"][code].get("content", {}).get("application/json", {})
                assert content.get("schema", {}).get("$ref", "").endswith("/Error"), (path, code)
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    check = paths["/api/v1/sanctions/check"]["post"]
    assert check["requestBody"]["content"]["application/json"]["example"]["codes"]
    assert check["responses"]["200"]["content"]["application/json"]["example"]["results"]


def test_interactive_docs_without_any_cdn(client):
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "https://" not in html
    assert "http://" not in html
    assert "//cdn" not in html
    assert "swagger-ui-bundle.js" in html
    assert "/api/v1/openapi.json" in html
    with client.get("/api/docs/static/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
        assert asset.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert client.get("/api/docs/init.js").status_code == 200
    assert client.get("/api/docs/static/index.html").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/healthz"])
def test_ops_paths_answer(client, path):
    assert client.get(path).status_code == 200
