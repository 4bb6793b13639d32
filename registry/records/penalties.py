"""Writing penalty records (行政处罚信息): the one write path behind every door.

:func:`upsert_penalties` takes records already loaded by
:class:`registry.records.schema.PenaltyRecordSchema` and writes them in the caller's
transaction (it flushes, never commits): a record is keyed by (authority USCC, decision
number); a new key is created, a known key with the same content is left alone, a known
key with different content is updated — its version bumped, the previous version kept in
``penalty_versions`` and an audit entry written.  The same file twice changes nothing;
two processes writing the same records at once create no duplicates.

Everything that follows from a written record happens in the same transaction, set-based
from a staging table: the change feed (``changes``), the dirty-entity queue the rules
engine drains, entities and their name history, natural persons (by keyed hash — an ID
number is never stored, only masked) and legal-representative links, the audit trail.

The engine seam is small: how the staging table is loaded (PostgreSQL ``COPY``; SQLite
``executemany``) and how new and changed rows are told apart (PostgreSQL: ``INSERT … ON
CONFLICT DO NOTHING`` then a row-locking update, safe under concurrent writers; SQLite:
one writer at a time, so a plain comparison first).  The rest is the same SQL.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.db import is_citus, is_postgres
from registry.core.models import UTCDateTime
from registry.records.citus_sql import UpdateSql, citus_rename, update_changed
from registry.records.staging import (
    _STAGED,
    _STAGED_NAMES,
    _STAGED_TYPES,
    DATA_COLUMNS,
    STATE_COLUMNS,
    PreparedBatch,
    prepare_penalties,
)

# --- what is staged: registry.records.staging; what the SQL below needs besides ------------

_WORK = (("action", "text"), ("penalty_id", "bigint"), ("old_subject_key", "text"))
_DATA_NAMES = tuple(name for name, _ in DATA_COLUMNS)
#: The staged columns what follows from a written row needs (see :func:`_follow_up`).
_FOLLOWED = (
    "idx",
    "subject_key",
    "authority_uscc",
    "decision_number",
    "content_hash",
    "uscc",
    "party_name",
    "party_type",
    "decided_on",
    "name_pinyin",
    "name_initials",
    "person_key",
    "id_type",
    "id_masked",
    "legal_representative",
    "legal_representative_key",
    "legal_representative_id_type",
    "legal_representative_id_masked",
)
#: ``import_touched``: one narrow row per created or updated record — what was done
#: (``_WORK``) and the staged columns that matter after the write.  The follow-up
#: statements read this rather than the wide staging table.
_TOUCHED = (*_WORK, *((name, _STAGED_TYPES[name]) for name in _FOLLOWED))
_TOUCHED_NAMES = tuple(name for name, _ in _TOUCHED)
_FOLLOWED_FROM_STAGE = ", ".join(f"s.{name}" for name in _FOLLOWED)


@dataclass
class UpsertResult:
    """What a call of :func:`upsert_penalties` did, per record index of its input."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: ``(record index, field, reason)`` of records refused by the write itself.
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    #: record index → penalty id, for created and updated records.
    ids: dict[int, int] = field(default_factory=dict)
    #: subject keys queued for the rules.
    dirty: set[str] = field(default_factory=set)


# --- the engine seam -----------------------------------------------------------------


