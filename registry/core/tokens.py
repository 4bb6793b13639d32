"""API tokens: random secrets shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.codes import validate_uscc
from registry.core.models import ApiToken

ROLES = ("regulator", "department", "admin")
TOKEN_PREFIX = "cr_"  # noqa: S105 - a visible prefix, not a secret


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
    session: Session, *, role: str, name: str, authority: str | None, actor: str
) -> str:
    """Create a token and return its secret (the only time it exists in clear)."""
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
    )
    session.add(row)
    session.flush()
    audit.record_one(
        session,
        audit.AuditEvent(
            actor=actor,
            action="token.create",
            object_type="api_token",
            object_id=row.id,
            after={
                "name": row.name,
                "role": role,
                "authority_uscc": authority,
                "prefix": row.prefix,
            },
        ),
    )
    return secret


def resolve_token(session: Session, secret: str) -> Principal | None:
    """The principal for a bearer secret, or None if unknown or revoked."""
    row = session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(secret))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(row.id, row.name, row.role, row.authority_uscc)


def touch(session: Session, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = clock.now()
