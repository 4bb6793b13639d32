"""Rejection reports of import batches, kept for download (docs/dashboard.md).

The importer produces the report (``importers.run``; its format is the importer's);
this module only keeps the text as produced — BOM included — beside its batch, and
gives it back to the batch's authority.  Operations flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.core.errors import Forbidden, NotFound
from registry.records.models import ImportBatch, ImportReport


@dataclass(frozen=True)
class KeptReport:
    batch: ImportBatch
    text: str
    row_count: int

    @property
    def file_name(self) -> str:
        """A download name from the uploaded file's own name (never a server path)."""
        stem = batch_file_name(self.batch.source).rsplit(".", 1)[0] or "import"
        return f"{stem}-批次{self.batch.id}-拒收报告.csv"


def batch_file_name(source: str | None) -> str:
    """The file name of a batch's source as people know it (a path's last part)."""
    text = (source or "").replace("\\", "/").rstrip("/")
    return text.rsplit("/", 1)[-1] or "—"


def keep_report(session: Session, batch_id: int, text: str, row_count: int) -> None:
    """Keep (or replace) the report of ``batch_id``."""
    existing = session.get(ImportReport, batch_id)
    if existing is None:
        session.add(ImportReport(batch_id=batch_id, report=text, row_count=row_count))
    else:
        existing.report, existing.row_count = text, row_count
    session.flush()


def has_report(session: Session, batch_ids: list[int]) -> set[int]:
    """Of these batches, those with a kept report."""
    if not batch_ids:
        return set()
    query = select(ImportReport.batch_id).where(ImportReport.batch_id.in_(batch_ids))
    return set(session.execute(query).scalars())


def report_of(session: Session, batch_id: int, actor_authority_uscc: str | None) -> KeptReport:
    """The kept report of ``batch_id``: for a regulator of the batch's authority, or an
    administrator (``actor_authority_uscc`` None).  Raises Forbidden (another
    authority's batch, told before whether it exists), NotFound (no batch, or none kept)."""
    batch = session.get(ImportBatch, batch_id)
    if actor_authority_uscc is not None and (
        batch is None or batch.authority_uscc != actor_authority_uscc
    ):
        raise Forbidden(f"导入批次 {batch_id} 不属于本机关", details={"batch_id": batch_id})
    if batch is None:
        raise NotFound(f"导入批次 {batch_id} 不存在", details={"batch_id": batch_id})
    kept = session.get(ImportReport, batch_id)
    if kept is None:
        raise NotFound(
            f"导入批次 {batch_id} 没有拒收报告（没有被拒收的行，或报告未保存）",
            details={"batch_id": batch_id},
        )
    return KeptReport(batch, kept.report, kept.row_count)
