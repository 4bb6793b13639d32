"""List entries (名单): the regulator's decisions on them, and which entries bind on a day.

An entry moves ``proposed → active → removed`` (or ``proposed → rejected``).  The rules
engine proposes an entry on a list that needs confirmation (告知, 陈述申辩/听证 first,
DOMAIN.md §4) and a regulator of the entry's deciding authority confirms or rejects it;
entries on lists that need no confirmation are active at once.  Every change writes a
dated :class:`~registry.lists.models.ListEntryEvent`, an audit entry and — when the list is
public and the change is one the public sees — a change-feed row.

Point in time (the one definition every answer "as of a day" uses)
-------------------------------------------------------------------
An entry **binds on day D** iff

    status in (active, removed)
    and since <= D
    and (until is None or D <= until)          # ``until`` is the last day of the term
    and (ended_on is None or D < ended_on)     # ``ended_on`` is the first day it no longer binds

Past days answer from the stored dates (a removed entry still bound while it was on the
list); future days answer from the terms already set (an active entry with
``until = 2029-11-29`` binds on 2029-11-29 and not on 2029-11-30, whether or not the sweep
has run by then).  Proposed and rejected entries never bind.  :func:`binds_on` is the
Python form, :func:`in_force_on` the SQL form; they must agree.

Operations here flush and never commit: the caller's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.errors import Conflict, Forbidden, Invalid, NotFound, TooEarly
from registry.core.models import Change
from registry.lists.models import ListEntry, ListEntryEvent

if TYPE_CHECKING:
    from rules import RulePack

#: Why an entry ended (``ListEntry.end_reason``), besides ``rejected`` for a proposal.
END_REASONS: tuple[str, ...] = ("term_ended", "repaired", "basis_revoked", "corrected", "manual")
#: Statuses whose entries bound (or bind) on the days between ``since`` and their end.
BINDING_STATUSES: tuple[str, ...] = ("active", "removed")


# --- point in time -------------------------------------------------------------------


class EntryView(Protocol):
    """What :func:`binds_on` and :func:`snapshot` read of an entry: a
    :class:`~registry.lists.models.ListEntry`, or the evaluator's plain ``EntryState``."""

    @property
    def status(self) -> str: ...
    @property
    def list_type(self) -> str: ...
    @property
    def since(self) -> date | None: ...
    @property
    def until(self) -> date | None: ...
    @property
    def early_removal_from(self) -> date | None: ...
    @property
    def ended_on(self) -> date | None: ...
    @property
    def end_reason(self) -> str | None: ...
    @property
    def confirmed_by(self) -> str | None: ...
    @property
    def ended_by(self) -> str | None: ...


def binds_on(entry: EntryView, day: date) -> bool:
    """True when ``entry`` binds on ``day`` (see the module docstring for the rule)."""
    return (
        entry.status in BINDING_STATUSES
        and entry.since is not None
        and entry.since <= day
        and (entry.until is None or day <= entry.until)
        and (entry.ended_on is None or day < entry.ended_on)
    )


def in_force_on(day: date) -> ColumnElement[bool]:
    """SQL condition on :class:`ListEntry`: the entry binds on ``day``.

    Usable in any query, e.g. ``select(ListEntry).where(in_force_on(d))``; the SQL twin
    of :func:`binds_on`."""
    return and_(
        ListEntry.status.in_(BINDING_STATUSES),
        ListEntry.since.is_not(None),
        ListEntry.since <= day,
        or_(ListEntry.until.is_(None), ListEntry.until >= day),
        or_(ListEntry.ended_on.is_(None), ListEntry.ended_on > day),
    )


def entries_in_force(
    session: Session,
    subject_keys: Iterable[str],
    as_of: date | None = None,
    list_types: Collection[str] | None = None,
) -> list[ListEntry]:
    """The entries binding the given subjects on ``as_of`` (default today), in
    (subject, list type, since, id) order — the basis of every sanctions answer."""
    keys = sorted(set(subject_keys))
    if not keys:
        return []
    day = as_of or clock.today()
    query = select(ListEntry).where(ListEntry.uscc.in_(keys), in_force_on(day))
    if list_types is not None:
        query = query.where(ListEntry.list_type.in_(sorted(set(list_types))))
    query = query.order_by(ListEntry.uscc, ListEntry.list_type, ListEntry.since, ListEntry.id)
    return list(session.execute(query).scalars())


