"""What the dashboard's working pages share: who may see what, Chinese labels for every
code, authorities by name, and running one registry operation from a form.

Every action a form takes goes through the registry operation the API uses (with its
authority check and audit entry), in the request's one unit of work: on success the
page says what was done; on a refusal nothing is written and the page says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.common.context import db, runtime
from registry.core.errors import DomainError
from registry.core.tokens import Principal

#: Statuses of list entries, repairs, objections, alerts and complaints as people read them.
STATUS_LABELS = {
    "proposed": "待确认",
    "active": "有效",
    "removed": "已移出",
    "rejected": "不予列入",
    "pending": "待处理",
    "overdue": "已逾期",
    "approved": "已批准",
    "open": "待处理",
    "resolved": "已处理",
    "answered": "已答复",
    "received": "已收到，待受理",
    "accepted": "已受理",
    "investigating": "调查处理中",
    "closed": "已办结",
    "running": "进行中",
    "done": "已完成",
    "failed": "失败",
    "refused": "已拒收",
}
OUTCOME_LABELS = {"corrected": "已更正", "revoked": "已撤销", "rejected": "不予采纳"}
REPAIR_TARGETS = {"penalty": "行政处罚", "list_entry": "名单条目"}
ROLE_LABELS = {"admin": "管理员", "regulator": "监管部门"}


def scope_of(principal: Principal) -> str | None:
    """The authority whose work a user sees: a regulator its own; an admin all (None)."""
    return principal.authority_uscc if principal.role == "regulator" else None


def can_decide(principal: Principal) -> bool:
    """Only a regulator decides on its authority's items; an admin looks on."""
    return principal.role == "regulator" and bool(principal.authority_uscc)


# --- labels --------------------------------------------------------------------------


def list_titles() -> dict[str, str]:
    return {k: v.title for k, v in runtime().pack.lists.items()}


def rule_titles() -> dict[str, str]:
    """Rules of the pack by title (``heavy-penalty`` → 知识产权侵权、假冒伪劣违法行为…)."""
    return {rule.id: rule.title for rule in runtime().pack.rules}


def alert_titles() -> dict[str, str]:
    """Alert kinds of the pack by title (``criminal-transfer-check`` → 涉嫌犯罪案件移送审查提示)."""
    titles = {}
    for alert in runtime().pack.alerts:
        title = alert.title.split("（")[0] if alert.title else alert.kind
        titles[alert.kind] = title
    return titles


def authority_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Authority codes → the name their records carry (the most recent), else the name of a
    regulator token bound to it; a code without either stays a code."""
    from registry.core.models import ApiToken
    from registry.records.models import Penalty

    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    names: dict[str, str] = {}
    latest = (
        select(Penalty.authority_uscc, func.max(Penalty.id).label("last"))
        .where(Penalty.authority_uscc.in_(wanted))
        .group_by(Penalty.authority_uscc)
        .subquery()
    )
    for code, name in session.execute(
        select(Penalty.authority_uscc, Penalty.authority).join(latest, Penalty.id == latest.c.last)
    ):
        names[code] = name
    missing = [c for c in wanted if c not in names]
    if missing:
        for code, name in session.execute(
            select(ApiToken.authority_uscc, ApiToken.name)
            .where(ApiToken.authority_uscc.in_(missing), ApiToken.role == "regulator")
            .order_by(ApiToken.id)
        ):
            names.setdefault(code, name)
    return names


def known_authorities(session: Session) -> dict[str, str]:
    """Every authority the registry knows (records or regulator tokens), by name."""
    from registry.core.models import ApiToken
    from registry.records.models import Penalty

    codes = set(session.execute(select(Penalty.authority_uscc).distinct()).scalars())
    codes |= set(
        session.execute(
            select(ApiToken.authority_uscc).where(ApiToken.authority_uscc.is_not(None)).distinct()
        ).scalars()
    )
    names = authority_names(session, codes)
    return dict(sorted(((c, names.get(c, c)) for c in codes if c), key=lambda kv: kv[1]))


@dataclass(frozen=True)
class Pages:
    """Paging of a table: ``page`` of ``last``, with a window of page numbers."""

    page: int
    per_page: int
    total: int

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def window(self) -> list[int]:
        start = max(1, min(self.page - 3, self.last - 6))
        return list(range(start, min(self.last, start + 6) + 1))


def pages_of(total: int, per_page: int) -> Pages:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    last = max(1, -(-total // per_page))
    return Pages(min(max(page, 1), last), per_page, total)


# --- actions -------------------------------------------------------------------------


def act(
    operation: Callable[[Session], Any],
    done: str,
    back: str,
    *,
    dirty: Callable[[Any], Iterable[str]] | None = None,
) -> Any:
    """Run ``operation(session)`` (a registry operation with its checks and audit) in the
    request's unit of work; commit, say ``done`` and return to ``back``.  A refusal
    (a domain error) writes nothing and is shown on the page instead.  ``dirty``: the
    subjects whose rules then run, as after an API write."""
    from api.common.writes import run_rules

    session = db()
    try:
        result = operation(session)
    except DomainError as exc:
        session.rollback()
        flash(refusal_text(exc), "error")
        return redirect(back, code=303)
    session.commit()
    if dirty is not None:
        run_rules(dirty(result))
    flash(done, "ok")
    return redirect(back, code=303)


def refusal_text(exc: DomainError) -> str:
    """A domain error as one sentence, with its field messages."""
    text = exc.message
    details = exc.details if isinstance(exc.details, dict) else {}
    extra = [
        m
        for v in details.values()
        for m in (v if isinstance(v, list) else [])
        if isinstance(m, str) and m not in text
    ]
    return text + (f"（{'；'.join(extra)}）" if extra else "")
