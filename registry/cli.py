"""The ``credit-registry`` command line: one thin command per operation.

Each command builds a :class:`~registry.runtime.Runtime` from the configuration layers,
calls a domain operation in one unit of work, and prints a short result.  Expected
failures (bad configuration, database down, malformed input) end with a one-line
``Error: …`` and exit status 2, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from registry.codes import CodeError, validate_uscc
from registry.config import ConfigError, load_config
from registry.db import DatabaseUnavailable, check_connection
from registry.runtime import Runtime

log = logging.getLogger("registry")


class UserError(click.ClickException):
    """An expected failure with a one-line message."""

    exit_code = 2


def fail(message: str) -> NoReturn:
    raise UserError(message)


def _runtime(ctx: click.Context) -> Runtime:
    obj = ctx.ensure_object(dict)
    if "runtime" not in obj:
        try:
            obj["runtime"] = Runtime(load_config(obj.get("config_path")))
        except ConfigError as exc:
            fail(f"configuration: {exc}")
        ctx.call_on_close(obj["runtime"].dispose)
    return obj["runtime"]


def _connected(ctx: click.Context) -> Runtime:
    rt = _runtime(ctx)
    try:
        check_connection(rt.engine)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    return rt


def _not_yet(name: str) -> NoReturn:
    fail(f"'{name}' is not yet available in this version")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="REGISTRY_CONFIG",
    help="Configuration file (default: ./config.yaml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.version_option(package_name="credit-registry")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Registry of administrative penalties and dishonesty lists (统一社会信用代码),
    with a joint-punishment rules engine and public disclosure."""
    ctx.ensure_object(dict)["config_path"] = config_path
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic narrates every plugin and migration step at INFO; init prints its own summary.
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)


# --- schema and demo data ------------------------------------------------------------


@cli.command()
@click.option(
    "--demo",
    "demo",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Also load N synthetic penalty records and run the rules.",
)
@click.pass_context
def init(ctx: click.Context, demo: int) -> None:
    """Create or upgrade the schema (Alembic migrations); optionally load demo data."""
    from registry import migrate

    rt = _connected(ctx)
    before, after = migrate.upgrade(rt.engine)
    if before == after:
        click.echo(f"schema is up to date (revision {after})")
    else:
        click.echo(f"schema upgraded from {before or 'empty'} to {after}")
    if demo:
        from registry.demo_load import load_demo

        summary = load_demo(rt, demo)
        click.echo(summary)


@cli.command("demo-data")
@click.option("--records", type=click.IntRange(min=1), required=True, help="How many records.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl", "xlsx"]), default="csv", show_default=True
)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--encoding", default="gb18030", show_default=True, help="CSV encoding.")
def demo_data(records: int, out: str, fmt: str, seed: int, encoding: str) -> None:
    """Write a synthetic penalty file in the national layout (GB18030 CSV by default)."""
    from registry import demo

    n = demo.write_file(Path(out), records, fmt, seed=seed, encoding=encoding)
    click.echo(f"wrote {n} records to {out} ({fmt})")


