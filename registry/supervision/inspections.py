"""Double-random inspections (双随机、一公开): tasks, the reproducible draw, results.

An authority defines a task (the scope it draws from, a sample ratio per credit grade,
an inspector pool), draws it with a seed, enters each inspection's result later and
publishes the task.  The draw is a pure function of published inputs, so anyone with
the same register can re-run it and get the same bytes; docs/inspections.md states it
language-independently, with a worked example.  In short:

1. **Population**: the entities in the task's scope on the draw day, each with its
   credit grade (the ``credit_grades`` row in force that day; ungraded entities count as
   ``ungraded_as``).  Its fingerprint is SHA-256 over the lines ``"<uscc>,<grade>\\n"``
   sorted by code.
2. **Entities**: each candidate's rank is ``HMAC-SHA256(key=seed, msg="<task id>|<uscc>")``
   in lower-case hex.  In each grade stratum of size N with ratio r, the
   ``floor(r × N + 1/2)`` candidates with the lowest rank are drawn (ties, which never
   happen in practice, by code).  The sample is ordered by rank.
3. **Inspectors**: for each drawn entity in that order, the pool members who are not in
   conflict are ranked by (entities already given to them in this draw,
   ``HMAC-SHA256(key=seed, msg="<task id>|<uscc>|<inspector code>")``, code) and the first
   ``inspectors_per_entity`` are taken.  Conflict (DOMAIN.md §6): an inspector never
   inspects an entity of their own region twice in a row — an inspector whose region
   (division-code prefix) contains the entity's division code (positions 3–8 of its
   code) and who inspected it in the previous drawn task of the same authority that
   drew that entity is left out.
4. The draw is written as canonical text (:func:`canonical_text`); its SHA-256 is
   published with the seed.

Operations flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.codes import CodeError, validate_uscc
from registry.core.config import SupervisionConfig
from registry.core.errors import Conflict, Forbidden, Invalid, NotFound
from registry.core.rows import get_row, page_of, record_change
from registry.evaluation.models import CreditGrade
from registry.lists.entries import in_force_on
from registry.lists.models import ListEntry
from registry.records.models import Entity
from registry.supervision.draw import (
    Draw,
    PoolMember,
    check_ratios,
    parse_config_ratios,
    ratio_text,
    run_draw,
)
from registry.supervision.models import (
    InspectionAssignment,
    InspectionTask,
    Inspector,
    QualityCommitment,
)

LIST_STATUSES: tuple[str, ...] = ("any", "listed", "not_listed")
#: Results of an inspection (抽查结果), as the public sees them.
OUTCOMES: dict[str, str] = {
    "no_problem": "未发现问题",
    "corrected": "发现问题，已责令改正",
    "case_opened": "发现问题，已立案查处",
    "not_at_address": "通过登记的住所（经营场所）无法联系",
    "no_activity": "未发现开展本次抽查涉及的经营活动",
    "refused": "不配合检查",
    "other": "其他",
}
_REGION = re.compile(r"^\d{2}(\d{2}){0,2}$")


def default_region(authority_uscc: str) -> str:
    """The authority's own jurisdiction as a division-code prefix: ``440305`` → ``440305``,
    ``440300`` → ``4403``, ``440000`` → ``44``; a national authority (``100000``) → ``""``."""
    division = authority_uscc[2:8]
    if division == "100000":
        return ""
    while len(division) > 2 and division.endswith("00"):
        division = division[:-2]
    return division


def _clean_scope(scope: Mapping[str, Any], authority_uscc: str) -> dict[str, Any]:
    regions = [str(r).strip() for r in scope.get("regions") or []]
    bad = [r for r in regions if not _REGION.match(r)]
    if bad:
        raise Invalid(
            "行政区划应为2、4或6位数字（区划代码的前缀）",
            details={"scope.regions": [f"“{r}”不是2、4或6位数字" for r in bad]},
        )
    if not regions:
        region = default_region(authority_uscc)
        regions = [region] if region else []
    keywords = sorted({str(k).strip() for k in scope.get("name_keywords") or [] if str(k).strip()})
    status = scope.get("list_status") or "any"
    if status not in LIST_STATUSES:
        raise Invalid(
            f"list_status 应为 {', '.join(LIST_STATUSES)} 之一",
            details={"scope.list_status": [f"应为以下之一：{'、'.join(LIST_STATUSES)}"]},
        )
    return {
        "regions": sorted(set(regions)),
        "name_keywords": keywords,
        "list_status": status,
        "list_types": sorted(set(scope.get("list_types") or [])),
        "committed_only": bool(scope.get("committed_only", False)),
    }


# --- reading the register --------------------------------------------------------------


def _scope_conditions(scope: Mapping[str, Any], day: date) -> list[Any]:
    where: list[Any] = []
    if scope.get("regions"):
        where.append(or_(*(Entity.division_code.startswith(r) for r in scope["regions"])))
    if scope.get("name_keywords"):
        where.append(
            or_(*(Entity.name.contains(k, autoescape=True) for k in scope["name_keywords"]))
        )
    if scope.get("list_status", "any") != "any":
        listed = [ListEntry.uscc == Entity.uscc, in_force_on(day)]
        if scope.get("list_types"):
            listed.append(ListEntry.list_type.in_(scope["list_types"]))
        condition = exists().where(*listed)
        where.append(condition if scope["list_status"] == "listed" else ~condition)
    if scope.get("committed_only"):
        where.append(
            exists().where(
                QualityCommitment.uscc == Entity.uscc,
                QualityCommitment.made_on <= day,
                or_(QualityCommitment.withdrawn_on.is_(None), QualityCommitment.withdrawn_on > day),
            )
        )
    return where


def read_population(
    session: Session, scope: Mapping[str, Any], day: date, ungraded_as: str
) -> list[tuple[str, str]]:
    """``(uscc, grade)`` of every entity in scope on ``day``, sorted by code.  The grade is
    the ``credit_grades`` row in force that day (``since <= day`` and ``until`` empty or
    not before it; the latest ``since`` wins), else ``ungraded_as``."""
    in_scope = select(Entity.uscc).where(*_scope_conditions(scope, day))
    codes = [row[0] for row in session.execute(in_scope.order_by(Entity.uscc))]
    grades: dict[str, tuple[date, str]] = {}
    rows = session.execute(
        select(CreditGrade.uscc, CreditGrade.since, CreditGrade.grade).where(
            CreditGrade.uscc.in_(in_scope),
            CreditGrade.since <= day,
            or_(CreditGrade.until.is_(None), CreditGrade.until >= day),
        )
    )
    for uscc, since, grade in rows:
        if uscc not in grades or since > grades[uscc][0]:
            grades[uscc] = (since, grade.strip().upper())
    return [(uscc, grades[uscc][1] if uscc in grades else ungraded_as) for uscc in codes]


def previous_inspectors(
    session: Session, task: InspectionTask, codes: Sequence[str]
) -> dict[str, list[str]]:
    """For each code, the inspectors of its latest inspection in an earlier drawn task of
    the same authority (earlier: drawn before this one; ``(drawn_at, id)`` order)."""
    if not codes:
        return {}
    earlier = [
        InspectionTask.authority_uscc == task.authority_uscc,
        InspectionTask.status == "drawn",
        InspectionTask.id != task.id,
    ]
    if task.drawn_at is not None:
        earlier.append(
            or_(
                InspectionTask.drawn_at < task.drawn_at,
                and_(InspectionTask.drawn_at == task.drawn_at, InspectionTask.id < task.id),
            )
        )
    out: dict[str, list[str]] = {}
    wanted = sorted(set(codes))
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(InspectionAssignment.uscc, InspectionAssignment.inspector_codes)
            .join(InspectionTask, InspectionTask.id == InspectionAssignment.task_id)
            .where(*earlier, InspectionAssignment.uscc.in_(wanted[start : start + 500]))
            .order_by(InspectionTask.drawn_at, InspectionTask.id)
        )
        for uscc, inspectors in rows:
            out[uscc] = list(inspectors or [])  # later rows overwrite: the latest wins
    return out


# --- operations -----------------------------------------------------------------------


def _task(
    session: Session, task_id: int, authority_uscc: str | None, *, lock: bool = False
) -> InspectionTask:
    task = get_row(
        session, InspectionTask, task_id, f"抽查任务 {task_id} 不存在", "task_id", lock=lock
    )
    if authority_uscc is not None and task.authority_uscc != authority_uscc:
        raise Forbidden(
            f"抽查任务 {task_id} 属于其他机关，只有该机关可以处理", details={"task_id": task_id}
        )
    return task


def _audit(session: Session, actor: str, action: str, task: InspectionTask, **kw: Any) -> None:
    record_change(session, actor, action, "inspection_task", task, **kw)


def create_task(
    session: Session,
    settings: SupervisionConfig,
    authority_uscc: str,
    actor: str,
    *,
    title: str,
    authority_name: str,
    scope: Mapping[str, Any] | None = None,
    ratios: Mapping[str, Any] | None = None,
    inspectors_per_entity: int | None = None,
    seed_sha256: str | None = None,
) -> InspectionTask:
    """A new planned task of ``authority_uscc``.  Ratios default to the configured ones;
    the scope's regions default to the authority's own jurisdiction.  ``seed_sha256``
    commits to the seed in advance: the draw then accepts only that seed."""
    chosen = check_ratios(ratios) if ratios else parse_config_ratios(settings.inspection_ratios)
    task = InspectionTask(
        authority_uscc=authority_uscc,
        authority_name=authority_name.strip(),
        title=title.strip(),
        scope=_clean_scope(scope or {}, authority_uscc),
        ratios={g: ratio_text(r) for g, r in sorted(chosen.items())},
        ungraded_as=settings.ungraded_as,
        inspectors_per_entity=inspectors_per_entity or settings.inspectors_per_entity,
        seed_sha256=seed_sha256.lower() if seed_sha256 else None,
        status="planned",
        created_by=actor,
    )
    session.add(task)
    session.flush()
    _audit(
        session,
        actor,
        "inspection_task.created",
        task,
        after={"title": task.title, "scope": task.scope, "ratios": task.ratios},
    )
    return task


def set_pool(
    session: Session,
    task_id: int,
    authority_uscc: str,
    actor: str,
    members: Sequence[Mapping[str, str]],
) -> list[Inspector]:
    """Replace the inspector pool (执法检查人员名录库) of a planned task."""
    task = _task(session, task_id, authority_uscc, lock=True)
    if task.status != "planned":
        raise Conflict(
            f"抽查任务 {task_id} 已抽取，检查人员名录不能再改", details={"task_id": task_id}
        )
    codes = [m["code"].strip() for m in members]
    dupes = sorted(c for c, n in Counter(codes).items() if n > 1)
    if dupes:
        raise Invalid(
            "执法证号重复", details={"inspectors.code": [f"执法证号 {c} 重复" for c in dupes]}
        )
    bad = [m["region"] for m in members if not _REGION.match(m["region"].strip())]
    if bad:
        raise Invalid(
            "检查人员所属区划应为2、4或6位数字",
            details={"inspectors.region": [f"“{r}”不是2、4或6位数字" for r in bad]},
        )
    before = [
        i.code
        for i in session.execute(select(Inspector).where(Inspector.task_id == task.id)).scalars()
    ]
    session.execute(delete(Inspector).where(Inspector.task_id == task.id))
    rows = [
        Inspector(
            task_id=task.id,
            code=m["code"].strip(),
            name=m["name"].strip(),
            region=m["region"].strip(),
        )
        for m in members
    ]
    session.add_all(rows)
    session.flush()
    _audit(
        session,
        actor,
        "inspection_task.pool_set",
        task,
        before={"inspectors": before},
        after={"inspectors": [[r.code, r.name, r.region] for r in rows]},
    )
    return rows


def pool_of(session: Session, task_id: int) -> list[PoolMember]:
    rows = session.execute(
        select(Inspector).where(Inspector.task_id == task_id).order_by(Inspector.code)
    ).scalars()
    return [PoolMember(r.code, r.name, r.region) for r in rows]


def compute_draw(session: Session, task: InspectionTask, seed: str, day: date) -> Draw:
    """The draw of ``task`` with ``seed`` on the register as it is now (``day``: the
    draw day, for grades and list status)."""
    population = read_population(session, task.scope, day, task.ungraded_as)
    return run_draw(
        task_id=task.id,
        seed=seed,
        drawn_on=day,
        population=population,
        ratios={g: Decimal(r) for g, r in task.ratios.items()},
        ungraded_as=task.ungraded_as,
        pool=pool_of(session, task.id),
        inspectors_per_entity=task.inspectors_per_entity,
        previous=previous_inspectors(session, task, [u for u, _ in population]),
    )


def check_seed(seed: str | None) -> str:
    text = (seed or "").strip()
    if not text or len(text) > 200 or not text.isprintable():
        raise Invalid("种子应为1到200个可打印字符", details={"seed": ["1到200个可打印字符"]})
    return text


def draw_task(
    session: Session,
    task_id: int,
    authority_uscc: str | None,
    actor: str,
    seed: str | None = None,
    *,
    dry_run: bool = False,
) -> tuple[InspectionTask, Draw, bool]:
    """Draw a planned task (recording it), or — for ``dry_run`` or a task already
    drawn — compute the draw without changing anything.  A drawn task is re-run as of
    its draw day.  Returns ``(task, draw, recorded)``.  Without a seed a random one is
    made (a drawn task: its own seed).  ``authority_uscc`` None: the CLI operator."""
    task = _task(session, task_id, authority_uscc, lock=not dry_run)
    if seed is None and task.status == "drawn":
        seed = task.seed
    seed = check_seed(seed if seed is not None else secrets.token_hex(16))
    if task.status == "drawn" or dry_run:
        day = task.drawn_on if task.status == "drawn" and task.drawn_on else clock.today()
        return task, compute_draw(session, task, seed, day), False
    if task.seed_sha256 and hashlib.sha256(seed.encode()).hexdigest() != task.seed_sha256:
        raise Invalid(
            "种子与任务创建时公布的种子哈希（seed_sha256）不符",
            details={"seed": ["SHA-256 与 seed_sha256 不符"]},
        )
    pool = pool_of(session, task.id)
    if len(pool) < task.inspectors_per_entity:
        raise Conflict(
            f"检查人员名录只有 {len(pool)} 人，少于每户所需的 {task.inspectors_per_entity} 人",
            details={"task_id": task.id, "inspectors": len(pool)},
        )
    task.drawn_at = clock.now()
    draw = compute_draw(session, task, seed, clock.today())
    task.status = "drawn"
    task.seed = seed
    task.drawn_on = draw.drawn_on
    task.drawn_by = actor
    task.population_count = draw.population_count
    task.population_sha256 = draw.population_sha256
    task.strata = [
        {
            "grade": s.grade,
            "population": s.population,
            "ratio": ratio_text(s.ratio),
            "sample": s.sample,
        }
        for s in draw.strata
    ]
    task.draw_sha256 = draw.sha256
    session.add_all(
        InspectionAssignment(
            task_id=task.id,
            uscc=d.uscc,
            grade=d.grade,
            position=d.position,
            rank=d.rank,
            inspector_codes=list(d.inspectors),
        )
        for d in draw.sample
    )
    session.flush()
    _audit(
        session,
        actor,
        "inspection_task.drawn",
        task,
        before={"status": "planned"},
        after={
            "status": "drawn",
            "seed": seed,
            "population_sha256": draw.population_sha256,
            "draw_sha256": draw.sha256,
            "sample": len(draw.sample),
        },
    )
    return task, draw, True


def enter_result(
    session: Session,
    task_id: int,
    authority_uscc: str,
    actor: str,
    *,
    uscc: str,
    outcome: str,
    findings: str | None,
    inspected_on: date,
) -> InspectionAssignment:
    """Record the result of one drawn entity's inspection.  A result changed after it
    was published waits for the next publication (the audit trail keeps the old one)."""
    task = _task(session, task_id, authority_uscc)
    if task.status != "drawn":
        raise Conflict(f"抽查任务 {task_id} 尚未抽取", details={"task_id": task_id})
    try:
        code = validate_uscc(uscc)
    except CodeError as exc:
        raise Invalid(exc.message, details={"uscc": [exc.message]}) from None
    if outcome not in OUTCOMES:
        raise Invalid(
            "未知的检查结果",
            details={"outcome": [f"应为以下之一：{'、'.join(sorted(OUTCOMES))}"]},
        )
    if task.drawn_on and inspected_on < task.drawn_on:
        raise Invalid(
            "检查日期不能早于抽取日期",
            details={"inspected_on": [f"不早于 {task.drawn_on.isoformat()}"]},
        )
    if inspected_on > clock.today():
        raise Invalid(
            "检查日期不能晚于今天",
            details={"inspected_on": [f"不晚于 {clock.today().isoformat()}"]},
        )
    row = session.execute(
        select(InspectionAssignment)
        .where(InspectionAssignment.task_id == task.id, InspectionAssignment.uscc == code)
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"{code} 不在抽查任务 {task_id} 的抽取名单中",
            details={"task_id": task_id, "uscc": code},
        )
    before = {"outcome": row.outcome, "findings": row.findings, "inspected_on": row.inspected_on}
    row.outcome = outcome
    row.findings = (findings or "").strip() or None
    row.inspected_on = inspected_on
    row.entered_by = actor
    row.entered_at = clock.now()
    row.published_on = None
    session.flush()
    _audit(
        session,
        actor,
        "inspection_result.entered",
        task,
        uscc=code,
        before=before,
        after={"outcome": outcome, "findings": row.findings, "inspected_on": inspected_on},
    )
    return row


def publish_task(session: Session, task_id: int, authority_uscc: str, actor: str) -> InspectionTask:
    """Publish a drawn task (一公开): its draw, and every result entered so far.  Results
    entered later are published by publishing again."""
    task = _task(session, task_id, authority_uscc, lock=True)
    if task.status != "drawn":
        raise Conflict(f"抽查任务 {task_id} 尚未抽取，不能公示", details={"task_id": task_id})
    today = clock.today()
    first = task.published_on is None
    if first:
        task.published_on = today
    rows = session.execute(
        select(InspectionAssignment).where(
            InspectionAssignment.task_id == task.id,
            InspectionAssignment.outcome.is_not(None),
            InspectionAssignment.published_on.is_(None),
        )
    ).scalars()
    count = 0
    for row in rows:
        row.published_on = today
        count += 1
    session.flush()
    _audit(
        session,
        actor,
        "inspection_task.published",
        task,
        after={"published_on": task.published_on, "results_published": count, "first": first},
    )
    return task


# --- views ----------------------------------------------------------------------------


def task_view(
    session: Session, task: InspectionTask, *, public: bool, with_items: bool = True
) -> dict[str, Any]:
    """A task for its authority (everything) or for the public (``public``: only
    published results; no credit grades of individual entities — they are for
    supervision, not disclosure; the per-grade counts are public)."""
    view: dict[str, Any] = {
        "id": task.id,
        "title": task.title,
        "authority_uscc": task.authority_uscc,
        "authority_name": task.authority_name,
        "scope": task.scope,
        "ratios": task.ratios,
        "ungraded_as": task.ungraded_as,
        "inspectors_per_entity": task.inspectors_per_entity,
        "seed_sha256": task.seed_sha256,
        "status": task.status,
        "seed": task.seed,
        "drawn_on": task.drawn_on,
        "population_count": task.population_count,
        "population_sha256": task.population_sha256,
        "strata": task.strata or [],
        "draw_sha256": task.draw_sha256,
        "published_on": task.published_on,
        "inspectors": [
            {"code": m.code, "name": m.name, "region": m.region} for m in pool_of(session, task.id)
        ],
    }
    if not public:
        view["created_by"] = task.created_by
        view["created_at"] = task.created_at
    if not with_items:
        return view
    names = dict(
        session.execute(
            select(Entity.uscc, Entity.name)
            .join(InspectionAssignment, InspectionAssignment.uscc == Entity.uscc)
            .where(InspectionAssignment.task_id == task.id)
        ).all()
    )
    items = []
    rows = session.execute(
        select(InspectionAssignment)
        .where(InspectionAssignment.task_id == task.id)
        .order_by(InspectionAssignment.position)
    ).scalars()
    for row in rows:
        shown = not public or row.published_on is not None
        item: dict[str, Any] = {
            "position": row.position,
            "uscc": row.uscc,
            "name": names.get(row.uscc),
            "inspectors": list(row.inspector_codes or []),
            "outcome": row.outcome if shown else None,
            "outcome_label": OUTCOMES.get(row.outcome or "") if shown else None,
            "findings": row.findings if shown else None,
            "inspected_on": row.inspected_on if shown else None,
            "published_on": row.published_on,
        }
        if not public:
            item.update(grade=row.grade, rank=row.rank, entered_by=row.entered_by)
        items.append(item)
    view["items"] = items
    return view


def list_tasks(
    session: Session,
    *,
    authority_uscc: str | None = None,
    published_only: bool = False,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[InspectionTask], int]:
    """Tasks newest first: an authority's own, or the published ones."""
    where: list[Any] = []
    if authority_uscc is not None:
        where.append(InspectionTask.authority_uscc == authority_uscc)
    if published_only:
        where.append(InspectionTask.published_on.is_not(None))
    return page_of(
        session, InspectionTask, where, [InspectionTask.id.desc()], page=page, per_page=per_page
    )


