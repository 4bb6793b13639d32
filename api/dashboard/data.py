"""The figures on an authority's dashboard, read in a few set-based queries."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from api.common.context import runtime
from api.dashboard.charts import clip, column_chart, hbar_chart
from registry.core import clock
from registry.core.codes import region_of
from registry.core.tokens import Principal
from registry.evaluation.models import Alert
from registry.lists.models import ListEntry, Repair
from registry.records.models import Entity, ImportBatch, Penalty

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
        [clip(row["title"], 8) for row in list_table],
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
                ImportBatch.authority_uscc,
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
