"""Schema, demo data, and records in and out: init, demo-data, import, export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.base import cli, connected, fail

if TYPE_CHECKING:
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
@click.option(
    "--citus",
    is_flag=True,
    help="On a Citus coordinator: then distribute the tables (docs/scaling.md).",
)
@click.pass_context
def init(ctx: click.Context, demo: int, citus: bool) -> None:
    """Create or upgrade the schema (Alembic migrations); optionally load demo data."""
    from registry.core import migrate

    rt = connected(ctx, initialised=False)
    if citus:
        _check_citus(rt)
    before, after = migrate.upgrade(rt.engine)
    if before == after:
        click.echo(f"schema is up to date (revision {after})")
    else:
        click.echo(f"schema upgraded from {before or 'empty'} to {after}")
    if citus:
        _distribute(rt)
    if demo:
        from cli.demo import load_demo

        summary = load_demo(rt, demo)
        click.echo(summary)


def _check_citus(rt: Runtime) -> None:
    """Refuse ``--citus`` (exit 1) on a database without Citus or without workers."""
    from registry.core import citus

    with rt.engine.connect() as conn:
        if not citus.has_citus(conn):
            click.echo(
                "此数据库没有 citus 扩展，不是 Citus 协调节点：请在协调节点上"
                "执行 CREATE EXTENSION citus 并加入工作节点（docs/scaling.md）",
                err=True,
            )
            sys.exit(1)
        if citus.worker_count(conn) == 0:
            click.echo(
                "Citus 协调节点还没有工作节点：请先用 citus_add_node 加入工作节点"
                "（docs/scaling.md）",
                err=True,
            )
            sys.exit(1)


def _distribute(rt: Runtime) -> None:
    from registry.core import citus
    from registry.schema import Base

    with rt.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        done = citus.distribute(conn, Base.metadata.sorted_tables)
        workers = citus.worker_count(conn)
    for line in done:
        click.echo(line)
    if done:
        click.echo(f"已在 {workers} 个工作节点上分布 {len(done)} 张表；其余表留在协调节点")
    else:
        click.echo(f"各表已按计划分布（{workers} 个工作节点），无需改动")


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
