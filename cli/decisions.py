"""``credit-registry lists confirm|reject``: a regulator's bulk decision on proposed list
entries from the command line — the same operation as the API's bulk decision
(registry.lists.bulk), all or nothing, then the rules for the decided subjects."""

from __future__ import annotations

import re
import sys
from datetime import date

import click

from cli.admin import lists_group
from cli.base import connected, fail
from registry.core.codes import CodeError, validate_uscc


def _ids(text: str | None) -> list[int]:
    if not text:
        return []
    parts = [p for p in re.split(r"[\s,，]+", text.strip()) if p]
    try:
        ids = [int(p) for p in parts]
    except ValueError:
        fail(f"--ids：应为以逗号分隔的条目编号，收到“{text}”")
    if any(i < 1 for i in ids):
        fail("--ids：条目编号应为正整数")
    return ids


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}：日期应为 YYYY-MM-DD，收到“{value}”")


def _decide(
    ctx: click.Context,
    decision: str,
    *,
    authority: str,
    ids_text: str | None,
    list_type: str | None,
    since: str | None,
    until: str | None,
    region: str | None,
    expected: int | None,
    reason: str | None,
    actor: str,
) -> None:
    from registry.core.errors import DomainError
    from registry.evaluation.runs import after_write
    from registry.lists.bulk import (
        DECISION_LABELS,
        BulkRefused,
        EntryFilter,
        decide_filter,
        decide_ids,
    )

    try:
        authority_uscc = validate_uscc(authority)
    except CodeError as exc:
        fail(f"--authority：{exc.message}")
    ids = _ids(ids_text)
    filtering = any(v is not None for v in (list_type, since, until, region))
    if bool(ids) == filtering:
        fail("请用 --ids 指定条目，或用 --list/--since/--until/--region 筛选，二者选一")
    if expected is not None and not filtering:
        fail("--expected-count 只能与筛选条件一起使用")
    rt = connected(ctx)
    limit = rt.config.lists.bulk_limit
    label = DECISION_LABELS[decision]
    try:
        with rt.unit_of_work() as session:
            if ids:
                result = decide_ids(
                    session, rt.pack, decision, ids, authority_uscc, actor, reason, limit=limit
                )
            else:
                result = decide_filter(
                    session,
                    rt.pack,
                    decision,
                    EntryFilter(
                        authority_uscc=authority_uscc,
                        list_type=list_type,
                        proposed_from=_day(since, "--since"),
                        proposed_to=_day(until, "--until"),
                        region=region,
                    ),
                    authority_uscc,
                    actor,
                    reason,
                    limit=limit,
                    expected_count=expected,
                )
            decided = [(e.id, e.uscc, e.list_type) for e in result.entries]
    except BulkRefused as exc:
        click.echo(f"未处理：{exc.message}", err=True)
        for failure in exc.failures:
            click.echo(f"  条目 {failure.entry_id}：{failure.message}", err=True)
        sys.exit(1)
    except DomainError as exc:
        fail(exc.message)
    click.echo(f"已{label} {len(decided)} 个名单条目（机关 {authority_uscc}）")
    summary = after_write(rt, sorted({uscc for _, uscc, _ in decided}))
    if summary is None:
        click.echo("规则未能立即运行，相关主体已留在待评估队列中", err=True)


def _options(func):  # type: ignore[no-untyped-def]
    for option in reversed(
        (
            click.option(
                "--authority",
                required=True,
                help="作出决定的机关的统一社会信用代码（以其名义处理）",
            ),
            click.option("--ids", "ids_text", help="条目编号，逗号分隔，如 101,102,103"),
            click.option("--list", "list_type", help="筛选：名单类型，如 samr_serious"),
            click.option("--since", help="筛选：提议日期不早于（YYYY-MM-DD）"),
            click.option("--until", help="筛选：提议日期不晚于（YYYY-MM-DD）"),
            click.option("--region", help="筛选：主体代码中的行政区划前 2、4 或 6 位，如 4403"),
            click.option(
                "--expected-count",
                "expected",
                type=click.IntRange(min=0),
                help="筛选：匹配数不等于此数时不处理（防止范围变化）",
            ),
            click.option("--actor", default="cli", show_default=True, help="记入审计的操作人"),
        )
    ):
        func = option(func)
    return func


@lists_group.command("confirm")
@_options
@click.option("--reason", help="确认列入的说明（所有条目共用）")
@click.pass_context
def lists_confirm(ctx: click.Context, **options: object) -> None:
    """确认列入多个拟列入名单条目（全部成功或全部不处理）。"""
    _decide(ctx, "confirm", **options)  # type: ignore[arg-type]


@lists_group.command("reject")
@_options
@click.option("--reason", required=True, help="不予列入的理由（所有条目共用）")
@click.pass_context
def lists_reject(ctx: click.Context, **options: object) -> None:
    """不予列入多个拟列入名单条目（全部成功或全部不处理）。"""
    _decide(ctx, "reject", **options)  # type: ignore[arg-type]