def published_task(session: Session, task_id: int) -> InspectionTask:
    """A published task, or NotFound (an unpublished task does not exist for the public)."""
    task = session.get(InspectionTask, task_id)
    if task is None or task.published_on is None:
        raise NotFound(f"抽查任务 {task_id} 不存在或尚未公示", details={"task_id": task_id})
    return task


def published_results_for(session: Session, uscc: str) -> list[dict[str, Any]]:
    """The entity's published inspection results, newest first (for its public page)."""
    rows = session.execute(
        select(InspectionAssignment, InspectionTask)
        .join(InspectionTask, InspectionTask.id == InspectionAssignment.task_id)
        .where(
            InspectionAssignment.uscc == uscc,
            InspectionAssignment.published_on.is_not(None),
            InspectionTask.published_on.is_not(None),
        )
        .order_by(InspectionAssignment.inspected_on.desc(), InspectionTask.id.desc())
    ).all()
    return [
        {
            "task_id": task.id,
            "title": task.title,
            "authority_name": task.authority_name,
            "inspected_on": row.inspected_on,
            "outcome": row.outcome,
            "outcome_label": OUTCOMES.get(row.outcome or "", row.outcome),
            "findings": row.findings,
            "published_on": row.published_on,
        }
        for row, task in rows
    ]
