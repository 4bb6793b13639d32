"""Double-random inspections (双随机、一公开).

Regulators define tasks for their own authority, set the inspector pool, draw with a
seed, enter results and publish; anyone reads published tasks and results under
``/api/v1/public/inspections`` (and an entity's commitments and results under
``/api/v1/public/entities/<uscc>/supervision``).  The draw is reproducible from the
published seed: docs/inspections.md.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.common import auth
from api.common.context import db, runtime
from api.common.errors import ApiError
from api.common.schemas import EXAMPLE_USCC, PageArgsSchema, documents_errors, page_window
from api.supervision.schemas import (
    POOL_EXAMPLE,
    TASK_EXAMPLE,
    DrawRequestSchema,
    DrawSchema,
    PoolSchema,
    PublicSupervisionSchema,
    ResultRequestSchema,
    TaskCreateSchema,
    TaskItemSchema,
    TaskPageSchema,
    TaskSchema,
)
from registry.core import clock
from registry.core.codes import CodeError, validate_uscc
from registry.supervision.commitments import entity_supervision
from registry.supervision.draw import Draw, ratio_text
from registry.supervision.inspections import _task as own_task
from registry.supervision.inspections import (
    create_task,
    draw_task,
    enter_result,
    list_tasks,
    publish_task,
    published_task,
    set_pool,
    task_view,
)

blp = Blueprint(
    "inspections",
    __name__,
    url_prefix="/api/v1/inspections",
    description="监管部门：本机关的双随机抽查任务。",
)
public_blp = Blueprint(
    "public-supervision",
    __name__,
    url_prefix="/api/v1/public",
    description="公众（无需令牌）：已公示的抽查任务和结果，以及主体的质量承诺与抽查结果。",
)

ROLES = ("regulator",)


def _authority() -> str:
    principal = auth.current_principal()
    assert principal.authority_uscc is not None  # auth.require checks regulators
    return principal.authority_uscc


def _task_page(args: dict[str, Any], *, public: bool, **which: Any) -> dict[str, Any]:
    """A page of tasks (``which``: :func:`list_tasks`'s filter), without their entities."""
    page, per_page = page_window(args)
    session = db()
    tasks, total = list_tasks(session, page=page, per_page=per_page, **which)
    items = [task_view(session, t, public=public, with_items=False) for t in tasks]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def draw_answer(draw: Draw, recorded: bool, recorded_sha256: str | None) -> dict[str, Any]:
    return {
        "task_id": draw.task_id,
        "recorded": recorded,
        "seed": draw.seed,
        "drawn_on": draw.drawn_on,
        "population_count": draw.population_count,
        "population_sha256": draw.population_sha256,
        "strata": [
            {
                "grade": s.grade,
                "population": s.population,
                "ratio": ratio_text(s.ratio),
                "sample": s.sample,
            }
            for s in draw.strata
        ],
        "sample": [
            {
                "position": d.position,
                "uscc": d.uscc,
                "grade": d.grade,
                "rank": d.rank,
                "inspectors": list(d.inspectors),
            }
            for d in draw.sample
        ],
        "draw_sha256": draw.sha256,
        "text": draw.text,
        "matches_recorded": None
        if recorded or recorded_sha256 is None
        else recorded_sha256 == draw.sha256,
    }


@blp.route("/tasks")
class Tasks(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, TaskPageSchema)
    @documents_errors(blp, 422, 503)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """本机关的抽查任务，最新的在前（不含抽取对象）"""
        return _task_page(args, public=False, authority_uscc=_authority())

    @auth.required(blp, *ROLES)
    @blp.arguments(TaskCreateSchema, example=TASK_EXAMPLE)
    @blp.response(201, TaskSchema)
    @documents_errors(blp, 422, 503)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """创建抽查任务

        范围（地区、名称关键词、名单状态、仅限作出承诺的主体），
        各信用等级的抽查比例（默认取配置，见 DOMAIN.md §6），每个对象的检查人员数，
        以及可选的、事先承诺的随机种子 SHA-256。"""
        principal = auth.current_principal()
        session = db()
        task = create_task(
            session,
            runtime().config.supervision,
            _authority(),
            principal.actor,
            title=body["title"],
            authority_name=body["authority_name"],
            scope=body["scope"],
            ratios=body["ratios"],
            inspectors_per_entity=body["inspectors_per_entity"],
            seed_sha256=body["seed_sha256"],
        )
        session.commit()
        return task_view(session, task, public=False)


@blp.route("/tasks/<id:task_id>")
class TaskOne(MethodView):
    @auth.required(blp, *ROLES)
    @blp.response(200, TaskSchema)
    @documents_errors(blp, 404, 503)
    def get(self, task_id: int) -> dict[str, Any]:
        """本机关的一个抽查任务，含抽取对象和检查结果"""
        session = db()
        return task_view(session, own_task(session, task_id, _authority()), public=False)


@blp.route("/tasks/<id:task_id>/inspectors")
class TaskPool(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(PoolSchema, example=POOL_EXAMPLE)
    @blp.response(200, TaskSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def put(self, body: dict[str, Any], task_id: int) -> dict[str, Any]:
        """Set the inspector pool (执法检查人员名录) of a planned task

        每名检查人员：执法证号（跨任务不变：回避规则以此为准）、姓名、
        所在单位的行政区划代码前缀。"""
        principal = auth.current_principal()
        session = db()
        set_pool(session, task_id, _authority(), principal.actor, body["inspectors"])
        session.commit()
        return task_view(session, own_task(session, task_id, None), public=False)


@blp.route("/tasks/<id:task_id>/draw")
class TaskDraw(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(
        DrawRequestSchema,
        examples={
            "draw": {"value": {"seed": "2026-Q4-南山-7f3a91"}},
            "re-run": {"value": {"seed": "2026-Q4-南山-7f3a91", "dry_run": True}},
        },
    )
    @blp.response(200, DrawSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], task_id: int) -> dict[str, Any]:
        """抽取检查对象和检查人员（或重新计算已有的抽取）

        计划中的任务被抽取并记录（`recorded: true`）；随机种子随任务公布。`dry_run`
        或已抽取的任务只计算（已抽取的按其抽取日计算），`matches_recorded`
        说明与已记录的结果是否逐字节相同。"""
        principal = auth.current_principal()
        session = db()
        task, draw, recorded = draw_task(
            session,
            task_id,
            _authority(),
            principal.actor,
            body["seed"],
            dry_run=body["dry_run"],
        )
        if recorded:
            session.commit()
        return draw_answer(draw, recorded, task.draw_sha256)


@blp.route("/tasks/<id:task_id>/results")
class TaskResults(MethodView):
    @auth.required(blp, *ROLES)
    @blp.arguments(
        ResultRequestSchema,
        example={
            "uscc": EXAMPLE_USCC,
            "outcome": "corrected",
            "findings": "未按规定公示年度报告，已责令限期改正",
            "inspected_on": "2026-11-28",
        },
    )
    @blp.response(200, TaskItemSchema)
    @documents_errors(blp, 404, 409, 422, 503)
    def post(self, body: dict[str, Any], task_id: int) -> dict[str, Any]:
        """录入一个被抽取对象的检查结果

        任务公示后即公开（公示后录入的结果在再次公示时公开）。"""
        principal = auth.current_principal()
        session = db()
        row = enter_result(
            session,
            task_id,
            _authority(),
            principal.actor,
            uscc=body["uscc"],
            outcome=body["outcome"],
            findings=body["findings"],
            inspected_on=body["inspected_on"],
        )
        session.commit()
        view = task_view(session, own_task(session, task_id, None), public=False)
        return next(i for i in view["items"] if i["uscc"] == row.uscc)


@blp.route("/tasks/<id:task_id>/publish")
class TaskPublish(MethodView):
    @auth.required(blp, *ROLES)
    @blp.response(200, TaskSchema)
    @documents_errors(blp, 404, 409, 503)
    def post(self, task_id: int) -> dict[str, Any]:
        """Publish the task (一公开): its draw and every result entered so far"""
        principal = auth.current_principal()
        session = db()
        task = publish_task(session, task_id, _authority(), principal.actor)
        session.commit()
        return task_view(session, task, public=False)


# --- public --------------------------------------------------------------------------


@public_blp.route("/inspections")
class PublicTasks(MethodView):
    @public_blp.arguments(PageArgsSchema, location="query")
    @public_blp.response(200, TaskPageSchema)
    @documents_errors(public_blp, 422, 503)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """已公示的抽查任务，最新的在前"""
        return _task_page(args, public=True, published_only=True)


@public_blp.route("/inspections/<id:task_id>")
class PublicTask(MethodView):
    @public_blp.response(200, TaskSchema)
    @documents_errors(public_blp, 404, 503)
    def get(self, task_id: int) -> dict[str, Any]:
        """一个已公示的抽查任务：范围、比例、随机种子和指纹、抽取的对象和检查人员、公示的检查结果

        主体的信用等级不公开；只公开各等级的数量。"""
        session = db()
        return task_view(session, published_task(session, task_id), public=True)


@public_blp.route("/entities/<string:uscc>/supervision")
class PublicSupervision(MethodView):
    @public_blp.response(200, PublicSupervisionSchema)
    @documents_errors(public_blp, 400, 503)
    def get(self, uscc: str) -> dict[str, Any]:
        """主体有效的质量承诺和已公示的抽查结果"""
        try:
            code = validate_uscc(uscc)
        except CodeError as exc:
            raise ApiError(
                exc.message,
                details={"uscc": [exc.message]},
                context={"check": exc.check},
                status=400,
                code="bad_request",
            ) from None
        return {"uscc": code, **entity_supervision(db(), code, clock.today())}
