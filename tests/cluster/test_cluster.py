"""The registry on a real Citus cluster (a coordinator and two workers on this machine)
beside one ordinary server: the same files give the same answers; per-entity reads are
single-shard; a worker lost mid-import leaves nothing half-written."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from sqlalchemy import Engine, create_engine, event, text

from registry.core.citus import DISTRIBUTED, REFERENCE, SEPARATE
from registry.core.runtime import Runtime
from tests.cluster.conftest import Servers, cli_env
from tests.cluster.pgnodes import wait_for
from tests.conftest import ROOT, Invoke, make_config

pytestmark = [pytest.mark.citus, pytest.mark.slow]

SAMPLE = "sample_penalties_gb18030.csv"
#: ``credit-registry`` as a process of its own.
CLI = [sys.executable, "-c", "from cli import main; main()"]


def _sample(shared_dir: Path) -> Path:
    data = shared_dir / "data" / SAMPLE
    return data if data.exists() else shared_dir / SAMPLE


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from registry.records import demo

    path = tmp_path_factory.mktemp("citus") / "demo1000.csv"
    demo.write_file(path, 1000, "csv", seed=7)
    return path


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same 3,000-row authority file for both databases."""
    from registry.records import demo

    path = tmp_path_factory.mktemp("citus") / "demo3000.csv"
    demo.write_file(path, 3000, "csv", seed=19)
    return path


