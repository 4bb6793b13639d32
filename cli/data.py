"""Schema, demo data, and records in and out: init, demo-data, import, export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.base import cli, connected, fail

if TYPE_CHECKING:
    from importers.run import ImportSummary, ReportWriter
    from registry.core.runtime import Runtime

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
    from registry.core import migrate

    rt = connected(ctx, initialised=False)
    before, after = migrate.upgrade(rt.engine)
    if before == after:
        click.echo(f"schema is up to date (revision {after})")
    else:
        click.echo(f"schema upgraded from {before or 'empty'} to {after}")
    if demo:
        from cli.demo import load_demo

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
    from registry.records import demo

    n = demo.write_file(Path(out), records, fmt, seed=seed, encoding=encoding)
    click.echo(f"wrote {n} records to {out} ({fmt})")


# --- data in and out -----------------------------------------------------------------


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--authority", help="USCC of the authority whose records these are.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "jsonl"]))
@click.option("--report", type=click.Path(dir_okay=False), help="CSV of rejected rows.")
@click.option("--strict", is_flag=True, help="Any rejected row rejects the whole file.")
@click.option("--dry-run", is_flag=True, help="Validate and report only.")
@click.option(
    "--restore",
    is_flag=True,
    help="Restore a full export (export --scope full): take its status and keyed hashes.",
)
@click.pass_context
def import_(
    ctx: click.Context,
    files: tuple[str, ...],
    authority: str | None,
    fmt: str | None,
    report: str | None,
    strict: bool,
    dry_run: bool,
    restore: bool,
) -> None:
    """Ingest penalty records from files in the national layout.

    Prints accepted / updated / unchanged / rejected counts per file; every rejected row
    goes to the report (CSV line,field,reason).  Exit status is non-zero only on a fatal
    error or, under --strict, when a file has a rejected row.  Only --restore takes the
    fields a full export adds (status, revocation, keyed hashes and masked numbers);
    without it a line carrying one is rejected."""
    from importers.run import ReportWriter, import_file, progress_bar, report_path

    rt = connected(ctx)
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
                    restore=restore,
                )
        finally:
            writer.close()
        _keep_report(rt, summary, writer)
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


def _keep_report(rt: Runtime, summary: ImportSummary, writer: ReportWriter) -> None:
    """Keep a written batch's rejection report (a CSV file) for the dashboard and the
    API to serve later (registry.records.reports)."""
    from registry.records.reports import keep_report

    path = writer.path
    if summary.batch_id is None or summary.dry_run or not writer.rows or not path:
        return
    if not path.lower().endswith(".csv") or not Path(path).is_file():
        return
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    with rt.unit_of_work() as session:
        keep_report(session, summary.batch_id, text, writer.rows)


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
    from registry.core.errors import Invalid
    from registry.records.export import export_penalties

    rt = connected(ctx)
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