class _Postgres:
    least, greatest = "LEAST", "GREATEST"

    @staticmethod
    def create_stage(session: Session) -> None:
        # The statements below are simple scans, joins and index probes over a batch;
        # JIT compiling them (when a cost estimate crosses jit_above_cost) took longer
        # than running them — ~60 ms a batch on the entities rename check alone.
        # One round trip: an importer writes from a second thread, and each return from
        # the database waits for the reading thread to hand over the GIL.
        staged = ", ".join(f"{n} {t}" for n, t in _STAGED)
        touched = ", ".join(f"{n} {t}" for n, t in _TOUCHED)
        session.execute(
            text(
                "SET LOCAL jit = off; "
                f"CREATE TEMP TABLE import_stage ({staged}) ON COMMIT DROP; "
                f"CREATE TEMP TABLE import_touched ({touched}) ON COMMIT DROP"
            )
        )

    @staticmethod
    def load_stage(session: Session, prepared: PreparedBatch) -> None:
        buffer = io.StringIO(prepared.copy_text())
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.copy_expert(
                f"COPY import_stage ({', '.join(_STAGED_NAMES)}) FROM STDIN WITH (FORMAT csv)",
                buffer,
                size=1 << 20,
            )
        finally:
            cursor.close()

    @staticmethod
    def json_object(pairs: list[tuple[str, str]]) -> str:
        return "jsonb_build_object(" + ", ".join(f"'{k}', {v}" for k, v in pairs) + ")"

    @classmethod
    def apply(cls, session: Session, params: dict[str, Any], staged: int) -> None:
        if cls.create(session, params) == staged:
            # Every record was new (a first load): nothing to compare.  Skipping the
            # statement also spares the planner a join of the whole batch against
            # ``penalties`` that it cannot know will find nothing.
            return
        cls.update(session, params)

    @staticmethod
    def create(session: Session, params: dict[str, Any]) -> int:
        """Write the records whose keys are new; returns how many."""
        cols = ", ".join(_DATA_NAMES)
        s_cols = ", ".join(f"s.{c}" for c in _DATA_NAMES)
        # Sent as one round trip: without statistics the planner takes the fresh table
        # for tiny and joins it by nested loops (a few thousand rows are analysed in
        # milliseconds); imports of one authority's records queue behind each other,
        # batch by batch, so two uploads of the same file can neither duplicate nor
        # deadlock; then the new records are written (the rowcount is the last
        # statement's).
        return int(
            _run(
                session,
                f"""
            ANALYZE import_stage (idx, authority_uscc, decision_number);
            SELECT pg_advisory_xact_lock(hashtext('credit-registry:import:' || a))
            FROM (SELECT DISTINCT authority_uscc AS a FROM import_stage ORDER BY 1) x;
            WITH claimed AS (
                INSERT INTO decision_numbers (authority_uscc, decision_number, subject_key,
                                              penalty_id)
                SELECT s.authority_uscc, s.decision_number, s.subject_key,
                       nextval(pg_get_serial_sequence('penalties', 'id'))
                FROM (SELECT * FROM import_stage ORDER BY idx) s
                WHERE true
                ON CONFLICT (authority_uscc, decision_number) DO NOTHING
                RETURNING penalty_id, authority_uscc, decision_number
            ), ins AS (
                INSERT INTO penalties (id, {cols}, status, revoked_on, revoked_reason, version,
                                       import_batch_id, created_at, updated_at)
                SELECT c.penalty_id, {s_cols}, COALESCE(s.status, 'active'), s.revoked_on,
                       s.revoked_reason, 1, :batch, :now, :now
                FROM claimed c JOIN import_stage s ON s.authority_uscc = c.authority_uscc
                                                  AND s.decision_number = c.decision_number
                ORDER BY s.idx
                RETURNING id, authority_uscc, decision_number
            )
            INSERT INTO import_touched ({", ".join(_TOUCHED_NAMES)})
            SELECT 'created', ins.id, NULL, {_FOLLOWED_FROM_STAGE}
            FROM ins JOIN import_stage s ON s.authority_uscc = ins.authority_uscc
                                        AND s.decision_number = ins.decision_number
            """,
                params,
            ).rowcount
        )

    @staticmethod
    def update(session: Session, params: dict[str, Any]) -> None:
        """Write the records whose keys are known and whose content changed."""
        # A row another process inserted meanwhile is seen here (a new statement, a new
        # snapshot); FOR UPDATE re-checks the difference on the row's latest version.
        # Each remaining record is looked up by its key (a LATERAL subquery with a
        # locking clause is never flattened into a join): the planner would otherwise
        # weigh a scan of all of ``penalties`` against the batch, and choose it while it
        # takes the table for small.  Locks are taken in key order.  The key leads to the
        # record through ``decision_numbers``; a corrected subject moves the key along.
        _run(
            session,
            f"""
            WITH old AS (
                SELECT s.idx, p.id, p.version, p.subject_key, p.data
                FROM (
                    SELECT s0.* FROM import_stage s0
                    WHERE NOT EXISTS (SELECT 1 FROM import_touched t WHERE t.idx = s0.idx)
                    ORDER BY s0.authority_uscc, s0.decision_number
                ) s
                CROSS JOIN LATERAL (
                    SELECT p.id, p.version, p.subject_key, {_version_json(_Postgres)} AS data
                    FROM decision_numbers d
                    JOIN penalties p ON p.id = d.penalty_id AND p.subject_key = d.subject_key
                    WHERE d.authority_uscc = s.authority_uscc
                      AND d.decision_number = s.decision_number
                      AND {_CHANGED}
                    FOR UPDATE OF p
                ) p
            ), ver AS (
                INSERT INTO penalty_versions (penalty_id, subject_key, version, data,
                                              replaced_at, replaced_by, import_batch_id)
                SELECT id, subject_key, version, data, :now, :actor, :batch FROM old
            ), upd AS (
                UPDATE penalties p SET {_update_set("p")}
                FROM old JOIN import_stage s ON s.idx = old.idx
                WHERE p.id = old.id AND p.subject_key = old.subject_key
                RETURNING s.idx, p.id, old.subject_key AS old_subject_key
            ), moved AS (
                UPDATE decision_numbers d SET subject_key = s.subject_key
                FROM old JOIN import_stage s ON s.idx = old.idx
                WHERE d.authority_uscc = s.authority_uscc
                  AND d.decision_number = s.decision_number
                  AND d.subject_key <> s.subject_key
            )
            INSERT INTO import_touched ({", ".join(_TOUCHED_NAMES)})
            SELECT 'updated', upd.id, upd.old_subject_key, {_FOLLOWED_FROM_STAGE}
            FROM upd JOIN import_stage s ON s.idx = upd.idx
            """,
            params,
        )


