"""The command line's foundation: help, init, tokens, audit verify, one-line errors."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select, text, update

from registry.core.models import ApiToken, AuditEntry
from registry.core.tokens import hash_token, resolve_token
from tests.conftest import DEVELOPMENT_ENV, bypass_audit_guard

COMMANDS = [
    "init",
    "serve",
    "import",
    "evaluate",
    "rules",
    "scheduler",
    "export",
    "token",
    "audit",
    "demo-data",
]


def _console(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **DEVELOPMENT_ENV, **(env or {})},
        timeout=60,
        check=False,
    )


def test_help_lists_every_command():
    result = _console("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert f"  {name} " in result.stdout
    assert result.stdout.startswith("用法： credit-registry")
    assert "选项:" in result.stdout
    assert "显示本帮助并退出。" in result.stdout


def test_a_mistyped_command_line_is_told_in_chinese():
    for args, says in (
        (("imprt",), "错误：没有命令 'imprt'。 是不是 'import'？"),
        (("import",), "错误：缺少参数 'FILES...'。"),
        (("token", "create", "--name", "x"), "错误：缺少选项 '--role'。"),
        (("import", "--format", "doc", "x.csv"), "'doc' 不是可选值之一：'csv', 'xlsx', 'jsonl'。"),
        (("import", "/no/such/file.csv"), "文件 '/no/such/file.csv' 不存在。"),
        (("export", "--no-such-option"), "错误：没有选项 '--no-such-option'。"),
    ):
        result = _console(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert says in result.stderr, (args, result.stderr)
        assert "运行“credit-registry" in result.stderr
        assert "Usage" not in result.stderr
        assert "Error" not in result.stderr


def test_init_twice_and_token_and_audit(invoke, session):
    first = invoke("init")
    assert first.exit_code == 0, first.output
    second = invoke("init")
    assert second.exit_code == 0
    assert "数据库架构已是最新" in second.output

    created = invoke("token", "create", "--role", "department", "--name", "财政部门")
    assert created.exit_code == 0
    secret = created.output.strip()
    assert "\n" not in secret
    assert secret.startswith("cr_")
    row = session.execute(select(ApiToken)).scalar_one()
    assert row.token_hash == hash_token(secret)
    assert secret not in (row.prefix + row.name + row.token_hash)
    assert resolve_token(session, secret).role == "department"

    ok = invoke("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "已核验 1 条" in ok.output


def test_audit_verify_fails_on_a_tampered_row(invoke, rt):
    for name in ("a", "b", "c"):
        assert invoke("token", "create", "--role", "admin", "--name", name).exit_code == 0
    assert invoke("audit", "verify").exit_code == 0
    with rt.engine.begin() as conn:  # the database's superuser tampers
        bypass_audit_guard(conn)
        second = conn.execute(
            select(AuditEntry.id).order_by(AuditEntry.id).offset(1).limit(1)
        ).scalar()
        conn.execute(update(AuditEntry).where(AuditEntry.id == second).values(actor="someone else"))
    result = invoke("audit", "verify")
    assert result.exit_code == 1
    assert f"审计链断裂：第 {second} 条" in result.output


def test_audit_verify_fails_on_a_deleted_row(invoke, rt):
    for name in ("a", "b", "c"):
        assert invoke("token", "create", "--role", "admin", "--name", name).exit_code == 0
    with rt.engine.begin() as conn:  # the database's superuser tampers
        bypass_audit_guard(conn)
        second = conn.execute(
            select(AuditEntry.id).order_by(AuditEntry.id).offset(1).limit(1)
        ).scalar()
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": second})
    result = invoke("audit", "verify")
    assert result.exit_code == 1
    assert "审计链断裂" in result.output


def test_bad_configuration_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("database: {urll: x}\n", encoding="utf-8")
    result = _console("--config", str(bad), "init")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "未知的配置项 'database.urll'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_line():
    result = _console(
        "init", env={"REGISTRY_DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1:1/none"}
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_code_is_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    assert _console("init", env={"REGISTRY_DATABASE_URL": url}).returncode == 0
    result = _console(
        "token",
        "create",
        "--role",
        "regulator",
        "--name",
        "x",
        "--authority",
        "9144030019220382O6",
        env={"REGISTRY_DATABASE_URL": url},
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "第17位" in result.stderr or "字符" in result.stderr


def test_regulator_token_needs_an_authority(invoke):
    result = invoke("token", "create", "--role", "regulator", "--name", "x")
    assert result.exit_code == 2
    assert "bound to an authority" in result.output


def test_audit_anchor_detects_a_trail_cut_back(invoke, rt, tmp_path):
    """The chain alone cannot see its newest rows deleted; a recorded anchor can."""
    anchors = tmp_path / "anchors.txt"
    assert invoke("token", "create", "--role", "admin", "--name", "a").exit_code == 0
    first = invoke("audit", "anchor", "--append", str(anchors))
    assert first.exit_code == 0, first.output
    for name in ("b", "c"):
        assert invoke("token", "create", "--role", "admin", "--name", name).exit_code == 0
    second = invoke("audit", "anchor", "--append", str(anchors))
    head_id = int(second.output.strip().split(":")[0])
    assert len(anchors.read_text(encoding="utf-8").splitlines()) == 2

    ok = invoke("audit", "verify", "--anchors", str(anchors))
    assert ok.exit_code == 0, ok.output
    assert "2 个锚点均在链中" in ok.output

    with rt.engine.begin() as conn:  # someone with database access drops the newest row
        bypass_audit_guard(conn)
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": head_id})
    assert invoke("audit", "verify").exit_code == 0  # undetectable without the anchor
    cut = invoke("audit", "verify", "--anchors", str(anchors))
    assert cut.exit_code == 1
    assert f"锚定的第 {head_id} 条已不存在" in cut.output


def test_audit_verify_names_a_malformed_anchor_line(invoke, tmp_path):
    bad = tmp_path / "anchors.txt"
    bad.write_text("# anchors\n12:abc\n", encoding="utf-8")
    result = invoke("audit", "verify", "--anchors", str(bad))
    assert result.exit_code != 0
    assert "第 2 行" in result.output
    assert "哈希应为64个十六进制字符" in result.output