# --- terms ---------------------------------------------------------------------------


def entry_terms(pack: RulePack, list_type: str, since: date) -> tuple[date | None, date]:
    """``(until, early_removal_from)`` of an entry on ``list_type`` active from ``since``.

    ``until`` is ``since`` plus the list's term in calendar months (None for a list that
    runs until corrected); ``early_removal_from`` is ``since`` plus the minimum time on the
    list before repair or early removal.  Use this wherever an entry becomes active (also
    for entries active at once), so every entry's term is counted the same way."""
    from rules.windows import add_months

    spec = _list_spec(pack, list_type)
    until = None if spec.term_months is None else add_months(since, spec.term_months)
    return until, add_months(since, spec.early_removal_months)


def is_public_list(pack: RulePack | None, list_type: str) -> bool:
    """Whether entries on ``list_type`` are published (unknown lists count as public, so
    the change feed never misses a change)."""
    spec = None if pack is None else pack.lists.get(list_type)
    return True if spec is None else bool(spec.public)


def _list_spec(pack: RulePack, list_type: str) -> Any:
    spec = pack.lists.get(list_type)
    if spec is None:
        known = ", ".join(sorted(pack.lists))
        raise Conflict(
            f"名单类型“{list_type}”不在当前规则包（{pack.name}）中，无法确定期限",
            details={"list_type": list_type, "known": known},
        )
    return spec


# --- helpers shared with repairs and the sweep ---------------------------------------


def snapshot(entry: EntryView) -> dict[str, Any]:
    """The entry's state, for audit entries."""
    return {
        "status": entry.status,
        "list_type": entry.list_type,
        "since": entry.since,
        "until": entry.until,
        "early_removal_from": entry.early_removal_from,
        "ended_on": entry.ended_on,
        "end_reason": entry.end_reason,
        "confirmed_by": entry.confirmed_by,
        "ended_by": entry.ended_by,
    }


def get_entry(session: Session, entry_id: int, *, lock: bool = True) -> ListEntry:
    """The entry with this id (row-locked for update on PostgreSQL), or :class:`NotFound`."""
    query = select(ListEntry).where(ListEntry.id == entry_id)
    if lock:
        query = query.with_for_update()
    entry = session.execute(query).scalar_one_or_none()
    if entry is None:
        raise NotFound(f"名单条目 {entry_id} 不存在", details={"list_entry_id": entry_id})
    return entry


def check_authority(entry: ListEntry, actor_authority_uscc: str | None) -> None:
    """Only a regulator of the entry's deciding authority may decide on it."""
    if entry.authority_uscc is None:
        raise Forbidden(
            f"名单条目 {entry.id} 没有作出决定的机关，无法由监管部门处理",
            details={"list_entry_id": entry.id},
        )
    if actor_authority_uscc != entry.authority_uscc:
        raise Forbidden(
            f"名单条目 {entry.id} 由其他机关决定，只有该机关可以处理",
            details={"list_entry_id": entry.id},
        )


def check_competence(
    pack: RulePack | None, list_type: str, actor_authority_uscc: str | None
) -> None:
    """Only an authority the pack names competent for ``list_type`` (``competent:``, by
    category or code prefix) may name, confirm, reject or remove its entries; a category
    that lists no codes admits nobody.  Every operation that does so calls this — the
    per-entry confirm, reject and remove (so any caller of them, one entry or a batch,
    is held to it) and naming an entry (:mod:`registry.lists.redlists`).  A list that
    names no competence is left to the deciding authority's check alone."""
    competence = None if pack is None else pack.competence(list_type)
    if competence is None or competence.admits(actor_authority_uscc):
        return
    raise Forbidden(
        f"本机关无权处理该名单（{competence.describe()}）",
        details={"list_type": list_type},
    )


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _require_text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(f"必须填写{what}", details={"field": what})
    return text


