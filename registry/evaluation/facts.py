"""Facts for the rules: what the registry hands to ``rules/`` about penalties and entities.

Everything here reads; nothing writes.  Queries are set-based over a set of subjects
(:class:`Subjects`: a list of keys, or a key range for bulk runs) — never one query per
row — and say the same thing on SQLite and PostgreSQL.

Per penalty (:func:`penalty_rows`, :func:`penalty_facts`): the record's columns the
penalty model reads.  Keyword sets are matched in Python on the fetched rows
(:class:`KeywordMatcher`, memoised per violation type: a register has a few hundred
distinct violation types, so this costs a dictionary lookup a row, where the same test
in SQL costs a ``strpos`` per keyword per row).

Per entity (:func:`entity_aggregates`), exactly as the pack declares them, in SQL:

- ``count``: counted penalties whose violation type contains any keyword of the set
  (and, when the aggregate names severities, whose evaluated severity is one of them);
- ``max_count_within``: the largest number of counted matching penalties whose decision
  dates lie within N months of each other — a self-join: for each penalty ``a`` the
  penalties ``b`` with ``a.decided_on <= b.decided_on <= a.decided_on + N months``;
- ``list_held``: 1 when an entry on the list binds on the as-of day and has been held N
  months (``since + N months <= as_of``);
- ``listed``: how many entries on the named lists bind on the as-of day;

  both in SQL, or — when the caller has loaded the subjects' list entries already (the
  evaluator does) and passes them as ``entries`` — counted from those rows in Python
  with :func:`registry.lists.entries.binds_on`, the twin of the SQL test: the same values and
  ids, and four fewer queries for a one-entity evaluation;
- ``months_since``: whole months from the latest counted (matching) penalty to the as-of
  day; 0 for a subject without one (no track record in the registry).

A ``count`` with ``months`` counts the penalties decided on or after ``as_of - N
months``; one without a keyword set counts every counted penalty.

Month arithmetic is calendar months with the day clamped to the month's end
(``2024-01-31 + 1 month = 2024-02-29``), bounds inclusive — :func:`rules.windows.add_months`
is the reference, and :func:`add_months_sql` writes it for each engine.  So two penalties
exactly 24 months apart lie within 24 months; 24 months and one day apart do not.

A penalty **counts** on the as-of day when it was decided on or before that day and is
not revoked by then (status ``revoked`` with ``revoked_on`` on or before the day, or no
date).  Revoked penalties count for nothing (DOMAIN.md §4 rule 5).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from sqlalchemy import ColumnElement, Date, Float, and_, bindparam, cast, select, text, true
from sqlalchemy.orm import Session

from registry.core.db import is_postgres
from registry.lists.entries import EntryView, binds_on, in_force_on
from registry.lists.models import ListEntry
from registry.records.models import Penalty
from rules import match_keyword_sets
from rules.windows import add_months
from rules.windows import max_count_within as reference_max_count_within

if TYPE_CHECKING:
    from rules import Aggregate, RulePack

#: A subject's aggregates as the engine takes them: ``{name: {"value": n, "ids": [...]}}``.
Aggregates = dict[str, dict[str, Any]]


# --- which subjects ------------------------------------------------------------------


@dataclass(frozen=True)
class Subjects:
    """The subjects a query covers: ``keys`` (sorted, distinct), and for bulk runs a key
    range ``(after, upto]`` holding exactly those keys, which the queries use instead of
    a long ``IN`` list (an index range scan)."""

    keys: tuple[str, ...]
    after: str | None = None
    upto: str | None = None
    ranged: bool = False

    @classmethod
    def of(cls, keys: Iterable[str]) -> Subjects:
        return cls(tuple(sorted(set(keys))))

    @classmethod
    def in_range(cls, keys: Sequence[str], after: str | None, upto: str | None) -> Subjects:
        """Subjects ``keys`` known to be every subject with a key in ``(after, upto]``."""
        return cls(tuple(sorted(set(keys))), after, upto, ranged=True)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def condition(self, column: Any) -> ColumnElement[bool]:
        """SQL condition on ``column`` (a subject key column) for a Core query."""
        if not self.ranged:
            return column.in_(self.keys)
        parts = []
        if self.after is not None:
            parts.append(column > self.after)
        if self.upto is not None:
            parts.append(column <= self.upto)
        return and_(true(), *parts)

    def sql(self, column: str) -> tuple[str, dict[str, Any], bool]:
        """``(condition, parameters, expanding)`` for a text query on ``column``."""
        if not self.ranged:
            return f"{column} IN :subject_keys", {"subject_keys": list(self.keys)}, True
        parts, params = ["1 = 1"], {}
        if self.after is not None:
            parts.append(f"{column} > :subject_after")
            params["subject_after"] = self.after
        if self.upto is not None:
            parts.append(f"{column} <= :subject_upto")
            params["subject_upto"] = self.upto
        return " AND ".join(parts), params, False

    def holds(self, key: str) -> bool:
        return key in self._key_set

    @property
    def _key_set(self) -> frozenset[str]:
        cached = self.__dict__.get("_keys_frozen")
        if cached is None:
            cached = frozenset(self.keys)
            object.__setattr__(self, "_keys_frozen", cached)
        return cached


def subject_page(session: Session, after: str | None, limit: int) -> list[str]:
    """The next ``limit`` subject keys after ``after``, in key order: every subject with a
    penalty or with a proposed or active list entry.  Two index-ordered scans that stop
    early, merged here (a SQL ``UNION`` would sort every remaining key on each page)."""
    found: set[str] = set()
    for column, extra in (
        (Penalty.subject_key, None),
        (ListEntry.uscc, ListEntry.status.in_(("proposed", "active"))),
    ):
        query = select(column).distinct().order_by(column).limit(limit)
        if after is not None:
            query = query.where(column > after)
        if extra is not None:
            query = query.where(extra)
        found.update(session.execute(query).scalars())
    return sorted(found)[:limit]


def count_subjects(session: Session) -> int:
    """How many subjects have penalties (for progress; list-only subjects are few)."""
    from sqlalchemy import func

    return int(session.execute(select(func.count(Penalty.subject_key.distinct()))).scalar_one())


# --- per penalty ---------------------------------------------------------------------


class PenaltyRow(NamedTuple):
    """What the rules read of a penalty, and what they derived last time."""

    id: int
    subject_key: str
    uscc: str | None
    decision_number: str
    decided_on: date
    party_type: str
    categories: list[str]
    fine_wan: float | None
    confiscated_wan: float | None
    business_volume_wan: float | None
    illegal_gains_wan: float | None
    aggravated: bool
    transferred_to_police: bool
    violation_type: str
    status: str
    revoked_on: date | None
    disclosure_deadline: date | None
    authority_uscc: str
    legal_representative_key: str | None
    severity: str | None
    pack_version: str | None
    disclosure_regime: str | None
    disclosure_until: date | None
    repair_allowed_from: date | None
    repairable: bool | None

    def counts_on(self, day: date) -> bool:
        """True when the penalty counts on ``day`` (module docstring)."""
        if self.decided_on > day:
            return False
        return not (
            self.status == "revoked" and (self.revoked_on is None or self.revoked_on <= day)
        )

    def revoked_on_day(self, day: date) -> bool:
        return self.status == "revoked" and (self.revoked_on is None or self.revoked_on <= day)


def _amount_column(column: Any) -> Any:
    # Amounts go to the engine as floats (rules converts Decimals anyway); casting in SQL
    # saves building a Decimal per value on a bulk fetch.
    return cast(column, Float).label(column.key)


_PENALTY_COLUMNS = (
    Penalty.id,
    Penalty.subject_key,
    Penalty.uscc,
    Penalty.decision_number,
    Penalty.decided_on,
    Penalty.party_type,
    Penalty.categories,
    _amount_column(Penalty.fine_wan),
    _amount_column(Penalty.confiscated_wan),
    _amount_column(Penalty.business_volume_wan),
    _amount_column(Penalty.illegal_gains_wan),
    Penalty.aggravated,
    Penalty.transferred_to_police,
    Penalty.violation_type,
    Penalty.status,
    Penalty.revoked_on,
    Penalty.disclosure_deadline,
    Penalty.authority_uscc,
    Penalty.legal_representative_key,
    Penalty.severity,
    Penalty.pack_version,
    Penalty.disclosure_regime,
    Penalty.disclosure_until,
    Penalty.repair_allowed_from,
    Penalty.repairable,
)


def penalty_rows(session: Session, subjects: Subjects) -> list[PenaltyRow]:
    """Every penalty of the subjects (revoked ones too), by subject, date and id."""
    if not subjects:
        return []
    query = (
        select(*_PENALTY_COLUMNS)
        .where(subjects.condition(Penalty.subject_key))
        .order_by(Penalty.subject_key, Penalty.decided_on, Penalty.id)
    )
    rows = [PenaltyRow(*row) for row in session.execute(query)]
    if subjects.ranged:
        rows = [row for row in rows if subjects.holds(row.subject_key)]
    return rows


class KeywordMatcher:
    """The pack's keyword sets a violation type matches, memoised on the text."""

    def __init__(self, pack: RulePack) -> None:
        self.keyword_sets = dict(pack.keyword_sets)
        self._memo: dict[str, tuple[str, ...]] = {}

    def __call__(self, violation_type: str | None) -> tuple[str, ...]:
        key = violation_type or ""
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) > 100_000:
                self._memo.clear()
            found = self._memo[key] = tuple(sorted(match_keyword_sets(self.keyword_sets, key)))
        return found


