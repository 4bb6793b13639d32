"""Administration: named lists, API tokens, the audit trail, inspection draws."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import click

from cli.base import FileRefused, cli, connected, fail
from registry.core.codes import CodeError, validate_uscc

# --- lists named by authorities ------------------------------------------------------


@cli.group("lists")
def lists_group() -> None:
    """行政机关认定的名单（如守信激励名单：海关高级认证企业、纳税信用A级）及待确认列入的处理。"""


@lists_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--list-type", "list_type", required=True, help="规则包中的名单类型（如 customs_aeo）。"
)
@click.option("--authority", help="认定机关的统一社会信用代码（以后可由该机关移出）。")
@click.pass_context
def lists_import(ctx: click.Context, file: str, list_type: str, authority: str | None) -> None:
    """导入行政机关认定的名单：带表头的 CSV（统一社会信用代码或 uscc、since、until、
    basis、name），或含这些字段的 JSONL。打印新增、更新、未变、拒收的条数和每个被拒收的行
    （行号、字段、原因）；有被拒收的行或整个文件无法读取时退出码为 1。"""
    from registry.core.errors import Forbidden, Invalid
    from registry.lists.redlists import import_named_file, named_list

    authority_uscc = None
    if authority:
        try:
            authority_uscc = validate_uscc(authority)
        except CodeError as exc:
            fail(f"--authority: {exc.message}")
    rt = connected(ctx)
    try:  # a wrong --list-type is the command line's fault (2), a bad file the file's (1)
        named_list(rt.pack, list_type)
    except Invalid as exc:
        fail(exc.message)
    try:
        report = import_named_file(
            rt, file, list_type, authority_uscc=authority_uscc, actor=f"cli:{Path(file).name}"
        )
    except Invalid as exc:
        raise FileRefused(f"{file}: {exc.message}") from None
    except Forbidden as exc:
        fail(f"{file}: {exc.message}")
    click.echo(f"{file}: {list_type}: {report.counts()}")
    for problem in report.problems:
        click.echo(f"{file}: {problem}", err=True)
    if report.rejected:
        sys.exit(1)


# --- tokens and audit ----------------------------------------------------------------


@cli.group()
def token() -> None:
    """API 令牌：创建、列出、撤销。"""


@token.command("create")
@click.option("--role", type=click.Choice(["regulator", "department", "admin"]), required=True)
@click.option("--name", required=True, help="令牌持有人（部门或人员名称）。")
@click.option("--authority", help="所属执法机关的统一社会信用代码（监管部门令牌必填）。")
@click.option(
    "--expires-in",
    "expires_in",
    type=int,
    metavar="DAYS",
    help="自现在起多少天后失效（默认：不失效）。",
)
@click.pass_context
def token_create(
    ctx: click.Context, role: str, name: str, authority: str | None, expires_in: int | None
) -> None:
    """创建 API 令牌：令牌只在标准输出上打印这一次，系统只保存其哈希值。"""
    from registry.core.tokens import TokenError, create_token

    rt = connected(ctx)
    try:
        with rt.unit_of_work() as session:
            secret = create_token(
                session,
                role=role,
                name=name,
                authority=authority,
                actor="cli",
                expires_in_days=expires_in,
            )
    except (TokenError, CodeError) as exc:
        fail(f"token: {exc}")
    click.echo(secret)


TOKEN_COLUMNS = (
    "编号",
    "持有人",
    "角色",
    "机关",
    "创建",
    "到期",
    "最近使用",
    "撤销",
    "状态",
    "开头",
)


@token.command("list")
@click.pass_context
def token_list(ctx: click.Context) -> None:
    """列出全部令牌：编号、持有人、角色、机关、创建、到期、最近使用、撤销时间、状态和开头
    几个字符（用于辨认），从不显示令牌本身或其哈希值。时间为北京时间。"""
    from registry.core.tokens import list_tokens, token_state

    rt = connected(ctx)
    with rt.sessions() as session:
        rows = [
            (
                str(t.id),
                t.name,
                t.role,
                t.authority_uscc or "-",
                _when(t.created_at),
                _when(t.expires_at),
                _when(t.last_used_at),
                _when(t.revoked_at),
                TOKEN_STATES[token_state(t)],
                t.prefix + "…",
            )
            for t in list_tokens(session)
        ]
    for line in _table(TOKEN_COLUMNS, rows):
        click.echo(line)
    if not rows:
        click.echo("（还没有令牌：credit-registry token create）", err=True)


TOKEN_STATES = {"active": "有效", "revoked": "已撤销", "expired": "已过期"}


@token.command("revoke")
@click.argument("token_id", type=int, metavar="ID")
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int) -> None:
    """立即撤销编号为 ID 的令牌（见 token list）：此后它的请求一律被拒绝（401）。"""
    from registry.core.errors import NotFound
    from registry.core.tokens import revoke_token

    rt = connected(ctx)
    try:
        with rt.unit_of_work() as session:
            row, revoked = revoke_token(session, token_id, actor="cli")
            name, at = row.name, _when(row.revoked_at)
    except NotFound as exc:
        fail(f"token revoke: {exc.message}")
    if revoked:
        click.echo(f"已撤销令牌 {token_id}（{name}），自 {at} 起不能再使用")
    else:
        click.echo(f"令牌 {token_id}（{name}）已于 {at} 撤销，无需再次撤销")


def _when(value: datetime | None) -> str:
    """A timestamp as a person reads it: China Standard Time, to the minute."""
    if value is None:
        return "-"
    from registry.core.clock import CHINA

    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Aligned columns, two spaces apart, the header first."""
    widths = [max([_width(h), *(_width(r[i]) for r in rows)]) for i, h in enumerate(header)]

    def line(cells: tuple[str, ...]) -> str:
        padded = [c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)]
        return "  ".join(padded).rstrip()

    return [line(header), *(line(r) for r in rows)]


