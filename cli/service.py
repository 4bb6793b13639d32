"""The long-running processes: serve (API, pages, in-process jobs) and scheduler."""

from __future__ import annotations

import click

from cli.base import cli, connected


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
@click.option("--no-scheduler", is_flag=True, help="Do not run the scheduled jobs in-process.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, no_scheduler: bool) -> None:
    """Serve the JSON API and the public pages (and, on the embedded setup, the jobs)."""
    from api import create_app

    rt = connected(ctx)
    app = create_app(runtime=rt)
    scheduler = None
    if rt.config.scheduler.in_serve and not no_scheduler:
        from cli.jobs import start_background

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
    from cli.jobs import run_foreground

    rt = connected(ctx)
    click.echo("scheduler running; stop with Ctrl-C or SIGTERM", err=True)
    run_foreground(rt)
    click.echo("scheduler stopped", err=True)