def penalty_facts(row: PenaltyRow, keyword_sets: Sequence[str]) -> dict[str, Any]:
    """The penalty facts of the rules contract (``rules.evaluate`` module docstring)."""
    return {
        "penalty_id": row.id,
        "decision_number": row.decision_number,
        "decided_on": row.decided_on,
        "party_type": row.party_type,
        "categories": row.categories or [],
        "fine_wan": row.fine_wan,
        "confiscated_wan": row.confiscated_wan,
        "business_volume_wan": row.business_volume_wan,
        "illegal_gains_wan": row.illegal_gains_wan,
        "aggravated": bool(row.aggravated),
        "transferred_to_police": bool(row.transferred_to_police),
        "violation_type": row.violation_type,
        "keyword_sets": list(keyword_sets),
    }


# --- per entity ----------------------------------------------------------------------


def add_months_sql(session: Session, column: str, months_param: str) -> str:
    """SQL for ``column + :months_param`` calendar months, the day clamped to the end of
    the month (the :func:`rules.windows.add_months` rule), as a date on both engines.

    PostgreSQL's ``date + interval 'N months'`` clamps already.  SQLite's date modifiers
    overflow instead (``2024-01-31 +1 month`` is March 2nd), so the day is added to the
    first of the target month and capped at that month's last day."""
    if is_postgres(session):
        return f"CAST({column} + make_interval(months => :{months_param}) AS DATE)"
    return (
        f"min(date({column}, 'start of month', '+' || :{months_param} || ' months', "
        f"'+' || (CAST(strftime('%d', {column}) AS INTEGER) - 1) || ' days'), "
        f"date({column}, 'start of month', '+' || (:{months_param} + 1) || ' months', "
        "'-1 day'))"
    )


