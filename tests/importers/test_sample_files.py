"""The shared sample file, in each format a regulator may send, read and validated
without a database: exactly the 20 known bad lines are rejected, each for its reason,
and the other 180 records are accepted."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from importers.readers import Rejected, open_penalty_file
from registry.records.schema import validate_record
from tests.importers.samples import FORMATS, KINDS, expected, line_offset, write_sample


def _validate_file(path: Path) -> tuple[list[dict], dict[int, list[tuple[str, str]]]]:
    accepted: list[dict] = []
    problems: dict[int, list[tuple[str, str]]] = defaultdict(list)
    with open_penalty_file(path) as source:
        for line, raw in source:
            if isinstance(raw, Rejected):
                problems[line].extend(raw.problems)
                continue
            record, errors = validate_record(raw)
            if errors:
                problems[line].extend(errors)
            else:
                accepted.append(record)
    return accepted, problems


@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_rejects_exactly_the_known_bad_lines(fmt, shared_dir, tmp_path, today):
    expect = expected(shared_dir)
    path = write_sample(shared_dir, tmp_path, fmt)

    accepted, problems = _validate_file(path)

    offset = line_offset(fmt)
    bad = {b["line"] + offset: b["why"] for b in expect["bad"]}
    assert sorted(problems) == sorted(bad)
    assert len(accepted) == expect["valid"] == 180
    for line, why in bad.items():
        field, word = KINDS[why]
        assert any(f == field and word in reason for f, reason in problems[line]), (
            line,
            why,
            problems[line],
        )


@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_records_are_the_same_whatever_the_format(fmt, shared_dir, tmp_path, today):
    reference, _ = _validate_file(write_sample(shared_dir, tmp_path, "csv-gb18030"))
    accepted, _ = _validate_file(write_sample(shared_dir, tmp_path, fmt))

    assert accepted == reference


def test_sample_amounts_are_decimals_never_floats(shared_dir, tmp_path, today):
    accepted, _ = _validate_file(write_sample(shared_dir, tmp_path, "xlsx"))

    first = accepted[0]
    assert first["fine_wan"] == Decimal("0.2405")
    assert isinstance(first["fine_wan"], Decimal)
    assert not any(isinstance(v, float) for rec in accepted for v in rec.values())
