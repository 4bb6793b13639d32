"""The operator dashboard (/dashboard): the registry's state at a glance.

Behind a login with an admin or regulator API token: the form verifies the token with
:func:`registry.core.tokens.resolve_token` and keeps only the token's id in Flask's signed
session cookie (HttpOnly, SameSite=Lax, Secure per configuration); every request looks
the token up again, so a revoked token ends its sessions at once.  Both forms carry a
CSRF token kept in the session.  Regulators see their own authority's figures, admins
see everything.  Charts are inline SVG drawn on the server (no script).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from api.context import db, runtime
from registry.core import clock
from registry.core.codes import region_of
from registry.core.models import ApiToken
from registry.core.tokens import Principal, resolve_token
from registry.evaluation.models import Alert
from registry.lists.models import ListEntry, Repair
from registry.records.models import Entity, ImportBatch, Penalty

blp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

DASHBOARD_ROLES = ("admin", "regulator")
SESSION_KEY = "dashboard_token_id"
SESSION_SINCE = "dashboard_since"
CSRF_KEY = "csrf_token"
#: A dashboard login lasts a working day.
SESSION_MAX_AGE_S = 8 * 3600
IMPORT_DAYS = 30
PENALTY_MONTHS = 12
TOP_N = 12
LIST_LIMIT = 20

STATUS_LABELS = {
    "proposed": "待确认",
    "active": "有效",
    "removed": "已移出",
    "rejected": "已驳回",
    "pending": "待处理",
    "overdue": "已逾期",
}


# --- CSRF and the session ------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def _csrf_failure() -> Any:
    """None when the form's CSRF token matches the session's, else the 400 page."""
    sent = request.form.get(CSRF_KEY, "")
    expected = session.get(CSRF_KEY, "")
    if expected and sent and hmac.compare_digest(sent, expected):
        return None
    page = render_template(
        "error.html",
        status=400,
        title="表单已失效",
        message="表单已过期或来源不明（CSRF 校验失败），请返回登录页刷新后重试。",
    )
    return page, 400


def current_principal(session_db: Session) -> Principal | None:
    """The signed-in dashboard user, looked up afresh (revoked tokens end at once)."""
    token_id = session.get(SESSION_KEY)
    since = session.get(SESSION_SINCE, 0)
    if not isinstance(token_id, int) or time.time() - float(since) > SESSION_MAX_AGE_S:
        return None
    row = session_db.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None or row.role not in DASHBOARD_ROLES:
        return None
    return Principal(row.id, row.name, row.role, row.authority_uscc)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        principal = current_principal(db())
        if principal is None:
            session.pop(SESSION_KEY, None)
            return redirect(url_for("web.dashboard.login", next=request.full_path.rstrip("?")))
        return view(principal, *args, **kwargs)

    return wrapped


@blp.after_request
def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.app_template_filter("status_label")
def status_label(value: str) -> str:
    return STATUS_LABELS.get(value, value)


def _safe_next(target: str | None) -> str:
    """Only a path inside the dashboard (no open redirect)."""
    if target and target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return url_for("web.dashboard.index")


@blp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        failed = _csrf_failure()
        if failed:
            return failed
        secret = (request.form.get("token") or "").strip()
        principal = resolve_token(db(), secret) if secret else None
        if principal is None:
            error, status = "令牌无效或已被撤销。", 401
        elif principal.role not in DASHBOARD_ROLES:
            error, status = "只有管理员和监管部门的令牌可以登录运行看板。", 403
        else:
            session.clear()  # a fresh session: no fixation, a new CSRF token
            session[SESSION_KEY] = principal.token_id
            session[SESSION_SINCE] = int(time.time())
            csrf_token()
            return redirect(_safe_next(request.form.get("next")), code=303)
    return (
        render_template(
            "dashboard/login.html",
            error=error,
            csrf=csrf_token(),
            next=request.values.get("next", ""),
        ),
        status,
    )


@blp.post("/logout")
def logout():
    failed = _csrf_failure()
    if failed:
        return failed
    session.clear()
    return redirect(url_for("web.dashboard.login"), code=303)


@blp.get("")
@blp.get("/")
@login_required
def index(principal: Principal):
    from api.intake_web import dashboard_intake

    data = dashboard_data(db(), principal, clock.today())
    intake = dashboard_intake(db(), principal, clock.today())
    return render_template(
        "dashboard/index.html", me=principal, d=data, intake=intake, csrf=csrf_token()
    )


# --- charts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = ""


@dataclass
class Chart:
    """Geometry of one SVG chart; the template draws it (and escapes every label)."""

    title: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    gridlines: list[tuple[float, float, float, float]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    table_head: list[str] = field(default_factory=list)
    table: list[list[Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.bars


CHART_WIDTH = 440
GRID_STEPS = 4


def _nice_step(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (≥ 1)."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def hbar_chart(title: str, items: Sequence[tuple[str, int]], css: str = "s1") -> Chart:
    """Horizontal bars, one per labelled count (lists, reasons, provinces); each label
    sits on its own line above its bar so long reasons stay readable."""
    bar_area, row_h = CHART_WIDTH - 60, 38
    chart = Chart(title, CHART_WIDTH, max(1, len(items)) * row_h + 6)
    top = max((v for _, v in items), default=0) or 1
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        width = bar_area * value / top
        chart.labels.append(Label(0, y + 12, _clip(label, 34)))
        chart.bars.append(Bar(0, y + 18, max(width, 1.5), 14, css, f"{label}：{value}"))
        chart.labels.append(Label(width + 6, y + 30, str(value), "start", "value"))
    chart.table_head = ["项目", "数量"]
    chart.table = [[label, value] for label, value in items]
    return chart


def column_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
) -> Chart:
    """Stacked columns (over time, or per category): ``series`` is
    ``(name, css class, values)``."""
    left, bottom, plot_h = 40, 30, 170
    chart = Chart(title, CHART_WIDTH, plot_h + bottom + 12)
    slot = min(90.0, (CHART_WIDTH - left - 8) / max(1, len(categories)))
    bar_w = max(2.0, min(slot - 4, 44.0))
    totals = [sum(s[2][i] for s in series) for i in range(len(categories))]
    step = _nice_step(max(totals, default=0) / GRID_STEPS)
    top = step * GRID_STEPS
    for k in range(GRID_STEPS + 1):
        y = 8 + plot_h - plot_h * k / GRID_STEPS
        chart.gridlines.append((left, y, CHART_WIDTH - 8, y))
        chart.labels.append(Label(left - 6, y + 4, str(step * k), "end", "value"))
    label_every = max(1, -(-len(categories) // 8))
    for i, category in enumerate(categories):
        center = left + i * slot + slot / 2
        base = 8 + plot_h
        for name, css, values in series:
            if values[i]:
                height = plot_h * values[i] / top
                base -= height
                chart.bars.append(
                    Bar(
                        center - bar_w / 2,
                        base,
                        bar_w,
                        height,
                        css,
                        f"{category} {name}：{values[i]}",
                    )
                )
        if i % label_every == 0:
            chart.labels.append(Label(center, 8 + plot_h + 18, category, "middle"))
    chart.legend = [(name, css) for name, css, _ in series]
    chart.table_head = ["", *[name for name, _, _ in series]]
    chart.table = [[c, *[s[2][i] for s in series]] for i, c in enumerate(categories)]
    if not any(totals):
        chart.bars = []
    return chart


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --- the figures ---------------------------------------------------------------------


def _month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _months_back(today: date, n: int) -> list[tuple[int, int]]:
    year, month = today.year, today.month
    out = []
    for _ in range(n):
        out.append((year, month))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(out))


def _province_name(code: str | None) -> str:
    if not code:
        return "无统一社会信用代码"
    if code == "10":
        return "国家级登记"
    region = region_of(code + "0000")
    return region.province or f"区划 {code}"


def _untransferred(session_db: Session, authority: str | None) -> int | None:
    """Records over a prosecution threshold with no transfer (以罚代刑 risk), for a
    regulator's authority (docs/inspections.md); None for admins."""
    from registry.supervision.transfers import untransferred_count

    return None if authority is None else untransferred_count(session_db, authority)