class _Sql:
    """A text query assembled from fixed fragments and bound parameters."""

    def __init__(self, session: Session, subjects: Subjects, as_of: date) -> None:
        self.session = session
        self.params: dict[str, Any] = {"as_of": as_of}
        self.subject_sql, subject_params, self.expanding = subjects.sql("p.subject_key")
        self.params.update(subject_params)
        self._keyword_params: dict[str, str] = {}
        self._dates: list[str] = []
        self.contains = "strpos" if is_postgres(session) else "instr"

    def on_or_after(self, name: str, day: date) -> str:
        """``p.decided_on >= day`` with ``day`` bound as a date."""
        self.params[name] = day
        self._dates.append(name)
        return f"p.decided_on >= :{name}"

    def counted(self) -> str:
        return (
            "p.decided_on <= :as_of AND NOT (p.status = 'revoked' AND "
            "(p.revoked_on IS NULL OR p.revoked_on <= :as_of))"
        )

    def matches(self, keywords: Iterable[str]) -> str:
        """Violation type contains any keyword: the plain substring test of
        :func:`rules.match_keyword_sets` (``LIKE`` would treat ``%``/``_`` as wildcards
        and, on SQLite, ignore ASCII case)."""
        tests = []
        for word in keywords:
            name = self._keyword_params.get(word)
            if name is None:
                name = self._keyword_params[word] = f"kw{len(self._keyword_params)}"
                self.params[name] = word
            tests.append(f"{self.contains}(p.violation_type, :{name}) > 0")
        return "(" + " OR ".join(tests or ["1 = 0"]) + ")"

    def severity_in(self, name: str, severities: Sequence[str]) -> str:
        names = []
        for index, severity in enumerate(severities):
            param = f"{name}_sev{index}"
            self.params[param] = severity
            names.append(f":{param}")
        return f"p.severity IN ({', '.join(names)})"

    def run(self, sql: str, **column_types: Any) -> Any:
        statement = text(sql).bindparams(
            bindparam("as_of", type_=Date()),
            *(bindparam(name, type_=Date()) for name in self._dates),
        )
        if self.expanding:
            statement = statement.bindparams(bindparam("subject_keys", expanding=True))
        if column_types:
            return self.session.execute(statement.columns(**column_types), self.params)
        return self.session.execute(statement, self.params)