class _Citus(_Postgres):
    """A Citus coordinator: new records as on PostgreSQL; changed ones in steps by key
    (:func:`registry.records.citus_sql.update_changed`)."""

    @staticmethod
    def update(session: Session, params: dict[str, Any]) -> None:
        update_changed(session, params, _UPDATE_SQL)


class _Sqlite:
    least, greatest = "min", "max"

    @staticmethod
    def create_stage(session: Session) -> None:
        session.execute(text("DROP TABLE IF EXISTS temp.import_stage"))
        session.execute(text("DROP TABLE IF EXISTS temp.import_touched"))
        cols = ", ".join(n for n, _ in (*_STAGED, *_WORK))
        session.execute(text(f"CREATE TEMP TABLE import_stage ({cols})"))
        cols = ", ".join(_TOUCHED_NAMES)
        session.execute(text(f"CREATE TEMP TABLE import_touched ({cols})"))

    @staticmethod
    def load_stage(session: Session, prepared: PreparedBatch) -> None:
        marks = ", ".join("?" * len(_STAGED_NAMES))
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(
                f"INSERT INTO import_stage ({', '.join(_STAGED_NAMES)}) VALUES ({marks})",
                prepared.staged_rows(),
            )
        finally:
            cursor.close()

    @staticmethod
    def json_object(pairs: list[tuple[str, str]]) -> str:
        return "json_object(" + ", ".join(f"'{k}', {v}" for k, v in pairs) + ")"

    @staticmethod
    def apply(session: Session, params: dict[str, Any], staged: int) -> None:
        # One writer at a time (BEGIN IMMEDIATE, the database's single write lock):
        # compare first, then write.
        _run(
            session,
            """
            UPDATE import_stage SET penalty_id = (
                SELECT d.penalty_id FROM decision_numbers d
                WHERE d.authority_uscc = import_stage.authority_uscc
                  AND d.decision_number = import_stage.decision_number)
            """,
            {},
        )
        _run(
            session,
            f"""
            UPDATE import_stage SET action = 'updated', old_subject_key = p.subject_key
            FROM penalties p JOIN import_stage s ON s.penalty_id = p.id
            WHERE import_stage.idx = s.idx AND {_CHANGED}
            """,
            {},
        )
        _run(
            session,
            f"""
            INSERT INTO penalty_versions (penalty_id, subject_key, version, data,
                                          replaced_at, replaced_by, import_batch_id)
            SELECT p.id, p.subject_key, p.version, {_version_json(_Sqlite)}, :now, :actor, :batch
            FROM penalties p JOIN import_stage s ON s.penalty_id = p.id
            WHERE s.action = 'updated'
            """,
            params,
        )
        _run(
            session,
            f"""
            UPDATE penalties SET {_update_set("penalties")}
            FROM import_stage s
            WHERE penalties.id = s.penalty_id AND s.action = 'updated'
            """,
            params,
        )
        # New records take the ids SQLite would give them (after the highest, in file
        # order): known before the insert, so their keys are claimed without a lookup.
        _run(
            session,
            """
            UPDATE import_stage SET action = 'created',
                penalty_id = (SELECT coalesce(max(id), 0) FROM penalties) + r.n
            FROM (SELECT idx, row_number() OVER (ORDER BY idx) AS n
                  FROM import_stage WHERE penalty_id IS NULL) r
            WHERE import_stage.idx = r.idx
            """,
            {},
        )
        cols = ", ".join(_DATA_NAMES)
        s_cols = ", ".join(f"s.{c}" for c in _DATA_NAMES)
        _run(
            session,
            f"""
            INSERT INTO penalties (id, {cols}, status, revoked_on, revoked_reason, version,
                                   import_batch_id, created_at, updated_at)
            SELECT s.penalty_id, {s_cols}, COALESCE(s.status, 'active'), s.revoked_on,
                   s.revoked_reason, 1, :batch, :now, :now
            FROM import_stage s WHERE s.action = 'created' ORDER BY s.idx
            """,
            params,
        )
        _run(
            session,
            """
            INSERT INTO decision_numbers (authority_uscc, decision_number, subject_key, penalty_id)
            SELECT s.authority_uscc, s.decision_number, s.subject_key, s.penalty_id
            FROM import_stage s WHERE s.action = 'created' ORDER BY s.idx
            """,
            {},
        )
        _run(
            session,
            """
            UPDATE decision_numbers SET subject_key = s.subject_key
            FROM import_stage s
            WHERE s.action = 'updated' AND decision_numbers.authority_uscc = s.authority_uscc
              AND decision_numbers.decision_number = s.decision_number
              AND decision_numbers.subject_key <> s.subject_key
            """,
            {},
        )
        _run(
            session,
            f"""
            INSERT INTO import_touched ({", ".join(_TOUCHED_NAMES)})
            SELECT s.action, s.penalty_id, s.old_subject_key, {_FOLLOWED_FROM_STAGE}
            FROM import_stage s WHERE s.action IS NOT NULL
            """,
            {},
        )


