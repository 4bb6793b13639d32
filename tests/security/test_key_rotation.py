"""The keys derived from the deployment secret, and what rotating the secret costs.

HKDF-SHA256 is the RFC's (its own test vectors); each purpose has its own key; the keys
never show in a ``repr``.  Rotating ``REGISTRY_SECRET_KEY`` (docs/security.md): session
cookies end; receipts keep working when the old secret is listed in
``security.previous_secret_keys``; person keys keep working only when the ID-hash key is
pinned (``security.id_hash_secret``) — otherwise a person check no longer finds the
person, because the registry stores no ID number to recompute their key from; a pinned
ID-hash secret is held to the same strength as the main one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from registry.core.config import SecurityConfig
from registry.core.keys import PURPOSES, WeakSecret, derive, hkdf_sha256, keys_for
from tests.security.helpers import STRONG_SECRET

NEW_SECRET = "kP3vN8qR2sT6wX0yZ4bC7dF1gH5jL9mQ-rotated-secret"


# --- the derivation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ikm", "salt", "info", "length", "okm"),
    [
        (  # RFC 5869 A.1
            "0b" * 22,
            "000102030405060708090a0b0c",
            "f0f1f2f3f4f5f6f7f8f9",
            42,
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        ),
        (  # RFC 5869 A.3: no salt, no info
            "0b" * 22,
            "",
            "",
            42,
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
        ),
    ],
)
def test_hkdf_is_rfc_5869(ikm, salt, info, length, okm):
    out = hkdf_sha256(
        bytes.fromhex(ikm), bytes.fromhex(info), salt=bytes.fromhex(salt), length=length
    )
    assert out.hex() == okm


def test_one_key_per_purpose_and_none_in_a_repr():
    keys = [derive(STRONG_SECRET, purpose) for purpose in PURPOSES]
    assert len(set(keys)) == len(PURPOSES)
    assert all(len(k) == 32 for k in keys)
    assert STRONG_SECRET.encode() not in keys
    derived = keys_for(SecurityConfig(secret_key=STRONG_SECRET))
    assert derived.id_hash == derive(STRONG_SECRET, "id-hash")
    shown = repr(derived) + str(derived)
    for key in keys:
        assert key.hex() not in shown
        assert repr(key) not in shown


def test_a_pinned_id_hash_secret_must_be_strong_too():
    with pytest.raises(WeakSecret, match="REGISTRY_SECURITY_ID_HASH_SECRET"):
        keys_for(SecurityConfig(secret_key=STRONG_SECRET, id_hash_secret="short"))
    pinned = keys_for(SecurityConfig(secret_key=NEW_SECRET, id_hash_secret=STRONG_SECRET))
    assert pinned.id_hash == derive(STRONG_SECRET, "id-hash")
    assert pinned.session == derive(NEW_SECRET, "session")


# --- rotation through the real application -------------------------------------------


def test_receipts_outlive_a_rotation_listed_in_previous_secret_keys(
    make_client, factory, regulator, file_objection
):
    old = make_client(security={"secret_key": STRONG_SECRET})
    record = factory.record(regulator.authority)
    assert old.post("/api/v1/penalties", json=record, headers=regulator.headers).status_code == 201
    ask = {"receipt": file_objection(old, record)}
    assert old.post("/api/v1/public/objections/status", json=ask).status_code == 200
    rotated = make_client(security={"secret_key": NEW_SECRET})
    assert rotated.post("/api/v1/public/objections/status", json=ask).status_code == 404
    remembering = make_client(
        security={"secret_key": NEW_SECRET, "previous_secret_keys": [STRONG_SECRET]}
    )
    answer = remembering.post("/api/v1/public/objections/status", json=ask)
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "open"


def test_receipts_filed_before_keyed_hashes_still_answer(client, session, file_objection):
    """Rows written before migration 0007 hold the plain SHA-256 of the receipt."""
    import hashlib

    from registry.intake.receipts import canonical

    receipt = file_objection()
    legacy = hashlib.sha256(canonical(receipt).encode()).hexdigest()
    session.execute(text("UPDATE objections SET receipt_hash = :h"), {"h": legacy})
    session.execute(text("UPDATE receipts SET receipt_hash = :h"), {"h": legacy})
    session.commit()
    answer = client.post("/api/v1/public/objections/status", json={"receipt": receipt})
    assert answer.status_code == 200, answer.json


def _known(client, department, number: str) -> bool:
    """Whether a department's person check finds the person behind ``number``."""
    answer = client.post(
        "/api/v1/sanctions/person-check", json={"id_number": number}, headers=department.headers
    )
    assert answer.status_code == 200, answer.json
    assert number not in answer.get_data(as_text=True)
    return answer.json["person"]["known"]


def test_person_keys_survive_a_rotation_only_with_the_id_hash_pinned(
    make_client, factory, regulator, department
):
    number = factory.id_number()
    old = make_client(security={"secret_key": STRONG_SECRET})
    record = factory.record(regulator.authority, legal_representative_id_number=number)
    assert old.post("/api/v1/penalties", json=record, headers=regulator.headers).status_code == 201
    assert _known(old, department, number) is True
    # The cost of a plain rotation: the person is no longer found (no number is stored
    # to recompute the key from).
    rotated = make_client(security={"secret_key": NEW_SECRET})
    assert _known(rotated, department, number) is False
    # With the ID-hash key pinned to the old secret, nothing is lost.
    pinned = make_client(security={"secret_key": NEW_SECRET, "id_hash_secret": STRONG_SECRET})
    assert _known(pinned, department, number) is True


def test_sessions_end_when_the_secret_changes(make_client, admin):
    from tests.security.test_keys import _login

    before = make_client(security={"secret_key": STRONG_SECRET})
    _login(before, admin)
    assert before.get("/dashboard").status_code == 200
    cookie = before.get_cookie("session")
    assert cookie is not None
    after = make_client(security={"secret_key": NEW_SECRET})
    after.set_cookie("session", cookie.value, domain="localhost")
    answer = after.get("/dashboard")
    assert answer.status_code in (302, 303)
    assert "/dashboard/login" in answer.headers["Location"]