class EntryRow(EntryView, Protocol):
    """A list entry as the list aggregates read it: a :class:`ListEntry` or the
    evaluator's ``EntryState``."""

    @property
    def id(self) -> int: ...


def entity_aggregates(
    session: Session,
    pack: RulePack,
    subjects: Subjects,
    as_of: date,
    *,
    severity_of: Mapping[int, str | None] | None = None,
    entries: Mapping[str, Sequence[EntryRow]] | None = None,
) -> dict[str, Aggregates]:
    """Every aggregate the pack declares, per subject: ``{subject: {name: {value, ids}}}``.

    Aggregates that are 0 are left out (the engine reads a missing one as 0).  Severity
    filters read the stored, evaluated severity — unless ``severity_of`` (penalty id →
    severity) is given: a preview computes severities under a candidate pack without
    storing them, and the filter is then applied to the rows the same query returns.

    ``entries`` (subject → every list entry of the subject, any status, by id), when
    given, answers the ``list_held`` and ``listed`` aggregates instead of a query each;
    it must hold every entry of every subject as the database has them now."""
    out: dict[str, Aggregates] = defaultdict(dict)
    if not subjects:
        return out
    declared = list(pack.aggregates.values())
    counts = [a for a in declared if a.kind == "count"]
    if counts:
        _counts(session, pack, subjects, as_of, counts, severity_of, out)
    for aggregate in declared:
        if aggregate.kind == "max_count_within":
            _max_count_within(session, pack, subjects, as_of, aggregate, severity_of, out)
        elif aggregate.kind in ("list_held", "listed"):
            if entries is None:
                query = _list_held if aggregate.kind == "list_held" else _listed
                query(session, subjects, as_of, aggregate, out)
            else:
                _list_aggregate_from(entries, subjects, as_of, aggregate, out)
        elif aggregate.kind == "months_since":
            _months_since(session, pack, subjects, as_of, aggregate, out)
    if subjects.ranged:
        for key in [k for k in out if not subjects.holds(k)]:
            del out[key]
    return out