_CHANGED = "(p.content_hash <> s.content_hash OR (s.status IS NOT NULL AND s.status <> p.status))"


def _version_json(engine: type[_Postgres] | type[_Sqlite]) -> str:
    pairs = []
    for name, kind in (*DATA_COLUMNS, *STATE_COLUMNS, ("version", "integer")):
        if kind == "numeric":
            trimmed = f"trim_scale(p.{name})" if engine is _Postgres else f"p.{name}"
            value = f"CAST({trimmed} AS TEXT)"
        elif kind == "jsonb" and engine is _Sqlite:
            value = f"json(p.{name})"
        else:
            value = f"p.{name}"
        pairs.append((name, value))
    return engine.json_object(pairs)


def _update_set(target: str, subject: bool = True) -> str:
    sets = [f"{c} = s.{c}" for c in _DATA_NAMES if subject or c != "subject_key"]
    sets += [
        f"status = COALESCE(s.status, {target}.status)",
        f"revoked_on = CASE WHEN s.status IS NULL THEN {target}.revoked_on ELSE s.revoked_on END",
        "revoked_reason = CASE WHEN s.status IS NULL "
        f"THEN {target}.revoked_reason ELSE s.revoked_reason END",
        f"version = {target}.version + 1",
        "import_batch_id = :batch",
        "updated_at = :now",
    ]
    return ", ".join(sets)


_UPDATE_SQL = UpdateSql(
    data_names=_DATA_NAMES,
    version_json=_version_json(_Postgres),
    # Citus does not change a row's distribution column: a record whose subject was
    # corrected moves (update_changed), the others keep theirs.
    update_set=_update_set("p", subject=False),
    touched_names=_TOUCHED_NAMES,
    followed_from_stage=_FOLLOWED_FROM_STAGE,
)


def _run(session: Session, sql: str, params: dict[str, Any]) -> Any:
    statement = text(sql)
    if ":now" in sql:
        statement = statement.bindparams(bindparam("now", type_=UTCDateTime()))
    return session.execute(statement, params)


# --- what follows from written rows (same SQL on both engines) -----------------------


