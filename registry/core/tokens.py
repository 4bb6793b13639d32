"""API tokens: random secrets shown once; only their SHA-256 is stored.

A token is refused — :func:`resolve_token` answers None, the API 401, the dashboard a
new login — once it is revoked (``credit-registry token revoke ID``) or its expiry has
passed on the registry clock (``token create --expires-in DAYS``).  :func:`list_tokens`
says everything about tokens except their secrets.

The lookup goes by the SHA-256 of the presented secret (an index), and the stored hash
is then compared with :func:`hmac.compare_digest` as well: timing the database's index
search could at most tell an attacker about the hash of *their own* guess, which gets
them no nearer a secret of 256 random bits, and the final comparison takes constant
time whatever the database did.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.codes import validate_uscc
from registry.core.models import ApiToken
from registry.core.rows import columns, get_row, record_change

ROLES = ("regulator", "department", "admin")
TOKEN_PREFIX = "cr_"  # noqa: S105 - a visible prefix, not a secret
#: ``--expires-in`` is at most ten years: a token meant to last longer should not expire.
MAX_EXPIRES_IN_DAYS = 3650


class TokenError(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: resolved from a bearer token."""

    token_id: int
    name: str
    role: str
    authority_uscc: str | None

    @property
    def actor(self) -> str:
        return f"token:{self.token_id}:{self.name}"


def create_token(
    session: Session,
    *,
    role: str,
    name: str,
    authority: str | None,
    actor: str,
    expires_in_days: int | None = None,
) -> str:
    """Create a token and return its secret (the only time it exists in clear).
    ``expires_in_days``: the token stops working that many days from now."""
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRES_IN_DAYS:
        raise TokenError(
            f"--expires-in 应为 1 到 {MAX_EXPIRES_IN_DAYS} 天，而不是 {expires_in_days}"
        )
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name.strip():
        raise TokenError("a token needs a name saying whose it is")
    if role == "regulator":
        if not authority:
            raise TokenError("a regulator token must be bound to an authority: --authority USCC")
        authority = validate_uscc(authority)
    elif authority:
        authority = validate_uscc(authority)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name.strip(),
        role=role,
        authority_uscc=authority,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        expires_at=None
        if expires_in_days is None
        else clock.now() + timedelta(days=expires_in_days),
    )
    session.add(row)
    session.flush()
    after = columns(row, ("name", "role", "authority_uscc", "prefix"))
    after["expires_at"] = None if row.expires_at is None else row.expires_at.isoformat()
    record_change(session, actor, "token.create", "api_token", row, after=after)
    return secret


def token_state(row: ApiToken, now: datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired`` (at ``now``, default the registry clock)."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= (now or clock.now()):
        return "expired"
    return "active"


def resolve_token(session: Session, secret: str) -> Principal | None:
    """The principal for a bearer secret, or None if unknown, revoked or expired."""
    digest = hash_token(secret)
    row = session.execute(
        select(ApiToken).where(ApiToken.token_hash == digest)
    ).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return principal_of(row)


def principal_of(row: ApiToken | None) -> Principal | None:
    """The principal of a token row, or None unless the token is active."""
    if row is None or token_state(row) != "active":
        return None
    return Principal(row.id, row.name, row.role, row.authority_uscc)


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, oldest first (their hashes are on the rows: never show them)."""
    return list(session.execute(select(ApiToken).order_by(ApiToken.id)).scalars())


def revoke_token(session: Session, token_id: int, actor: str) -> tuple[ApiToken, bool]:
    """Revoke a token from now on (its next request is 401); returns the row and whether
    this call revoked it (False: it was already revoked).  NotFound for an unknown id."""
    row = get_row(session, ApiToken, token_id, f"令牌 {token_id} 不存在", "token_id", lock=True)
    if row.revoked_at is not None:
        return row, False
    row.revoked_at = clock.now()
    session.flush()
    after = {"name": row.name, "role": row.role, "revoked_at": row.revoked_at.isoformat()}
    record_change(
        session, actor, "token.revoke", "api_token", row, before={"revoked_at": None}, after=after
    )
    return row, True


def touch(session: Session, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = clock.now()
