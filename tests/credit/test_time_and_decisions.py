"""Grades that change without a write: as time passes (the scheduler's daily full
re-evaluation) and when a regulator decides on a proposal (the rules run at once)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from cli.jobs import job_specs
from registry.core import clock
from registry.core.models import JobRun
from registry.delivery.scheduler import run_job
from registry.evaluation.runs import evaluate_now
from registry.lists.models import ListEntry


def answer(client, department, uscc):
    resp = client.get(f"/api/v1/sanctions/{uscc}", headers=department.headers)
    assert resp.status_code == 200, resp.json
    return resp.json


def test_the_daily_reevaluation_grades_a_penalty_ageing_out(
    rt, client, factory, authority, department
):
    """35 months clean is B; a month later, with no write at all, the scheduled
    re-evaluation makes it A and red-lists the entity."""
    entity = factory.entity()
    factory.penalty(entity.uscc, authority, decided_on=date(2023, 12, 15))
    factory.commit()
    evaluate_now(rt, [entity.uscc])
    assert answer(client, department, entity.uscc)["grade"]["grade"] == "B"

    clock.set_clock(clock.today() + timedelta(days=30))  # 36 months clean now
    stale = answer(client, department, entity.uscc)
    assert stale["grade"]["grade"] == "B"  # stored grades wait for the job
    assert stale["incentives"] == []

    outcome = run_job(rt, job_specs(rt)["reevaluate"])
    assert outcome.status == "ok", outcome.detail
    fresh = answer(client, department, entity.uscc)
    assert fresh["grade"]["grade"] == "A"
    assert fresh["grade"]["since"] == "2026-12-29"
    assert {i["list_type"] for i in fresh["incentives"]} == {"a_grade_clean"}
    with rt.sessions() as s:
        runs = s.execute(select(JobRun.job, JobRun.status)).all()
    assert ("reevaluate", "ok") in [tuple(r) for r in runs]


def test_confirming_a_proposal_grades_the_entity_d_at_once(
    rt, client, factory, authority, regulator, department
):
    entity = factory.entity()
    factory.penalty(
        entity.uscc,
        authority,
        decided_on=clock.today() - timedelta(days=40),
        violation_type="销售假冒注册商标的商品",
        categories=["吊销许可证件"],
    )
    factory.commit()
    evaluate_now(rt, [entity.uscc])
    with rt.sessions() as s:
        [proposal] = s.execute(
            select(ListEntry).where(
                ListEntry.uscc == entity.uscc, ListEntry.list_type == "samr_serious"
            )
        ).scalars()
    assert proposal.status == "proposed"
    assert answer(client, department, entity.uscc)["grade"]["grade"] != "D"

    confirmed = client.post(
        f"/api/v1/list-entries/{proposal.id}/confirm",
        json={"reason": "当事人未提出陈述申辩"},
        headers=regulator.headers,
    )
    assert confirmed.status_code == 200, confirmed.json
    body = answer(client, department, entity.uscc)
    assert body["sanctioned"] is True
    assert body["grade"]["grade"] == "D"
    assert body["incentives"] == []
    assert body["incentives_withheld"] is not None