# --- service -------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
@click.option("--no-scheduler", is_flag=True, help="Do not run the scheduled jobs in-process.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, no_scheduler: bool) -> None:
    """Serve the JSON API and the public pages (and, on the embedded setup, the jobs)."""
    from api import create_app

    rt = _connected(ctx)
    app = create_app(runtime=rt)
    scheduler = None
    if rt.config.scheduler.in_serve and not no_scheduler:
        try:
            from registry.scheduler import start_background
        except ImportError:
            pass
        else:
            scheduler = start_background(rt)
    click.echo(f"serving on http://{host}:{port}/  (Ctrl-C to stop)")
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@cli.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the scheduled jobs in the foreground (one per deployment; two are safe)."""
    from registry.scheduler import run_foreground

    rt = _connected(ctx)
    click.echo("scheduler running; stop with Ctrl-C or SIGTERM", err=True)
    run_foreground(rt)
    click.echo("scheduler stopped", err=True)


# --- data in and out -----------------------------------------------------------------


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--authority", help="USCC of the authority whose records these are.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "jsonl"]))
@click.option("--report", type=click.Path(dir_okay=False), help="CSV of rejected rows.")
@click.option("--strict", is_flag=True, help="Any rejected row rejects the whole file.")
@click.option("--dry-run", is_flag=True, help="Validate and report only.")
@click.pass_context
def import_(
    ctx: click.Context,
    files: tuple[str, ...],
    authority: str | None,
    fmt: str | None,
    report: str | None,
    strict: bool,
    dry_run: bool,
) -> None:
    """Ingest penalty records from files in the national layout.

    Prints accepted / updated / unchanged / rejected counts per file; every rejected row
    goes to the report (CSV line,field,reason).  Exit status is non-zero only on a fatal
    error or, under --strict, when a file has a rejected row."""
    from importers.run import ReportWriter, import_file, progress_bar, report_path

    rt = _connected(ctx)
    status = 0
    for path in files:
        target = report_path(rt.config, path, report, several=len(files) > 1)
        writer = ReportWriter(target, lazy=report is None)
        try:
            with progress_bar(Path(path).name) as progress:
                summary = import_file(
                    rt,
                    path,
                    fmt=fmt,
                    authority=authority,
                    strict=strict,
                    dry_run=dry_run,
                    report=writer,
                    actor=f"cli:{Path(path).name}",
                    progress=progress,
                )
        finally:
            writer.close()
        for warning in summary.warnings:
            click.echo(f"{path}: warning: {warning}", err=True)
        if summary.fatal:
            click.echo(f"{path}: Error: {summary.fatal}", err=True)
            status = 2
            continue
        click.echo(f"{path}: {summary.counts()}")
        if summary.rejected:
            click.echo(f"{path}: {summary.problems} problem(s) reported in {target}")
        if dry_run:
            click.echo(f"{path}: dry run: nothing was written")
        elif strict and summary.rejected:
            click.echo(f"{path}: strict: the file was refused, nothing was written")
            status = max(status, 1)
    if status:
        sys.exit(status)


@cli.command()
@click.option("--scope", type=click.Choice(["public", "full"]), default="public", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--since", "cursor", help="Cursor printed by the previous export.")
@click.option("--out", type=click.Path(dir_okay=False), help="Output file (default: stdout).")
@click.pass_context
def export(ctx: click.Context, scope: str, fmt: str, cursor: str | None, out: str | None) -> None:
    """Export disclosed data (public) or every record (full).

    The cursor for the next incremental export (--since) is printed at the end (on
    standard error when the records go to standard output)."""
    from registry.errors import Invalid
    from registry.export import export_penalties

    rt = _connected(ctx)
    handle = open(out, "w", encoding="utf-8", newline="") if out else None  # noqa: SIM115
    target = handle or sys.stdout
    try:
        with rt.sessions() as session, session.begin():
            result = export_penalties(session, target, scope=scope, fmt=fmt, since=cursor)
    except Invalid as exc:
        fail(exc.message)
    finally:
        if handle is not None:
            handle.close()
    note = f"exported {result.count} record(s)"
    if result.withdrawn:
        note += f", {result.withdrawn} withdrawn"
    click.echo(f"{note}; next cursor: {result.cursor}", err=out is None)


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

    from registry import evaluation
    from rules import PackError, load_pack

    if all_ and codes:
        fail("give --all or codes, not both")
    if pack_path and not dry_run:
        fail(
            "--rules previews a candidate pack and needs --dry-run; to adopt a pack, "
            "name it in config.yaml (rules.packs)"
        )
    try:
        keys = [evaluation.normalise_subject(code) for code in codes]
    except CodeError as exc:
        fail(exc.message)
    day = as_of.date() if as_of is not None else None
    rt = _connected(ctx)
    if dry_run:
        try:
            candidate = load_pack(pack_path) if pack_path else None
        except PackError as exc:
            fail(f"rule pack: {exc}")
        report = evaluation.preview(rt, candidate, as_of=day, subject_keys=keys or None)
        click.echo(report.render())
        return
    if keys:
        summary = evaluation.evaluate_now(rt, keys, as_of=day, actor="cli")
    elif all_:
        with evaluation.progress_bar("evaluate") as progress:
            summary = evaluation.evaluate_all(
                rt, as_of=day, actor="cli", progress=progress, workers=os.cpu_count() or 1
            )
    else:
        summary = evaluation.evaluate_dirty(rt, actor="cli")
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

    target = Path(path) if path else _runtime(ctx).config.rule_pack_paths()[0]
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


# --- lists named by authorities ------------------------------------------------------


@cli.group("lists")
def lists_group() -> None:
    """Lists an authority names (e.g. red lists: 海关高级认证企业, 纳税信用A级)."""


@lists_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--list-type", "list_type", required=True, help="A red list of the pack.")
@click.option("--authority", help="USCC of the naming authority (it may later remove them).")
@click.pass_context
def lists_import(ctx: click.Context, file: str, list_type: str, authority: str | None) -> None:
    """Import codes an authority names to a red list: CSV with a header (uscc or
    统一社会信用代码, since, until, basis, name) or JSONL with those fields.  Prints the
    counts and every refused line (line, field, reason); exit status 1 when a line was
    refused, 2 when the file could not be taken at all."""
    from registry.errors import Invalid
    from registry.redlists import import_named_file

    authority_uscc = None
    if authority:
        try:
            authority_uscc = validate_uscc(authority)
        except CodeError as exc:
            fail(f"--authority: {exc.message}")
    rt = _connected(ctx)
    try:
        report = import_named_file(
            rt, file, list_type, authority_uscc=authority_uscc, actor=f"cli:{Path(file).name}"
        )
    except Invalid as exc:
        fail(f"{file}: {exc.message}")
    click.echo(f"{file}: {list_type}: {report.counts()}")
    for problem in report.problems:
        click.echo(f"{file}: {problem}", err=True)
    if report.rejected:
        sys.exit(1)


# --- tokens and audit ----------------------------------------------------------------


@cli.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--role", type=click.Choice(["regulator", "department", "admin"]), required=True)
@click.option("--name", required=True, help="Whose token this is.")
@click.option("--authority", help="USCC of the authority (required for regulators).")
@click.pass_context
def token_create(ctx: click.Context, role: str, name: str, authority: str | None) -> None:
    """Print a new API token, alone on standard output, once; only its hash is stored."""
    from registry.tokens import TokenError, create_token

    rt = _connected(ctx)
    try:
        with rt.unit_of_work() as session:
            secret = create_token(session, role=role, name=name, authority=authority, actor="cli")
    except (TokenError, CodeError) as exc:
        fail(f"token: {exc}")
    click.echo(secret)


@cli.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.option(
    "--anchors",
    "anchors_path",
    type=click.Path(exists=True, dir_okay=False),
    help="A file of anchors written by `audit anchor`: each must still be in the chain.",
)
@click.pass_context
def audit_verify(ctx: click.Context, anchors_path: str | None) -> None:
    """Check the audit trail's hash chain end to end; exit 1 on any break."""
    from registry.audit import check_anchors, head, read_anchors, verify_chain

    try:
        anchors = read_anchors(anchors_path) if anchors_path else []
    except ValueError as exc:
        fail(f"audit verify: {exc}")
    rt = _connected(ctx)
    with rt.unit_of_work() as session:
        count, broken = verify_chain(session)
        problems = check_anchors(session, anchors)
        newest = head(session)
    if broken is not None:
        click.echo(
            f"audit chain BROKEN at entry {broken.entry_id}: {broken.reason} "
            f"({count} entries before it verified)",
            err=True,
        )
        sys.exit(1)
    if problems:
        for problem in problems:
            click.echo(f"audit chain BROKEN: {problem}", err=True)
        sys.exit(1)
    checked = f", {len(anchors)} anchors hold" if anchors else ""
    click.echo(f"audit chain intact: {count} entries verified{checked}; head {newest or '-'}")


@audit.command("anchor")
@click.option(
    "--append",
    "append_to",
    type=click.Path(dir_okay=False),
    help="Also append the anchor with the time to this file (keep it off the database host).",
)
@click.pass_context
def audit_anchor(ctx: click.Context, append_to: str | None) -> None:
    """Print the chain's head as <id>:<hash>; recorded elsewhere, it lets `audit verify
    --anchors` detect a trail cut back after that moment."""
    from registry import clock
    from registry.audit import head

    rt = _connected(ctx)
    with rt.unit_of_work() as session:
        newest = head(session)
    if newest is None:
        fail("audit anchor: the audit trail is empty")
    if append_to:
        with open(append_to, "a", encoding="utf-8") as handle:
            handle.write(f"{newest} {clock.now().isoformat(timespec='seconds')}\n")
    click.echo(str(newest))


@cli.group()
def inspections() -> None:
    """Double-random inspections (双随机、一公开)."""


@inspections.command("draw")
@click.argument("task_id", metavar="TASK", type=click.IntRange(min=1))
@click.option("--seed", required=True, help="The seed published with the task.")
@click.option("--dry-run", is_flag=True, help="Compute and print the draw; record nothing.")
@click.pass_context
def inspections_draw(ctx: click.Context, task_id: int, seed: str, dry_run: bool) -> None:
    """Draw TASK with SEED and print the canonical draw (docs/inspections.md).

    A planned task is drawn and recorded (unless --dry-run); a task already drawn is
    re-run as of its draw day and compared with the recorded draw.  Same register, same
    seed: the same bytes on standard output."""
    from registry.errors import DomainError
    from registry.inspections import draw_task

    rt = _connected(ctx)
    try:
        with rt.unit_of_work() as session:
            task, draw, recorded = draw_task(session, task_id, None, "cli", seed, dry_run=dry_run)
            recorded_sha256 = task.draw_sha256
            if not recorded:
                session.rollback()
    except DomainError as exc:
        fail(f"inspections draw: {exc.message}")
    click.echo(draw.text, nl=False)
    if recorded:
        click.echo(f"recorded: task {task_id} drawn, sha256 {draw.sha256}", err=True)
    elif recorded_sha256 is None:
        click.echo(f"not recorded (dry run): sha256 {draw.sha256}", err=True)
    else:
        same = "matches" if recorded_sha256 == draw.sha256 else "DIFFERS FROM"
        click.echo(f"sha256 {draw.sha256} {same} the recorded draw {recorded_sha256}", err=True)


def main() -> None:
    """Console entry point: expected errors become one line, never a traceback."""
    try:
        cli.main(standalone_mode=False, prog_name="credit-registry")
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"Error: configuration: {exc}", err=True)
        sys.exit(2)
    except DatabaseUnavailable as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except CodeError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(2)
    except Exception as exc:  # a database dropping mid-command, for example
        from sqlalchemy.exc import DBAPIError, OperationalError

        if isinstance(exc, OperationalError | DBAPIError):
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            click.echo(f"Error: database: {reason}", err=True)
            sys.exit(2)
        raise
