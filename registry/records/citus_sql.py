"""The write path's statements in the form a Citus coordinator can plan.

Citus routes a statement on distributed tables to the shards that hold its subjects; it
does not join a distributed table directly with a table of the coordinator (the
import's temporary staging tables) inside a correlated subquery or an ``UPDATE …
FROM``.  The few statements that do that on one server run here as steps instead: read
the keys from the staging table, then statements by key, each routed to one shard.
Same result as the one-statement form (tests/cluster compare the two).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from registry.core.models import UTCDateTime


def citus_rename(session: Session, now: datetime) -> None:
    """An entity whose touched records name it differently takes as its name the one on
    its most recent decision (``entity_names``), with that name's spellings from the
    batch — :func:`registry.records.penalties._follow_up`'s rename, by key."""
    touched = session.execute(
        text("SELECT DISTINCT uscc, party_name FROM import_touched WHERE uscc IS NOT NULL")
    ).all()
    if not touched:
        return
    names: dict[str, set[str]] = defaultdict(set)
    for uscc, party_name in touched:
        names[uscc].add(party_name)
    current: dict[str, str] = dict(
        session.execute(
            text("SELECT uscc, name FROM entities WHERE uscc IN :keys").bindparams(
                bindparam("keys", expanding=True)
            ),
            {"keys": sorted(names)},
        ).all()
    )
    candidates = sorted(k for k, seen in names.items() if any(n != current.get(k) for n in seen))
    if not candidates:
        return
    latest: dict[str, str] = dict(
        session.execute(
            text(
                "SELECT DISTINCT ON (uscc) uscc, name FROM entity_names WHERE uscc IN :keys "
                "ORDER BY uscc, last_seen_on DESC, id DESC"
            ).bindparams(bindparam("keys", expanding=True)),
            {"keys": candidates},
        ).all()
    )
    changed = {k: n for k, n in latest.items() if n is not None and n != current.get(k)}
    if not changed:
        return
    spellings = {
        (uscc, name): (py, ini)
        for uscc, name, py, ini in session.execute(
            text(
                "SELECT uscc, party_name, max(name_pinyin), max(name_initials) "
                "FROM import_stage WHERE uscc IN :keys GROUP BY uscc, party_name"
            ).bindparams(bindparam("keys", expanding=True)),
            {"keys": sorted(changed)},
        ).all()
    }
    session.execute(
        text(
            "UPDATE entities SET name = :name, name_pinyin = :py, name_initials = :ini, "
            "updated_at = :now WHERE uscc = :uscc AND name <> :name"
        ).bindparams(bindparam("now", type_=UTCDateTime())),
        [
            {
                "uscc": uscc,
                "name": name,
                "py": spellings.get((uscc, name), (None, None))[0],
                "ini": spellings.get((uscc, name), (None, None))[1],
                "now": now,
            }
            for uscc, name in sorted(changed.items())
        ],
    )


@dataclass(frozen=True)
class UpdateSql:
    """The fragments of :mod:`registry.records.penalties` the update path reuses."""

    data_names: Sequence[str]
    version_json: str  # the record as JSON, from ``p``
    update_set: str  # SET list from staging ``s``, without the subject
    touched_names: Sequence[str]
    followed_from_stage: str


_CHANGED_COLUMNS = (
    "idx integer, old_id bigint, old_subject_key text, old_version integer, "
    "old_status text, old_revoked_on date, old_revoked_reason text, "
    "old_created_at timestamptz, old_repaired_on date"
)


