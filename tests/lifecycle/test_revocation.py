"""Revoking a penalty: disclosure ends at once, history is kept, the rules run again."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.core import audit
from registry.core.errors import Conflict, Forbidden, Invalid, NotFound
from registry.core.models import AuditEntry, Change
from registry.evaluation.revocation import revoke_penalty_now
from registry.lists.entries import confirm_entry, entries_in_force
from registry.lists.models import ListEntry, ListEntryEvent
from registry.records.disclosure import disclosed_on, is_disclosed, revoke_penalty
from registry.records.models import DirtyEntity, Penalty, PenaltyVersion

DAY = timedelta(days=1)


def test_revocation_ends_disclosure_at_once_and_keeps_history(session, factory, authority, today):
    uscc = factory.uscc()
    penalty = factory.penalty(uscc, authority_uscc=authority, decided_on=date(2026, 9, 1))
    assert is_disclosed(penalty, today)
    with pytest.raises(Invalid):
        revoke_penalty(session, penalty.id, authority, "r", "")
    with pytest.raises(Forbidden) as err:
        revoke_penalty(session, penalty.id, factory.authority(), "r", "复议撤销")
    assert err.value.status == 403
    with pytest.raises(NotFound):
        revoke_penalty(session, 987_654, authority, "r", "复议撤销")

    revoke_penalty(session, penalty.id, authority, "regulator:张三", "行政复议决定撤销")
    session.commit()
    session.refresh(penalty)
    assert (penalty.status, penalty.revoked_on, penalty.version) == ("revoked", today, 2)
    assert penalty.revoked_reason == "行政复议决定撤销"
    assert not is_disclosed(penalty, today)
    assert not is_disclosed(penalty, today - DAY)  # void: not public for any day (issue 18)
    assert session.execute(select(Penalty.id).where(disclosed_on(today))).first() is None
    version = session.execute(select(PenaltyVersion)).scalar_one()
    assert (version.penalty_id, version.version, version.replaced_by) == (
        penalty.id,
        1,
        "regulator:张三",
    )
    assert version.data["status"] == "active"
    assert version.data["decision_number"] == penalty.decision_number
    assert session.execute(
        select(Change.action).where(Change.object_id == penalty.id)
    ).scalars().all() == ["revoked"]
    assert session.get(DirtyEntity, uscc) is not None
    entry = session.execute(
        select(AuditEntry).where(AuditEntry.action == "penalty.revoked")
    ).scalar_one()
    assert entry.after["reason"] == "行政复议决定撤销"
    assert audit.verify_chain(session)[1] is None
    with pytest.raises(Conflict, match="已于"):
        revoke_penalty(session, penalty.id, authority, "r", "again")


def test_revoking_the_only_basis_removes_the_entry(rt, session, factory, pack, authority, today):
    evaluation = pytest.importorskip("registry.evaluation.runs")
    uscc = factory.uscc()
    factory.entity(uscc)
    penalty = factory.unevaluated_ip_penalty(
        uscc, authority_uscc=authority, decided_on=date(2026, 10, 8)
    )
    session.commit()
    evaluation.evaluate_subjects(session, pack, [uscc], actor="test")
    session.commit()
    proposed = session.execute(
        select(ListEntry).where(ListEntry.uscc == uscc, ListEntry.list_type == "samr_serious")
    ).scalar_one()
    assert proposed.status == "proposed"
    assert penalty.id in proposed.basis_penalty_ids
    confirm_entry(session, pack, proposed.id, proposed.authority_uscc, "regulator:张三")
    session.commit()
    assert [e.id for e in entries_in_force(session, [uscc], today)] == [proposed.id]

    penalty_id = penalty.id
    session.rollback()  # end this session's read snapshot (SQLite) before the other writes
    revoke_penalty_now(rt, penalty_id, authority, "regulator:张三", "法院判决撤销")
    entry = session.get(ListEntry, proposed.id)
    assert entry.status == "removed"
    assert entry.end_reason == "basis_revoked"
    assert entries_in_force(session, [uscc], today) == []
    assert not is_disclosed(session.get(Penalty, penalty_id), today)
    event = session.execute(
        select(ListEntryEvent).where(
            ListEntryEvent.list_entry_id == entry.id, ListEntryEvent.event == "removed"
        )
    ).scalar_one()
    assert event.on_date == today
