"""Many regulators write and revoke while departments check, against a real server, for
a bounded time; afterwards nothing acknowledged is lost and the audit chain verifies.

Three authorities, two writer threads each, share a small pool of entities (so writes
of different authorities meet on the same subjects and their rule runs), while two
department threads run single and batch sanctions checks.  A writer creates records,
re-sends some with changed content (an update of the same key), and revokes some of
its own.  Every 2xx answer is remembered as acknowledged.  Afterwards:

- no answer was a 5xx, and nothing but 200/201 was answered to a well-formed request;
- every acknowledged record is stored with the content of its last acknowledged write,
  every acknowledged revocation is stored, and nothing unacknowledged was stored;
- no (authority, decision number) is stored twice;
- ``credit-registry audit verify`` exits 0.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from registry.records.demo import make_uscc
from tests.reliability.conftest import make_token, run_cli, start_server

pytestmark = [pytest.mark.slow]

SECONDS = 10
AUTHORITIES = 3
WRITERS_PER_AUTHORITY = 2
DEPARTMENTS = 2
ENTITIES = 12


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("fresh_pg")()
    from registry.core import migrate
    from registry.core.runtime import Runtime
    from tests.conftest import make_config

    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    rt = Runtime(make_config(url))
    migrate.upgrade(rt.engine)
    rt.dispose()
    return url


def _call(base: str, method: str, path: str, token: str, body: object | None = None):
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310
        base + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:500]


@dataclass
class Ledger:
    """What the server acknowledged, and anything it should not have answered."""

    written: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    ids: dict[tuple[str, str], int] = field(default_factory=dict)
    revoked: set[int] = field(default_factory=set)
    bad: list[tuple[str, int, object]] = field(default_factory=list)
    checks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _record(authority: str, number: str, code: str, fine: Decimal) -> dict:
    return {
        "party_name": f"并发测试企业{code[-4:]}有限公司",
        "party_type": "organisation",
        "uscc": code,
        "legal_representative": "王伟",
        "decision_number": number,
        "violation_type": "未按规定公示年度报告",
        "facts": "经查，当事人未按规定公示年度报告。",
        "basis": "《企业信息公示暂行条例》第十八条",
        "categories": ["罚款"],
        "content": f"罚款{fine}万元",
        "fine_wan": str(fine),
        "decided_on": "2026-05-18",
        "authority": f"并发测试局{authority[-4:]}",
        "authority_uscc": authority,
    }


def _writer(base, token, authority, tag, codes, ledger, stop, seed) -> None:
    rng = random.Random(seed)
    mine: list[tuple[str, str]] = []  # keys this thread wrote (only it touches them)
    subject: dict[tuple[str, str], str] = {}
    n = 0
    while not stop.is_set():
        roll = rng.random()
        if mine and roll < 0.2:  # change an existing record (same key, new content)
            key = rng.choice(mine)
            if ledger.ids.get(key) in ledger.revoked:
                continue
            fine = Decimal(rng.randrange(1, 999)) / 10
            status, body = _call(
                base, "POST", "/api/v1/penalties", token, _record(*key, subject[key], fine)
            )
            if status == 200 and body["result"] in ("updated", "unchanged"):
                with ledger.lock:
                    ledger.written[key] = fine
            else:
                ledger.bad.append(("update", status, body))
        elif mine and roll < 0.35:  # revoke one of ours
            key = rng.choice(mine)
            penalty_id = ledger.ids[key]
            if penalty_id in ledger.revoked:
                continue
            status, body = _call(
                base,
                "POST",
                f"/api/v1/penalties/{penalty_id}/revoke",
                token,
                {"reason": "经行政复议撤销原处罚决定"},
            )
            if status == 200 and body["status"] == "revoked":
                with ledger.lock:
                    ledger.revoked.add(penalty_id)
            else:
                ledger.bad.append(("revoke", status, body))
        else:  # a new record
            n += 1
            key = (authority, f"并发罚字〔2026〕{tag}-{n}号")
            fine = Decimal(rng.randrange(1, 999)) / 10
            subject[key] = rng.choice(codes)
            status, body = _call(
                base, "POST", "/api/v1/penalties", token, _record(*key, subject[key], fine)
            )
            if status == 201 and body["result"] == "created":
                with ledger.lock:
                    ledger.written[key] = fine
                    ledger.ids[key] = body["penalty"]["id"]
                mine.append(key)
            else:
                ledger.bad.append(("create", status, body))


def _department(base, token, codes, ledger, stop, seed) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        if rng.random() < 0.5:
            status, body = _call(base, "GET", f"/api/v1/sanctions/{rng.choice(codes)}", token)
        else:
            batch = rng.sample(codes, 5)
            status, body = _call(base, "POST", "/api/v1/sanctions/check", token, {"codes": batch})
            if status == 200:
                assert [r["uscc"] for r in body["results"]] == batch
        if status != 200:
            ledger.bad.append(("check", status, body))
        with ledger.lock:
            ledger.checks += 1


def test_concurrent_writers_lose_nothing(database, tmp_path):
    rng = random.Random(5)
    authorities = [make_uscc(rng, "440300", authority="1", kind="1") for _ in range(AUTHORITIES)]
    codes = [make_uscc(rng, "440305") for _ in range(ENTITIES)]
    regulators = [
        make_token(database, "regulator", f"监管{i}", a) for i, a in enumerate(authorities)
    ]
    departments = [make_token(database, "department", f"部门{i}") for i in range(DEPARTMENTS)]
    server = start_server(database, log=tmp_path / "serve.log")
    ledger = Ledger()
    stop = threading.Event()
    threads = []
    for i, (authority, token) in enumerate(zip(authorities, regulators, strict=True)):
        for w in range(WRITERS_PER_AUTHORITY):
            threads.append(
                threading.Thread(
                    target=_writer,
                    args=(
                        server.base,
                        token,
                        authority,
                        f"{i}{w}",
                        codes,
                        ledger,
                        stop,
                        10 * i + w,
                    ),
                )
            )
    for d, token in enumerate(departments):
        threads.append(
            threading.Thread(
                target=_department, args=(server.base, token, codes, ledger, stop, 100 + d)
            )
        )
    try:
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join(timeout=90)
        assert not any(t.is_alive() for t in threads), "a request hung"
    finally:
        stop.set()
        server.stop()

    assert not ledger.bad, ledger.bad[:5]
    assert len(ledger.written) >= 20, f"only {len(ledger.written)} writes in {SECONDS}s"
    assert ledger.checks >= 10
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, authority_uscc, decision_number, fine_wan, status FROM penalties")
            ).all()
            duplicates = conn.execute(
                text(
                    "SELECT authority_uscc, decision_number FROM penalties"
                    " GROUP BY authority_uscc, decision_number HAVING count(*) > 1"
                )
            ).all()
    finally:
        engine.dispose()
    assert duplicates == []
    stored = {(a, d): (i, Decimal(str(f)), s) for i, a, d, f, s in rows}
    assert set(stored) == set(ledger.written), "stored records differ from acknowledged ones"
    for key, fine in ledger.written.items():
        penalty_id, stored_fine, status = stored[key]
        assert penalty_id == ledger.ids[key]
        assert stored_fine == fine, f"{key}: last acknowledged fine {fine}, stored {stored_fine}"
        assert (status == "revoked") == (penalty_id in ledger.revoked), key
    verified = run_cli(database, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "审计链完好" in verified.stdout
