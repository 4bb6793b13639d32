"""Bulk decisions on proposed list entries: confirm or reject many with one reason.

A regulator names the entries by id, or by a filter over its own proposals (list type,
proposal dates, region of the subject's code).  One call is one unit of work and is all
or nothing: each entry goes through the very operation a single decision uses
(:func:`registry.lists.entries.confirm_entry` / :func:`~registry.lists.entries.reject_entry`,
with their checks, dated events, audit entries and change-feed rows); when any entry
cannot be decided, every change of the call is undone and :class:`BulkRefused` names
each failing id and why.  A call decides at most ``lists.bulk_limit`` entries.

A filter may carry ``expected_count`` (what the person saw on screen): when the filter
now matches a different number — new proposals arrived, another officer decided some —
nothing is written, so a selection is never wider than the one confirmed.

Operations flush and never commit: the caller's unit of work commits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from registry.core import audit
from registry.core.errors import Conflict, DomainError, Forbidden, Invalid
from registry.lists.entries import batched, confirm_entry, reject_entry
from registry.lists.models import ListEntry

if TYPE_CHECKING:
    from rules import RulePack

DECISIONS: tuple[str, ...] = ("confirm", "reject")
#: What a decision is called where people read it.
DECISION_LABELS = {"confirm": "确认列入", "reject": "不予列入"}
#: A region is the leading digits of the administrative division code in a USCC
#: (characters 3–8): 2 (province), 4 (city) or 6 (county).
REGION = re.compile(r"^(\d{2}|\d{4}|\d{6})$")


@dataclass(frozen=True)
class EntryFilter:
    """Proposed entries of one authority (None: every authority's, to read only),
    narrowed by list, proposal dates and region."""

    authority_uscc: str | None
    list_type: str | None = None
    proposed_from: date | None = None
    proposed_to: date | None = None
    region: str | None = None

    def describe(self) -> str:
        """The filter in words (audit notes, CLI output)."""
        parts = [f"机关 {self.authority_uscc or '全部'}"]
        if self.list_type:
            parts.append(f"名单 {self.list_type}")
        if self.proposed_from or self.proposed_to:
            parts.append(f"提议日期 {self.proposed_from or '…'} 至 {self.proposed_to or '…'}")
        if self.region:
            parts.append(f"地区 {self.region}")
        return "，".join(parts)


def check_filter(entry_filter: EntryFilter) -> None:
    """Invalid when the filter's values cannot be used."""
    problems: dict[str, list[str]] = {}
    if entry_filter.region is not None and not REGION.match(entry_filter.region):
        problems["region"] = ["地区应为行政区划代码的前 2、4 或 6 位数字"]
    if (
        entry_filter.proposed_from
        and entry_filter.proposed_to
        and entry_filter.proposed_from > entry_filter.proposed_to
    ):
        problems["proposed_to"] = ["结束日期不能早于开始日期"]
    if problems:
        raise Invalid("筛选条件无效", details=problems)


def proposed_query(entry_filter: EntryFilter) -> Select[Any]:
    """``select(ListEntry)`` of the proposed entries the filter matches (oldest first);
    the queue page and the bulk decision read the same query."""
    query = select(ListEntry).where(ListEntry.status == "proposed")
    if entry_filter.authority_uscc is not None:
        query = query.where(ListEntry.authority_uscc == entry_filter.authority_uscc)
    if entry_filter.list_type:
        query = query.where(ListEntry.list_type == entry_filter.list_type)
    if entry_filter.proposed_from:
        query = query.where(ListEntry.proposed_on >= entry_filter.proposed_from)
    if entry_filter.proposed_to:
        query = query.where(ListEntry.proposed_on <= entry_filter.proposed_to)
    if entry_filter.region:
        n = len(entry_filter.region)
        query = query.where(func.substr(ListEntry.uscc, 3, n) == entry_filter.region)
    return query.order_by(ListEntry.proposed_on, ListEntry.id)


def count_matching(session: Session, entry_filter: EntryFilter) -> int:
    check_filter(entry_filter)
    inner = proposed_query(entry_filter).order_by(None).with_only_columns(ListEntry.id)
    return int(session.execute(select(func.count()).select_from(inner.subquery())).scalar_one())


def matching_ids(session: Session, entry_filter: EntryFilter, limit: int) -> list[int]:
    """Ids the filter matches, at most ``limit`` (the caller refuses when there are more)."""
    check_filter(entry_filter)
    query = proposed_query(entry_filter).with_only_columns(ListEntry.id).limit(limit)
    return [int(i) for i in session.execute(query).scalars()]


@dataclass(frozen=True)
class Failure:
    """Why one entry could not be decided."""

    entry_id: int
    code: str
    message: str


@dataclass
class BulkResult:
    decision: str
    entries: list[ListEntry] = field(default_factory=list)

    @property
    def subject_keys(self) -> list[str]:
        return sorted({e.uscc for e in self.entries})


class BulkRefused(Conflict):
    """Nothing was written: some entries cannot be decided (``failures``), or the
    selection is not the one expected (``code`` says which)."""

    def __init__(
        self,
        message: str,
        failures: Sequence[Failure] = (),
        *,
        code: str = "bulk_refused",
        context: dict[str, Any] | None = None,
    ) -> None:
        self.failures = list(failures)
        self.code = code
        ctx = dict(context or {})
        if self.failures:
            ctx["failures"] = [
                {"id": f.entry_id, "code": f.code, "message": f.message} for f in self.failures
            ]
        super().__init__(message, context=ctx)


def _check_size(ids: Sequence[int], limit: int) -> None:
    if not ids:
        raise Invalid("没有要处理的名单条目", details={"ids": ["至少一个名单条目"]})
    if len(ids) > limit:
        message = f"一次最多处理 {limit} 个名单条目，本次选择了 {len(ids)} 个，请缩小范围分批处理"
        raise Invalid(message, details={"ids": [message]}, context={"limit": limit})


def _decide_one(
    session: Session,
    pack: RulePack,
    decision: str,
    entry_id: int,
    actor_authority_uscc: str | None,
    actor: str,
    text: str | None,
) -> ListEntry:
    """One entry through the single decision's own operation (its checks and audit)."""
    if decision == "confirm":
        return confirm_entry(session, pack, entry_id, actor_authority_uscc, actor, text)
    return reject_entry(session, pack, entry_id, actor_authority_uscc, actor, text or "")


def decide_ids(
    session: Session,
    pack: RulePack,
    decision: str,
    ids: Sequence[int],
    actor_authority_uscc: str | None,
    actor: str,
    reason: str | None,
    *,
    limit: int,
) -> BulkResult:
    """Confirm or reject the entries ``ids`` (in that order) with one ``reason`` (required
    to reject), all or nothing.  Raises Invalid (no ids, too many, no reason to reject)
    or :class:`BulkRefused` naming every entry that cannot be decided."""
    if decision not in DECISIONS:
        raise Invalid(f"无效的决定“{decision}”", details={"decision": ["应为 confirm 或 reject"]})
    unique = list(dict.fromkeys(int(i) for i in ids))
    _check_size(unique, limit)
    text = (reason or "").strip() or None
    if decision == "reject" and text is None:
        raise Invalid("不予列入必须填写理由", details={"reason": ["必填"]})
    result = BulkResult(decision)
    failures: list[Failure] = []
    savepoint = session.begin_nested()
    try:
        # Lock the rows at once, in id order: two calls over overlapping entries wait
        # for each other instead of deadlocking, and each operation's own row lock
        # below finds its row already held.
        session.execute(
            select(ListEntry.id)
            .where(ListEntry.id.in_(sorted(unique)))
            .order_by(ListEntry.id)
            .with_for_update()
        )
        # Each entry is decided and audited by its own operation; their rows go in
        # together when the loop ends (in the savepoint), their audit entries after,
        # and when one entry failed the savepoint takes every row back.
        with audit.deferred(session):
            with batched(session):
                for entry_id in unique:
                    try:
                        entry = _decide_one(
                            session, pack, decision, entry_id, actor_authority_uscc, actor, text
                        )
                    except DomainError as exc:
                        failures.append(Failure(entry_id, exc.code, exc.message))
                        continue
                    result.entries.append(entry)
            if failures:
                label = DECISION_LABELS[decision]
                raise BulkRefused(
                    f"{len(failures)} 个名单条目无法{label}，本次 {len(unique)} 个均未处理",
                    failures,
                    context={"requested": len(unique)},
                )
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return result


def decide_filter(
    session: Session,
    pack: RulePack,
    decision: str,
    entry_filter: EntryFilter,
    actor_authority_uscc: str | None,
    actor: str,
    reason: str | None,
    *,
    limit: int,
    expected_count: int | None = None,
) -> BulkResult:
    """Confirm or reject every proposed entry the filter matches, as :func:`decide_ids`.
    Refused whole when more than ``limit`` match, or (``expected_count``) when the filter
    now matches a different number than the person saw."""
    if entry_filter.authority_uscc is None or entry_filter.authority_uscc != actor_authority_uscc:
        raise Forbidden(
            "只能以作出决定的机关的名义，处理本机关的拟列入条目",
            details={"filter": ["筛选须限于本机关"]},
        )
    total = count_matching(session, entry_filter)
    if expected_count is not None and total != expected_count:
        raise BulkRefused(
            f"筛选条件现在匹配 {total} 个待确认条目，而不是 {expected_count} 个；"
            "列表已有变化，请刷新后重新核对",
            code="count_changed",
            context={"expected_count": expected_count, "matching": total},
        )
    if total > limit:
        message = f"筛选条件匹配 {total} 个条目，超过一次最多处理的 {limit} 个，请缩小范围分批处理"
        raise Invalid(message, details={"filter": [message]}, context={"limit": limit})
    if total == 0:
        raise Invalid(
            "筛选条件没有匹配任何待确认的名单条目", details={"filter": ["没有匹配的条目"]}
        )
    ids = matching_ids(session, entry_filter, limit)
    return decide_ids(
        session, pack, decision, ids, actor_authority_uscc, actor, reason, limit=limit
    )
