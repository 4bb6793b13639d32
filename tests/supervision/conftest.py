"""Fixtures of the supervision tests: the API tests' ``factory`` (rows in ``session``;
commit before requests), ``authority``/``other_authority`` and their ``regulator`` /
``other_regulator`` tokens, ``department`` — plus helpers to set credit grades and to
define and draw inspection tasks through the API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from registry.evaluation.models import CreditGrade
from tests.api.conftest import (  # noqa: F401 - fixtures shared with the API tests
    authority,
    department,
    factory,
    other_authority,
    other_regulator,
    regulator,
)
from tests.rows import add_row


def grade(
    session, uscc: str, value: str, since: date | None = None, until: date | None = None
) -> CreditGrade:
    """The entity's credit grade from ``since`` (default 2026-01-01) to ``until`` (default
    none: its current grade)."""
    row = CreditGrade(
        uscc=uscc,
        grade=value,
        since=since or date(2026, 1, 1),
        until=until,
        pack_version="test",
        explanation={},
    )
    return add_row(session, row)


def old_grade(session, uscc: str, value: str, until: date) -> CreditGrade:
    """An earlier grade that ended on ``until``."""
    return grade(session, uscc, value, since=until - timedelta(days=300), until=until)


POOL = [
    {"code": "44030500101", "name": "李明", "region": "440305"},
    {"code": "44030500102", "name": "陈芳", "region": "440305"},
    {"code": "44030500103", "name": "王强", "region": "440305"},
    {"code": "44010000201", "name": "张伟", "region": "4401"},
]


@pytest.fixture
def make_task(client, regulator):  # noqa: F811 - the fixture imported above
    """Create a task of the regulator's authority with a pool; returns its id."""

    def build(pool=POOL, token=regulator, **fields) -> int:
        body = {"title": "2026年第四季度双随机抽查", "authority_name": "深圳市南山区市场监督管理局"}
        body.update(fields)
        created = client.post("/api/v1/inspections/tasks", json=body, headers=token.headers)
        assert created.status_code == 201, created.json
        task_id = created.json["id"]
        put = client.put(
            f"/api/v1/inspections/tasks/{task_id}/inspectors",
            json={"inspectors": pool},
            headers=token.headers,
        )
        assert put.status_code == 200, put.json
        return task_id

    return build
