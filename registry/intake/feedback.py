"""Feedback on joint punishment (联合惩戒反馈): what a department did under a measure.

The memoranda ask implementing departments to report back how they applied each
measure; the registry keeps one :class:`~registry.intake.models.MeasureFeedback` row per report,
with an audit entry.  Operations flush; the caller commits.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.codes import CodeError, validate_uscc
from registry.core.errors import Invalid
from registry.core.rows import columns, get_row, page_of, record_change
from registry.intake.models import MeasureFeedback
from registry.lists.models import ListEntry

if TYPE_CHECKING:
    from rules import RulePack

#: What a department can report: it applied the measure, did not (with a note saying
#: why), or lifted a measure it had applied (e.g. after the entry ended).
ACTIONS: tuple[str, ...] = ("applied", "not_applied", "lifted")


def record_feedback(
    session: Session,
    pack: RulePack,
    *,
    token_id: int,
    department: str,
    actor: str,
    uscc: str,
    measure_id: str,
    action: str,
    list_entry_id: int | None = None,
    note: str | None = None,
    acted_on: date | None = None,
) -> MeasureFeedback:
    """Record a department's report on a measure for an entity.

    Raises Invalid for a malformed code, an unknown measure or action, a date in the
    future, a missing note for ``not_applied``, or a list entry that is not the
    entity's or does not trigger the measure; NotFound for an unknown list entry."""
    try:
        code = validate_uscc(uscc)
    except CodeError as exc:
        raise Invalid(exc.message, details={"uscc": [exc.message], "check": exc.check}) from None
    measure = next((m for m in pack.measures if m.id == measure_id), None)
    if measure is None:
        raise Invalid(
            f"未知的惩戒措施“{measure_id}”",
            details={"measure_id": [f"应为以下之一：{', '.join(m.id for m in pack.measures)}"]},
        )
    if action not in ACTIONS:
        raise Invalid(
            f"无效的反馈类型“{action}”", details={"action": [f"应为 {' | '.join(ACTIONS)}"]}
        )
    text = (note or "").strip() or None
    if action == "not_applied" and text is None:
        raise Invalid("未执行措施须说明理由（note）", details={"note": ["必填"]})
    today = clock.today()
    day = acted_on or today
    if day > today:
        raise Invalid("执行日期不能晚于今天", details={"acted_on": [f"不晚于 {today}"]})
    if list_entry_id is not None:
        missing = f"名单条目 {list_entry_id} 不存在"
        entry = get_row(session, ListEntry, list_entry_id, missing, "list_entry_id")
        if entry.uscc != code:
            raise Invalid(
                f"名单条目 {list_entry_id} 不属于 {code}",
                details={"list_entry_id": ["不属于该主体"]},
            )
        if entry.list_type not in measure.lists:
            raise Invalid(
                f"名单“{entry.list_type}”不触发措施“{measure_id}”",
                details={"list_entry_id": ["该名单不触发此措施"]},
            )
    row = MeasureFeedback(
        uscc=code,
        measure_id=measure_id,
        list_entry_id=list_entry_id,
        token_id=token_id,
        department=department[:200],
        action=action,
        note=text,
        acted_on=day,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    after = columns(row, ("measure_id", "list_entry_id", "action", "acted_on", "note"))
    record_change(session, actor, "measure_feedback.create", "measure_feedback", row, after=after)
    return row


def list_feedback(
    session: Session, token_id: int, *, uscc: str | None = None, page: int = 1, per_page: int = 20
) -> tuple[list[MeasureFeedback], int]:
    """The reports one token made (optionally for one code), newest first, and the total."""
    where = [MeasureFeedback.token_id == token_id]
    if uscc:
        where.append(MeasureFeedback.uscc == uscc)
    return page_of(
        session, MeasureFeedback, where, [MeasureFeedback.id.desc()], page=page, per_page=per_page
    )