@cli.group()
def audit() -> None:
    """审计日志。"""


@audit.command("verify")
@click.option(
    "--anchors",
    "anchors_path",
    type=click.Path(exists=True, dir_okay=False),
    help="由 `audit anchor` 写下的锚点文件：其中每个锚点都必须仍在链中。",
)
@click.pass_context
def audit_verify(ctx: click.Context, anchors_path: str | None) -> None:
    """从头到尾核验审计日志的哈希链；发现任何断裂时退出码为 1。"""
    from registry.core.audit import check_anchors, head, read_anchors, verify_chain

    try:
        anchors = read_anchors(anchors_path) if anchors_path else []
    except ValueError as exc:
        fail(f"审计核验：{exc}")
    rt = connected(ctx)
    with rt.unit_of_work() as session:
        count, broken = verify_chain(session)
        problems = check_anchors(session, anchors)
        newest = head(session)
    if broken is not None:
        click.echo(
            f"审计链断裂：第 {broken.entry_id} 条{broken.reason}（此前 {count} 条已核验）",
            err=True,
        )
        sys.exit(1)
    if problems:
        for problem in problems:
            click.echo(f"审计链断裂：{problem}", err=True)
        sys.exit(1)
    checked = f"，{len(anchors)} 个锚点均在链中" if anchors else ""
    click.echo(f"审计链完好：已核验 {count} 条{checked}；链头 {newest or '-'}")


@audit.command("anchor")
@click.option(
    "--append",
    "append_to",
    type=click.Path(dir_okay=False),
    help="同时把锚点和时间追加到此文件（请保存在数据库主机之外）。",
)
@click.pass_context
def audit_anchor(ctx: click.Context, append_to: str | None) -> None:
    """打印审计链的链头 <id>:<hash>；保存在别处后，`audit verify --anchors` 可以发现
    此后被截短的审计日志。"""
    from registry.core import clock
    from registry.core.audit import head

    rt = connected(ctx)
    with rt.unit_of_work() as session:
        newest = head(session)
    if newest is None:
        fail("审计锚点：审计日志为空")
    if append_to:
        with open(append_to, "a", encoding="utf-8") as handle:
            handle.write(f"{newest} {clock.now().isoformat(timespec='seconds')}\n")
    click.echo(str(newest))


@cli.group()
def inspections() -> None:
    """双随机、一公开抽查。"""


@inspections.command("draw")
@click.argument("task_id", metavar="TASK", type=click.IntRange(min=1))
@click.option("--seed", required=True, help="随任务公布的随机种子。")
@click.option("--dry-run", is_flag=True, help="只计算并打印抽取结果，不记录。")
@click.pass_context
def inspections_draw(ctx: click.Context, task_id: int, seed: str, dry_run: bool) -> None:
    """用 SEED 为抽查任务 TASK 抽取对象，并打印标准格式的抽取结果（docs/inspections.md）。

    计划中的任务被抽取并记录（--dry-run 时不记录）；已抽取的任务按其抽取日重新计算，
    并与记录的结果比对。同样的登记簿、同样的种子：标准输出的字节完全相同。"""
    from registry.core.errors import DomainError
    from registry.supervision.inspections import draw_task

    rt = connected(ctx)
    try:
        with rt.unit_of_work() as session:
            task, draw, recorded = draw_task(session, task_id, None, "cli", seed, dry_run=dry_run)
            recorded_sha256 = task.draw_sha256
            if not recorded:
                session.rollback()
    except DomainError as exc:
        fail(f"抽查抽取：{exc.message}")
    click.echo(draw.text, nl=False)
    if recorded:
        click.echo(f"已记录：任务 {task_id} 已抽取，sha256 {draw.sha256}", err=True)
    elif recorded_sha256 is None:
        click.echo(f"未记录（试运行）：sha256 {draw.sha256}", err=True)
    else:
        same = (
            "与已记录的抽取结果一致"
            if recorded_sha256 == draw.sha256
            else "与已记录的抽取结果不一致"
        )
        click.echo(f"sha256 {draw.sha256} {same}（已记录 {recorded_sha256}）", err=True)
