"""Fixtures of the security tests: the intake tests' fixtures (``factory``,
``authority``, ``other_authority``, ``regulator``, ``other_regulator``, ``department``,
``make_client``, an ``admin`` token and ``write_record``, see tests/intake/conftest.py),
and ``file_objection``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.intake import conftest as intake_fixtures

factory = intake_fixtures.factory
authority = intake_fixtures.authority
other_authority = intake_fixtures.other_authority
regulator = intake_fixtures.regulator
other_regulator = intake_fixtures.other_regulator
department = intake_fixtures.department
make_client = intake_fixtures.make_client
admin = intake_fixtures.admin
write_record = intake_fixtures.write_record


@pytest.fixture
def file_objection(client, write_record) -> Callable[..., str]:
    """Write a record, object to it as the public does (``POST /api/v1/public/objections``)
    and return the receipt; ``file_objection(other_client, record)`` objects to a record
    already written, through another app."""

    def file(through: Any = None, record: dict[str, Any] | None = None) -> str:
        record = record or write_record()
        filed = (through or client).post(
            "/api/v1/public/objections",
            json={
                "uscc": record["uscc"],
                "decision_number": record["decision_number"],
                "statement": "罚款金额有误",
                "contact": "0755-1234 王先生",
            },
        )
        assert filed.status_code == 201, filed.json
        return filed.json["receipt"]

    return file
