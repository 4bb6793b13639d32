"""Public complaints and reports (举报投诉) of suspected infringement or counterfeit goods.

Anyone may report a code without an account (rate-limited at the door); the report is
routed to the authority of the entity's region, and the reporter follows its status with
the receipt they were given (:mod:`registry.intake.receipts`, stored only hashed).  Complaints
are never published: no public answer reads this table except the status lookup by
receipt, and that answers the status alone.

Routing (:func:`route`), first that answers wins:

1. the routing table ``intake.complaint_routes`` (``<region prefix>=<authority USCC>``):
   the longest prefix of the code's division code (positions 3-8) that has a route;
2. the regulators the registry knows (tokens of role regulator, not revoked): an
   authority's own division code (positions 3-8 of *its* USCC) stands for its
   jurisdiction — ``440000`` the province ``44``, ``440300`` the city ``4403``,
   ``440305`` the district — and the most specific jurisdiction containing the entity's
   division wins.  (A plain longest common prefix would send a complaint about a
   district to the neighbouring district's bureau.)  When two different authorities
   tie, the routing is ambiguous and left to the administrators;
3. otherwise the complaint waits in the administrators' queue (``authority_uscc``
   null) until one routes it (:func:`route_complaint`).

Statuses: ``received`` → ``accepted`` → ``investigating`` → ``closed`` (an authority
may close at any point, with a note).  Every step is audited, without the reporter's
contact or description.  Operations flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.codes import CodeError, validate_uscc
from registry.core.config import Config, ConfigError
from registry.core.errors import Conflict, Forbidden, Invalid, NotFound
from registry.core.keys import Keys, keys_for
from registry.core.models import ApiToken
from registry.core.rows import columns, get_row, record_change
from registry.intake import receipts
from registry.intake.models import Complaint

KINDS: tuple[str, ...] = ("counterfeit", "trademark", "patent", "copyright", "quality", "other")
KIND_LABELS = {
    "counterfeit": "假冒伪劣商品",
    "trademark": "商标侵权",
    "patent": "专利侵权",
    "copyright": "著作权侵权",
    "quality": "产品质量问题",
    "other": "其他",
}
STATUSES: tuple[str, ...] = ("received", "accepted", "investigating", "closed")
STATUS_LABELS = {
    "received": "已收到，待受理",
    "accepted": "已受理",
    "investigating": "调查处理中",
    "closed": "已办结",
}
#: Status changes an authority may make (closing is possible from any open status).
NEXT: dict[str, tuple[str, ...]] = {
    "received": ("accepted", "investigating", "closed"),
    "accepted": ("investigating", "closed"),
    "investigating": ("closed",),
    "closed": (),
}
PUBLIC_ACTOR = "public"
MAX_DESCRIPTION = 20000
MAX_CONTACT = 200


# --- routing ---------------------------------------------------------------------------


def routing_table(config: Config) -> dict[str, str]:
    """``intake.complaint_routes`` as ``{region prefix: authority USCC}``; ConfigError
    naming the entry for a malformed one."""
    table: dict[str, str] = {}
    for i, entry in enumerate(config.intake.complaint_routes):
        prefix, sep, authority = entry.partition("=")
        prefix, authority = prefix.strip(), authority.strip().upper()
        where = f"intake.complaint_routes[{i}] ({entry!r})"
        if not sep or not prefix.isdigit() or not 1 <= len(prefix) <= 6:
            raise ConfigError(f"{where}: expected <1-6 digit region prefix>=<authority USCC>")
        try:
            table[prefix] = validate_uscc(authority)
        except CodeError as exc:
            raise ConfigError(f"{where}: {exc.message}") from None
    return table


def jurisdiction(division_code: str) -> str:
    """The region prefix an authority's division code stands for: trailing ``00`` pairs
    dropped (``440300`` → ``4403``; ``440000`` → ``44``); the national ``100000`` has none."""
    code = division_code
    if code.startswith("10"):
        return ""
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


def _regulators(session: Session) -> list[str]:
    codes = session.execute(
        select(ApiToken.authority_uscc).where(
            ApiToken.role == "regulator",
            ApiToken.revoked_at.is_(None),
            ApiToken.authority_uscc.is_not(None),
        )
    ).scalars()
    # The query already leaves out NULL; the test only narrows the column's type to str.
    return sorted({code for code in codes if code is not None})


@dataclass(frozen=True)
class Route:
    authority_uscc: str | None
    #: ``table``, ``regulators`` or ``none`` (administrators' queue)
    by: str


def route(session: Session, config: Config, code: str) -> Route:
    """Where a complaint about ``code`` goes (module docstring)."""
    division = code[2:8]
    table = routing_table(config)
    for length in range(len(division), 0, -1):
        authority = table.get(division[:length])
        if authority is not None:
            return Route(authority, "table")
    best: dict[int, set[str]] = {}
    for authority in _regulators(session):
        scope = jurisdiction(authority[2:8])
        if scope and division.startswith(scope):
            best.setdefault(len(scope), set()).add(authority)
    if best:
        found = best[max(best)]
        if len(found) == 1:
            return Route(next(iter(found)), "regulators")
    return Route(None, "none")


# --- filing and the reporter's view ----------------------------------------------------


@dataclass(frozen=True)
class Filed:
    complaint: Complaint
    #: shown once to the reporter; only its hash is stored
    receipt: str


_STATE = ("kind", "authority_uscc", "routed_by", "status", "filed_on", "status_on", "handled_by")


def _state(complaint: Complaint) -> dict[str, Any]:
    return columns(complaint, _STATE)


def _audit(
    session: Session, complaint: Complaint, actor: str, action: str, before: dict | None
) -> None:
    after = _state(complaint)
    if complaint.status_note:
        after["note"] = complaint.status_note
    record_change(
        session, actor, f"complaint.{action}", "complaint", complaint, before=before, after=after
    )


def _invalid(name: str, message: str) -> Invalid:
    return Invalid(message, details={name: [message]})


def file_complaint(
    session: Session,
    config: Config,
    *,
    uscc: str,
    kind: str,
    description: str,
    contact: str | None = None,
) -> Filed:
    """File a complaint about a (valid) code, whether or not the registry holds records
    of it.  Raises Invalid (422) naming the field."""
    try:
        code = validate_uscc(uscc or "")
    except CodeError as exc:
        raise _invalid("uscc", exc.message) from None
    if kind not in KINDS:
        raise _invalid("kind", f"应为以下之一：{', '.join(KINDS)}")
    text = (description or "").strip()
    if not text:
        raise _invalid("description", "必须填写举报内容")
    if len(text) > MAX_DESCRIPTION:
        raise _invalid("description", f"最多 {MAX_DESCRIPTION} 个字符")
    reach = (contact or "").strip() or None
    if reach is not None and len(reach) > MAX_CONTACT:
        raise _invalid("contact", f"最多 {MAX_CONTACT} 个字符")
    where = route(session, config, code)
    receipt = receipts.new_receipt("complaint")
    digest = receipts.hash_receipt(receipt, keys_for(config.security).receipt)
    assert digest is not None
    complaint = Complaint(
        receipt_hash=digest,
        uscc=code,
        kind=kind,
        description=text,
        contact=reach,
        authority_uscc=where.authority_uscc,
        routed_by=where.by,
        status="received",
        filed_on=clock.today(),
    )
    session.add(complaint)
    session.flush()
    _audit(session, complaint, PUBLIC_ACTOR, "filed", None)
    session.flush()
    return Filed(complaint, receipt)


def find_by_receipt(session: Session, receipt: str, keys: Keys) -> Complaint:
    """The complaint a receipt belongs to; NotFound for an unknown or malformed one."""
    hashes = receipts.lookup_hashes(receipt, keys)
    complaint = (
        session.execute(
            select(Complaint).where(Complaint.receipt_hash.in_(hashes))
        ).scalar_one_or_none()
        if hashes
        else None
    )
    if complaint is None:
        raise NotFound("回执号不存在或有误，请核对后重新输入", details={})
    return complaint


def reporter_view(complaint: Complaint) -> dict[str, Any]:
    """The status alone (and when it last changed): nothing about the findings, the
    authority's notes or the entity."""
    return {
        "status": complaint.status,
        "filed_on": complaint.filed_on,
        "status_on": complaint.status_on,
    }


