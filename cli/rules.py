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
@click.option("--all", "all_", is_flag=True, help="Every entity.")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="Evaluate as of DATE.")
@click.option(
    "--rules",
    "pack_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Candidate rule pack (with --dry-run: preview a pack change).",
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
    """Run the rules for some entities (codes, or P:<person key>), all of them (--all),
    or, with neither, the subjects queued by writes.  --dry-run (with --rules: for a
    candidate pack) prints what would change — for the codes given, else for everyone —
    and changes nothing."""
    import os

    from registry.evaluation.preview import preview
    from registry.evaluation.runs import (
        evaluate_all,
        evaluate_dirty,
        evaluate_now,
        normalise_subject,
        progress_bar,
    )
    from rules import PackError, load_pack

    if all_ and codes:
        fail("give --all or codes, not both")
    if pack_path and not dry_run:
        fail(
            "--rules previews a candidate pack and needs --dry-run; to adopt a pack, "
            "name it in config.yaml (rules.packs)"
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
            fail(f"rule pack: {exc}")
        report = preview(rt, candidate, as_of=day, subject_keys=keys or None)
        click.echo(report.render())
        return
    if keys:
        summary = evaluate_now(rt, keys, as_of=day, actor="cli")
    elif all_:
        with progress_bar("evaluate") as progress:
            summary = evaluate_all(
                rt, as_of=day, actor="cli", progress=progress, workers=os.cpu_count() or 1
            )
    else:
        summary = evaluate_dirty(rt, actor="cli")
    click.echo(summary.describe())


@cli.group()
def rules() -> None:
    """Rule packs."""


@rules.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def rules_check(ctx: click.Context, path: str | None) -> None:
    """Validate a rule pack and run the examples it carries (default: the active pack);
    exit status 1 when it has problems."""
    from rules import check_pack, load_pack

    target = Path(path) if path else config_of(ctx).rule_pack_paths()[0]
    problems = check_pack(target)
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {target}", err=True)
        sys.exit(1)
    pack = load_pack(target)
    examples = (
        sum(len(rule.examples) for rule in pack.rules)
        + sum(len(alert.examples) for alert in pack.alerts)
        + len(pack.examples)
    )
    click.echo(f"OK: {len(pack.rules)} rules, {examples} examples passed, version {pack.version}")
