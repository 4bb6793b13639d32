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


def naming_pack(tmp_path: Path, name: str = "naming.yaml", **codes: list[str]) -> Path:
    """The default pack with code prefixes for its authority categories, e.g.
    ``naming_pack(tmp_path, tax=["11"])`` (the default pack names no tax or customs
    authority, so nobody may act on their lists)."""
    content = {
        "extends": str(DEFAULT_PACK_PATH),
        "authority_categories": {category: {"codes": list(c)} for category, c in codes.items()},
    }
    return write_pack(tmp_path, content, name)


@pytest.fixture
def organs_name_red_lists(tmp_path: Path) -> Path:
    """A pack in which every government organ (codes 11…) is competent for the tax and
    customs red lists, as the tests' authorities are."""
    return naming_pack(tmp_path, tax=["11"], customs=["11"])