def _counts(
    session: Session,
    pack: RulePack,
    subjects: Subjects,
    as_of: date,
    aggregates: list[Aggregate],
    severity_of: Mapping[int, str | None] | None,
    out: dict[str, Aggregates],
) -> None:
    """Every ``count`` aggregate in one pass: a 0/1 column per aggregate."""
    q = _Sql(session, subjects, as_of)
    tests = []
    for index, aggregate in enumerate(aggregates):
        test = (
            q.matches(pack.keyword_sets[aggregate.keyword_set])
            if aggregate.keyword_set
            else "1 = 1"
        )
        if aggregate.months:
            since = add_months(as_of, -int(aggregate.months))
            test = f"({test} AND {q.on_or_after(f'since{index}', since)})"
        if aggregate.severity and severity_of is None:
            test = f"({test} AND {q.severity_in(f'c{index}', aggregate.severity)})"
        tests.append(test)
    flags = ", ".join(f"CASE WHEN {test} THEN 1 ELSE 0 END AS f{i}" for i, test in enumerate(tests))
    rows = q.run(
        f"SELECT p.subject_key, p.id, {flags} FROM penalties p "
        f"WHERE {q.subject_sql} AND {q.counted()} AND ({' OR '.join(tests)}) "
        "ORDER BY p.subject_key, p.id"
    )
    for row in rows:
        key, penalty_id = row[0], row[1]
        for index, aggregate in enumerate(aggregates):
            if not row[2 + index]:
                continue
            if (
                aggregate.severity
                and severity_of is not None
                and severity_of.get(penalty_id) not in aggregate.severity
            ):
                continue
            item = out[key].setdefault(aggregate.name, {"value": 0, "ids": []})
            item["value"] += 1
            item["ids"].append(penalty_id)


def _max_count_within(
    session: Session,
    pack: RulePack,
    subjects: Subjects,
    as_of: date,
    aggregate: Aggregate,
    severity_of: Mapping[int, str | None] | None,
    out: dict[str, Aggregates],
) -> None:
    q = _Sql(session, subjects, as_of)
    q.params["months"] = int(aggregate.months or 0)
    test = q.matches(pack.keyword_sets[aggregate.keyword_set or ""])
    if aggregate.severity and severity_of is not None:
        # A preview's severities are not stored: take the matching rows and count the
        # windows with the reference function on the rows that pass the filter.
        rows = q.run(
            f"SELECT p.subject_key, p.id, p.decided_on FROM penalties p "
            f"WHERE {q.subject_sql} AND {q.counted()} AND {test} ORDER BY p.subject_key",
            subject_key=Penalty.subject_key.type,
            id=Penalty.id.type,
            decided_on=Date(),
        )
        dated: dict[str, list[tuple[date, int]]] = defaultdict(list)
        for key, penalty_id, decided_on in rows:
            if severity_of.get(penalty_id) in aggregate.severity:
                dated[key].append((decided_on, penalty_id))
        for key, items in dated.items():
            value, ids = reference_max_count_within(items, int(aggregate.months or 0))
            if value:
                out[key][aggregate.name] = {"value": value, "ids": list(ids)}
        return
    if aggregate.severity:
        test = f"{test} AND {q.severity_in('w', aggregate.severity)}"
    limit = add_months_sql(session, "p.decided_on", "months")
    # m: the matching penalties with the end of the window each one opens;
    # w: per opening penalty, how many fall in its window;
    # best: the largest window per subject, the earliest on a tie (rules.windows).
    rows = q.run(
        f"""
        WITH m AS (
            SELECT p.subject_key AS k, p.id AS id, p.decided_on AS d, {limit} AS lim
            FROM penalties p
            WHERE {q.subject_sql} AND {q.counted()} AND {test}
        ),
        w AS (
            SELECT a.k, a.id, a.d, a.lim, count(*) AS n
            FROM m a JOIN m b ON b.k = a.k AND b.d >= a.d AND b.d <= a.lim
            GROUP BY a.k, a.id, a.d, a.lim
        ),
        best AS (
            SELECT k, d, lim, n,
                   row_number() OVER (PARTITION BY k ORDER BY n DESC, d, id) AS rn
            FROM w
        )
        SELECT best.k, best.n, m.id
        FROM best JOIN m ON m.k = best.k AND m.d >= best.d AND m.d <= best.lim
        WHERE best.rn = 1
        ORDER BY best.k, m.d, m.id
        """
    )
    for key, value, penalty_id in rows:
        item = out[key].setdefault(aggregate.name, {"value": int(value), "ids": []})
        item["ids"].append(penalty_id)


