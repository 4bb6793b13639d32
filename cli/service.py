"""The long-running processes: serve (API, pages, in-process jobs) and scheduler."""

from __future__ import annotations

import click

from cli.base import cli, connected


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
@click.option("--no-scheduler", is_flag=True, help="不在本进程中运行定时任务。")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, no_scheduler: bool) -> None:
    """提供 JSON API 和公示网页（嵌入式部署时也在本进程中运行定时任务）。"""
    from api import create_app

    rt = connected(ctx)
    app = create_app(runtime=rt)
    scheduler = None
    if rt.config.scheduler.in_serve and not no_scheduler:
        from cli.jobs import start_background

        scheduler = start_background(rt)
    click.echo(f"正在 http://{host}:{port}/ 提供服务（按 Ctrl-C 停止）")
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@cli.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """在前台运行定时任务（每个部署运行一个；同时运行两个也安全）。"""
    from cli.jobs import run_foreground

    rt = connected(ctx)
    click.echo("定时任务运行中；按 Ctrl-C 或发送 SIGTERM 停止", err=True)
    run_foreground(rt)
    click.echo("定时任务已停止", err=True)
