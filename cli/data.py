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
    help="同时载入 N 条合成的处罚记录并运行规则（演示用）。",
)
@click.option(
    "--citus",
    is_flag=True,
    help="在 Citus 协调节点上：迁移之后分布各表（见 docs/scaling.md）。",
)
@click.pass_context
def init(ctx: click.Context, demo: int, citus: bool) -> None:
    """创建或升级数据库架构（Alembic 迁移）；可同时载入演示数据；--citus 时再分布各表。"""
    from registry.core import migrate

    rt = connected(ctx, initialised=False)
    if citus:
        _check_citus(rt)
    before, after = migrate.upgrade(rt.engine)
    if before == after:
        click.echo(f"数据库架构已是最新（版本 {after}）")
    else:
        click.echo(f"数据库架构已从 {before or '空库'} 升级到 {after}")
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
@click.option("--records", type=click.IntRange(min=1), required=True, help="记录条数。")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl", "xlsx"]), default="csv", show_default=True
)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--encoding", default="gb18030", show_default=True, help="CSV 文件编码。")
def demo_data(records: int, out: str, fmt: str, seed: int, encoding: str) -> None:
    """生成《行政处罚信息》数据标准格式的合成处罚记录文件（默认 GB18030 编码的 CSV）。"""
    from registry.records import demo

    n = demo.write_file(Path(out), records, fmt, seed=seed, encoding=encoding)
    click.echo(f"已写入 {n} 条记录到 {out}（{fmt}）")


# --- data in and out -----------------------------------------------------------------


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--authority", help="本次导入记录所属处罚机关的统一社会信用代码。")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "jsonl"]), help="文件格式。")
@click.option("--report", type=click.Path(dir_okay=False), help="拒收行报告的保存位置。")
@click.option(
    "--report-format",
    "report_format",
    type=click.Choice(["csv", "xlsx"]),
    default="csv",
    show_default=True,
    help="拒收行报告的格式：csv（UTF-8，带BOM，Excel可直接打开）或 xlsx。",
)
@click.option("--strict", is_flag=True, help="严格模式：任何一行被拒收，整个文件都不写入。")
@click.option("--dry-run", is_flag=True, help="试运行：只校验并出报告，不写入。")
@click.option(
    "--restore",
    is_flag=True,
    help="恢复一份完整导出（export --scope full）：采用其中的状态、撤销信息和加密字段。",
)
@click.pass_context
def import_(
    ctx: click.Context,
    files: tuple[str, ...],
    authority: str | None,
    fmt: str | None,
    report: str | None,
    report_format: str,
    strict: bool,
    dry_run: bool,
    restore: bool,
) -> None:
    """导入《行政处罚信息》数据标准格式的处罚记录文件。

    每个文件打印新增、更新、未变、拒收的行数，以及导入后规则评估的结果；每个被拒收的行
    都写入拒收行报告（列：行号, 决定书文号, 字段, 原因；字段按文件自己的表头命名）。
    只有 --restore 接受完整导出才有的字段（状态、撤销信息、加密字段和掩码），否则带有
    这些字段的行被拒收。
    整个文件无法读取，或严格模式下有拒收行时，退出码为 1；命令用法、配置或数据库出错时为 2。"""
    from importers.progress import ConsoleProgress
    from importers.run import ReportWriter, import_file, report_path

    rt = connected(ctx)
    status = 0
    for path in files:
        target = report_path(rt.config, path, report, several=len(files) > 1, fmt=report_format)
        writer = ReportWriter(target, lazy=report is None, fmt=report_format)
        try:
            with ConsoleProgress(Path(path).name) as shown:
                summary = import_file(
                    rt,
                    path,
                    fmt=fmt,
                    authority=authority,
                    strict=strict,
                    dry_run=dry_run,
                    report=writer,
                    actor=f"cli:{Path(path).name}",
                    progress=shown.progress,
                    stage=shown.stage,
                    restore=restore,
                )
            if summary.fatal:
                # The reason the file was refused goes into its report too (as the
                # inbox's does): 整个文件 in the field column.
                writer.add(0, "_file", summary.fatal)
        finally:
            writer.close()
        _keep_report(rt, summary, writer)
        for warning in summary.warnings:
            click.echo(f"{path}：提示：{warning}", err=True)
        if summary.fatal:
            click.echo(f"{path}：错误：{summary.fatal}", err=True)
            click.echo(f"{path}：原因已写入拒收行报告 {target}", err=True)
            status = 1
            continue
        click.echo(f"{path}：{summary.counts()}")
        rules = summary.rules_line()
        if rules is not None:
            click.echo(f"{path}：{rules}")
        if summary.rejected:
            click.echo(f"{path}：{summary.problems} 个问题已写入拒收行报告 {target}")
        if dry_run:
            click.echo(f"{path}：试运行，未写入任何记录")
        elif strict and summary.rejected:
            click.echo(f"{path}：严格模式：有拒收行，整个文件未写入")
            status = max(status, 1)
    if status:
        sys.exit(status)


def _keep_report(rt: Runtime, summary: ImportSummary, writer: ReportWriter) -> None:
    """Keep a written batch's rejection report for the dashboard and the API to serve
    later (registry.records.reports), always as CSV: the CSV file as written, or for an
    XLSX report the same rows as CSV (the first ``writer.keep`` of them)."""
    from importers.report import report_csv_text
    from registry.records.reports import keep_report

    path = writer.path
    if summary.batch_id is None or summary.dry_run or not writer.rows or not path:
        return
    if writer.format == "csv" and Path(path).is_file():
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    else:
        text = report_csv_text(writer.kept)
    with rt.unit_of_work() as session:
        keep_report(session, summary.batch_id, text, writer.rows)


@cli.command()
@click.option("--scope", type=click.Choice(["public", "full"]), default="public", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--since", "cursor", help="上次导出末尾给出的游标（增量导出）。")
@click.option("--out", type=click.Path(dir_okay=False), help="输出文件（默认：标准输出）。")
@click.pass_context
def export(ctx: click.Context, scope: str, fmt: str, cursor: str | None, out: str | None) -> None:
    """导出公示数据（public）或全部记录（full）。

    末尾打印下次增量导出（--since）用的游标（记录输出到标准输出时，游标打印在标准错误）。"""
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
    note = f"已导出 {result.count} 条记录"
    if result.withdrawn:
        note += f"，其中撤回 {result.withdrawn} 条"
    click.echo(f"{note}；下次增量导出的游标（--since）：{result.cursor}", err=out is None)
