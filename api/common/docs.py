"""Interactive API documentation at ``/api/docs``, served from this server (no CDN).

Swagger UI's files come from the ``swagger-ui-bundle`` package (a Python wheel carrying
the built swagger-ui distribution); the page loads them and the OpenAPI document
``/api/v1/openapi.json`` from this server only, and its script is a file too (no inline
script), so a strict Content-Security-Policy holds.  Without the package the page still
answers, linking to the OpenAPI document.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, send_from_directory, url_for
from werkzeug.routing import IntegerConverter

blp = Blueprint("docs", __name__, url_prefix="/api/docs")

#: The files of swagger-ui the page uses (nothing else is served from the bundle).
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
    }
)
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)


def assets_dir() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    path = Path(swagger_ui_bundle.swagger_ui_path)
    return path if (path / "swagger-ui-bundle.js").exists() else None


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.get("")
def page() -> Response:
    """The Swagger UI page."""
    spec = url_for("api-docs.openapi_json")
    if assets_dir() is None:
        body = (
            "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>API</title>"
            f"<p>交互式文档需要 swagger-ui-bundle。OpenAPI 文档：<a href='{escape(spec)}'>"
            f"{escape(spec)}</a></p></html>"
        )
        return _secure(Response(body, mimetype="text/html"))
    css = url_for("docs.asset", name="swagger-ui.css")
    bundle = url_for("docs.asset", name="swagger-ui-bundle.js")
    preset = url_for("docs.asset", name="swagger-ui-standalone-preset.js")
    init = url_for("docs.initializer")
    icon = url_for("docs.asset", name="favicon-32x32.png")
    body = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>credit-registry API</title>
<link rel="stylesheet" href="{escape(css)}">
<link rel="icon" type="image/png" href="{escape(icon)}">
</head>
<body>
<div id="swagger-ui" data-spec-url="{escape(spec)}"></div>
<script src="{escape(bundle)}"></script>
<script src="{escape(preset)}"></script>
<script src="{escape(init)}"></script>
</body>
</html>
"""
    return _secure(Response(body, mimetype="text/html"))


@blp.get("/init.js")
def initializer() -> Response:
    """Starts Swagger UI on the document named by the page (``data-spec-url``)."""
    script = """window.addEventListener("load", function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout"
  });
});
"""
    return _secure(Response(script, mimetype="application/javascript"))


@blp.get("/static/<name>")
def asset(name: str) -> Response:
    """One of swagger-ui's files."""
    folder = assets_dir()
    if folder is None or name not in ASSETS:
        abort(404)
    response = send_from_directory(folder, name, max_age=86400)
    return _secure(response)


# --- the OpenAPI document ------------------------------------------------------------

API_DESCRIPTION = """\
Penalty records, dishonesty lists and joint punishment (联合惩戒), keyed by the unified
social credit code (统一社会信用代码).

* **Public** (`/public/...`): no token; rate-limited per client (429 with `Retry-After`);
  disclosed data only, ID numbers never, natural persons' names masked.
* **Departments** (role `department`): sanctions checks, feedback, webhooks.
* **Regulators** (role `regulator`, bound to one authority): their own records, list
  entries, credit repair and alerts.

Tokens go in `Authorization: Bearer <token>`.  Every error has one shape,
`{"error": {"code", "message", "details"}}`, with the status saying what happened
(400 malformed, 401/403 auth, 404 unknown, 409 conflict, 413 too large, 422 invalid with
field-level details, 429 rate-limited, 503 database down).  Dates are ISO 8601; amounts
are in 万元, as decimal strings.
"""


MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id, 1 … 2^63-1 (BIGINT); anything else is an unknown path (404)
    rather than a number the database cannot hold."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


def make_api(app: Any) -> Any:
    """flask-smorest's Api for ``app``: OpenAPI 3 at ``/api/v1/openapi.json``, the one
    error schema, the bearer security scheme.  Errors are answered by
    :mod:`api.common.errors` (flask-smorest's own handler is not installed)."""
    from flask_smorest import Api

    from api.common.auth import BEARER, SECURITY_SCHEME
    from api.common.schemas import ErrorSchema

    class RegistryApi(Api):
        ERROR_SCHEMA = ErrorSchema

        def _register_error_handlers(self) -> None:
            """api.common.errors answers every error in the one shape."""

    app.config.update(
        API_TITLE="credit-registry",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION},
            "servers": [{"url": "/", "description": "this server"}],
        },
    )
    app.url_map.converters["id"] = IdConverter
    api = RegistryApi(app)
    api.register_converter(
        IdConverter, lambda _converter: {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    )
    api.spec.components.security_scheme(BEARER, SECURITY_SCHEME)
    return api
