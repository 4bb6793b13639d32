"""The deployment secret, checked, and the keys derived from it — one per purpose.

``security.secret_key`` (environment ``REGISTRY_SECRET_KEY``) is the one secret of a
deployment.  Nothing uses it directly: each purpose gets its own key, derived with
HKDF-SHA256 (RFC 5869), so that a key leaking from one use (a webhook subscriber's
secret, a session cookie signed in a debugger) gives nothing towards the others:

- ``session``: signs the dashboard's and the forms' session cookies (Flask);
- ``id_hash``: the keyed hash of personal ID numbers (:func:`registry.core.codes.person_key`)
  — derived from ``security.id_hash_secret`` instead when that is set, so the main
  secret can be rotated without losing every person key (docs/security.md);
- ``webhook``: the root of every subscription's signing secret;
- ``receipt``: the keyed hash under which filing receipts are stored;
- ``report``: the verification code of an issued credit report (信用报告), an HMAC over
  its number and facts (:mod:`registry.disclosure.reports`).

HKDF is written here with the standard library's ``hmac`` (a dozen lines, checked
against the RFC's own test vectors in tests/foundation/test_keys.py) rather than taken
from the ``cryptography`` package: it is the only primitive needed, and a compiled
dependency for it would be the registry's largest.

Outside development mode (``security.development``, environment
``REGISTRY_DEVELOPMENT=1``) a missing secret, one shorter than 32 bytes or the shipped
development value is refused (:class:`WeakSecret`) before anything opens the database:
with a known secret anyone could sign an admin session cookie and recompute every
person key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from registry.core.config import ConfigError, SecurityConfig

#: The value development setups use when no secret is set; refused in production.
DEVELOPMENT_SECRET = "dev-only-secret-change-me"  # noqa: S105 - public on purpose
MIN_SECRET_BYTES = 32
#: HKDF salt: fixed and public (RFC 5869 §3.1 allows it); it separates this registry's
#: keys from any other use of the same secret.
_SALT = b"credit-registry/hkdf/v1"
PURPOSES = ("session", "id-hash", "webhook", "receipt", "report")
_HASH_LENGTH = hashlib.sha256().digest_size


class WeakSecret(ConfigError):
    """The deployment secret cannot be used outside development mode."""


def hkdf_sha256(ikm: bytes, info: bytes, *, salt: bytes = _SALT, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract a pseudorandom key from ``ikm`` with ``salt``,
    expand it to ``length`` bytes bound to ``info``."""
    if not 0 < length <= 255 * _HASH_LENGTH:
        raise ValueError("HKDF-SHA256 output must be 1 to 8160 bytes")
    prk = hmac.new(salt or bytes(_HASH_LENGTH), ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def derive(secret: str, purpose: str) -> bytes:
    """The 32-byte key of ``purpose`` (one of :data:`PURPOSES`) for ``secret``."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}")
    return hkdf_sha256(secret.encode(), f"credit-registry/{purpose}".encode())


def _problem(value: str) -> str | None:
    """Why ``value`` cannot be a production secret, or None."""
    if not value:
        return "未设置"
    if value == DEVELOPMENT_SECRET:
        return "仍是随附的开发用值（公开可知）"
    size = len(value.encode())
    if size < MIN_SECRET_BYTES:
        return f"过短（{size} 字节，至少 {MIN_SECRET_BYTES} 字节）"
    return None


_HOW = (
    "请设置至少 32 字节的随机值，例如 python3 -c 'import secrets; "
    "print(secrets.token_urlsafe(48))' 的输出；仅在开发环境可设 REGISTRY_DEVELOPMENT=1 跳过此检查"
)


def check_secret(security: SecurityConfig) -> None:
    """Raise :class:`WeakSecret` (one line, naming ``REGISTRY_SECRET_KEY``) unless the
    secrets can be used: always in development mode, else only strong ones."""
    if security.development:
        return
    problem = _problem(security.secret_key)
    if problem:
        raise WeakSecret(f"密钥 REGISTRY_SECRET_KEY（security.secret_key）{problem}：{_HOW}")
    if security.id_hash_secret:
        problem = _problem(security.id_hash_secret)
        if problem:
            raise WeakSecret(
                "身份证号散列密钥 REGISTRY_SECURITY_ID_HASH_SECRET（security.id_hash_secret）"
                f"{problem}：{_HOW}（REGISTRY_SECRET_KEY 的要求同样适用）"
            )


@dataclass(frozen=True, slots=True)
class Keys:
    """The derived keys of one deployment.  ``repr`` shows no key, so a key never
    reaches a log line or a traceback through this object."""

    session: bytes
    id_hash: bytes
    webhook: bytes
    receipt: bytes
    report: bytes
    #: Receipt keys of retired secrets (``security.previous_secret_keys``): receipts
    #: handed out before a rotation still find their filing.
    retired_receipts: tuple[bytes, ...] = ()

    def __repr__(self) -> str:
        return "Keys(<derived keys hidden>)"


@lru_cache(maxsize=16)
def keys_for(security: SecurityConfig) -> Keys:
    """The deployment's keys (checked first: :class:`WeakSecret` outside development)."""
    check_secret(security)
    secret = security.secret_key or DEVELOPMENT_SECRET  # development mode only
    return Keys(
        session=derive(secret, "session"),
        id_hash=derive(security.id_hash_secret or secret, "id-hash"),
        webhook=derive(secret, "webhook"),
        receipt=derive(secret, "receipt"),
        report=derive(secret, "report"),
        retired_receipts=tuple(
            derive(old, "receipt") for old in security.previous_secret_keys if old
        ),
    )