def dashboard_data(session_db: Session, principal: Principal, today: date) -> dict[str, Any]:
    """Every figure on the dashboard, scoped to the regulator's authority (admins: all)."""
    authority = principal.authority_uscc if principal.role == "regulator" else None

    def scoped(stmt: Any, column: Any) -> Any:
        return stmt.where(column == authority) if authority else stmt

    # Lists by list type and status.
    titles = {k: v.title for k, v in runtime().pack.lists.items()}
    list_rows = session_db.execute(
        scoped(
            select(ListEntry.list_type, ListEntry.status, func.count()).group_by(
                ListEntry.list_type, ListEntry.status
            ),
            ListEntry.authority_uscc,
        )
    ).all()
    by_list: dict[str, Counter[str]] = defaultdict(Counter)
    for list_type, status, count in list_rows:
        by_list[list_type][status] = int(count)
    list_table = [
        {
            "list_type": lt,
            "title": titles.get(lt, lt),
            **{s: by_list[lt].get(s, 0) for s in ("proposed", "active", "removed", "rejected")},
        }
        for lt in sorted(by_list, key=lambda k: (k not in titles, k))
    ]
    statuses = ("active", "proposed", "removed", "rejected")
    list_chart = column_chart(
        "名单条目（按名单和状态）",
        [_clip(row["title"], 8) for row in list_table],
        [
            (STATUS_LABELS[s], css, [row[s] for row in list_table])
            for s, css in zip(statuses, ("s1", "s4", "s2", "s3"), strict=True)
        ],
    )

    # Imports over the last days, and rejections by reason.
    since_dt = datetime(today.year, today.month, today.day, tzinfo=clock.CHINA) - timedelta(
        days=IMPORT_DAYS - 1
    )
    batches = session_db.execute(
        scoped(
            select(
                ImportBatch.id,
                ImportBatch.source,
                ImportBatch.status,
                ImportBatch.started_at,
                ImportBatch.accepted,
                ImportBatch.updated,
                ImportBatch.unchanged,
                ImportBatch.rejected,
                ImportBatch.rejection_reasons,
            )
            .where(ImportBatch.started_at >= since_dt.astimezone(UTC))
            .order_by(ImportBatch.started_at),
            ImportBatch.authority_uscc,
        )
    ).all()
    days = [today - timedelta(days=IMPORT_DAYS - 1 - i) for i in range(IMPORT_DAYS)]
    per_day: dict[date, Counter[str]] = {d: Counter() for d in days}
    reasons: Counter[str] = Counter()
    for b in batches:
        day = b.started_at.astimezone(clock.CHINA).date()
        if day in per_day:
            per_day[day].update(
                accepted=b.accepted, updated=b.updated, unchanged=b.unchanged, rejected=b.rejected
            )
        for reason, count in (b.rejection_reasons or {}).items():
            reasons[str(reason)] += int(count or 0)
    import_chart = column_chart(
        f"导入记录（近{IMPORT_DAYS}天，按日）",
        [f"{d.month}/{d.day}" for d in days],
        [
            ("新增", "s1", [per_day[d]["accepted"] for d in days]),
            ("更新", "s2", [per_day[d]["updated"] for d in days]),
            ("拒收", "s3", [per_day[d]["rejected"] for d in days]),
        ],
    )
    reason_chart = hbar_chart(
        f"拒收原因（近{IMPORT_DAYS}天）", reasons.most_common(TOP_N), css="s3"
    )
    recent_batches = list(reversed(batches))[:10]

    # Penalties by month and by province (not revoked), last twelve months.
    months = _months_back(today, PENALTY_MONTHS)
    first_month = date(months[0][0], months[0][1], 1)
    penalty_where = [Penalty.decided_on >= first_month, Penalty.status != "revoked"]
    year_col = extract("year", Penalty.decided_on)
    month_col = extract("month", Penalty.decided_on)
    month_rows = session_db.execute(
        scoped(
            select(year_col, month_col, func.count())
            .where(*penalty_where)
            .group_by(year_col, month_col),
            Penalty.authority_uscc,
        )
    ).all()
    per_month = {_month_key(int(y), int(m)): int(c) for y, m, c in month_rows}
    month_keys = [_month_key(y, m) for y, m in months]
    month_chart = column_chart(
        f"行政处罚（近{PENALTY_MONTHS}个月，按决定月份）",
        [k[2:].replace("-", "/") for k in month_keys],
        [("处罚决定", "s1", [per_month.get(k, 0) for k in month_keys])],
    )
    province_col = func.substr(Penalty.uscc, 3, 2)
    province_rows = session_db.execute(
        scoped(
            select(province_col, func.count())
            .where(*penalty_where)
            .group_by(province_col)
            .order_by(func.count().desc()),
            Penalty.authority_uscc,
        )
    ).all()
    province_chart = hbar_chart(
        f"行政处罚（近{PENALTY_MONTHS}个月，按登记省份）",
        [(_province_name(code), int(c)) for code, c in province_rows[:TOP_N]],
    )

    # Work waiting: open alerts, pending confirmations, repair deadlines.
    alert_counts = session_db.execute(
        scoped(
            select(Alert.kind, func.count()).where(Alert.status == "open").group_by(Alert.kind),
            Alert.authority_uscc,
        )
    ).all()
    alerts = (
        session_db.execute(
            scoped(
                select(Alert).where(Alert.status == "open").order_by(Alert.created_at.desc()),
                Alert.authority_uscc,
            ).limit(LIST_LIMIT)
        )
        .scalars()
        .all()
    )
    pending_count = session_db.execute(
        scoped(
            select(func.count()).select_from(ListEntry).where(ListEntry.status == "proposed"),
            ListEntry.authority_uscc,
        )
    ).scalar_one()
    pending = session_db.execute(
        scoped(
            select(ListEntry, Entity.name)
            .outerjoin(Entity, Entity.uscc == ListEntry.uscc)
            .where(ListEntry.status == "proposed")
            .order_by(ListEntry.proposed_on, ListEntry.id),
            ListEntry.authority_uscc,
        ).limit(LIST_LIMIT)
    ).all()
    repair_where = Repair.status.in_(("pending", "overdue"))
    repair_count = session_db.execute(
        scoped(select(func.count()).select_from(Repair).where(repair_where), Repair.authority_uscc)
    ).scalar_one()
    overdue_count = session_db.execute(
        scoped(
            select(func.count())
            .select_from(Repair)
            .where(repair_where, Repair.due_on.is_not(None), Repair.due_on < today),
            Repair.authority_uscc,
        )
    ).scalar_one()
    repairs = session_db.execute(
        scoped(
            select(Repair, Entity.name)
            .outerjoin(Entity, Entity.uscc == Repair.uscc)
            .where(repair_where)
            .order_by(Repair.due_on.is_(None), Repair.due_on, Repair.id),
            Repair.authority_uscc,
        ).limit(LIST_LIMIT)
    ).all()

    return {
        "today": today,
        "scope": authority,
        "titles": titles,
        "totals": {
            "active_entries": sum(row["active"] for row in list_table),
            "pending": int(pending_count),
            "alerts": sum(int(c) for _, c in alert_counts),
            "repairs": int(repair_count),
            "overdue": int(overdue_count),
            "penalties_12m": sum(per_month.values()),
            "untransferred": _untransferred(session_db, authority),
        },
        "list_table": list_table,
        "list_chart": list_chart,
        "import_chart": import_chart,
        "reason_chart": reason_chart,
        "recent_batches": recent_batches,
        "month_chart": month_chart,
        "province_chart": province_chart,
        "alert_counts": [(kind, int(c)) for kind, c in alert_counts],
        "alerts": alerts,
        "pending": pending,
        "repairs": repairs,
    }
