"""Import batches as an authority may see them: counts, status, what the rules did.

``import_batches`` rows are written by the import engine (``importers/run.py``); this is
the read side, for ``GET /api/v1/imports/<id>``.  A batch is its authority's: another
authority's token learns that it may not see it (403) and nothing else; a batch imported
without an authority (``credit-registry import`` with no ``--authority``) is the
administrators'.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from sqlalchemy.orm import Session

from registry.core.errors import Forbidden, NotFound
from registry.records.models import ImportBatch

#: How the stored status reads to a person.
STATUS_LABELS = {"running": "进行中", "completed": "已完成", "failed": "失败"}


def batch_view(session: Session, batch_id: int, authority_uscc: str | None) -> dict[str, Any]:
    """The batch's counts, status and rules summary, for ``authority_uscc`` (``None``:
    an administrator, who sees every batch).  Raises NotFound or Forbidden."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"导入批次 {batch_id} 不存在", details={"batch_id": batch_id})
    if authority_uscc is not None and batch.authority_uscc != authority_uscc:
        raise Forbidden(
            f"导入批次 {batch_id} 不属于本机关，只能查看本机关的导入批次",
            details={"batch_id": batch_id},
        )
    return {
        "id": batch.id,
        # The file's name only: a server-side path (a temporary upload) says nothing.
        "source": PurePath(batch.source).name or batch.source,
        "format": batch.format,
        "authority_uscc": batch.authority_uscc,
        "status": batch.status,
        "status_label": STATUS_LABELS.get(batch.status, batch.status),
        "rows": batch.rows_total,
        "accepted": batch.accepted,
        "updated": batch.updated,
        "unchanged": batch.unchanged,
        "rejected": batch.rejected,
        "rejection_reasons": dict(batch.rejection_reasons or {}),
        "rules": batch.rules_summary,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
    }
