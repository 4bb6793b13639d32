"""Fixtures of the public-facts tests (issue 20): the web factory's rows, plus a listed
entity whose entry rests on a penalty, and an open objection.  Commit before requesting
pages or the API (the app reads through its own sessions)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from registry.intake.models import Objection
from registry.lists.models import ListEntry
from registry.records.models import Penalty
from tests.web.factories import TODAY, WebFactory


@pytest.fixture
def factory(session) -> WebFactory:
    return WebFactory(session)


@dataclass
class Listed:
    uscc: str
    authority: str
    penalty: Penalty
    entry: ListEntry


@pytest.fixture
def listed(session, factory: WebFactory) -> Listed:
    """深圳市华鑫科技有限公司 on samr_serious since 100 days, on the strength of one
    trademark penalty by 深圳市市场监督管理局."""
    authority = factory.authority_code()
    entity = factory.entity()
    penalty = factory.penalty(
        entity.uscc,
        authority_uscc=authority,
        decision_number="深市监罚〔2026〕88号",
        violation_type="销售侵犯注册商标专用权商品",
        severity="serious",
        categories=("罚款", "吊销许可证件"),
    )
    entry = factory.list_entry(entity.uscc, authority_uscc=authority)
    entry.basis_penalty_ids = [penalty.id]
    entry.early_removal_from = TODAY + timedelta(days=265)
    session.flush()
    return Listed(entity.uscc, authority, penalty, entry)


def objection(
    session, uscc: str, authority: str, *, penalty_id=None, list_entry_id=None
) -> Objection:
    row = Objection(
        receipt_hash=hashlib.sha256(f"{uscc}{penalty_id}{list_entry_id}".encode()).hexdigest(),
        uscc=uscc,
        penalty_id=penalty_id,
        list_entry_id=list_entry_id,
        authority_uscc=authority,
        contact="13800000000",
        statement="处罚决定已被复议机关撤销",
        status="open",
        filed_on=TODAY,
        due_on=TODAY + timedelta(days=15),
    )
    session.add(row)
    session.flush()
    return row


__all__ = ["TODAY", "Listed", "date", "objection"]
