"""Another authority's regulator learns nothing from a repair application.

Credit repair of a penalty is decided by the penalty's own authority.  Another
authority's regulator applying for it is refused with 403 before anything about the
record is checked — not 409 or 422 carrying the record's disclosure dates, which
would tell an outsider when a record they have no business with stops being public.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.factories import apply_for_repair


@pytest.mark.parametrize("case", ["not-repairable-field", "too-early"])
def test_repair_of_another_authoritys_penalty_is_403_without_dates(
    client, factory, regulator, other_regulator, today, case
):
    entity = factory.entity()
    decided = today - timedelta(days=5)
    if case == "not-repairable-field":  # e.g. food and drugs: never repaired early
        penalty = factory.penalty(
            entity.uscc,
            regulator.authority,
            decided_on=decided,
            disclosure_until=decided + timedelta(days=3 * 365),
            repairable=False,
        )
    else:
        penalty = factory.repairable_penalty(entity.uscc, regulator.authority, decided)
    factory.commit()
    answer = apply_for_repair(client, penalty, other_regulator, "已履行处罚决定")
    assert answer.status_code == 403, (answer.status_code, answer.json)
    assert answer.json["error"]["code"] == "forbidden"
    body = answer.get_data(as_text=True)
    for day in (penalty.disclosure_until, penalty.repair_allowed_from):
        if day is not None:
            assert day.isoformat() not in body, f"the answer tells the record's date {day}"
    # The penalty's own authority gets the real reason.
    own = apply_for_repair(client, penalty, regulator, "已履行处罚决定")
    assert own.status_code in (409, 422), own.json
