"""Fixtures of the intake tests (objections, complaints), on top of the API tests' ones:

- ``factory``, ``authority``/``other_authority``, ``regulator``/``other_regulator``,
  ``department``, ``make_client`` as in tests/api/conftest.py;
- ``admin``: an administrator's token;
- ``write_record(**fields)``: writes a penalty record through ``POST /api/v1/penalties``
  with the ``regulator`` token (so the rules run as in production) and returns it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api import conftest as api_fixtures
from tests.api.factories import ApiFactory, Token

# The API tests' fixtures, shared.
factory = api_fixtures.factory
authority = api_fixtures.authority
other_authority = api_fixtures.other_authority
regulator = api_fixtures.regulator
other_regulator = api_fixtures.other_regulator
department = api_fixtures.department
make_client = api_fixtures.make_client

#: A record the default pack proposes for the serious-dishonesty list.
IP = "销售侵犯注册商标专用权商品"
SERIOUS = ["罚款", "吊销许可证件"]


@pytest.fixture
def admin(factory: ApiFactory) -> Token:
    token = factory.token("admin")
    factory.commit()
    return token


@pytest.fixture
def write_record(client, factory: ApiFactory, regulator: Token) -> Callable[..., dict[str, Any]]:
    def write(**fields: Any) -> dict[str, Any]:
        body = factory.record(regulator.authority, **fields)
        answer = client.post("/api/v1/penalties", json=body, headers=regulator.headers)
        assert answer.status_code == 201, answer.json
        return answer.json["penalty"]

    return write
