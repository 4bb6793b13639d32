"""Work waiting on the dashboard, as rows: proposals in bulk, an objection, complaints,
an alert, a repair application, an import batch with its kept report — for the
dashboard's form tests (tests/web) and browser tests (tests/browser)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from registry.core import clock
from registry.intake.models import Complaint, Objection
from registry.lists.models import ListEntry, Repair
from registry.records.models import ImportBatch
from registry.records.reports import keep_report
from tests.api.factories import ApiFactory

REPORT = (
    "\ufeff行号,决定书文号,字段,原因\n4,深市监罚〔2026〕9号,统一社会信用代码,第18位校验码错误\n"
)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def login(client: Any, secret: str) -> None:
    page = client.get("/dashboard/login")
    answer = client.post(
        "/dashboard/login",
        data={"token": secret, "csrf_token": csrf_of(page.get_data(as_text=True))},
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)


def proposals(
    factory: ApiFactory, authority: str, n: int, *, list_type: str = "samr_serious"
) -> list[int]:
    """``n`` proposed entries of ``authority`` (one insert), in the 440305 region."""
    today = clock.today()
    rows = [
        {
            "uscc": factory.uscc("440305"),
            "list_type": list_type,
            "status": "proposed",
            "rule_id": "heavy-penalty",
            "pack_version": "test",
            "authority_uscc": authority,
            "basis_penalty_ids": [],
            "proposed_on": today - timedelta(days=i % 5),
        }
        for i in range(n)
    ]
    result = factory.session.execute(insert(ListEntry).returning(ListEntry.id), rows)
    return [int(i) for i in result.scalars()]


def _receipt(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def objection(factory: ApiFactory, authority: str, *, overdue: bool = False) -> Objection:
    entity = factory.entity()
    penalty = factory.penalty(entity.uscc, authority)
    today = clock.today()
    row = Objection(
        receipt_hash=_receipt(f"objection-{penalty.id}"),
        uscc=entity.uscc,
        penalty_id=penalty.id,
        authority_uscc=authority,
        contact="13800000000",
        statement="罚款金额登记有误，决定书载明罚款3万元，公示为5万元。",
        status="open",
        filed_on=today - timedelta(days=20 if overdue else 2),
        due_on=today - timedelta(days=3) if overdue else today + timedelta(days=10),
    )
    factory.session.add(row)
    factory.session.flush()
    return row


def complaint(factory: ApiFactory, authority: str | None) -> Complaint:
    entity = factory.entity()
    row = Complaint(
        receipt_hash=_receipt(f"complaint-{entity.uscc}"),
        uscc=entity.uscc,
        kind="counterfeit",
        description="该公司门店销售假冒某品牌运动鞋。",
        contact=None,
        authority_uscc=authority,
        routed_by="table" if authority else "none",
        status="received",
        filed_on=clock.today() - timedelta(days=1),
    )
    factory.session.add(row)
    factory.session.flush()
    return row


def alert(factory: ApiFactory, authority: str) -> Any:
    entity = factory.entity()
    penalty = factory.penalty(
        entity.uscc,
        authority,
        violation_type="销售假冒注册商标的商品",
        business_volume_wan=6,
    )
    return factory.alert(penalty)


def repairable_penalty(factory: ApiFactory, uscc: str, authority: str) -> Any:
    """A minor penalty decided 200 days ago, disclosed for 200 days more, open to credit
    repair for 20 days already."""
    today = clock.today()
    return factory.penalty(
        uscc,
        authority,
        severity="minor",
        decided_on=today - timedelta(days=200),
        disclosure_until=today + timedelta(days=200),
        repair_allowed_from=today - timedelta(days=20),
    )


def repair(factory: ApiFactory, authority: str) -> Repair:
    """An application to end the disclosure of a minor penalty decided long enough ago."""
    entity = factory.entity()
    today = clock.today()
    penalty = repairable_penalty(factory, entity.uscc, authority)
    row = Repair(
        uscc=entity.uscc,
        target_type="penalty",
        target_id=penalty.id,
        authority_uscc=authority,
        status="pending",
        applied_on=today - timedelta(days=3),
        due_on=today + timedelta(days=18),
        applicant="王伟",
        statement="已履行行政处罚决定，申请停止公示。",
    )
    factory.session.add(row)
    factory.session.flush()
    return row


def import_batch(factory: ApiFactory, authority: str, *, report: str | None = REPORT) -> int:
    """A finished batch of ``authority`` whose source is a temporary path, with a kept
    report."""
    batch = ImportBatch(
        source="/tmp/tmpab12cd/2026年11月处罚决定.csv",  # noqa: S108  (as an upload's was)
        format="csv",
        authority_uscc=authority,
        actor="test",
        status="done",
        rows_total=12,
        accepted=11,
        rejected=1,
        rejection_reasons={"uscc: 第18位校验码错误": 1},
    )
    factory.session.add(batch)
    factory.session.flush()
    if report is not None:
        keep_report(factory.session, batch.id, report, 1)
    return batch.id
