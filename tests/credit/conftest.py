"""Fixtures of the credit tests: the API tests' tokens and factory, plus packs derived
from the default pack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rules import DEFAULT_PACK_PATH
from tests.api.conftest import (  # noqa: F401 - fixtures shared with the API tests
    authority,
    department,
    factory,
    make_client,
    other_authority,
    other_regulator,
    regulator,
)


def default_content() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_PACK_PATH.read_text(encoding="utf-8"))


def write_pack(tmp_path: Path, content: dict[str, Any], name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@pytest.fixture
def public_grade_pack(tmp_path: Path) -> Path:
    """The default pack with grades shown to the public."""
    content = default_content()
    content["grading"]["public"] = True
    return write_pack(tmp_path, content, "public-grades.yaml")
