"""The rules: evaluate (now, the queue, everything, or a dry run) and rule packs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cli.base import cli, config_of, connected, fail
from registry.core.codes import CodeError

# --- rules ---------------------------------------------------------------------------


@cli.command()
@click.argument("codes", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="评估全部主体。")
@click.option("--dry-run", is_flag=True, help="只打印会发生的变化，不做任何改动。")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="按某一天（DATE）评估。")
@click.option(
    "--rules",
    "pack_path",
    type=click.Path(exists=True, dir_okay=False),
    help="候选规则包（与 --dry-run 一起使用：预览换用规则包的效果）。",
)
@click.pass_context
def evaluate(
    ctx: click.Context,
    codes: tuple[str, ...],
    all_: bool,
    dry_run: bool,
    as_of: Any,
    pack_path: str | None,
) -> None:
    """运行规则：对给出的主体（统一社会信用代码，或 P:<人员标识>）、全部主体（--all），
    或两者都不给时，对写入后排队等待的主体。队列为空时说明“没有待处理的主体”，并给出
    上次规则评估做了什么。--dry-run（加 --rules 时针对候选规则包）只打印会发生的变化
    （给出代码时针对这些主体，否则针对全部），不做任何改动。"""
    import os

    from registry.core import clock
    from registry.evaluation.history import last_run, record_run
    from registry.evaluation.preview import preview
    from registry.evaluation.queue import queue_length
    from registry.evaluation.runs import (
        evaluate_all,
        evaluate_dirty,
        evaluate_now,
        normalise_subject,
        progress_bar,
    )
    from rules import PackError, load_pack

    if all_ and codes:
        fail("--all 与主体代码只能给出其一")
    if pack_path and not dry_run:
        fail(
            "--rules 用于预览候选规则包，须与 --dry-run 一起使用；要启用规则包，"
            "请在 config.yaml 的 rules.packs 中指定"
        )
    try:
        keys = [normalise_subject(code) for code in codes]
    except CodeError as exc:
        fail(exc.message)
    day = as_of.date() if as_of is not None else None
    rt = connected(ctx)
    if dry_run:
        try:
            candidate = load_pack(pack_path) if pack_path else None
        except PackError as exc:
            fail(f"规则包：{exc}")
        report = preview(rt, candidate, as_of=day, subject_keys=keys or None)
        click.echo(report.render())
        return
    if keys:
        summary = evaluate_now(rt, keys, as_of=day, actor="cli")
    elif all_:
        started = clock.now()
        with progress_bar("评估全部主体") as progress:
            summary = evaluate_all(
                rt, as_of=day, actor="cli", progress=progress, workers=os.cpu_count() or 1
            )
        record_run(rt, summary, origin="full", started=started)
    else:
        with rt.sessions() as session:
            waiting = queue_length(session)
        if not waiting:
            click.echo("没有待处理的主体。")
            last = last_run(rt)
            click.echo(last.describe() if last is not None else "尚无规则评估的记录。")
            return
        click.echo(f"待处理的主体 {waiting} 个，开始评估……")
        summary = evaluate_dirty(rt, actor="cli", origin="cli")
    click.echo(summary.describe())


@cli.group()
def rules() -> None:
    """规则包。"""


@rules.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def rules_check(ctx: click.Context, path: str | None) -> None:
    """校验规则包并运行其中的示例（默认：当前启用的规则包）；有问题时退出码为 1。"""
    from rules import check_pack, load_pack

    target = Path(path) if path else config_of(ctx).rule_pack_paths()[0]
    problems = check_pack(target)
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"{target} 有 {len(problems)} 个问题", err=True)
        sys.exit(1)
    pack = load_pack(target)
    examples = (
        sum(len(rule.examples) for rule in pack.rules)
        + sum(len(alert.examples) for alert in pack.alerts)
        + len(pack.examples)
    )
    click.echo(f"通过：{len(pack.rules)} 条规则，{examples} 个示例全部通过，版本 {pack.version}")
