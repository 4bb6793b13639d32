"""Before ``init`` a command says the database is not initialised — it never prints a raw
SQL error, and never creates a database where it happens to run; the configuration is
found by REGISTRY_CONFIG, else the project's config.yaml, wherever the command runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from registry.core.config import load_config
from tests.conftest import PG_URL, ROOT, TEST_SECRET

COMMANDS = (
    ("evaluate",),
    ("export", "--scope", "full"),
    ("audit", "verify"),
    ("token", "create", "--role", "admin", "--name", "运维"),
    ("scheduler",),
)


def _console(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={
            **base,
            "PYTHONPATH": str(ROOT),
            "REGISTRY_SECRET_KEY": TEST_SECRET,
            "REGISTRY_DEVELOPMENT": "1",
            **env,
        },
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_before_init_a_command_says_so_and_creates_nothing(tmp_path, args):
    target = tmp_path / "nowhere" / "registry.sqlite3"
    result = _console(*args, cwd=tmp_path, env={"REGISTRY_DATABASE_URL": f"sqlite:///{target}"})
    assert result.returncode == 2, result.stderr
    assert "数据库尚未初始化" in result.stderr
    assert "credit-registry init" in result.stderr
    assert "no such table" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not target.exists()
    assert not target.parent.exists()
    assert list(tmp_path.iterdir()) == []  # nothing made where the command ran


def test_init_creates_the_database_and_then_commands_work(tmp_path):
    target = tmp_path / "data" / "registry.sqlite3"
    env = {"REGISTRY_DATABASE_URL": f"sqlite:///{target}"}
    assert _console("init", cwd=tmp_path, env=env).returncode == 0
    assert target.exists()
    done = _console("audit", "verify", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr


def test_an_empty_postgresql_database_is_not_initialised(tmp_path):
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set REGISTRY_TEST_POSTGRES_URL)")
    name = f"crtest_empty_{os.getpid()}"
    server = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        result = _console("evaluate", cwd=tmp_path, env={"REGISTRY_DATABASE_URL": url})
        assert result.returncode == 2
        assert "数据库尚未初始化" in result.stderr
        assert "no such table" not in result.stderr
        assert "does not exist" not in result.stderr
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        server.dispose()


def test_the_project_config_is_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert Path(config.base_dir) == ROOT
    assert config.database_url == f"sqlite:///{ROOT / 'data' / 'registry.sqlite3'}"
    # run from another folder, a command looks at the project's database, not one here
    result = _console("export", cwd=tmp_path, env={})
    if not (ROOT / "data" / "registry.sqlite3").exists():
        assert result.returncode == 2
        assert str(ROOT / "data" / "registry.sqlite3") in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_registry_config_names_another_file(tmp_path):
    other = tmp_path / "elsewhere.yaml"
    other.write_text("database:\n  url: sqlite:///db/other.sqlite3\n", encoding="utf-8")
    config = load_config(environ={"REGISTRY_CONFIG": str(other)})
    assert config.database_url == f"sqlite:///{tmp_path / 'db' / 'other.sqlite3'}"
    missing = _console("export", cwd=tmp_path, env={"REGISTRY_CONFIG": str(tmp_path / "no.yaml")})
    assert missing.returncode == 2
    assert "配置文件" in missing.stderr
