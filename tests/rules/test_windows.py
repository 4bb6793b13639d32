"""The date arithmetic aggregates are defined with (the registry's SQL must agree)."""

from __future__ import annotations

from datetime import date

from rules.windows import add_months, held_for, max_count_within


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2022, 3, 15), 24) == date(2024, 3, 15)
    assert add_months(date(2022, 12, 1), 1) == date(2023, 1, 1)


def test_two_penalties_exactly_24_months_apart_count_together() -> None:
    assert max_count_within([(date(2022, 3, 15), 1), (date(2024, 3, 15), 2)], 24) == (2, (1, 2))


def test_24_months_and_a_day_apart_do_not() -> None:
    count, ids = max_count_within([(date(2022, 3, 15), 1), (date(2024, 3, 16), 2)], 24)
    assert count == 1
    assert len(ids) == 1


def test_largest_group_is_found() -> None:
    dated = [
        (date(2019, 1, 1), 1),
        (date(2022, 1, 1), 2),
        (date(2022, 6, 1), 3),
        (date(2023, 12, 1), 4),
        (date(2025, 1, 1), 5),
    ]
    assert max_count_within(dated, 24) == (3, (2, 3, 4))
    assert max_count_within([], 24) == (0, ())


def test_list_held_for_three_years() -> None:
    assert held_for(date(2023, 11, 29), 36, date(2026, 11, 29))
    assert not held_for(date(2023, 11, 30), 36, date(2026, 11, 29))
