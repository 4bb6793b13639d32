"""Who is calling: bearer tokens → :class:`registry.core.tokens.Principal`, and what they may do.

Tokens are read from ``Authorization: Bearer <token>`` only (never from a query string
or a form, so they do not end up in access logs or browser histories) and are never
logged.  A missing, malformed, unknown, revoked or expired token is 401; a known token of the
wrong role, or a regulator token without an authority, is 403.  Whether a regulator
may act on a given record (its own authority's) is decided by the domain operation,
which raises :class:`registry.core.errors.Forbidden` (403).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from api.common.context import db, runtime
from api.common.errors import Forbidden, Unauthorized
from registry.core.tokens import Principal, resolve_token, touch

#: The OpenAPI security scheme name (``components.securitySchemes``).
BEARER = "bearerAuth"
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "API token from `credit-registry token create`",
}

F = TypeVar("F", bound=Callable[..., Any])

#: The roles as people name them.
ROLE_NAMES = {"regulator": "监管部门", "department": "协同部门", "admin": "管理员"}


def bearer_secret() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthorized("需要 API 令牌：请在请求头中提供 Authorization: Bearer <令牌>")
    if len(secret) > 200:
        raise Unauthorized("API 令牌无效")
    return secret


def authenticate(*, writes: bool | None = None) -> Principal:
    """The caller's principal (cached for the request), or 401.  ``writes``: whether the
    request commits (default: any method but GET/HEAD/OPTIONS); a writing request also
    records when the token was last used."""
    principal = g.get("principal")
    if principal is None:
        session = db()
        principal = resolve_token(session, bearer_secret())
        if principal is None:
            raise Unauthorized("API 令牌无效、已过期或已被撤销")
        if writes is None:
            writes = request.method not in ("GET", "HEAD", "OPTIONS")
        if writes:
            touch(session, principal.token_id)
        g.principal = principal
    return principal


def current_principal() -> Principal:
    return authenticate()


def require(*roles: str, writes: bool | None = None) -> Principal:
    """The caller's principal if its role is one of ``roles``; else 401/403."""
    principal = authenticate(writes=writes)
    if principal.role not in roles:
        raise Forbidden(
            f"{ROLE_NAMES.get(principal.role, principal.role)}的令牌无权进行此操作"
            f"（需要：{'、'.join(ROLE_NAMES.get(r, r) for r in roles)}）",
            context={"role": principal.role, "allowed": list(roles)},
        )
    if principal.role == "regulator" and not principal.authority_uscc:
        raise Forbidden("该监管部门令牌未绑定执法机关，无法进行此操作")
    return principal


def required(blp: Any, *roles: str, request_writes: bool = True) -> Callable[[F], F]:
    """Decorate a view method: authenticate, check the role, document it (security
    scheme and the 401/403 answers).  Put it above ``@blp.arguments`` so a caller
    without the right token learns that first.  ``request_writes=False``: a POST whose
    request session only reads (a batch check; an import, whose engine commits its own
    batches) gets a reading session, so it never holds the write lock."""
    from api.common.schemas import ERROR_EXAMPLES, ErrorSchema

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not request_writes and "db" not in g:
                g.db = runtime().sessions()
            require(*roles, writes=None if request_writes else False)
            return func(*args, **kwargs)

        wrapper = blp.doc(security=[{BEARER: []}])(wrapper)
        wrapper = blp.alt_response(
            401,
            schema=ErrorSchema,
            description="缺少 API 令牌，或令牌无效、已过期、已吊销",
            example={"error": ERROR_EXAMPLES[401]},
        )(wrapper)
        wrapper = blp.alt_response(
            403,
            schema=ErrorSchema,
            description=f"令牌的角色不是{'或'.join(ROLE_NAMES.get(r, r) for r in roles)}，"
            "或对象属于其他机关",
            example={"error": ERROR_EXAMPLES[403]},
        )(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorator


def act_for_authority(operation: Callable[..., Any], target_id: int, *args: Any) -> Any:
    """Run a regulator's domain operation (confirm, reject, approve…) on ``target_id`` in
    the name of the calling token's authority, and commit the request's one unit of work.
    The operation itself checks that the target belongs to that authority."""
    principal = current_principal()
    session = db()
    result = operation(
        session, runtime().pack, target_id, principal.authority_uscc, principal.actor, *args
    )
    session.commit()
    return result
