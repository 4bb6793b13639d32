"""What the public sees of one list entry: who listed the entity, why, under which
article, what follows and how it ends — one shape for the JSON API, the entity page,
the list pages and the credit report (built here once, rendered by each door).

The facts come from the entry itself (authority, basis records, term, early removal),
from the rule pack (the list's group, legal basis and measures with their departments)
and from two small reads the profile statement makes alongside the entry
(:mod:`registry.disclosure.profile`): the entity's penalties an entry may rest on
(decision number, date, authority — the grounds, whether or not still disclosed) and
the entity's open objections (异议处理中).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from registry.intake.models import Objection
from registry.lists.entries import in_force_on
from registry.lists.models import ListEntry
from registry.records.models import Penalty

if TYPE_CHECKING:
    from rules import RulePack
    from rules.model import ListType

#: The columns of a list entry the public answer is built from (the profile statement
#: reads these, in this order).
ENTRY_COLUMNS = (
    ListEntry.id,
    ListEntry.list_type,
    ListEntry.since,
    ListEntry.until,
    ListEntry.rule_id,
    ListEntry.authority_uscc,
    ListEntry.basis_penalty_ids,
    ListEntry.early_removal_from,
    ListEntry.note,
)
#: The columns of a penalty an entry may rest on (its grounds).
GROUND_COLUMNS = (
    Penalty.id,
    Penalty.decision_number,
    Penalty.decided_on,
    Penalty.authority,
    Penalty.authority_uscc,
    Penalty.violation_type,
)
GROUND_NAMES = tuple(str(c.key) for c in GROUND_COLUMNS)
#: Open objections of the entity: which penalty or entry each is about.
OBJECTION_COLUMNS = (Objection.penalty_id, Objection.list_entry_id)

#: Who lists an entity that a rule puts on a list without any authority's record
#: (a red list for a clean record): the registry itself, by the published rule.
RULE_AUTHORITY = "信用信息公示登记机关（依公开规则认定）"

#: What the public is told about a list without a fixed term.
OPEN_TERM = {
    "abnormal": "至改正为止",
    "incentive": "持续有效至不再符合列入条件",
    "serious": "至依法移出为止",
}


def ground_where(code: Any, day: Any) -> list[Any]:
    """The penalties read as possible grounds: the entity's own records that are not
    revoked, read only when it has an entry in force (most entities have none)."""
    return [
        # The subject key too (it is the code when there is one): on Citus it names the
        # shard, so the profile's one statement stays on one shard.
        Penalty.subject_key == code,
        Penalty.uscc == code,
        Penalty.status == "active",
        exists().where(and_(ListEntry.uscc == code, in_force_on(day))),
    ]


def objection_where(code: Any) -> list[Any]:
    return [Objection.uscc == code, Objection.status == "open"]


def read_extras(session: Session, code: str, day: date) -> tuple[list[Any], list[Any]]:
    """The grounds and open objections as rows (any engine; PostgreSQL reads them in
    the profile's one statement instead)."""
    grounds = session.execute(select(*GROUND_COLUMNS).where(*ground_where(code, day))).all()
    objections = session.execute(select(*OBJECTION_COLUMNS).where(*objection_where(code))).all()
    return list(grounds), list(objections)


def term_text(list_type: ListType, until: str | None) -> str:
    """The end of an entry's term in words: a date, or for a list without a fixed term
    the group's wording (经营异常名录: 至改正为止; red lists: while eligible) — the one
    wording every page uses."""
    if until:
        return f"至{_cn(until)}"
    return OPEN_TERM.get(list_type.group, OPEN_TERM["serious"])


def _cn(iso: str) -> str:
    y, m, d = iso[:10].split("-")
    return f"{int(y)}年{int(m)}月{int(d)}日"


def _iso(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else value.isoformat()


def how_it_ends(list_type: ListType, until: str | None, early_from: str | None) -> str:
    """How the entry ends, in words (term, credit repair or correction)."""
    if list_type.group == "incentive":
        end = f"有效期至{_cn(until)}届满；" if until else ""
        return f"{end}主体受到行政处罚、列入失信名单或不再符合列入条件的，即移出名单。"
    if list_type.group == "abnormal":
        return (
            "改正后（补报年度报告、更正公示信息或可以通过登记的住所取得联系），"
            "由作出决定的机关移出。"
        )
    parts = [f"期满（{_cn(until)}）自动移出。" if until else "依法移出。"]
    if early_from:
        parts.append(
            f"自{_cn(early_from)}起，已改正违法行为、履行法定义务的，可以申请提前移出（信用修复）。"
        )
    return "".join(parts)


def public_entry(
    entry: Any,
    lists: Mapping[str, ListType],
    pack: RulePack,
    grounds: Mapping[int, Mapping[str, Any]],
    objected_entries: Iterable[int],
    disclosed_ids: Iterable[int],
) -> dict[str, Any]:
    """A list entry as the public sees it (see the module's docstring).  ``entry`` is a
    row with :data:`ENTRY_COLUMNS`; ``grounds`` the entity's penalties by id."""
    spec = lists[entry.list_type]
    since, until = _iso(entry.since), _iso(entry.until)
    early = _iso(entry.early_removal_from)
    disclosed = set(disclosed_ids)
    basis_ids = [int(i) for i in (entry.basis_penalty_ids or [])]
    penalties = [
        {
            "id": pid,
            "decision_number": grounds[pid]["decision_number"],
            "decided_on": _iso(grounds[pid]["decided_on"]),
            "authority": grounds[pid]["authority"],
            "violation_type": grounds[pid]["violation_type"],
            "disclosed": pid in disclosed,
        }
        for pid in basis_ids
        if pid in grounds
    ]
    rule = _rule(pack, entry.rule_id)
    if penalties:
        ground_kind = "penalties"
    elif spec.group == "incentive" and not rule:
        ground_kind = "naming"
    else:
        ground_kind = "rule"
    return {
        "id": entry.id,
        "list_type": entry.list_type,
        "title": spec.title,
        "group": spec.group,
        "group_title": spec.group_title,
        "since": since,
        "until": until,
        "authority": _authority(entry.authority_uscc, basis_ids, grounds),
        "grounds": {
            "kind": ground_kind,
            "rule": rule,
            "penalties": penalties,
            # a red list named by an authority: its naming decision (the basis text it gave)
            "naming_decision": entry.note if ground_kind == "naming" else None,
        },
        "legal_basis": spec.legal_basis,
        "measures": [
            {
                "id": m.id,
                "title": m.title,
                "department": m.department,
                "kind": m.kind,
                "legal_basis": m.legal_bases.get(entry.list_type, spec.legal_basis),
            }
            for m in pack.measures_for(entry.list_type)
        ],
        "term": {
            "since": since,
            "until": until,
            "text": term_text(spec, until),
            "early_removal_from": early if spec.group != "incentive" else None,
            "ends": how_it_ends(spec, until, early if spec.group != "incentive" else None),
        },
        "under_objection": entry.id in set(objected_entries),
        "objection_target": f"list_entry:{entry.id}",
    }


def _rule(pack: RulePack, rule_id: str | None) -> dict[str, str] | None:
    if not rule_id:
        return None
    for rule in pack.rules:
        if rule.id == rule_id:
            return {"id": rule.id, "title": rule.title}
    return {"id": rule_id, "title": rule_id}


def _authority(
    uscc: str | None, basis_ids: Sequence[int], grounds: Mapping[int, Mapping[str, Any]]
) -> dict[str, Any]:
    """The listing authority by name: the name its own records give it (the basis
    records first, then any other record of the entity by the same authority)."""
    if uscc is None and not basis_ids:
        return {"uscc": None, "name": RULE_AUTHORITY}
    name = None
    rows = [grounds[i] for i in basis_ids if i in grounds] + list(grounds.values())
    for row in rows:
        if uscc is None or row["authority_uscc"] == uscc:
            name = row["authority"]
            uscc = uscc or row["authority_uscc"]
            break
    return {"uscc": uscc, "name": name or (f"统一社会信用代码为{uscc}的机关" if uscc else None)}


def grounds_by_id(rows: Iterable[Any]) -> dict[int, dict[str, Any]]:
    """Ground rows (tuples in :data:`GROUND_COLUMNS` order, or rows) by penalty id."""
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        values = dict(zip(GROUND_NAMES, tuple(row), strict=True))
        out[int(values["id"])] = values
    return out


def objected(rows: Iterable[Any]) -> tuple[set[int], set[int]]:
    """``(penalty ids, list entry ids)`` under an open objection."""
    penalties: set[int] = set()
    entries: set[int] = set()
    for penalty_id, entry_id in rows:
        if penalty_id is not None:
            penalties.add(int(penalty_id))
        if entry_id is not None:
            entries.add(int(entry_id))
    return penalties, entries


def entries_for(
    session: Session,
    entries: Sequence[ListEntry],
    lists: Mapping[str, ListType],
    pack: RulePack,
    day: date,
) -> dict[int, dict[str, Any]]:
    """:func:`public_entry` of each of ``entries`` (of any entities: a list page), by
    entry id — with three reads for the lot: their basis records, the open objections
    to them, and which basis records are disclosed on ``day``."""
    from registry.records.disclosure import disclosed_on

    basis = sorted({int(i) for e in entries for i in (e.basis_penalty_ids or [])})
    grounds = (
        grounds_by_id(
            session.execute(
                select(*GROUND_COLUMNS).where(Penalty.id.in_(basis), Penalty.status == "active")
            ).all()
        )
        if basis
        else {}
    )
    disclosed = (
        set(
            session.execute(
                select(Penalty.id).where(Penalty.id.in_(basis), disclosed_on(day))
            ).scalars()
        )
        if basis
        else set()
    )
    ids = [e.id for e in entries]
    objected_ids = (
        {
            i
            for i in session.execute(
                select(Objection.list_entry_id).where(
                    Objection.list_entry_id.in_(ids), Objection.status == "open"
                )
            ).scalars()
            if i is not None
        }
        if ids
        else set()
    )
    return {e.id: public_entry(e, lists, pack, grounds, objected_ids, disclosed) for e in entries}