def record_event(
    session: Session,
    entry: ListEntry,
    event: str,
    on: date,
    actor: str,
    reason: str | None,
    before: dict[str, Any] | None,
    pack: RulePack | None,
    *,
    public_change: str | None = None,
) -> None:
    """Write the dated event, the audit entry and (for a public list, when
    ``public_change`` names an action) the change-feed row of one entry change."""
    session.add(
        ListEntryEvent(
            list_entry_id=entry.id,
            uscc=entry.uscc,
            event=event,
            on_date=on,
            actor=actor,
            reason=reason,
        )
    )
    if public_change is not None and is_public_list(pack, entry.list_type):
        session.add(
            Change(uscc=entry.uscc, kind="list_entry", object_id=entry.id, action=public_change)
        )
    after = snapshot(entry)
    if reason:
        after["reason"] = reason
    audit.record_one(
        session,
        audit.AuditEvent(
            actor=actor,
            action=f"list_entry.{event}",
            object_type="list_entry",
            object_id=entry.id,
            uscc=entry.uscc,
            before=before,
            after=after,
        ),
    )
    if not session.info.get(_BATCHED):
        session.flush()


#: ``session.info`` key set inside :func:`batched`.
_BATCHED = "list_entries_batched"


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """Many entry changes in a row (a bulk decision): inside the block the changes are
    not flushed one by one but together when the block ends, so their events and
    change-feed rows go in as multi-row inserts.  Each operation still reads its entry
    (locked) and checks it as alone; leaving by an exception flushes nothing."""
    if session.info.get(_BATCHED):
        yield
        return
    session.info[_BATCHED] = True
    try:
        with session.no_autoflush:
            yield
    finally:
        session.info.pop(_BATCHED, None)
    session.flush()


def end_entry(
    session: Session,
    pack: RulePack | None,
    entry: ListEntry,
    *,
    ended_on: date,
    actor: str,
    reason_code: str,
    note: str | None = None,
) -> ListEntry:
    """Remove an active entry as of ``ended_on`` (the first day it no longer binds),
    without any permission check: for the sweep, repairs and the rules engine."""
    if reason_code not in END_REASONS:
        raise Invalid(
            f"无效的移出原因“{reason_code}”（可选：{', '.join(END_REASONS)}）",
            details={"reason_code": reason_code, "allowed": list(END_REASONS)},
        )
    if entry.status != "active":
        raise Conflict(
            f"名单条目 {entry.id} 的状态为 {entry.status}，只有生效的条目可以移出",
            details={"list_entry_id": entry.id, "status": entry.status},
        )
    before = snapshot(entry)
    entry.status = "removed"
    entry.ended_on = ended_on
    entry.ended_by = actor
    entry.end_reason = reason_code
    if note:
        entry.note = note
    record_event(
        session,
        entry,
        "removed",
        ended_on,
        actor,
        note or reason_code,
        before,
        pack,
        public_change="removed",
    )
    return entry


# --- the regulator's decisions -------------------------------------------------------


def confirm_entry(
    session: Session,
    pack: RulePack,
    entry_id: int,
    actor_authority_uscc: str | None,
    actor: str,
    reason: str | None = None,
) -> ListEntry:
    """Confirm a proposed entry (列入决定): it becomes active today.

    ``since`` is today, ``until`` today plus the list's term (None for open terms),
    ``early_removal_from`` today plus the minimum time before early removal.  Only a
    regulator of the entry's deciding authority may confirm.  Raises NotFound, Forbidden,
    Conflict (not proposed; list not in the pack)."""
    entry = get_entry(session, entry_id)
    check_authority(entry, actor_authority_uscc)
    check_competence(pack, entry.list_type, actor_authority_uscc)
    if entry.status != "proposed":
        raise Conflict(
            f"名单条目 {entry.id} 的状态为 {entry.status}，只有拟列入的条目可以确认",
            details={"list_entry_id": entry.id, "status": entry.status},
        )
    today = clock.today()
    until, early = entry_terms(pack, entry.list_type, today)
    before = snapshot(entry)
    entry.status = "active"
    entry.since = today
    entry.until = until
    entry.early_removal_from = early
    entry.confirmed_by = actor
    note = (reason or "").strip() or None
    record_event(
        session, entry, "confirmed", today, actor, note, before, pack, public_change="confirmed"
    )
    return entry


