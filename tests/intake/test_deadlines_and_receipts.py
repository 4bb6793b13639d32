"""Pure tests: working-day deadlines and receipt numbers."""

from __future__ import annotations

from datetime import date

import pytest

from registry.core.config import ConfigError
from registry.intake import receipts
from registry.intake.objections import Calendar, deadline_working_days, due_date
from tests.conftest import make_config


def test_working_days_skip_weekends():
    cal = Calendar()
    friday = date(2026, 11, 27)
    assert cal.add_working_days(friday, 1) == date(2026, 11, 30)  # Monday
    assert cal.add_working_days(friday, 10) == date(2026, 12, 11)
    saturday = date(2026, 11, 28)
    assert cal.add_working_days(saturday, 1) == date(2026, 11, 30)
    assert cal.add_working_days(date(2026, 11, 30), 5) == date(2026, 12, 7)


def test_holidays_and_make_up_working_days():
    config = make_config(
        "sqlite://",
        intake={
            "holidays": ["2026-10-01", "2026-10-02", "2026-10-05"],
            "extra_working_days": ["2026-10-10"],  # a Saturday worked instead
        },
    )
    # Filed Wed 2026-09-30: Oct 1, 2 (holidays), 3-4 weekend, 5 holiday; then
    # 6,7,8,9 (4 days), Sat 10 (5), 12..16 (10).
    assert due_date(config, None, date(2026, 9, 30)) == date(2026, 10, 16)
    assert deadline_working_days(config, None) == 10


def test_deadline_setting_and_its_validation():
    config = make_config("sqlite://", intake={"objection_deadline_working_days": 3})
    assert due_date(config, None, date(2026, 11, 27)) == date(2026, 12, 2)

    class Pack:
        objection_deadline_working_days = 5

    assert deadline_working_days(config, Pack()) == 5  # the pack wins
    bad = make_config("sqlite://", intake={"holidays": ["10/01/2026"]})
    with pytest.raises(ConfigError, match=r"intake.holidays\[0\]"):
        due_date(bad, None, date(2026, 9, 30))


def test_receipts_are_random_forgiving_and_hashed():
    a, b = receipts.new_receipt("objection"), receipts.new_receipt("objection")
    assert a != b
    assert len(a) == len("YY-XXXX-XXXX-XXXX-XXXX")
    assert receipts.kind_of(receipts.new_receipt("complaint")) == "complaint"
    key = b"k" * 32
    digest = receipts.hash_receipt(a, key)
    assert digest is not None
    assert len(digest) == 64
    assert receipts.hash_receipt(f"  {a.lower()} ", key) == digest
    assert receipts.hash_receipt(a.replace("-", " "), key) == digest
    assert receipts.hash_receipt(a, b"another key" * 3) != digest  # keyed
    assert receipts.hash_receipt("YY-123", key) is None
    assert receipts.hash_receipt("XX" + a[2:], key) is None
    assert receipts.hash_receipt(a[:-1] + "U", key) is None  # not in Crockford's alphabet
