"""Fuzzing: hypothesis strategies for codes and records through the validator, the
importer and the API, and a schemathesis stateful run over the API's links.

Properties:
- a valid USCC validates to itself, also lower-cased, full-width or with spaces and
  hyphens; any single-character substitution, a dropped or an extra character is
  refused with a ``CodeError`` naming its check;
- ``validate_record`` never raises: it accepts a record or names, for each problem, a
  field of the record schema (unknown keys are named as themselves);
- a file of generated rows imports without a crash: every row is accepted or rejected,
  and every rejection in the report names a field and a reason;
- ``POST /api/v1/penalties`` with generated records never answers 5xx: 201/200, or 422
  in the error shape whose details name only fields of the record;
- the stateful run chains the API's documented links (create a penalty → read it →
  revoke it, lists → entries …) with every answer conforming to the document.

Examples are bounded (derandomised, no example database) so the whole file runs in
about a minute.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.core.codes import (
    ALPHABET,
    CodeError,
    body_check_character,
    uscc_check_character,
    validate_uscc,
)
from registry.records.schema import RECORD_FIELDS, validate_record
from tests.importers.samples import good_record

FAST = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
SLOW = settings(FAST, max_examples=25)

DIVISIONS = ("110105", "310115", "440305", "330106", "320506", "510104", "420102", "650102")
REGISTRARS = ("11", "12", "13", "19", "51", "52", "53", "59", "91", "92", "93", "Y1")


@st.composite
def usccs(draw) -> str:
    """Valid codes: a real registrar/type pair, a real division, any body."""
    body = "".join(draw(st.lists(st.sampled_from(ALPHABET), min_size=8, max_size=8)))
    first17 = draw(st.sampled_from(REGISTRARS)) + draw(st.sampled_from(DIVISIONS))
    first17 += body + body_check_character(body)
    return first17 + uscc_check_character(first17)


@st.composite
def near_usccs(draw) -> str:
    """Codes one edit away from valid: a substitution, a deletion or an insertion."""
    code = draw(usccs())
    pos = draw(st.integers(0, 17))
    kind = draw(st.sampled_from(("substitute", "delete", "insert")))
    if kind == "substitute":
        other = draw(st.sampled_from(ALPHABET).filter(lambda c: c != code[pos]))
        return code[:pos] + other + code[pos + 1 :]
    if kind == "delete":
        return code[:pos] + code[pos + 1 :]
    return code[:pos] + draw(st.sampled_from(ALPHABET)) + code[pos:]


def _full_width(code: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in code)


@FAST
@given(code=usccs(), spelling=st.sampled_from(("as-is", "lower", "full-width", "spaced")))
def test_valid_codes_validate_in_every_spelling(code, spelling):
    given_as = {
        "as-is": code,
        "lower": code.lower(),
        "full-width": _full_width(code),
        "spaced": f" {code[:8]} {code[8:12]}-{code[12:]} ",
    }[spelling]
    assert unicodedata.normalize("NFKC", _full_width(code)) == code
    assert validate_uscc(given_as) == code


@FAST
@given(code=near_usccs())
def test_codes_one_edit_away_are_refused_naming_the_check(code):
    with pytest.raises(CodeError) as caught:
        validate_uscc(code)
    assert caught.value.check in (
        "length",
        "character",
        "authority",
        "division",
        "check",
        "body_check",
    )
    assert caught.value.message


# --- records ---------------------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_VALUES = st.one_of(
    st.none(),
    _TEXT,
    st.sampled_from(["", " ", "=1+1", "-1", "0", "9" * 30, "2025-02-30", "NaN", "Infinity"]),
    st.integers(-(10**20), 10**20).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.dates(date(1900, 1, 1), date(2100, 1, 1)).map(date.isoformat),
    usccs(),
    near_usccs(),
)
_FIELDS = (*RECORD_FIELDS, "not_a_field")


@st.composite
def raw_records(draw) -> dict:
    """A good record with some fields replaced by anything (or removed)."""
    record = good_record()
    for name in draw(st.lists(st.sampled_from(_FIELDS), max_size=5, unique=True)):
        value = draw(_VALUES)
        if value is None:
            record.pop(name, None)
        else:
            record[name] = value
    return record


@FAST
@given(raw=raw_records())
def test_validate_record_accepts_or_names_the_field(raw, today):
    record, problems = validate_record(raw)
    if record is None:
        assert problems
        for name, reason in problems:
            assert name in _FIELDS or name == "_record", name
            assert reason
    else:
        assert problems == []
        assert record["decided_on"] <= today


def _csv_of(records: list[dict]) -> bytes:
    fields = sorted({k for r in records for k in r})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode("utf-8")


@pytest.mark.slow
def test_generated_files_import_without_a_crash(rt, today):
    from importers.run import ReportWriter, import_file

    @SLOW
    @given(records=st.lists(raw_records(), min_size=1, max_size=6))
    def check(records):
        for i, r in enumerate(records):  # distinct keys: a repeat is a different test
            r["decision_number"] = f"{r.get('decision_number', '')}-{i}"
        report = io.StringIO()
        summary = import_file(
            rt,
            io.BytesIO(_csv_of(records)),
            name="fuzz.csv",
            report=ReportWriter(report),
            actor="fuzz",
        )
        if summary.fatal is not None:
            # Every row lacks a required column: the file is refused, naming it.
            assert "缺少必需的列" in summary.fatal, summary.fatal
            assert not summary.written
            return
        assert summary.rows == len(records)
        assert summary.created + summary.updated + summary.unchanged + summary.rejected == len(
            records
        )
        rows = list(csv.reader(io.StringIO(report.getvalue())))[1:]
        assert len({line for line, _n, _f, _r in rows}) == summary.rejected
        for _line, _number, field_name, reason in rows:
            assert field_name
            assert reason

    check()


@pytest.mark.slow
def test_api_write_never_fails_on_generated_records(client, today):
    from tests.api.factories import ApiFactory
    from tests.importers.samples import AUTHORITY_USCC

    def token() -> dict:
        s = client.application.extensions["registry"].sessions()
        factory = ApiFactory(s)
        made = factory.token("regulator", AUTHORITY_USCC)
        factory.commit()
        s.close()
        return made.headers

    headers = token()
    seen: list[str] = []

    @SLOW
    @given(raw=raw_records())
    def check(raw):
        raw["decision_number"] = f"{raw.get('decision_number', '')}-{len(seen)}"
        seen.append(raw["decision_number"])
        resp = client.post("/api/v1/penalties", json=raw, headers=headers)
        assert resp.status_code < 500, resp.get_data(as_text=True)
        body = resp.get_json()
        if resp.status_code in (200, 201):
            return
        assert set(body) == {"error"}, body
        error = body["error"]
        assert error["code"] in ("invalid", "forbidden", "bad_request"), error
        assert error["message"]
        if resp.status_code == 422:
            named = set(error["details"])
            assert named, error
            assert named <= set(_FIELDS) | {"_schema", "_record"}, named

    check()


# --- schemathesis stateful ---------------------------------------------------------------


@pytest.mark.slow
def test_stateful_api_workflows(rt, database_url, today):
    from api import create_app
    from registry.core.runtime import Runtime
    from tests.api.factories import ApiFactory
    from tests.api.test_schemathesis import CHECKS, _role
    from tests.conftest import _empty_all_tables, make_config

    tokens: dict[str | None, dict[str, str]] = {None: {}}

    def seed() -> None:
        """The same starting registry for every scenario: the state machine's choices
        depend on what the API answered, so leftovers from the previous scenario would
        make hypothesis see a strategy that depends on external state."""
        _empty_all_tables(rt)
        s = rt.sessions()
        factory = ApiFactory(s)
        authority = factory.authority()
        regulator = factory.token("regulator", authority)
        department = factory.token("department", None, name="市财政局政府采购处")
        entity = factory.entity()
        penalty = factory.penalty(entity.uscc, authority)
        entry = factory.entry(entity.uscc, authority_uscc=authority, basis=[penalty.id])
        factory.decision(entry, [penalty.id])
        factory.alert(penalty)
        factory.commit()
        s.close()
        tokens.update(regulator=regulator.headers, department=department.headers)

    runtime = Runtime(make_config(database_url, api={"public_rate_limit": "1000000/minute"}))
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    base = schema.as_state_machine()

    class Workflow(base):  # type: ignore[misc, valid-type]
        def setup(self):
            seed()

        def get_call_kwargs(self, case):
            return {"headers": tokens[_role(case.operation.path)]}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS[:4])

    try:
        Workflow.run(
            settings=settings(
                max_examples=25,
                stateful_step_count=5,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
        )
    finally:
        runtime.dispose()


@FAST
@given(value=st.text(max_size=12))
def test_csv_formula_guard_round_trips_any_text(value):
    from importers.readers import _unguard
    from registry.records.export import safe_cell

    guarded = safe_cell(value)
    assert not guarded.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert _unguard(guarded) == value