def held_since_cutoff(as_of: date, months: int) -> date:
    """The latest ``since`` of an entry held ``months`` months on ``as_of``."""
    from registry.lists.held import held_cutoff

    return held_cutoff(as_of, months)


def _list_held(
    session: Session,
    subjects: Subjects,
    as_of: date,
    aggregate: Aggregate,
    out: dict[str, Aggregates],
) -> None:
    cutoff = held_since_cutoff(as_of, int(aggregate.months or 0))
    rows = session.execute(
        select(ListEntry.uscc, ListEntry.id)
        .where(
            subjects.condition(ListEntry.uscc),
            ListEntry.list_type == aggregate.list_type,
            in_force_on(as_of),
            ListEntry.since <= cutoff,
        )
        .order_by(ListEntry.uscc, ListEntry.id)
    )
    for key, entry_id in rows:
        item = out[key].setdefault(aggregate.name, {"value": 1, "ids": []})
        item["ids"].append(entry_id)


def _listed(
    session: Session,
    subjects: Subjects,
    as_of: date,
    aggregate: Aggregate,
    out: dict[str, Aggregates],
) -> None:
    rows = session.execute(
        select(ListEntry.uscc, ListEntry.id)
        .where(
            subjects.condition(ListEntry.uscc),
            ListEntry.list_type.in_(list(aggregate.list_types)),
            in_force_on(as_of),
        )
        .order_by(ListEntry.uscc, ListEntry.id)
    )
    for key, entry_id in rows:
        item = out[key].setdefault(aggregate.name, {"value": 0, "ids": []})
        item["value"] += 1
        item["ids"].append(entry_id)


def _list_aggregate_from(
    entries: Mapping[str, Sequence[EntryRow]],
    subjects: Subjects,
    as_of: date,
    aggregate: Aggregate,
    out: dict[str, Aggregates],
) -> None:
    """``list_held`` or ``listed`` from loaded entries: what :func:`_list_held` and
    :func:`_listed` select, with :func:`binds_on` for :func:`in_force_on`."""
    if aggregate.kind == "list_held":
        list_types: frozenset[str] = frozenset((aggregate.list_type or "",))
        cutoff: date | None = held_since_cutoff(as_of, int(aggregate.months or 0))
    else:
        list_types, cutoff = frozenset(aggregate.list_types), None
    for key in subjects.keys:
        ids = sorted(
            entry.id
            for entry in entries.get(key, ())
            if entry.list_type in list_types
            and binds_on(entry, as_of)
            and (cutoff is None or (entry.since is not None and entry.since <= cutoff))
        )
        if ids:
            value = 1 if aggregate.kind == "list_held" else len(ids)
            out[key][aggregate.name] = {"value": value, "ids": ids}


def whole_months_between(start: date, end: date) -> int:
    """The largest ``m`` with ``add_months(start, m) <= end`` (0 when ``end < start``)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and add_months(start, months) > end:
        months -= 1
    return max(months, 0)


def _months_since(
    session: Session,
    pack: RulePack,
    subjects: Subjects,
    as_of: date,
    aggregate: Aggregate,
    out: dict[str, Aggregates],
) -> None:
    """A subject without a counted penalty has no track record here: 0 (left out)."""
    q = _Sql(session, subjects, as_of)
    test = q.matches(pack.keyword_sets[aggregate.keyword_set]) if aggregate.keyword_set else "1 = 1"
    rows = q.run(
        f"SELECT p.subject_key, max(p.decided_on) AS latest FROM penalties p "
        f"WHERE {q.subject_sql} AND {q.counted()} AND {test} GROUP BY p.subject_key",
        subject_key=Penalty.subject_key.type,
        latest=Date(),
    )
    for key, day in rows:
        value = whole_months_between(day, as_of)
        if value:
            out[key][aggregate.name] = {"value": value, "ids": []}
