"""Sanctions as of a day (联合惩戒): which measures bind a code or a person, and why.

The read path of the departments' checks (ARCHITECTURE.md "The read path"):

    entries binding on day D          registry.lists.entries.entries_in_force (dated history)
    → measures of their list types    the active pack, filtered by scenario and by whom
                                      the measure binds (the entity, or a person's role)
    → ``because``                     the stored decisions: rule, pack version and the
                                      penalties that satisfied it (decision numbers, dates)

The answer is a **credit answer**: besides the punishments (``measures``, from entries on
dishonesty lists) it carries the entity's credit grade on the day (``grade``, with its
explanation) and the joint incentives to grant (``incentives``, from entries on red lists
— 守信激励名单).  An entity with any punishment in force on the day gets no incentive,
whatever the scenario asked: ``incentives`` is then empty and ``incentives_withheld``
says why (the punishing entries).

Past days answer from the stored dates; future days from the terms already set.  A batch
of codes costs a constant number of queries (entries, decisions, penalties, names,
grades), whatever its size.  Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.errors import Invalid
from registry.evaluation.grades import grade_view, grades_on
from registry.evaluation.models import Decision
from registry.lists.entries import entries_in_force
from registry.lists.models import ListEntry
from registry.records.models import Entity, Penalty, Person, PersonLink

if TYPE_CHECKING:
    from rules import Measure, RulePack

#: Decisions that put an entity on a list (the ones a ``because`` is made of).
LISTING_OUTCOMES: tuple[str, ...] = ("propose", "activate")
#: The role of a natural person listed in their own name (subject ``P:<person key>``).
PARTY_ROLE = "party"
PERSON_PREFIX = "P:"


def check_scenario(pack: RulePack, scenario: str | None) -> str | None:
    """The scenario if the pack knows it (or None for every scenario), else Invalid."""
    if scenario is None or scenario == "":
        return None
    if scenario not in pack.scenarios:
        raise Invalid(
            f"未知的应用场景“{scenario}”",
            details={"scenario": [f"应为以下之一：{', '.join(pack.scenarios)}"]},
        )
    return scenario


def last_binding_day(entry: ListEntry) -> date | None:
    """The last day the entry binds: the end of its term, or the day before it was
    removed (None: open-ended, e.g. 经营异常名录 until corrected)."""
    ends = []
    if entry.until is not None:
        ends.append(entry.until)
    if entry.ended_on is not None:
        ends.append(entry.ended_on - timedelta(days=1))
    return min(ends) if ends else None


def _because(
    session: Session, pack: RulePack, entries: Sequence[ListEntry]
) -> dict[int, list[dict[str, Any]]]:
    """Per entry id, the reasons it was made: two queries for any number of entries."""
    if not entries:
        return {}
    ids = [e.id for e in entries]
    decisions: dict[int, list[Decision]] = defaultdict(list)
    rows = session.execute(
        select(Decision)
        .where(Decision.list_entry_id.in_(ids), Decision.outcome.in_(LISTING_OUTCOMES))
        .order_by(Decision.id)
    ).scalars()
    for decision in rows:
        assert decision.list_entry_id is not None
        decisions[decision.list_entry_id].append(decision)
    penalty_ids: set[int] = set()
    for entry in entries:
        for decision in decisions.get(entry.id, ()):
            penalty_ids.update(decision.basis_penalty_ids or ())
        if entry.id not in decisions:
            penalty_ids.update(entry.basis_penalty_ids or ())
    penalties: dict[int, dict[str, Any]] = {}
    if penalty_ids:
        for row in session.execute(
            select(
                Penalty.id,
                Penalty.decision_number,
                Penalty.decided_on,
                Penalty.authority,
                Penalty.status,
            ).where(Penalty.id.in_(sorted(penalty_ids)))
        ):
            penalties[row.id] = {
                "penalty_id": row.id,
                "decision_number": row.decision_number,
                "decided_on": row.decided_on,
                "authority": row.authority,
                "status": row.status,
            }

    # Open objections (异议申诉): for departments only, never for the public.
    from registry.intake.objections import under_objection

    objected, objected_entries = under_objection(session, penalty_ids=penalty_ids, entry_ids=ids)
    for pid, item in penalties.items():
        item["under_objection"] = pid in objected

    def basis(ids_: Iterable[int]) -> list[dict[str, Any]]:
        return [penalties[i] for i in ids_ if i in penalties]

    out: dict[int, list[dict[str, Any]]] = {}
    for entry in entries:
        found = decisions.get(entry.id)
        if found:
            out[entry.id] = [
                {
                    "rule_id": d.rule_id,
                    "rule_title": d.rule_title,
                    "pack_version": d.pack_version,
                    "decided_at": d.decided_at,
                    "penalties": basis(d.basis_penalty_ids or ()),
                }
                for d in found
            ]
        else:
            # Entered by hand or from a file, or decided before decisions were stored.
            title = None
            if entry.rule_id:
                try:
                    title = pack.rule(entry.rule_id).title
                except KeyError:
                    title = None
            item = {
                "rule_id": entry.rule_id,
                "rule_title": title,
                "pack_version": entry.pack_version,
                "decided_at": None,
                "penalties": basis(entry.basis_penalty_ids or ()),
            }
            if entry.rule_id is None and entry.note:
                # named by an authority (e.g. 海关高级认证企业): its basis text and authority
                item.update(basis=entry.note, authority_uscc=entry.authority_uscc)
            out[entry.id] = [item]
    for entry in entries:
        for reason in out[entry.id]:
            reason["under_objection"] = entry.id in objected_entries or any(
                p["under_objection"] for p in reason["penalties"]
            )
    return out


class _MeasureViews:
    """Answer items for (measure, entry) pairs; a batch repeats the same few measures and
    entries many times, so the parts of each are computed once."""

    def __init__(self) -> None:
        self._static: dict[tuple[str, str], dict[str, Any]] = {}

    def item(
        self, measure: Measure, entry: ListEntry, because: list[dict[str, Any]]
    ) -> dict[str, Any]:
        list_type = entry.list_type
        static = self._static.get((measure.id, list_type))
        if static is None:
            static = self._static[(measure.id, list_type)] = {
                "measure_id": measure.id,
                "title": measure.title,
                "department": measure.department,
                "legal_basis": measure.legal_basis_for(list_type),
                "scenarios": list(measure.scenarios),
            }
        return {
            **static,
            "list_type": list_type,
            "list_entry_id": entry.id,
            "since": entry.since,
            "until": last_binding_day(entry),
            "because": because,
        }


def _measure(measure: Measure, entry: ListEntry, because: list[dict[str, Any]]) -> dict[str, Any]:
    return _MeasureViews().item(measure, entry, because)


def _measures_binding(
    pack: RulePack,
    entry: ListEntry,
    scenario: str | None,
    roles: Iterable[str],
    kind: str = "punishment",
) -> list[Measure]:
    wanted = set(roles)
    return [m for m in pack.measures_for(entry.list_type, scenario, kind) if wanted & set(m.binds)]


def _withheld(pack: RulePack, punishing: Sequence[ListEntry]) -> dict[str, Any]:
    """Why a punished entity gets no incentive: the entries punishing it on the day."""
    titles = "、".join(
        dict.fromkeys(
            pack.lists[e.list_type].title if e.list_type in pack.lists else e.list_type
            for e in punishing
        )
    )
    return {
        "reason": "under_punishment",
        "message": f"该主体列入{titles}，正在实施联合惩戒，不适用守信激励措施",
        "list_entry_ids": [e.id for e in punishing],
        "list_types": sorted({e.list_type for e in punishing}),
    }


def sanctions_for_many(
    session: Session,
    pack: RulePack,
    codes: Sequence[str],
    as_of: date | None = None,
    scenario: str | None = None,
) -> list[dict[str, Any]]:
    """The answer for each (valid, normalised) code, in order: ``{"uscc", "name", "known",
    "sanctioned", "measures": [...], "grade", "incentives": [...], "incentives_withheld"}``.
    Five queries, whatever the number of codes."""
    day = as_of or clock.today()
    scenario = check_scenario(pack, scenario)
    distinct = sorted(set(codes))
    entries = entries_in_force(session, distinct, day)
    because = _because(session, pack, entries)
    names = (
        {
            row.uscc: row.name
            for row in session.execute(
                select(Entity.uscc, Entity.name).where(Entity.uscc.in_(distinct))
            )
        }
        if distinct
        else {}
    )
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    benefits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    punishing: dict[str, list[ListEntry]] = defaultdict(list)
    views = _MeasureViews()
    binding: dict[str, list[Measure]] = {}
    for entry in entries:
        kind = "incentive" if pack.list_kind(entry.list_type) == "incentive" else "punishment"
        if kind == "punishment":
            punishing[entry.uscc].append(entry)
        measures = binding.get(entry.list_type)
        if measures is None:
            measures = binding[entry.list_type] = _measures_binding(
                pack, entry, scenario, ("entity",), kind
            )
        items = (by_code if kind == "punishment" else benefits)[entry.uscc]
        for measure in measures:
            items.append(views.item(measure, entry, because[entry.id]))
    graded = grades_on(session, distinct, day) if pack.grading is not None else {}
    answers = []
    for code in codes:
        applied = by_code.get(code, [])
        withheld = _withheld(pack, punishing[code]) if punishing.get(code) else None
        answers.append(
            {
                "uscc": code,
                "name": names.get(code),
                # A well-formed code the registry has never recorded: nothing binds it,
                # and the answer says so rather than a bare "not sanctioned".
                "known": code in names,
                "as_of": day,
                "scenario": scenario,
                "sanctioned": bool(applied),
                "measures": list(applied),
                "grade": grade_view(graded.get(code), pack, explain=True),
                "incentives": [] if withheld else list(benefits.get(code, [])),
                "incentives_withheld": withheld,
            }
        )
    return answers


def sanctions_for(
    session: Session,
    pack: RulePack,
    uscc: str,
    as_of: date | None = None,
    scenario: str | None = None,
) -> dict[str, Any]:
    """The measures binding one (valid, normalised) code on ``as_of`` (default today),
    for ``scenario`` (None: every scenario), each with its list entry and reasons."""
    return sanctions_for_many(session, pack, [uscc], as_of, scenario)[0]


def sanctions_for_person(
    session: Session,
    pack: RulePack,
    person_key: str,
    as_of: date | None = None,
    scenario: str | None = None,
) -> dict[str, Any]:
    """The measures binding a natural person on ``as_of``: entries in their own name
    (subject ``P:<key>``, measures binding the party) and entries of the entities they
    are linked to (e.g. as legal representative, measures that bind that role).

    The answer names the person only by the masked ID number the registry keeps."""
    day = as_of or clock.today()
    scenario = check_scenario(pack, scenario)
    links = session.execute(
        select(PersonLink.uscc, PersonLink.role).where(
            PersonLink.person_key == person_key,
            # ``since_on`` is when the registry first saw the link, not when it began:
            # only a recorded end of the role excludes it.
            or_(PersonLink.until_on.is_(None), PersonLink.until_on >= day),
        )
    ).all()
    roles: dict[str, set[str]] = defaultdict(set)
    for uscc, role in links:
        roles[uscc].add(role)
    own = PERSON_PREFIX + person_key
    entries = entries_in_force(session, [own, *roles], day)
    because = _because(session, pack, entries)
    person = session.get(Person, person_key)
    measures = []
    for entry in entries:
        if entry.uscc == own:
            for measure in _measures_binding(pack, entry, scenario, ("entity",)):
                measures.append(
                    {**_measure(measure, entry, because[entry.id]), "uscc": None, "role": "party"}
                )
            continue
        for role in sorted(roles[entry.uscc]):
            for measure in _measures_binding(pack, entry, scenario, (role,)):
                measures.append(
                    {
                        **_measure(measure, entry, because[entry.id]),
                        "uscc": entry.uscc,
                        "role": role,
                    }
                )
    return {
        "person": {
            "id_masked": None if person is None else person.id_masked,
            "known": person is not None,
            "links": [{"uscc": u, "role": r} for u in sorted(roles) for r in sorted(roles[u])],
        },
        "as_of": day,
        "scenario": scenario,
        "sanctioned": bool(measures),
        "measures": measures,
    }