# --- the authority's side ----------------------------------------------------------------


def get_complaint(session: Session, complaint_id: int, *, lock: bool = False) -> Complaint:
    return get_row(
        session, Complaint, complaint_id, f"举报 {complaint_id} 不存在", "complaint_id", lock=lock
    )


def set_status(
    session: Session,
    complaint_id: int,
    actor_authority_uscc: str | None,
    actor: str,
    status: str,
    note: str | None,
) -> Complaint:
    """Move a complaint on (only the authority it is routed to).  Closing needs a note.
    Raises NotFound, Forbidden, Conflict (not a step forward), Invalid."""
    if status not in STATUSES or status == "received":
        raise _invalid("status", "应为以下之一：accepted、investigating、closed")
    text = (note or "").strip() or None
    if status == "closed" and text is None:
        raise _invalid("note", "办结须填写处理结果说明")
    complaint = get_complaint(session, complaint_id, lock=True)
    if complaint.authority_uscc is None or complaint.authority_uscc != actor_authority_uscc:
        raise Forbidden(
            f"举报 {complaint_id} 不由本机关处理",
            details={"complaint_id": complaint_id},
        )
    if status not in NEXT[complaint.status]:
        raise Conflict(
            f"举报 {complaint_id} 的状态为 {complaint.status}，不能改为 {status}",
            details={"complaint_id": complaint_id, "status": complaint.status},
        )
    before = _state(complaint)
    complaint.status = status
    complaint.status_on = clock.today()
    complaint.status_note = text
    complaint.handled_by = actor
    session.flush()
    _audit(session, complaint, actor, status, before)
    session.flush()
    return complaint


def route_complaint(
    session: Session, complaint_id: int, authority_uscc: str, actor: str
) -> Complaint:
    """An administrator routes a complaint (from the queue, or re-routes one not yet
    closed) to an authority."""
    try:
        authority = validate_uscc(authority_uscc or "")
    except CodeError as exc:
        raise _invalid("authority_uscc", exc.message) from None
    complaint = get_complaint(session, complaint_id, lock=True)
    if complaint.status == "closed":
        raise Conflict(
            f"举报 {complaint_id} 已办结，不能再分派", details={"complaint_id": complaint_id}
        )
    before = _state(complaint)
    complaint.authority_uscc = authority
    complaint.routed_by = "admin"
    session.flush()
    _audit(session, complaint, actor, "routed", before)
    session.flush()
    return complaint


def open_counts(session: Session, authority_uscc: str | None) -> dict[str, int]:
    """Open complaints by status for an authority (None: the unrouted queue)."""
    from sqlalchemy import func

    query = select(Complaint.status, func.count()).where(Complaint.status != "closed")
    if authority_uscc is None:
        query = query.where(Complaint.authority_uscc.is_(None))
    else:
        query = query.where(Complaint.authority_uscc == authority_uscc)
    return {status: int(n) for status, n in session.execute(query.group_by(Complaint.status))}


def kinds_label(kinds: Iterable[str]) -> list[tuple[str, str]]:
    return [(k, KIND_LABELS[k]) for k in kinds]
