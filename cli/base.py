"""The command group, its one error path and the runtime a command opens."""

from __future__ import annotations

import logging
import sys
from typing import Any, NoReturn

import click

from cli import zh
from registry.core.codes import CodeError
from registry.core.config import Config, ConfigError, load_config
from registry.core.db import (
    DatabaseUnavailable,
    check_connection,
    ensure_sqlite_folder,
    safe_url,
    sqlite_file,
)
from registry.core.runtime import Runtime

# Click's own words (usage, help headings, usage errors) in Chinese, before any command
# is declared: some help texts are looked up when a decorator runs.
zh.install()

log = logging.getLogger("registry")


#: How every expected failure starts, on standard error.
ERROR_PREFIX = "错误："


class UserError(click.ClickException):
    """An expected failure with a one-line message (``错误：…``)."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"{ERROR_PREFIX}{self.format_message()}", err=True)


class FileRefused(UserError):
    """A file that cannot be taken at all (unreadable, damaged, wrong header): exit
    status 1, as a file with refused rows under ``--strict`` — the file is the problem,
    not the command line (issue 18: a malformed file is a file-level error, exit 1)."""

    exit_code = 1


def fail(message: str) -> NoReturn:
    raise UserError(message)


def config_of(ctx: click.Context) -> Config:
    """The configuration alone, for commands that open no database (``rules check``)."""
    try:
        return load_config(ctx.ensure_object(dict).get("config_path"))
    except ConfigError as exc:
        fail(f"配置：{exc}")


def runtime_of(ctx: click.Context) -> Runtime:
    """The command's runtime.  Refused, exit status 2 and one line naming
    ``REGISTRY_SECRET_KEY``, when the secret is weak outside development mode — before
    any connection is made (registry.core.keys)."""
    obj = ctx.ensure_object(dict)
    if "runtime" not in obj:
        try:
            obj["runtime"] = Runtime(load_config(obj.get("config_path")))
        except ConfigError as exc:
            fail(f"配置：{exc}")
        ctx.call_on_close(obj["runtime"].dispose)
    return obj["runtime"]


NOT_INITIALISED = "数据库尚未初始化（{where}）——请先运行 credit-registry init"


def connected(ctx: click.Context, *, initialised: bool = True) -> Runtime:
    """The runtime with its database reachable and, unless ``initialised`` is False
    (``init``), its schema in place at the newest revision.  A missing SQLite file is
    never created here: commands other than ``init`` say so instead."""
    rt = runtime_of(ctx)
    path = sqlite_file(rt.engine)
    if initialised and path is not None and not path.exists():
        fail(NOT_INITIALISED.format(where=path))
    if not initialised:
        ensure_sqlite_folder(rt.engine)
    try:
        check_connection(rt.engine)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if initialised:
        from registry.core import migrate

        where = path or safe_url(str(rt.engine.url))
        revision = migrate.current_revision(rt.engine)
        if revision is None:
            fail(NOT_INITIALISED.format(where=where))
        if revision != migrate.head_revision():
            fail(
                f"数据库架构版本 {revision} 不是最新（{migrate.head_revision()}）"
                f"——请运行 credit-registry init 升级（{where}）"
            )
    return rt


def not_yet(name: str) -> NoReturn:
    fail(f"本版本尚不提供“{name}”")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="REGISTRY_CONFIG",
    help="配置文件（默认：REGISTRY_CONFIG，否则项目的 config.yaml）",
)
@click.option("-v", "--verbose", is_flag=True, help="输出更详细的日志。")
@click.version_option(package_name="credit-registry")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """行政处罚与失信名单登记簿（以统一社会信用代码为主键），带联合惩戒规则引擎和
    信息公示。"""
    ctx.ensure_object(dict)["config_path"] = config_path
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic narrates every plugin and migration step at INFO; init prints its own summary.
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)


def main() -> None:
    """Console entry point: expected errors become one line, never a traceback."""
    try:
        cli.main(standalone_mode=False, prog_name="credit-registry")
    except click.exceptions.Abort:
        click.echo("已中止", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"{ERROR_PREFIX}配置：{exc}", err=True)
        sys.exit(2)
    except DatabaseUnavailable as exc:
        click.echo(f"{ERROR_PREFIX}{exc}", err=True)
        sys.exit(2)
    except CodeError as exc:
        click.echo(f"{ERROR_PREFIX}{exc.message}", err=True)
        sys.exit(2)
    except Exception as exc:  # a database dropping mid-command, for example
        from sqlalchemy.exc import DBAPIError, OperationalError

        if isinstance(exc, OperationalError | DBAPIError):
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            # The unit of work in progress was rolled back: nothing of it is written.
            click.echo(f"{ERROR_PREFIX}数据库出错，未完成的事务已回滚：{reason}", err=True)
            sys.exit(2)
        raise
