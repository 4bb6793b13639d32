"""Objections (异议申诉): anyone named in a record disputes it, the authority answers.

Filing needs no account: the filer names the record (by the entity's code and the
decision number on their decision document, or by the id the public page shows), says
why, and leaves a contact.  They get a receipt (:mod:`registry.intake.receipts`, stored only
hashed) to follow the status.  The deciding authority must answer by ``due_on``: a
number of working days after filing (a pack's ``objection_deadline_working_days``, else
``intake.objection_deadline_working_days``, default 10; Monday to Friday, less the
configured ``intake.holidays``, plus ``intake.extra_working_days``).  An objection
still open after ``due_on`` is overdue — derived from the dates, never flagged by a job.

The answer is one of:

- ``corrected``: a corrected penalty record (same authority and decision number) is
  written through the one write path (:func:`registry.records.penalties.upsert_penalties`) as a
  new version; the caller runs the rules for the subjects it touched;
- ``revoked``: the penalty is revoked (:func:`registry.records.disclosure.revoke_penalty`) or the
  list entry removed (reason ``corrected``); the caller runs the rules;
- ``rejected``: the record stays as it is; the reasons are required.

While an objection is open its record is *under objection*: departments see that in
their sanctions answers and the authority in its record listing
(:func:`under_objection`); the public never learns that an objection exists — no public
answer reads this table except a status lookup by receipt.  Every step is audited; the
filer's contact and statement stay out of the (unerasable) audit trail.

Operations flush and never commit; the caller's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.codes import CodeError, validate_uscc
from registry.core.config import Config, ConfigError
from registry.core.errors import Conflict, Forbidden, Invalid, NotFound
from registry.core.keys import Keys, keys_for
from registry.intake import receipts
from registry.intake.models import Objection, Receipt
from registry.lists.entries import binds_on, is_public_list, remove_entry
from registry.lists.models import ListEntry
from registry.records.disclosure import is_disclosed, revoke_penalty
from registry.records.models import Penalty
from registry.records.penalties import upsert_penalties

if TYPE_CHECKING:
    from rules import RulePack

OUTCOMES: tuple[str, ...] = ("corrected", "revoked", "rejected")
OPEN = "open"
ANSWERED = "answered"
STATUSES: tuple[str, ...] = (OPEN, ANSWERED)
PUBLIC_ACTOR = "public"
MAX_STATEMENT = 20000
MAX_CONTACT = 200


# --- working days ----------------------------------------------------------------------


def _dates(values: Iterable[str], key: str) -> frozenset[date]:
    out = set()
    for i, value in enumerate(values):
        try:
            out.add(date.fromisoformat(value.strip()))
        except ValueError as exc:
            raise ConfigError(
                f"intake.{key}[{i}]: {value!r} is not an ISO date (e.g. 2026-10-01)"
            ) from exc
    return frozenset(out)


@dataclass(frozen=True)
class Calendar:
    """Which days are working days: Monday to Friday, less holidays, plus the weekend
    days that are worked instead (调休)."""

    holidays: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()

    @classmethod
    def from_config(cls, config: Config) -> Calendar:
        return cls(
            _dates(config.intake.holidays, "holidays"),
            _dates(config.intake.extra_working_days, "extra_working_days"),
        )

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
        day, left = start, days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day


def deadline_working_days(config: Config, pack: RulePack | None) -> int:
    """Working days the authority has to answer (the pack's setting wins)."""
    value = getattr(pack, "objection_deadline_working_days", None)
    return int(value) if value else config.intake.objection_deadline_working_days


def due_date(config: Config, pack: RulePack | None, filed_on: date) -> date:
    return Calendar.from_config(config).add_working_days(
        filed_on, deadline_working_days(config, pack)
    )


# --- filing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filed:
    objection: Objection
    #: shown once to the filer; only its hash is stored
    receipt: str


def _required_text(value: str | None, name: str, label: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(f"必须填写{label}（{name}）", details={name: ["必填"]})
    if len(text) > limit:
        raise Invalid(
            f"{label}（{name}）最多 {limit} 个字符",
            details={name: [f"最多 {limit} 个字符"]},
        )
    return text


def _code(uscc: str | None) -> str:
    try:
        return validate_uscc(uscc or "")
    except CodeError as exc:
        raise Invalid(exc.message, details={"uscc": [exc.message]}) from None


def _not_found(field_name: str, value: Any) -> NotFound:
    return NotFound(
        "该统一社会信用代码名下没有这条记录（请核对决定书文号或公示页上的记录编号）",
        details={field_name: value},
    )


def _find_penalty(
    session: Session, code: str, decision_number: str | None, penalty_id: int | None, today: date
) -> Penalty:
    """By decision number (the party has it on the decision document: any record of the
    code that is not revoked), or by id (only a record the public page shows, so ids
    cannot be used to probe for undisclosed records)."""
    if penalty_id is not None:
        penalty = session.get(Penalty, penalty_id)
        if penalty is None or penalty.uscc != code or not is_disclosed(penalty, today):
            raise _not_found("penalty_id", penalty_id)
        return penalty
    number = (decision_number or "").strip()
    rows = (
        session.execute(
            select(Penalty).where(
                Penalty.uscc == code,
                Penalty.decision_number == number,
                Penalty.status != "revoked",
            )
        )
        .scalars()
        .all()
    )
    if not rows:
        raise _not_found("decision_number", number)
    if len(rows) > 1:
        raise Invalid(
            "多个处罚机关的记录使用同一决定书文号，请改用公示页上的记录编号（penalty_id）",
            details={"decision_number": ["不唯一，请改用 penalty_id"]},
        )
    return rows[0]


def _find_entry(
    session: Session, pack: RulePack | None, code: str, entry_id: int, today: date
) -> ListEntry:
    """A list entry the public sees: on a public list, binding today."""
    entry = session.get(ListEntry, entry_id)
    if (
        entry is None
        or entry.uscc != code
        or entry.status != "active"
        or not binds_on(entry, today)
        or not is_public_list(pack, entry.list_type)
    ):
        raise _not_found("list_entry_id", entry_id)
    return entry


def _entry_authority(session: Session, entry: ListEntry) -> str | None:
    if entry.authority_uscc:
        return entry.authority_uscc
    ids = sorted(entry.basis_penalty_ids or [])
    if not ids:
        return None
    return session.execute(
        select(Penalty.authority_uscc).where(Penalty.id.in_(ids)).order_by(Penalty.id).limit(1)
    ).scalar_one_or_none()


def _state(objection: Objection) -> dict[str, Any]:
    return {
        "status": objection.status,
        "penalty_id": objection.penalty_id,
        "list_entry_id": objection.list_entry_id,
        "authority_uscc": objection.authority_uscc,
        "filed_on": objection.filed_on,
        "due_on": objection.due_on,
        "answered_on": objection.answered_on,
        "outcome": objection.outcome,
        "answered_by": objection.answered_by,
        "corrected_version": objection.corrected_version,
    }


def _audit(
    session: Session, objection: Objection, actor: str, action: str, before: dict | None
) -> None:
    after = _state(objection)
    if objection.answer:
        after["answer"] = objection.answer
    audit.record_one(
        session,
        audit.AuditEvent(
            actor=actor,
            action=f"objection.{action}",
            object_type="objection",
            object_id=objection.id,
            uscc=objection.uscc,
            before=before,
            after=after,
        ),
    )


def file_objection(
    session: Session,
    config: Config,
    pack: RulePack | None,
    *,
    uscc: str,
    statement: str,
    contact: str,
    decision_number: str | None = None,
    penalty_id: int | None = None,
    list_entry_id: int | None = None,
) -> Filed:
    """File an objection to one record of ``uscc`` (exactly one of ``decision_number``,
    ``penalty_id``, ``list_entry_id``).  Raises Invalid (422: bad code, missing or
    ambiguous record reference, empty statement or contact) or NotFound (the code has no
    such record, or the record is not one the filer can name)."""
    code = _code(uscc)
    given = [
        name
        for name, value in (
            ("decision_number", (decision_number or "").strip() or None),
            ("penalty_id", penalty_id),
            ("list_entry_id", list_entry_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        message = "请指明一条记录：decision_number、penalty_id 或 list_entry_id 三者之一"
        raise Invalid(message, details={"_schema": [message]})
    text = _required_text(statement, "statement", "异议理由", MAX_STATEMENT)
    reach = _required_text(contact, "contact", "联系方式", MAX_CONTACT)
    today = clock.today()
    if list_entry_id is not None:
        entry = _find_entry(session, pack, code, list_entry_id, today)
        authority = _entry_authority(session, entry)
        if authority is None:
            raise Conflict(
                f"名单条目 {entry.id} 没有作出决定的机关，无法受理异议",
                details={"list_entry_id": entry.id},
            )
        target: dict[str, Any] = {"list_entry_id": entry.id}
    else:
        penalty = _find_penalty(session, code, decision_number, penalty_id, today)
        authority = penalty.authority_uscc
        target = {"penalty_id": penalty.id}
    receipt = receipts.new_receipt("objection")
    digest = receipts.hash_receipt(receipt, keys_for(config.security).receipt)
    assert digest is not None
    objection = Objection(
        receipt_hash=digest,
        uscc=code,
        authority_uscc=authority,
        contact=reach,
        statement=text,
        status=OPEN,
        filed_on=today,
        due_on=due_date(config, pack, today),
        **target,
    )
    session.add(objection)
    session.flush()
    # The receipt's uniqueness lives in ``receipts`` (Citus: docs/scaling.md), written
    # in the same transaction: a clash of 80 random bits fails the filing like before.
    session.add(Receipt(receipt_hash=digest, kind="objection", uscc=code, object_id=objection.id))
    session.flush()
    _audit(session, objection, PUBLIC_ACTOR, "filed", None)
    session.flush()
    return Filed(objection, receipt)


# --- the filer's view -------------------------------------------------------------------


def find_by_receipt(session: Session, receipt: str, keys: Keys) -> Objection:
    """The objection a receipt belongs to; NotFound for an unknown or malformed one (the
    same answer, so a lookup says nothing beyond "no such receipt")."""
    hashes = receipts.lookup_hashes(receipt, keys)
    # Through ``receipts``: the subject and the id, then the objection on its subject's
    # shard (Citus), rather than a search of every subject's objections.
    found = (
        session.execute(
            select(Receipt.uscc, Receipt.object_id).where(
                Receipt.receipt_hash.in_(hashes), Receipt.kind == "objection"
            )
        ).first()
        if hashes
        else None
    )
    objection = (
        session.execute(
            select(Objection).where(Objection.uscc == found.uscc, Objection.id == found.object_id)
        ).scalar_one_or_none()
        if found is not None
        else None
    )
    if objection is None:
        raise NotFound("回执号不存在或有误，请核对后重新输入", details={})
    return objection


def filer_view(session: Session, objection: Objection, today: date | None = None) -> dict:
    """What the filer may see: their objection's progress and the answer, the record by
    its decision number or list — nothing about anyone else."""
    day = today or clock.today()
    record: dict[str, Any] = {"penalty_id": objection.penalty_id, "decision_number": None}
    if objection.penalty_id is not None:
        record["decision_number"] = session.execute(
            select(Penalty.decision_number).where(Penalty.id == objection.penalty_id)
        ).scalar_one_or_none()
    record["list_entry_id"] = objection.list_entry_id
    if objection.list_entry_id is not None:
        record["list_type"] = session.execute(
            select(ListEntry.list_type).where(ListEntry.id == objection.list_entry_id)
        ).scalar_one_or_none()
    return {
        "uscc": objection.uscc,
        "record": record,
        "status": objection.status,
        "filed_on": objection.filed_on,
        "due_on": objection.due_on,
        "overdue": objection.status == OPEN and objection.due_on < day,
        "answered_on": objection.answered_on,
        "outcome": objection.outcome,
        "answer": objection.answer,
    }


# --- the authority's answer ------------------------------------------------------------


@dataclass
class Answered:
    objection: Objection
    #: subjects whose rules must run once the caller has committed
    dirty: set[str] = field(default_factory=set)


def get_objection(session: Session, objection_id: int, *, lock: bool = False) -> Objection:
    query = select(Objection).where(Objection.id == objection_id)
    if lock:
        query = query.with_for_update()
    objection = session.execute(query).scalar_one_or_none()
    if objection is None:
        raise NotFound(f"异议 {objection_id} 不存在", details={"objection_id": objection_id})
    return objection


def check_authority(objection: Objection, actor_authority_uscc: str | None) -> None:
    if actor_authority_uscc != objection.authority_uscc:
        raise Forbidden(
            f"异议 {objection.id} 由其他机关处理", details={"objection_id": objection.id}
        )


def _correct(
    session: Session,
    config: Config,
    objection: Objection,
    actor: str,
    record: Mapping[str, Any] | None,
) -> set[str]:
    if objection.penalty_id is None:
        message = "名单条目不能直接更正：请更正其依据的处罚记录，或以 revoked 移出该条目"
        raise Invalid(message, details={"outcome": [message]})
    if not record:
        message = "更正须提交更正后的完整记录（record）"
        raise Invalid(message, details={"record": ["必填"]})
    penalty = session.execute(
        select(Penalty).where(Penalty.id == objection.penalty_id).with_for_update()
    ).scalar_one()
    if penalty.status == "revoked":
        raise Conflict(
            f"行政处罚记录 {penalty.id} 已撤销，不能更正",
            details={"penalty_id": penalty.id, "status": penalty.status},
        )
    for name in ("authority_uscc", "decision_number"):
        if record.get(name) != getattr(penalty, name):
            message = f"更正后的记录须与原记录的 {name} 相同（{getattr(penalty, name)}）"
            raise Invalid(message, details={f"record.{name}": [message]})
    result = upsert_penalties(
        session, [record], actor, None, id_key=keys_for(config.security).id_hash
    )
    if result.rejected:
        _idx, name, reason = result.rejected[0]
        raise Invalid(reason, details={f"record.{name}": [reason]})
    if not result.updated:
        message = "更正后的记录与现有记录相同；如维持原记录，请以 rejected 答复并说明理由"
        raise Invalid(message, details={"record": [message]})
    session.refresh(penalty)
    objection.corrected_version = penalty.version
    return set(result.dirty) | {penalty.subject_key}


def _revoke(
    session: Session,
    pack: RulePack | None,
    objection: Objection,
    actor_authority: str | None,
    actor: str,
    reason: str,
) -> set[str]:
    if objection.penalty_id is not None:
        penalty = revoke_penalty(session, objection.penalty_id, actor_authority, actor, reason)
        return {penalty.subject_key}
    assert objection.list_entry_id is not None
    remove_entry(
        session,
        pack,
        objection.list_entry_id,
        actor_authority,
        actor,
        "corrected",
        note=f"异议 {objection.id}：{reason}",
    )
    return set()


def answer_objection(
    session: Session,
    config: Config,
    pack: RulePack | None,
    objection_id: int,
    actor_authority_uscc: str | None,
    actor: str,
    outcome: str,
    answer: str | None,
    record: Mapping[str, Any] | None = None,
) -> Answered:
    """Answer an open objection (only its authority): ``corrected`` with the corrected
    ``record``, ``revoked`` or ``rejected`` (the latter two with reasons in ``answer``).
    Raises NotFound, Forbidden, Conflict (already answered; record revoked meanwhile),
    Invalid.  After the caller commits, run the rules for ``Answered.dirty``."""
    if outcome not in OUTCOMES:
        message = f"无效的答复结果“{outcome}”（可选：{', '.join(OUTCOMES)}）"
        raise Invalid(message, details={"outcome": [message]})
    text = (answer or "").strip()
    if outcome in ("revoked", "rejected") and not text:
        label = "不予采纳的理由" if outcome == "rejected" else "撤销理由"
        raise Invalid(f"必须填写{label}（answer）", details={"answer": ["必填"]})
    if outcome != "corrected" and record:
        message = "只有 corrected 答复可以附更正后的记录（record）"
        raise Invalid(message, details={"record": [message]})
    objection = get_objection(session, objection_id, lock=True)
    check_authority(objection, actor_authority_uscc)
    if objection.status != OPEN:
        raise Conflict(
            f"异议 {objection.id} 已于 {objection.answered_on} 答复（{objection.outcome}）",
            details={"objection_id": objection.id, "outcome": objection.outcome},
        )
    before = _state(objection)
    if outcome == "corrected":
        dirty = _correct(session, config, objection, actor, record)
        text = text or "经核查，已更正该记录。"
    elif outcome == "revoked":
        dirty = _revoke(session, pack, objection, actor_authority_uscc, actor, text)
    else:
        dirty = set()
    objection.status = ANSWERED
    objection.outcome = outcome
    objection.answer = text
    objection.answered_on = clock.today()
    objection.answered_by = actor
    session.flush()
    _audit(session, objection, actor, "answered", before)
    session.flush()
    return Answered(objection, dirty)


# --- queries -----------------------------------------------------------------------------


def is_overdue(day: date) -> ColumnElement[bool]:
    """SQL condition: still open after its deadline on ``day``."""
    return and_(Objection.status == OPEN, Objection.due_on < day)


def under_objection(
    session: Session, *, penalty_ids: Iterable[int] = (), entry_ids: Iterable[int] = ()
) -> tuple[set[int], set[int]]:
    """Of the given penalties and list entries, those with an open objection: for
    departments and the deciding authority only — never call this for a public answer."""
    pids, eids = sorted(set(penalty_ids)), sorted(set(entry_ids))
    penalties: set[int] = set()
    entries: set[int] = set()
    if not pids and not eids:
        return penalties, entries
    # One query for both (the departments' batch checks count their queries).
    which = []
    if pids:
        which.append(Objection.penalty_id.in_(pids))
    if eids:
        which.append(Objection.list_entry_id.in_(eids))
    rows = session.execute(
        select(Objection.penalty_id, Objection.list_entry_id).where(
            Objection.status == OPEN, or_(*which)
        )
    ).all()
    for penalty_id, entry_id in rows:
        if penalty_id is not None:
            penalties.add(penalty_id)
        if entry_id is not None:
            entries.add(entry_id)
    return penalties, entries


def overdue_objections(
    session: Session, authority_uscc: str | None, day: date | None = None, limit: int = 50
) -> list[Objection]:
    """Open objections past their deadline, oldest deadline first (None: every
    authority's, for administrators)."""
    query = select(Objection).where(is_overdue(day or clock.today()))
    if authority_uscc is not None:
        query = query.where(Objection.authority_uscc == authority_uscc)
    return list(
        session.execute(query.order_by(Objection.due_on, Objection.id).limit(limit)).scalars()
    )
