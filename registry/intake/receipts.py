"""Receipt numbers (回执号) for account-less public filings: objections and complaints.

A receipt is the filer's only key to the status of what they filed, so it is treated
like a password: hard to guess (16 random characters of Crockford's base32, 80 bits),
shown once to the filer and stored only as its HMAC-SHA256 under the deployment's
receipt key (``Runtime.keys.receipt``, registry.core.keys).  A lookup hashes what the
filer typed and compares hashes, so the database never holds a usable receipt, and a
copy of the database without the key cannot even test a guessed receipt offline.

Receipts outlive a rotation of the secret: a lookup also tries the receipt keys of
``security.previous_secret_keys``, and the plain SHA-256 under which receipts were
stored before the keyed hash (migration 0007).

Receipts read ``YY-7K3M-Q9DX-2HTB-W4NE``: a two-letter kind (``YY`` 异议 objection,
``JB`` 举报 complaint) and four groups that are easy to copy.  What a person types is
forgiven: case, spaces, hyphens and the letters Crockford's alphabet leaves out because
they look like digits (``O`` → ``0``, ``I``/``L`` → ``1``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

from registry.core.keys import Keys

#: Crockford's base32: no I, L, O, U (mistaken for 1, 1, 0, V).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 16
GROUP = 4
KINDS = {"objection": "YY", "complaint": "JB"}
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_receipt(kind: str) -> str:
    """A fresh receipt for a filing of ``kind`` (``objection`` or ``complaint``)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    groups = [body[i : i + GROUP] for i in range(0, BODY_LENGTH, GROUP)]
    return "-".join([KINDS[kind], *groups])


def canonical(receipt: str) -> str | None:
    """The receipt as stored before hashing (``YY`` plus 16 characters, no separators),
    or None when ``receipt`` cannot be one (wrong length, kind or characters)."""
    folded = unicodedata.normalize("NFKC", receipt or "").upper()
    text = "".join(ch for ch in folded if not ch.isspace() and ch != "-")
    if len(text) != 2 + BODY_LENGTH or text[:2] not in KINDS.values():
        return None
    body = text[2:].translate(_LOOKALIKES)
    if any(ch not in ALPHABET for ch in body):
        return None
    return text[:2] + body


def hash_receipt(receipt: str, key: bytes) -> str | None:
    """HMAC-SHA256 (hex) of the canonical receipt under ``key`` (the receipt key), or
    None for a string that is not a receipt."""
    text = canonical(receipt)
    return None if text is None else hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def lookup_hashes(receipt: str, keys: Keys) -> list[str]:
    """Every stored hash ``receipt`` may have: under the current receipt key, under each
    retired secret's, and the unkeyed SHA-256 of receipts filed before keyed hashes.
    Empty for a string that is not a receipt."""
    text = canonical(receipt)
    if text is None:
        return []
    data = text.encode()
    keyed = [
        hmac.new(key, data, hashlib.sha256).hexdigest()
        for key in (keys.receipt, *keys.retired_receipts)
    ]
    return [*keyed, hashlib.sha256(data).hexdigest()]


def kind_of(receipt: str) -> str | None:
    """``objection`` or ``complaint`` by the receipt's prefix (None if it is not one)."""
    text = canonical(receipt)
    if text is None:
        return None
    return next(kind for kind, prefix in KINDS.items() if prefix == text[:2])
