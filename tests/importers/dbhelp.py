"""Small helpers for the database-backed importer tests (they use the lead's fixtures:
``rt``, ``session``, ``invoke`` — each test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from registry.core.runtime import Runtime
from registry.records.models import ImportBatch

TABLES = (
    "penalties",
    "penalty_versions",
    "entities",
    "entity_names",
    "persons",
    "person_links",
    "changes",
    "dirty_entities",
    "audit_log",
    "import_batches",
)


def counts(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as s:
        return {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


#: The report's Chinese columns, as the tests name them.
REPORT_KEYS = {"行号": "line", "决定书文号": "decision_number", "字段": "field", "原因": "reason"}


def report_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV rejection report (which starts with a BOM and the Chinese
    columns), keyed line / decision_number / field / reason."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "the report starts with a UTF-8 BOM"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == tuple(REPORT_KEYS), rows[0]
    return [dict(zip(REPORT_KEYS.values(), row, strict=True)) for row in rows[1:]]


def jsonl(text_: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text_.splitlines() if line.strip()]


def csv_rows(text_: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text_)))


def empty_registry(rt: Runtime) -> None:
    """Remove every row (a fresh, empty registry on the same schema).  The audit trail
    too, which on PostgreSQL only a superuser can (the trigger of migration 0007)."""
    from registry.schema import Base
    from tests.conftest import bypass_audit_guard

    with rt.engine.begin() as conn:
        bypass_audit_guard(conn)
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def assert_failed_batch_adds_up(rt: Runtime, written: int) -> None:
    """The interrupted import's row is failed, and its row count is what it wrote and
    what it reported — not the rows its reading had got to, ahead of the writing."""
    with rt.sessions() as s:
        (batch,) = s.execute(select(ImportBatch)).scalars().all()
    assert batch.status == "failed"
    assert batch.accepted == written
    assert batch.rows_total == batch.accepted + batch.rejected, (
        batch.rows_total,
        batch.accepted,
        batch.rejected,
    )
