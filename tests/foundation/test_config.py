"""Configuration layers and their errors."""

from __future__ import annotations

import pytest

from registry.core.config import ConfigError, load_config


def test_layers_in_order(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(
        "database: {url: 'sqlite:///x.db'}\napi: {page_size: 7}\n", encoding="utf-8"
    )
    cfg = load_config(
        cfg_file,
        environ={"REGISTRY_API_PAGE_SIZE": "9", "REGISTRY_PUBLIC_RATE_LIMIT": "5/minute"},
        overrides={"api": {"max_upload_mb": 3}},
    )
    assert cfg.api.page_size == 9
    assert cfg.api.public_rate_limit == "5/minute"
    assert cfg.api.max_upload_mb == 3
    assert cfg.database_url == f"sqlite:///{(tmp_path / 'x.db').resolve()}"


def test_database_url_from_environment(tmp_path):
    cfg = load_config(
        tmp_path / "absent.yaml" if False else None,
        environ={"REGISTRY_DATABASE_URL": "postgresql://u@h/db"},
    )
    assert cfg.database_url == "postgresql://u@h/db"


def test_frozen():
    cfg = load_config(environ={})
    with pytest.raises(AttributeError):
        cfg.api.page_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("databse: {url: x}\n", "未知的配置节 'databse'"),
        ("database: {urll: x}\n", "未知的配置项 'database.urll'"),
        ("api: {page_size: many}\n", "'api.page_size'：应为整数"),
        ("scheduler: {in_serve: perhaps}\n", "'scheduler.in_serve'：应为 true 或 false"),
        ("[1, 2\n", "不是有效的 YAML"),
    ],
)
def test_bad_file_names_the_key(tmp_path, text, message):
    cfg_file = tmp_path / "bad.yaml"
    cfg_file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml") as err:
        load_config(cfg_file, environ={})
    assert message in str(err.value)


def test_unknown_environment_variable_is_an_error():
    with pytest.raises(ConfigError, match="REGISTRY_DATABASE_URI"):
        load_config(environ={"REGISTRY_DATABASE_URI": "x"})


def test_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="不存在"):
        load_config(environ={"REGISTRY_CONFIG": str(tmp_path / "nope.yaml")})