def _follow_up(session: Session, engine: type[_Postgres] | type[_Sqlite], now: datetime) -> Any:
    """Write what follows from the touched rows; returns them (``import_touched``).

    On PostgreSQL the statements go as one round trip (an importer's writer thread
    waits for the GIL after each); SQLite runs them one by one."""
    least, greatest = engine.least, engine.greatest
    statements: list[str] = []
    # "WHERE true": SQLite reads "FROM t ON CONFLICT" as a join constraint otherwise.
    touched = "FROM import_touched s WHERE true"
    statements.append(
        "INSERT INTO changes (uscc, kind, object_id, action, at) "
        f"SELECT s.subject_key, 'penalty', s.penalty_id, s.action, :now {touched} ORDER BY s.idx"
    )
    statements.append(
        f"""
        INSERT INTO dirty_entities (subject_key, queued_at)
        SELECT k, :now FROM (
            SELECT s.subject_key AS k {touched}
            UNION SELECT s.old_subject_key {touched} AND s.old_subject_key IS NOT NULL
        ) keys WHERE true ORDER BY k
        ON CONFLICT (subject_key) DO NOTHING
        """
    )
    statements.append(
        f"""
        INSERT INTO entities (uscc, name, party_type, division_code, province_code,
                              name_pinyin, name_initials, created_at, updated_at)
        SELECT uscc, party_name, party_type, substr(uscc, 3, 6), substr(uscc, 3, 2),
               name_pinyin, name_initials, :now, :now
        FROM (
            SELECT s.uscc, s.party_name, s.party_type, s.name_pinyin, s.name_initials,
                   row_number() OVER (
                PARTITION BY s.uscc ORDER BY s.decided_on DESC, s.idx DESC) AS rn
            {touched} AND s.uscc IS NOT NULL
        ) latest WHERE rn = 1 ORDER BY uscc
        ON CONFLICT (uscc) DO NOTHING
        """
    )
    statements.append(
        f"""
        INSERT INTO entity_names (uscc, name, first_seen_on, last_seen_on)
        SELECT s.uscc, s.party_name, min(s.decided_on), max(s.decided_on)
        {touched} AND s.uscc IS NOT NULL
        GROUP BY s.uscc, s.party_name ORDER BY s.uscc, s.party_name
        ON CONFLICT (uscc, name) DO UPDATE SET
            first_seen_on = {least}(entity_names.first_seen_on, excluded.first_seen_on),
            last_seen_on = {greatest}(entity_names.last_seen_on, excluded.last_seen_on)
        WHERE excluded.first_seen_on < entity_names.first_seen_on
           OR excluded.last_seen_on > entity_names.last_seen_on
        """
    )
    # The current name is the one on the most recent decision; a new name takes its
    # search spellings from the batch (or none, for fill_entity_pinyin to compute).
    # Joins, not per-row subqueries on the (unindexed) staging table; but a per-row
    # lookup of each touched entity by its key, not a join the planner may run as a scan
    # of all entities every batch (it did, taking the table for small: 150 ms a batch
    # at 100,000 entities, growing with the table).
    rename = """
        UPDATE entities SET name = u.name, name_pinyin = u.py, name_initials = u.ini,
                            updated_at = :now
        FROM (
            SELECT c.uscc, c.name, max(x.name_pinyin) AS py, max(x.name_initials) AS ini
            FROM (
                SELECT k.uscc, (SELECT n.name FROM entity_names n WHERE n.uscc = k.uscc
                                ORDER BY n.last_seen_on DESC, n.id DESC LIMIT 1) AS name
                FROM (
                    SELECT DISTINCT s.uscc FROM import_touched s
                    WHERE s.party_name <> (SELECT e.name FROM entities e WHERE e.uscc = s.uscc)
                ) k
            ) c
            LEFT JOIN import_stage x ON x.uscc = c.uscc AND x.party_name = c.name
            GROUP BY c.uscc, c.name
        ) u
        WHERE entities.uscc = u.uscc AND entities.name <> u.name
        """
    statements.append(rename)
    statements.append(
        f"""
        INSERT INTO persons (person_key, id_type, id_masked, name, created_at, updated_at)
        SELECT k, t, m, n, :now, :now FROM (
            SELECT k, t, m, n, row_number() OVER (PARTITION BY k ORDER BY o DESC) AS rn
            FROM (
                SELECT s.person_key AS k, s.id_type AS t, s.id_masked AS m,
                       s.party_name AS n, s.idx AS o
                {touched} AND s.person_key IS NOT NULL AND s.id_masked IS NOT NULL
                UNION ALL
                SELECT s.legal_representative_key, s.legal_representative_id_type,
                       s.legal_representative_id_masked, s.legal_representative, s.idx
                {touched} AND s.legal_representative_key IS NOT NULL
                  AND s.legal_representative_id_masked IS NOT NULL
            ) people
        ) one WHERE rn = 1 ORDER BY k
        ON CONFLICT (person_key) DO NOTHING
        """
    )
    statements.append(
        f"""
        INSERT INTO person_links (uscc, person_key, role, source_penalty_id, since_on,
                                  created_at, updated_at)
        SELECT s.uscc, s.legal_representative_key, 'legal_representative',
               min(s.penalty_id), min(s.decided_on), :now, :now
        {touched} AND s.uscc IS NOT NULL AND s.legal_representative_key IS NOT NULL
          AND (s.legal_representative_id_masked IS NOT NULL
               OR (SELECT 1 FROM persons x
                   WHERE x.person_key = s.legal_representative_key) IS NOT NULL)
        GROUP BY s.uscc, s.legal_representative_key
        ORDER BY s.uscc, s.legal_representative_key
        ON CONFLICT (uscc, person_key, role) DO UPDATE SET
            since_on = {least}(person_links.since_on, excluded.since_on), updated_at = :now
        WHERE excluded.since_on < person_links.since_on
        """
    )
    statements.append(
        "SELECT s.idx, s.action, s.penalty_id, s.subject_key, s.old_subject_key, "
        "s.authority_uscc, s.decision_number, s.content_hash "
        "FROM import_touched s ORDER BY s.idx"
    )
    params = {"now": now}
    if engine is _Postgres and not is_citus(session):
        return _run(session, ";\n".join(statements), params).all()
    for sql in statements[:-1]:
        if sql is rename and is_citus(session):
            citus_rename(session, now)  # the same, in steps Citus can plan
            continue
        _run(session, sql, params)
    return _run(session, statements[-1], params).all()


