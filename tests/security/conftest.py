"""Fixtures of the security tests: the API tests' fixtures (``factory``, ``authority``,
``other_authority``, ``regulator``, ``other_regulator``, ``department``,
``make_client``), plus an ``admin`` token and ``write_record``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api import conftest as api_fixtures

factory = api_fixtures.factory
authority = api_fixtures.authority
other_authority = api_fixtures.other_authority
regulator = api_fixtures.regulator
other_regulator = api_fixtures.other_regulator
department = api_fixtures.department
make_client = api_fixtures.make_client


@pytest.fixture
def admin(factory):
    token = factory.token("admin")
    factory.commit()
    return token


@pytest.fixture
def write_record(client, factory, regulator) -> Callable[..., dict[str, Any]]:
    """Write a penalty record through ``POST /api/v1/penalties`` with ``regulator``
    (the rules run as in production); returns the stored record."""

    def write(**fields: Any) -> dict[str, Any]:
        body = factory.record(regulator.authority, **fields)
        answer = client.post("/api/v1/penalties", json=body, headers=regulator.headers)
        assert answer.status_code == 201, answer.json
        return answer.json["penalty"]

    return write