def reject_entry(
    session: Session,
    pack: RulePack | None,
    entry_id: int,
    actor_authority_uscc: str | None,
    actor: str,
    reason: str,
) -> ListEntry:
    """Reject a proposed entry (e.g. after the party's statement or a hearing); the
    reason is required.  Nothing was public, so no change-feed row is written."""
    text = _require_text(reason, "不予列入的理由（reason）")
    entry = get_entry(session, entry_id)
    check_authority(entry, actor_authority_uscc)
    check_competence(pack, entry.list_type, actor_authority_uscc)
    if entry.status != "proposed":
        raise Conflict(
            f"名单条目 {entry.id} 的状态为 {entry.status}，只有拟列入的条目可以不予列入",
            details={"list_entry_id": entry.id, "status": entry.status},
        )
    today = clock.today()
    before = snapshot(entry)
    entry.status = "rejected"
    entry.ended_on = today
    entry.ended_by = actor
    entry.end_reason = "rejected"
    entry.note = text
    record_event(session, entry, "rejected", today, actor, text, before, pack)
    return entry


def remove_entry(
    session: Session,
    pack: RulePack | None,
    entry_id: int,
    actor_authority_uscc: str | None,
    actor: str,
    reason_code: str,
    note: str | None = None,
) -> ListEntry:
    """Remove an active entry by a regulator of its deciding authority (移出名单).

    ``reason_code``: ``term_ended`` (only once the term is over; the entry then ends the
    day after ``until``), ``repaired`` (only from ``early_removal_from``; credit repair
    normally goes through :mod:`registry.lists.repairs`), ``basis_revoked``, ``corrected``
    (e.g. the abnormality was corrected, or the entry was wrong) or ``manual`` (a note is
    required).  Other reasons end the entry today.  Raises NotFound, Forbidden, Conflict,
    Invalid, TooEarly (details carry ``allowed_from``)."""
    if reason_code not in END_REASONS:
        raise Invalid(
            f"无效的移出原因“{reason_code}”（可选：{', '.join(END_REASONS)}）",
            details={"reason_code": reason_code, "allowed": list(END_REASONS)},
        )
    if reason_code == "manual":
        note = _require_text(note, "移出说明（note）")
    entry = get_entry(session, entry_id)
    check_authority(entry, actor_authority_uscc)
    check_competence(pack, entry.list_type, actor_authority_uscc)
    if entry.status != "active":
        raise Conflict(
            f"名单条目 {entry.id} 的状态为 {entry.status}，只有生效的条目可以移出",
            details={"list_entry_id": entry.id, "status": entry.status},
        )
    today = clock.today()
    ended_on = today
    if reason_code == "term_ended":
        if entry.until is None or entry.until >= today:
            raise Conflict(
                f"名单条目 {entry.id} 的期限尚未届满"
                + ("（无固定期限）" if entry.until is None else f"（至 {entry.until} 止）"),
                details={"list_entry_id": entry.id, "until": _iso(entry.until)},
            )
        ended_on = entry.until + timedelta(days=1)
    elif (
        reason_code == "repaired" and entry.early_removal_from and today < entry.early_removal_from
    ):
        raise TooEarly(
            f"名单条目 {entry.id} 自 {entry.early_removal_from} 起才可提前移出",
            details={
                "list_entry_id": entry.id,
                "allowed_from": entry.early_removal_from.isoformat(),
            },
        )
    return end_entry(
        session,
        pack,
        entry,
        ended_on=ended_on,
        actor=actor,
        reason_code=reason_code,
        note=(note or "").strip() or None,
    )