# --- the operation -------------------------------------------------------------------


def upsert_penalties(
    session: Session,
    records: Sequence[Mapping[str, Any]],
    actor: str,
    batch: int | None = None,
    *,
    id_key: bytes,
    prepared: PreparedBatch | None = None,
) -> UpsertResult:
    """Create or update penalty records keyed by (authority USCC, decision number).

    ``records`` are loaded records (:func:`registry.records.schema.validate_record`); ``actor``
    names who writes (audit); ``batch`` is the ``import_batches`` id, if any; ``id_key``
    keys the person hash (``Runtime.keys.id_hash``).  Runs in the caller's transaction and
    flushes; the caller commits (one commit per batch).  Within one call a key given twice
    is written once: the same content again counts as unchanged, different content is
    refused (the file contradicts itself).  ``prepared``: the same records already put
    through :func:`prepare_penalties` (an importer does that ahead of the write)."""
    result = UpsertResult()
    if prepared is None:
        prepared = prepare_penalties(records, id_key)
    result.unchanged += prepared.repeats
    result.rejected = list(prepared.rejected)
    if not prepared.count:
        return result
    engine = (_Citus if is_citus(session) else _Postgres) if is_postgres(session) else _Sqlite
    now = clock.now()
    params = {"now": now, "batch": batch, "actor": actor}
    session.flush()
    engine.create_stage(session)
    engine.load_stage(session, prepared)
    engine.apply(session, params, prepared.count)
    touched = _follow_up(session, engine, now)
    created: list[tuple[int, str]] = []
    events: list[audit.AuditEvent] = []
    updated_ids = [r.penalty_id for r in touched if r.action == "updated"]
    previous = _previous_versions(session, updated_ids, batch)
    statuses = _statuses(session, updated_ids)
    for r in touched:
        result.ids[r.idx] = r.penalty_id
        result.dirty.add(r.subject_key)
        if r.old_subject_key:
            result.dirty.add(r.old_subject_key)
        if r.action == "created":
            result.created += 1
            created.append((r.penalty_id, r.content_hash))
        else:
            result.updated += 1
            old = previous.get(r.penalty_id, {})
            events.append(
                audit.AuditEvent(
                    actor=actor,
                    action="penalty.updated",
                    object_type="penalty",
                    object_id=r.penalty_id,
                    uscc=r.subject_key,
                    before={"version": old.get("version"), "content_hash": old.get("hash")},
                    after={
                        "version": (old.get("version") or 0) + 1,
                        "content_hash": r.content_hash,
                        "import_batch": batch,
                    },
                )
            )
            status = statuses.get(r.penalty_id)
            if old.get("status") != status:
                # A state change (a restored full export) is an event of its own, so the
                # trail says what changed even when the content hash did not.
                events.append(
                    audit.AuditEvent(
                        actor=actor,
                        action="penalty.status_changed",
                        object_type="penalty",
                        object_id=r.penalty_id,
                        uscc=r.subject_key,
                        before={"status": old.get("status"), "version": old.get("version")},
                        after={
                            "status": status,
                            "version": (old.get("version") or 0) + 1,
                            "import_batch": batch,
                        },
                    )
                )
    result.unchanged += prepared.count - len(touched)
    if created:
        # One entry per batch for new records: their ids and a digest of every
        # (id, content hash) pair, so the chain vouches for each record's content as
        # written without an entry (and its hashing) per row.
        subjects = {r.subject_key for r in touched if r.action == "created"}
        digest = hashlib.sha256(
            "".join(f"{pid}:{chash}\n" for pid, chash in created).encode()
        ).hexdigest()
        events.insert(
            0,
            audit.AuditEvent(
                actor=actor,
                action="penalties.created",
                object_type="import_batch" if batch is not None else "penalty",
                object_id=batch if batch is not None else created[0][0],
                uscc=next(iter(subjects)) if len(subjects) == 1 else None,
                after={
                    "count": len(created),
                    "ids": _ranges([pid for pid, _ in created]),
                    "content_sha256": digest,
                },
            ),
        )
    if events:
        audit.record(session, events)
    return result