@pytest.fixture(scope="module")
def other_formats(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Records of their own as XLSX and as JSONL (English field names): the other two
    readers, on both databases."""
    from registry.records import demo

    folder = tmp_path_factory.mktemp("citus")
    xlsx, jsonl = folder / "demo300.xlsx", folder / "demo300.jsonl"
    demo.write_file(xlsx, 300, "xlsx", seed=23)
    demo.write_file(jsonl, 300, "jsonl", seed=29)
    return xlsx, jsonl


def _import(url: str, *files: Path) -> str:
    result = Invoke(url)("import", *map(str, files))
    assert result.exit_code == 0, result.output
    return result.output


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql))
            return [tuple(r) for r in result.all()] if result.returns_rows else []
    finally:
        engine.dispose()


def _export(url: str, tmp_path: Path, name: str) -> list[dict[str, Any]]:
    out = tmp_path / f"{name}.jsonl"
    result = Invoke(url)("export", "--scope", "full", "--out", str(out))
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _public(url: str, paths: list[str]) -> list[tuple[int, Any]]:
    from api import create_app

    rt = Runtime(make_config(url))
    try:
        client = create_app(runtime=rt).test_client()
        answers = []
        for path in paths:
            response = client.get(path)
            answers.append((response.status_code, response.get_json(silent=True)))
        return answers
    finally:
        rt.dispose()


LISTS = (
    "SELECT uscc, list_type, status, rule_id, pack_version, authority_uscc, "
    "CAST(basis_penalty_ids AS text), proposed_on, since, until, end_reason "
    "FROM list_entries ORDER BY uscc, list_type, id"
)
DECISIONS = (
    "SELECT uscc, rule_id, outcome, list_type, CAST(basis_penalty_ids AS text) "
    "FROM decisions ORDER BY uscc, rule_id, id"
)
ALERTS = "SELECT uscc, kind, penalty_id, decision_number, status FROM alerts ORDER BY uscc, id"


# --- init --citus -----------------------------------------------------------------------


def test_init_citus_places_every_table_and_runs_again_harmlessly(servers: Servers):
    placed = dict(
        _rows(servers.cluster_url, "SELECT table_name::text, citus_table_type FROM citus_tables")
    )
    for table in DISTRIBUTED:
        assert placed[table] == "distributed", table
    for table in SEPARATE:
        assert placed[table] == "distributed", table
    for table in REFERENCE:
        assert placed[table] == "reference", table
    assert "audit_log" not in placed  # global, on the coordinator
    assert "changes" not in placed
    colocated = _rows(
        servers.cluster_url,
        "SELECT count(DISTINCT colocation_id) FROM citus_tables WHERE table_name::text IN ("
        + ", ".join(f"'{t}'" for t in DISTRIBUTED)
        + ")",
    )
    assert colocated == [(1,)]
    again = Invoke(servers.cluster_url)("init", "--citus")
    assert again.exit_code == 0, again.output
    assert "无需改动" in again.output


def test_init_citus_without_citus_says_so_and_exits_1(servers: Servers):
    result = Invoke(servers.single_url)("init", "--citus")
    assert result.exit_code == 1
    assert "没有 citus 扩展" in result.output


# --- the same answers -----------------------------------------------------------------


def test_same_files_give_the_same_answers_on_one_server_and_on_the_cluster(
    cluster: Servers,
    shared_dir: Path,
    demo_file: Path,
    other_formats: tuple[Path, Path],
    tmp_path: Path,
):
    for url in (cluster.single_url, cluster.cluster_url):
        said = _import(url, _sample(shared_dir), demo_file, *other_formats)
        for path in other_formats:  # each format's records went in
            assert re.search(rf"{re.escape(str(path))}：新增 [1-9]", said), said
        # Twice: the second run finds every record unchanged (the update path).
        assert "新增 0，更新 0" in _import(url, demo_file)
    # Every subject queued again and drained by three evaluators at once (as on three
    # machines): each evaluated once — none missed, none by two.  Processes of their own
    # run on the real day, so the one server's subjects are evaluated alike.
    for url in (cluster.cluster_url, cluster.single_url):
        _evaluate_together(url, processes=3)
    single = _export(cluster.single_url, tmp_path, "single")
    spread = _export(cluster.cluster_url, tmp_path, "cluster")
    assert len(single) >= 3000
    assert spread == single
    for sql in (LISTS, DECISIONS, ALERTS):
        assert _rows(cluster.cluster_url, sql) == _rows(cluster.single_url, sql)
    assert _rows(cluster.single_url, "SELECT count(*) FROM list_entries")[0][0] > 0
    codes = [
        r[0]
        for r in _rows(
            cluster.single_url,
            "SELECT uscc FROM entities ORDER BY uscc LIMIT 15",
        )
    ]
    listed = [
        r[0] for r in _rows(cluster.single_url, "SELECT DISTINCT list_type FROM list_entries")
    ]
    paths = [f"/api/v1/public/entities/{c}" for c in codes]
    paths += [f"/api/v1/public/lists/{t}/entries" for t in listed]
    paths += ["/api/v1/public/search?q=%E5%85%AC%E5%8F%B8", "/api/v1/public/changes"]
    single_answers = _public(cluster.single_url, paths)
    assert all(status == 200 for status, _ in single_answers)
    assert _public(cluster.cluster_url, paths) == single_answers


# --- single-shard reads ---------------------------------------------------------------


@contextmanager
def captured() -> Iterator[list[tuple[str, Any]]]:
    """Every statement any engine sends while the block runs."""
    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters[0] if executemany else parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _task_counts(url: str, statements: list[tuple[str, Any]]) -> dict[str, list[int]]:
    """``Task Count`` of each captured statement that reads or writes a distributed table
    (planned with EXPLAIN, never run)."""
    names = set(DISTRIBUTED)
    found: dict[str, list[int]] = {}
    dsn = url.replace("postgresql+psycopg2://", "postgresql://")
    conn = psycopg2.connect(dsn)
    try:
        for sql, params in statements:
            head = sql.lstrip().split(None, 1)[0].upper()
            if head not in ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE"):
                continue
            if not any(f" {n} " in f" {sql} ".replace("\n", " ") for n in names):
                continue
            with conn.cursor() as cur:
                cur.execute("EXPLAIN " + sql, params or None)
                plan = "\n".join(r[0] for r in cur.fetchall())
            conn.rollback()
            counts = [
                int(line.split(":")[1]) for line in plan.splitlines() if "Task Count:" in line
            ]
            found[" ".join(sql.split())[:160]] = counts
    finally:
        conn.close()
    return found


def _token(url: str, role: str, authority: str | None = None) -> str:
    from registry.core.tokens import create_token

    rt = Runtime(make_config(url))
    try:
        with rt.unit_of_work() as session:
            return create_token(
                session, role=role, name=f"{role}-t", authority=authority, actor="t"
            )
    finally:
        rt.dispose()


def test_a_lookup_a_sanctions_check_and_one_subjects_rules_are_single_shard(
    cluster: Servers, shared_dir: Path
):
    from api import create_app
    from registry.disclosure.profile import profile_statement_sql

    url = cluster.cluster_url
    _import(url, _sample(shared_dir))
    code = _rows(url, "SELECT uscc FROM list_entries ORDER BY uscc LIMIT 1")[0][0]

    # The public lookup: one statement.
    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with conn.cursor() as cur:
            cur.execute(f"PREPARE lookup(text, date, text[]) AS {profile_statement_sql()}")
            cur.execute("EXPLAIN EXECUTE lookup(%s, %s, %s)", (code, "2026-11-29", ["x"]))
            plan = "\n".join(r[0] for r in cur.fetchall())
    finally:
        conn.close()
    counts = [line.split(":")[1].strip() for line in plan.splitlines() if "Task Count:" in line]
    assert counts == ["1"], plan

    # The sanctions check of one code, through the API.
    secret = _token(url, "department")
    rt = Runtime(make_config(url))
    try:
        client = create_app(runtime=rt).test_client()
        with captured() as statements:
            answer = client.get(
                f"/api/v1/sanctions/{code}", headers={"Authorization": f"Bearer {secret}"}
            )
        assert answer.status_code == 200, answer.get_json()
    finally:
        rt.dispose()
    counts = _task_counts(url, statements)
    assert counts, "the sanctions check read no distributed table"
    assert all(c == [1] for c in counts.values()), counts

    # The rules of one subject.
    with captured() as statements:
        result = Invoke(url)("evaluate", code)
    assert result.exit_code == 0, result.output
    counts = _task_counts(url, statements)
    assert counts, "the evaluation read no distributed table"
    assert all(c == [1] for c in counts.values()), counts


# --- a worker lost mid-import -----------------------------------------------------------


def test_a_worker_killed_mid_import_leaves_nothing_half_written(
    cluster: Servers, small_file: Path, tmp_path: Path
):
    demo_file = small_file
    url = cluster.cluster_url
    proc = subprocess.Popen(
        [*CLI, "import", str(demo_file)],
        cwd=ROOT,
        env={**cli_env(url), "REGISTRY_IMPORTER_BATCH_SIZE": "100"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Kill a worker once some batches are in.
        assert wait_for(lambda: _rows(url, "SELECT count(*) FROM penalties")[0][0] > 0, 60)
        cluster.workers[1].kill()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        cluster.workers[1].start()
    assert proc.returncode != 0
    assert "Traceback" not in err
    assert "数据库出错，未完成的事务已回滚" in err, (out, err)
    # Back: every committed batch is whole — each record with its key and entity.
    wait_for(lambda: _rows(url, "SELECT count(*) FROM penalties") is not None, 30)
    _rows(url, "SELECT recover_prepared_transactions()")
    assert _consistent(url) == ""
    _import(url, demo_file)
    _import(cluster.single_url, demo_file)
    assert _consistent(url) == ""
    # The same records as one server's.  The batches the killed process wrote carry its
    # own day (a process of its own runs on the real clock) in their timestamps, and the
    # batch it lost used up ids (a sequence does not roll back); two runs, two batch ids.
    spread = _untimed(_export(url, tmp_path, "cluster"))
    single = _untimed(_export(cluster.single_url, tmp_path, "single"))
    differ = [
        (a["decision_number"], k, a[k], b.get(k))
        for a, b in zip(spread, single, strict=True)
        for k in a
        if a[k] != b.get(k)
    ]
    assert not differ, differ[:5]


def _untimed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = [
        {k: v for k, v in r.items() if k not in ("id", "import_batch_id") and not k.endswith("_at")}
        for r in records
    ]
    return sorted(kept, key=lambda r: (r["authority_uscc"], r["decision_number"]))


def _consistent(url: str) -> str:
    """What is half-written, if anything ("" when nothing is)."""
    counts = _rows(
        url,
        "SELECT (SELECT count(*) FROM penalties), (SELECT count(*) FROM decision_numbers), "
        "(SELECT count(*) FROM changes WHERE kind = 'penalty'), "
        "(SELECT count(DISTINCT uscc) FROM penalties WHERE uscc IS NOT NULL), "
        "(SELECT count(*) FROM entities)",
    )[0]
    penalties, keys, feed, coded, entities = counts
    if penalties == keys == feed and coded == entities:
        return ""
    return f"penalties {penalties}, keys {keys}, feed {feed}, coded {coded}, entities {entities}"


# --- several evaluators ---------------------------------------------------------------


def _evaluate_together(url: str, processes: int) -> None:
    queued = _rows(
        url,
        "INSERT INTO dirty_entities (subject_key, queued_at) "
        "SELECT DISTINCT subject_key, now() FROM penalties RETURNING subject_key",
    )
    assert len(queued) > 1000
    # A start line: the queue is locked until every evaluator waits at its first claim,
    # so none drains it all before the others have started (on a fast machine the
    # memoised rules take a second, about what a process takes to start).
    gate = create_engine(url)
    try:
        with gate.connect() as hold:
            held = hold.begin()
            hold.execute(text("LOCK TABLE dirty_entities IN EXCLUSIVE MODE"))
            procs = [
                subprocess.Popen(
                    [*CLI, "evaluate"],
                    cwd=ROOT,
                    env=cli_env(url),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(processes)
            ]
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'DELETE FROM dirty_entities%'"
            )
            assert wait_for(lambda: _rows(url, waiting)[0][0] >= processes, 120)
            held.rollback()
    finally:
        gate.dispose()
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    # "评估 N 个主体（…）", or "没有待处理的主体。" for one that found the queue drained.
    evaluated = [
        int(out.split("评估 ")[1].split(" ")[0]) if "评估 " in out else 0 for out, _ in outputs
    ]
    assert sum(evaluated) == len(queued), evaluated
    assert sum(1 for n in evaluated if n > 0) >= 2, evaluated  # they shared the work
    assert _rows(url, "SELECT count(*) FROM dirty_entities") == [(0,)]


# --- the other doors ------------------------------------------------------------------


def test_jobs_the_dashboard_doors_and_audit_verify_run_on_the_coordinator(
    cluster: Servers, shared_dir: Path
):
    from api import create_app
    from cli.jobs import job_specs
    from registry.delivery.scheduler import run_job

    url = cluster.cluster_url
    _import(url, _sample(shared_dir))
    penalty_id, code, number, authority = _rows(
        url,
        "SELECT id, uscc, decision_number, authority_uscc FROM penalties "
        "WHERE uscc IS NOT NULL AND status = 'active' AND disclosure_until >= '2026-11-29' "
        "AND decided_on <= '2026-11-29' ORDER BY id LIMIT 1",
    )[0]
    rt = Runtime(make_config(url))
    try:
        for name, spec in job_specs(rt).items():
            outcome = run_job(rt, spec)
            assert outcome.status == "ok", (name, outcome.detail)
        client = create_app(runtime=rt).test_client()
        # The public files an objection; the receipt finds it (through receipts).
        filed = client.post(
            "/api/v1/public/objections",
            json={
                "uscc": code,
                "decision_number": number,
                "statement": "罚款金额有误",
                "contact": "0755-1234 王先生",
            },
        )
        assert filed.status_code == 201, filed.get_json()
        status = client.post(
            "/api/v1/public/objections/status", json={"receipt": filed.get_json()["receipt"]}
        )
        assert status.status_code == 200, status.get_json()
        # The authority revokes the record: gone from the public answer.
        secret = _token(url, "regulator", authority=authority)
        revoked = client.post(
            f"/api/v1/penalties/{penalty_id}/revoke",
            json={"reason": "经行政复议撤销原处罚决定"},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert revoked.status_code == 200, revoked.get_json()
        answer = client.get(f"/api/v1/public/entities/{code}").get_json()
        assert number not in [p["decision_number"] for p in answer["penalties"]]
        for path in ("/", f"/entities/{code}", "/lists", "/search?q=%E5%85%AC%E5%8F%B8"):
            assert client.get(path).status_code == 200, path
    finally:
        rt.dispose()
    verified = Invoke(url)("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "审计链完好" in verified.output
    public = Invoke(url)("export", "--scope", "public")
    assert public.exit_code == 0, public.output


# --- the desk, the report and every read endpoint ----------------------------------------

#: Path arguments of the app's GET routes, filled from rows made below (a missing row's id
#: is 0: a 404 is an answer, a 500 is not).
_SKIPPED_ARGS = {"name", "filename"}


def test_the_desk_the_report_and_every_read_endpoint_answer_on_the_coordinator(
    cluster: Servers, shared_dir: Path
):
    """The regulator's dashboard (2,000 proposals confirmed with one reason, an
    objection answered, a complaint accepted; an administrator routes one), the bulk API,
    the credit report with its PDF and its verification, a batch sanctions check, and
    every GET route of the app as the public, an admin, a regulator and a department —
    on the Citus coordinator, none answering 5xx."""
    from api import create_app
    from tests.api.factories import ApiFactory
    from tests.web import work

    url = cluster.cluster_url
    _import(url, _sample(shared_dir))
    rt = Runtime(make_config(url))
    try:
        with rt.sessions() as session:
            factory = ApiFactory(session, seed=43)
            ours = factory.authority()
            regulator = factory.token("regulator", ours, name="本局科员")
            admin = factory.token("admin", name="管理员")
            department = factory.token("department", name="财政部门")
            queued = work.proposals(factory, ours, 2000)
            by_api = work.proposals(factory, ours, 3)
            objection = work.objection(factory, ours)
            complaint = work.complaint(factory, ours)
            unrouted = work.complaint(factory, None)
            alert = work.alert(factory, ours)
            repair = work.repair(factory, ours)
            batch = work.import_batch(factory, ours)
            records = [factory.record(ours) for _ in range(3)]
            factory.commit()
            ids = {
                "objection_id": objection.id,
                "complaint_id": complaint.id,
                "repair_id": repair.id,
                "entry_id": queued[0],
                "penalty_id": alert.penalty_id,
                "batch_id": batch,
            }
        code = _rows(url, "SELECT uscc FROM list_entries WHERE status = 'active' LIMIT 1")[0][0]

        app = create_app(runtime=rt)
        app.config["TESTING"] = True  # an exception fails the test instead of a 500
        client = app.test_client()

        # The bulk API, one reason, an answer per id.
        bulk = client.post(
            "/api/v1/list-entries/reject",
            json={"ids": by_api, "reason": "当事人已在告知期内纠正"},
            headers=regulator.headers,
        )
        assert bulk.status_code == 200, bulk.get_json()
        assert {i["status"] for i in bulk.get_json()["items"]} == {"rejected"}

        # The desk: every one of the 2,000 waiting proposals confirmed with one reason.
        work.login(client, regulator.secret)
        page = client.get("/dashboard/queue").get_data(as_text=True)
        assert "<strong>2000</strong> 个待确认条目符合筛选条件" in page
        decided = client.post(
            "/dashboard/queue/decide",
            data={
                "decision": "confirm",
                "scope": "all",
                "expected_count": "2000",
                "reason": "告知期满，当事人未陈述申辩",
                "csrf_token": work.csrf_of(page),
            },
            follow_redirects=True,
        )
        assert decided.status_code == 200
        statuses = _rows(
            url,
            "SELECT status, count(*) FROM list_entries WHERE authority_uscc = "
            f"'{ours}' AND rule_id = 'heavy-penalty' AND pack_version = 'test' GROUP BY status "
            "ORDER BY status",
        )
        assert statuses == [("active", 2000), ("rejected", 3)], statuses
        page = client.get("/dashboard/objections").get_data(as_text=True)
        answered = client.post(
            f"/dashboard/objections/{objection.id}/answer",
            data={
                "outcome": "rejected",
                "answer": "经核查，记录无误。",
                "csrf_token": work.csrf_of(page),
            },
            follow_redirects=True,
        )
        assert f"异议 {objection.id} 已答复" in answered.get_data(as_text=True)
        accepted = client.post(
            f"/dashboard/complaints/{complaint.id}/status",
            data={"status": "accepted", "csrf_token": work.csrf_of(page)},
            follow_redirects=True,
        )
        assert f"举报 {complaint.id} 已受理。" in accepted.get_data(as_text=True)
        page = client.get("/dashboard/alerts").get_data(as_text=True)
        resolved = client.post(
            f"/dashboard/alerts/{alert.id}/resolve",
            data={"how": "reason", "reason": "经审查不构成犯罪", "csrf_token": work.csrf_of(page)},
            follow_redirects=True,
        )
        assert resolved.status_code == 200
        assert _rows(url, f"SELECT status FROM alerts WHERE id = {alert.id}") == [("resolved",)]
        page = client.get("/dashboard/repairs").get_data(as_text=True)
        approved = client.post(
            f"/dashboard/repairs/{repair.id}/decide",
            data={"decision": "approve", "csrf_token": work.csrf_of(page)},
            follow_redirects=True,
        )
        assert approved.status_code == 200
        assert _rows(url, f"SELECT status FROM repairs WHERE id = {repair.id}") == [("approved",)]
        report = client.get(f"/dashboard/imports/{batch}/report")
        assert report.status_code == 200
        assert "第18位校验码错误" in report.get_data(as_text=True)
        client.post("/dashboard/logout", data={"csrf_token": work.csrf_of(page)})
        # An administrator routes a complaint nobody was found for.
        work.login(client, admin.secret)
        page = client.get("/dashboard/complaints").get_data(as_text=True)
        routed = client.post(
            f"/dashboard/complaints/{unrouted.id}/route",
            data={"authority_uscc": ours, "csrf_token": work.csrf_of(page)},
            follow_redirects=True,
        )
        assert routed.status_code == 200
        assert _rows(url, f"SELECT authority_uscc FROM complaints WHERE id = {unrouted.id}") == [
            (ours,)
        ]
        client.post("/dashboard/logout", data={"csrf_token": work.csrf_of(page)})

        # A record through the API, and a file through the API's upload.
        created = client.post("/api/v1/penalties", json=records[0], headers=regulator.headers)
        assert created.status_code == 201, created.get_json()
        upload = client.post(
            "/api/v1/imports",
            data={
                "file": (
                    io.BytesIO(
                        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
                    ),
                    "batch.jsonl",
                )
            },
            content_type="multipart/form-data",
            headers=regulator.headers,
        )
        assert upload.status_code == 200, upload.get_json()
        assert (upload.get_json()["accepted"], upload.get_json()["unchanged"]) == (2, 1)

        # A department checks a batch of codes.
        checked = client.post(
            "/api/v1/sanctions/check",
            json={"codes": [code, "91110000000000000X"]},
            headers=department.headers,
        )
        assert checked.status_code == 200, checked.get_json()
        assert checked.get_json()["results"][0]["sanctioned"] is True

        # The credit report, its PDF and its verification.
        html = client.get(f"/entities/{code}/report").get_data(as_text=True)
        number = re.search(r'class="report-number">([^<]+)<', html).group(1)  # type: ignore[union-attr]
        check = re.search(r'class="report-code">([^<]+)<', html).group(1)  # type: ignore[union-attr]
        pdf = client.get(f"/entities/{code}/report.pdf")
        assert (pdf.status_code, pdf.mimetype) == (200, "application/pdf")
        verdict = client.post(
            "/api/v1/public/reports/verify", json={"number": number, "code": check}
        ).get_json()
        assert (verdict["genuine"], verdict["facts_hold"]) == (True, True)

        # Every GET route, as the public and with each role's token.
        values = {**ids, "uscc": code, "list_type": "samr_serious"}
        walked = 0
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or rule.arguments & _SKIPPED_ARGS:
                continue
            path = re.sub(
                r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values.get(m.group(1), 0)), rule.rule
            )
            for headers in ({}, admin.headers, regulator.headers, department.headers):
                answer = client.get(path, headers=headers)
                answer.close()  # a static file's handle
                assert answer.status_code < 500, (path, answer.status_code)
            walked += 1
        assert walked > 50
    finally:
        rt.dispose()


def test_supervision_intake_and_department_writes_on_the_coordinator(cluster: Servers):
    """The other writing doors, on the Citus coordinator: an inspection task defined,
    drawn, its result recorded and published; a case transferred and its outcome; an
    alert closed by transfer; a quality commitment made and withdrawn; a repair applied
    for and approved; a list entry removed; a person check and a department's feedback."""

    from api import create_app
    from registry.core import clock
    from tests.api.factories import ApiFactory, apply_for_repair
    from tests.web import work

    url = cluster.cluster_url
    rt = Runtime(make_config(url))
    try:
        today = clock.today()
        with rt.sessions() as session:
            factory = ApiFactory(session, seed=53)
            ours = factory.authority()
            regulator = factory.token("regulator", ours)
            department = factory.token("department", name="市财政局政府采购处")
            for name in ("深圳市鲜味食品有限公司", "深圳市南海食品贸易有限公司"):
                factory.entity(factory.uscc("440305"), name=name)
            entity = factory.entity()
            transferred = factory.penalty(entity.uscc, ours, business_volume_wan=8)
            by_alert = factory.alert(
                factory.penalty(
                    entity.uscc, ours, violation_type="假冒专利", business_volume_wan=25
                )
            )
            minor = work.repairable_penalty(factory, entity.uscc, ours)
            entry = factory.entry(entity.uscc, authority_uscc=ours, status="active")
            number = factory.id_number()
            factory.link(factory.person(number), entity.uscc)
            factory.commit()
        client = create_app(runtime=rt).test_client()
        client.application.config["TESTING"] = True
        h = regulator.headers

        task = client.post(
            "/api/v1/inspections/tasks",
            json={
                "title": "2026年第四季度双随机抽查",
                "authority_name": "深圳市南山区市场监督管理局",
                "scope": {"regions": ["440305"], "name_keywords": ["食品"]},
                "ratios": {"A": "1", "B": "1", "C": "1", "D": "1"},
            },
            headers=h,
        )
        assert task.status_code == 201, task.get_json()
        tid = task.get_json()["id"]
        pool = [
            {"code": "44030500101", "name": "李明", "region": "440305"},
            {"code": "44030500102", "name": "陈芳", "region": "440305"},
        ]
        put = client.put(
            f"/api/v1/inspections/tasks/{tid}/inspectors", json={"inspectors": pool}, headers=h
        )
        assert put.status_code == 200, put.get_json()
        drawn = client.post(f"/api/v1/inspections/tasks/{tid}/draw", json={"seed": "s"}, headers=h)
        assert drawn.status_code == 200, drawn.get_json()
        picked = drawn.get_json()["sample"][0]["uscc"]
        result = client.post(
            f"/api/v1/inspections/tasks/{tid}/results",
            json={"uscc": picked, "outcome": "no_problem", "inspected_on": today.isoformat()},
            headers=h,
        )
        assert result.status_code == 200, result.get_json()
        assert client.post(f"/api/v1/inspections/tasks/{tid}/publish", headers=h).status_code == 200
        assert client.get(f"/inspections/{tid}").status_code == 200

        made = client.post(
            f"/api/v1/penalties/{transferred.id}/transfers",
            json={"police_unit": "深圳市公安局南山分局", "transferred_on": today.isoformat()},
            headers=h,
        )
        assert made.status_code == 201, made.get_json()
        outcome = client.post(
            f"/api/v1/transfers/{made.get_json()['id']}/outcome",
            json={"outcome": "公安机关已立案侦查", "outcome_on": today.isoformat()},
            headers=h,
        )
        assert outcome.status_code == 200, outcome.get_json()
        closed = client.post(
            f"/api/v1/alerts/{by_alert.id}/resolve",
            json={"transfer": {"police_unit": "深圳市公安局", "outcome": "已立案"}},
            headers=h,
        )
        assert closed.status_code == 200, closed.get_json()

        commitment = client.post(
            "/api/v1/commitments",
            json={
                "uscc": entity.uscc,
                "products": "速冻水饺",
                "standard": "Q/XW 001-2026",
                "statement": "本企业承诺按严于国家标准的企业标准组织生产。",
                "made_on": today.isoformat(),
            },
            headers=h,
        )
        assert commitment.status_code == 201, commitment.get_json()
        withdrawn = client.post(
            f"/api/v1/commitments/{commitment.get_json()['id']}/withdraw",
            json={"reason": "企业申请撤回"},
            headers=h,
        )
        assert withdrawn.status_code == 200, withdrawn.get_json()

        applied = apply_for_repair(client, minor, regulator, "已履行行政处罚决定，申请停止公示。")
        assert applied.status_code == 201, applied.get_json()
        approved = client.post(
            f"/api/v1/repairs/{applied.get_json()['id']}/approve", json={}, headers=h
        )
        assert approved.status_code == 200, approved.get_json()
        public = client.get(f"/api/v1/public/entities/{entity.uscc}").get_json()
        assert minor.decision_number not in [p["decision_number"] for p in public["penalties"]]

        removed = client.post(
            f"/api/v1/list-entries/{entry.id}/remove", json={"reason": "经复核撤销认定"}, headers=h
        )
        assert removed.status_code == 200, removed.get_json()

        person = client.post(
            "/api/v1/sanctions/person-check", json={"id_number": number}, headers=department.headers
        )
        assert person.status_code == 200, person.get_json()
        assert person.get_json()["person"]["known"] is True
        assert number not in person.get_data(as_text=True)
        feedback = client.post(
            "/api/v1/sanctions/feedback",
            json={
                "uscc": entity.uscc,
                "measure_id": "procurement-ban",
                "list_entry_id": entry.id,
                "action": "applied",
                "note": "取消投标资格",
                "acted_on": today.isoformat(),
            },
            headers=department.headers,
        )
        assert feedback.status_code == 201, feedback.get_json()
    finally:
        rt.dispose()