def update_changed(session: Session, params: dict[str, Any], sql: UpdateSql) -> None:
    """Write the staged records whose key is known and whose content changed, on Citus:
    keys through ``decision_numbers``; the changed records found by one read, then each
    locked by its subject and id (one shard) and checked again; the old versions kept;
    the records updated in one statement — or, when the subject was corrected, moved
    under the new subject (Citus does not change a row's distribution column)."""
    rest = session.execute(
        text(
            "SELECT s.idx, s.authority_uscc, s.decision_number, s.content_hash, s.status "
            "FROM import_stage s "
            "WHERE NOT EXISTS (SELECT 1 FROM import_touched t WHERE t.idx = s.idx) "
            "ORDER BY s.authority_uscc, s.decision_number"
        )
    ).all()
    if not rest:
        return
    keys = {
        (a, n): (sk, pid)
        for a, n, sk, pid in session.execute(
            text(
                "SELECT authority_uscc, decision_number, subject_key, penalty_id "
                "FROM decision_numbers WHERE authority_uscc IN :a AND decision_number IN :n"
            ).bindparams(bindparam("a", expanding=True), bindparam("n", expanding=True)),
            {"a": sorted({r[1] for r in rest}), "n": sorted({r[2] for r in rest})},
        ).all()
    }
    known = [(r, keys[(r[1], r[2])]) for r in rest if (r[1], r[2]) in keys]
    if not known:
        return
    now_state = {
        pid: (chash, status)
        for pid, chash, status in session.execute(
            text("SELECT id, content_hash, status FROM penalties WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": [pid for _, (_, pid) in known]},
        ).all()
    }

    def differs(staged: Any, chash: str, status: str) -> bool:
        return bool(chash != staged[3] or (staged[4] is not None and staged[4] != status))

    changed: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    for staged, (subject, pid) in known:
        if pid not in now_state or not differs(staged, *now_state[pid]):
            continue
        row = session.execute(
            text(
                "SELECT p.id, p.subject_key, p.version, p.status, p.revoked_on, "
                "p.revoked_reason, p.created_at, p.repaired_on, p.content_hash, "
                f"CAST({sql.version_json} AS text) AS data "
                "FROM penalties p WHERE p.id = :id AND p.subject_key = :sk FOR UPDATE"
            ),
            {"id": pid, "sk": subject},
        ).one_or_none()
        if row is None or not differs(staged, row.content_hash, row.status):
            continue
        changed.append(
            {
                "idx": staged[0],
                "old_id": row.id,
                "old_subject_key": row.subject_key,
                "old_version": row.version,
                "old_status": row.status,
                "old_revoked_on": row.revoked_on,
                "old_revoked_reason": row.revoked_reason,
                "old_created_at": row.created_at,
                "old_repaired_on": row.repaired_on,
            }
        )
        versions.append({"pid": row.id, "sk": row.subject_key, "v": row.version, "data": row.data})
    if not changed:
        return
    session.execute(text(f"CREATE TEMP TABLE import_changed ({_CHANGED_COLUMNS}) ON COMMIT DROP"))
    names = list(changed[0])
    session.execute(
        text(
            f"INSERT INTO import_changed ({', '.join(names)}) "
            f"VALUES ({', '.join(':' + n for n in names)})"
        ),
        changed,
    )
    session.execute(
        text(
            "INSERT INTO penalty_versions (penalty_id, subject_key, version, data, replaced_at, "
            "replaced_by, import_batch_id) "
            "VALUES (:pid, :sk, :v, CAST(:data AS jsonb), :now, :actor, :batch)"
        ).bindparams(bindparam("now", type_=UTCDateTime())),
        [{**v, **params} for v in versions],
    )
    staged_changed = (
        "(SELECT s.*, c.old_id, c.old_subject_key, c.old_version, c.old_status, "
        "c.old_revoked_on, c.old_revoked_reason, c.old_created_at, c.old_repaired_on "
        "FROM import_stage s JOIN import_changed c ON c.idx = s.idx "
        "WHERE s.subject_key {op} c.old_subject_key) s"
    )
    session.execute(
        text(
            f"UPDATE penalties p SET {sql.update_set} FROM {staged_changed.format(op='=')} "
            "WHERE p.id = s.old_id AND p.subject_key = s.old_subject_key"
        ).bindparams(bindparam("now", type_=UTCDateTime())),
        params,
    )
    moved = [c for c, v in zip(changed, versions, strict=True) if _moves(session, c, v)]
    if moved:
        cols = ", ".join(sql.data_names)
        s_cols = ", ".join(f"s.{c}" for c in sql.data_names)
        session.execute(
            text(
                f"INSERT INTO penalties (id, {cols}, status, revoked_on, revoked_reason, "
                "version, import_batch_id, created_at, updated_at, repaired_on) "
                f"SELECT s.old_id, {s_cols}, COALESCE(s.status, s.old_status), "
                "CASE WHEN s.status IS NULL THEN s.old_revoked_on ELSE s.revoked_on END, "
                "CASE WHEN s.status IS NULL THEN s.old_revoked_reason ELSE s.revoked_reason END, "
                "s.old_version + 1, :batch, s.old_created_at, :now, s.old_repaired_on "
                f"FROM {staged_changed.format(op='<>')}"
            ).bindparams(bindparam("now", type_=UTCDateTime())),
            params,
        )
        session.execute(
            text("DELETE FROM penalties WHERE id = :id AND subject_key = :sk"),
            [{"id": c["old_id"], "sk": c["old_subject_key"]} for c in moved],
        )
        session.execute(
            text(
                "UPDATE decision_numbers d SET subject_key = s.subject_key "
                "FROM (SELECT authority_uscc, decision_number, subject_key FROM import_stage "
                "WHERE idx IN :idx) s WHERE d.authority_uscc = s.authority_uscc "
                "AND d.decision_number = s.decision_number"
            ).bindparams(bindparam("idx", expanding=True)),
            {"idx": [c["idx"] for c in moved]},
        )
    session.execute(
        text(
            f"INSERT INTO import_touched ({', '.join(sql.touched_names)}) "
            f"SELECT 'updated', c.old_id, c.old_subject_key, {sql.followed_from_stage} "
            "FROM import_changed c JOIN import_stage s ON s.idx = c.idx"
        )
    )


def _moves(session: Session, changed: dict[str, Any], version: dict[str, Any]) -> bool:
    """Whether the staged record names another subject than the stored one."""
    staged = session.execute(
        text("SELECT subject_key FROM import_stage WHERE idx = :idx"), {"idx": changed["idx"]}
    ).scalar_one()
    return bool(staged != version["sk"])
