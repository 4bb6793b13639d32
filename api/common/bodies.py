"""Hostile request bodies, refused before anything parses them.

Every endpoint that takes a JSON body (a ``json`` argument of its flask-smorest view) is
guarded in front of webargs:

- the body is bounded (``api.max_json_kb``): a larger one is 413 ``too_large`` — the
  limit is the request's own, so a chunked body without ``Content-Length`` stops there
  too (file uploads keep ``api.max_upload_mb``);
- a body that is not ``application/json`` (or ``…+json``) is 415
  ``unsupported_media_type`` — never read as an empty form and answered "every field
  missing";
- the nesting depth of arrays and objects is counted by a scan of the raw bytes (strings
  removed, brackets counted) before ``json.loads`` sees it: deeper than
  ``api.max_json_depth`` (default 32) is 400 ``too_deep``.  A body of 50,000 ``[`` is a
  cheap refusal instead of a recursion error and a 500.

A request without a body is left alone (endpoints whose fields are all optional take
none).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from api.common.errors import ApiError
from registry.core.runtime import Runtime

_WRITES = frozenset(("POST", "PUT", "PATCH", "DELETE"))
#: A JSON string (escapes included): its brackets are text, not structure.  An
#: unterminated one runs to the end, so no quote is tried twice (linear on any input).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
#: Every byte but the brackets (deleted, leaving the structure alone).
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, without parsing it
    (an unterminated string counts as text to the end; malformed input gives some
    number, and the parser then refuses it)."""
    if b"[" not in data and b"{" not in data:
        return 0
    skeleton = _STRING.sub(b"", data)
    steps = (_STEP[b] for b in skeleton.translate(None, _NOT_BRACKETS))
    return max(accumulate(steps, initial=0))


def takes_json(view: Callable[..., Any] | None, method: str) -> bool:
    """Whether the view answering ``method`` reads a JSON body (a flask-smorest
    ``json`` argument)."""
    if view is None:
        return False
    target: Any = view
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        target = getattr(view_class, method.lower(), None)
        if target is None:
            return False
    parameters = getattr(target, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(isinstance(p, dict) and p.get("in") == "json" for p in parameters)


def _has_body() -> bool:
    length = request.content_length
    if length is not None:
        return length > 0
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def install(app: Flask, runtime: Runtime) -> None:
    """Guard every JSON endpoint of ``app`` (see the module docstring)."""
    limit_kb = runtime.config.api.max_json_kb
    max_depth = runtime.config.api.max_json_depth
    limit = limit_kb * 1024
    guarded: dict[tuple[str, str], bool] = {}

    @app.before_request
    def _guard_json_body() -> None:
        if request.method not in _WRITES or request.endpoint is None:
            return
        key = (request.endpoint, request.method)
        if key not in guarded:
            guarded[key] = takes_json(app.view_functions.get(request.endpoint), request.method)
        if not guarded[key] or not _has_body():
            return
        too_large = ApiError(
            f"请求内容过大：JSON 请求体上限为 {limit_kb} KB",
            status=413,
            code="too_large",
            context={"max_json_kb": limit_kb},
        )
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        if not _is_json(request.mimetype):
            raise ApiError(
                f"请求内容类型应为 application/json，而不是“{request.mimetype or '未注明'}”",
                status=415,
                code="unsupported_media_type",
            )
        request.max_content_length = limit
        try:
            data = request.get_data(cache=True)
        except RequestEntityTooLarge:
            raise too_large from None
        depth = nesting_depth(data)
        if depth > max_depth:
            raise ApiError(
                f"JSON 嵌套层数过多：最多 {max_depth} 层",
                status=400,
                code="too_deep",
                context={"max_json_depth": max_depth},
            )