def test_the_command_line_on_the_coordinator(cluster: Servers, shared_dir: Path, tmp_path: Path):
    """The other commands against the coordinator's URL: tokens created, listed and
    revoked; proposals confirmed and rejected in bulk from the CLI; the public export and
    an export since a cursor; rules preview of one subject; audit verify."""
    from tests.api.factories import ApiFactory
    from tests.web import work

    url = cluster.cluster_url
    _import(url, _sample(shared_dir))
    invoke = Invoke(url)
    rt = Runtime(make_config(url))
    try:
        with rt.sessions() as session:
            factory = ApiFactory(session, seed=59)
            ours = factory.authority()
            confirm = work.proposals(factory, ours, 30)
            reject = work.proposals(factory, ours, 5, list_type="samr_abnormal")
            factory.commit()
    finally:
        rt.dispose()

    made = invoke(
        "token", "create", "--role", "regulator", "--name", "本局科员", "--authority", ours
    )
    assert made.exit_code == 0, made.output
    listed = invoke("token", "list")
    assert listed.exit_code == 0, listed.output
    assert "本局科员" in listed.output
    assert made.output.strip() not in listed.output  # never the secret
    token_id = _rows(url, "SELECT id FROM api_tokens WHERE name = '本局科员'")[0][0]
    assert invoke("token", "revoke", str(token_id)).exit_code == 0

    args = ("--authority", ours, "--reason", "告知期满，当事人未陈述申辩")
    confirmed = invoke("lists", "confirm", "--ids", ",".join(map(str, confirm)), *args)
    assert confirmed.exit_code == 0, confirmed.output
    rejected = invoke("lists", "reject", "--list", "samr_abnormal", "--expected-count", "5", *args)
    assert rejected.exit_code == 0, rejected.output
    statuses = _rows(
        url,
        f"SELECT status, count(*) FROM list_entries WHERE authority_uscc = '{ours}' "
        "GROUP BY status ORDER BY status",
    )
    assert statuses == [("active", 30), ("rejected", 5)], statuses
    assert _rows(
        url,
        f"SELECT count(*) FROM list_entries WHERE status = 'rejected' "
        f"AND id IN ({','.join(map(str, reject))})",
    ) == [(5,)]

    public = tmp_path / "public.jsonl"
    exported = invoke("export", "--scope", "public", "--out", str(public))
    assert exported.exit_code == 0, exported.output
    assert public.stat().st_size > 0
    cursor = exported.output.rsplit("游标（--since）：", 1)[1].strip()
    later = tmp_path / "since.jsonl"
    since = invoke("export", "--scope", "public", "--since", cursor, "--out", str(later))
    assert since.exit_code == 0, since.output
    assert later.read_text(encoding="utf-8") == ""  # nothing changed since

    code = _rows(url, "SELECT uscc FROM entities ORDER BY uscc LIMIT 1")[0][0]
    preview = invoke("evaluate", code, "--dry-run")
    assert preview.exit_code == 0, preview.output
    verified = invoke("audit", "verify")
    assert verified.exit_code == 0, verified.output