def _ranges(ids: list[int]) -> str:
    """``[1, 2, 3, 7]`` → ``"1-3,7"``: a batch's new ids, compactly."""
    out: list[str] = []
    start = prev = None
    for n in sorted(ids):
        if prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            out.append(f"{start}-{prev}" if prev != start else str(start))
        start = prev = n
    if start is not None:
        out.append(f"{start}-{prev}" if prev != start else str(start))
    return ",".join(out)


def _previous_versions(
    session: Session, penalty_ids: list[int], batch: int | None
) -> dict[int, dict[str, Any]]:
    """The versions just replaced (from ``penalty_versions``), for the audit entries."""
    if not penalty_ids:
        return {}
    rows = session.execute(
        text(
            "SELECT penalty_id, version, data FROM penalty_versions "
            "WHERE penalty_id IN :ids ORDER BY id"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": penalty_ids},
    ).all()
    out: dict[int, dict[str, Any]] = {}
    for pid, version, data in rows:
        if isinstance(data, str):
            data = json.loads(data)
        data = data or {}
        out[pid] = {
            "version": version,
            "hash": data.get("content_hash"),
            "status": data.get("status"),
        }
    return out


def _statuses(session: Session, penalty_ids: list[int]) -> dict[int, str]:
    """The status each penalty has now (after the write), by id."""
    if not penalty_ids:
        return {}
    rows = session.execute(
        text("SELECT id, status FROM penalties WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": penalty_ids},
    ).all()
    return {row.id: row.status for row in rows}


def fill_entity_pinyin(session: Session, limit: int = 1000) -> int:
    """Give entities without them their name's pinyin spellings (for public search);
    returns how many were filled.  Kept out of the import's hot path: pypinyin costs
    about 0.1 ms a name."""
    rows = session.execute(
        text("SELECT uscc, name FROM entities WHERE name_pinyin IS NULL ORDER BY uscc LIMIT :n"),
        {"n": limit},
    ).all()
    if not rows:
        return 0
    # Imported only when needed: loading the dictionaries takes a quarter of a second
    # (an import whose reading process spelled every name never loads them here).
    from registry.records.search import index_entity_name

    values = []
    for uscc, name in rows:
        spelled, initials = index_entity_name(name)
        values.append({"uscc": uscc, "py": spelled[:800], "ini": initials[:200]})
    if is_postgres(session):
        # One statement for the lot (executemany would be a round trip per entity).
        session.execute(
            text(
                "UPDATE entities e SET name_pinyin = v.py, name_initials = v.ini "
                "FROM unnest(CAST(:usccs AS text[]), CAST(:pys AS text[]), "
                "CAST(:inis AS text[])) AS v(uscc, py, ini) WHERE e.uscc = v.uscc"
            ),
            {
                "usccs": [v["uscc"] for v in values],
                "pys": [v["py"] for v in values],
                "inis": [v["ini"] for v in values],
            },
        )
        return len(values)
    session.execute(
        text("UPDATE entities SET name_pinyin = :py, name_initials = :ini WHERE uscc = :uscc"),
        values,
    )
    return len(values)
