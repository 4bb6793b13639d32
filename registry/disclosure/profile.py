"""The public profile of one entity (``GET /api/v1/public/entities/<uscc>``, the
entity page): one statement per lookup, prepared once per connection on PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from sqlalchemy import (
    BindParameter,
    Date,
    Numeric,
    String,
    Text,
    any_,
    bindparam,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.codes import validate_uscc
from registry.core.db import DatabaseUnavailable, is_postgres
from registry.lists.entries import in_force_on
from registry.lists.models import ListEntry
from registry.records.disclosure import disclosed_on
from registry.records.export import mask_name
from registry.records.models import Entity, Penalty

if TYPE_CHECKING:
    from rules import RulePack
    from rules.model import ListType
from registry.disclosure.entries import (
    ENTRY_COLUMNS,
    GROUND_COLUMNS,
    OBJECTION_COLUMNS,
    ground_where,
    grounds_by_id,
    objected,
    objection_where,
    public_entry,
    read_extras,
)
from registry.disclosure.views import (
    NATURAL_PERSON,
    default_pack,
    facts_of,
    public_lists,
    public_penalty,
)
from registry.intake.models import Objection


def penalty_dict(penalty: Penalty) -> dict[str, Any]:
    """A disclosed penalty as the public sees it (the caller checked it is disclosed):
    no ID numbers, person keys, remarks or enforcement extensions; persons' names
    masked."""
    return public_penalty({name: getattr(penalty, name) for name in PENALTY_NAMES})


# --- one entity ----------------------------------------------------------------------


_DAY = bindparam("day", type_=Date)
_CODE: BindParameter[str] = bindparam("code", type_=String)
#: Built once: only the columns the answer needs, no ORM objects, no identity map.
_PROFILE_ENTITY = select(Entity.name, Entity.party_type, Entity.division_code).where(
    Entity.uscc == _CODE
)
_PROFILE_LISTS = (
    select(*ENTRY_COLUMNS)
    .where(
        ListEntry.uscc == _CODE,
        ListEntry.list_type.in_(bindparam("list_types", expanding=True)),
        in_force_on(_DAY),  # type: ignore[arg-type]
    )
    .order_by(ListEntry.since, ListEntry.id)
)
_PROFILE_PENALTIES = (
    select(
        Penalty.id,
        Penalty.uscc,
        Penalty.party_name,
        Penalty.party_type,
        Penalty.legal_representative,
        Penalty.decision_number,
        Penalty.authority,
        Penalty.authority_uscc,
        Penalty.violation_type,
        Penalty.facts,
        Penalty.basis,
        Penalty.categories,
        Penalty.content,
        Penalty.fine_wan,
        Penalty.confiscated_wan,
        Penalty.licence_affected,
        Penalty.decided_on,
        Penalty.disclosure_until,
        Penalty.severity,
        Penalty.repair_allowed_from,
        Penalty.repairable,
        Penalty.source_unit,
    )
    # The subject key too (it is the code when there is one): on Citus it names the
    # shard, so the whole profile is one single-shard statement.
    .where(Penalty.subject_key == _CODE, Penalty.uscc == _CODE, disclosed_on(_DAY))  # type: ignore[arg-type]
    .order_by(Penalty.decided_on.desc(), Penalty.id.desc())
)


def _json_rows(columns: Sequence[Any], where: Sequence[Any], order_by: Sequence[Any]) -> Any:
    """PostgreSQL: the matching rows as one JSON text, each row an array of ``columns``
    in order (numbers as text, so no float ever carries an amount)."""
    items = [cast(c, Text) if isinstance(c.type, Numeric) else c for c in columns]
    rows = func.json_agg(aggregate_order_by(func.json_build_array(*items), *order_by))
    return select(func.coalesce(cast(rows, Text), literal("[]"))).where(*where).scalar_subquery()


_LIST_COLUMNS = _PROFILE_LISTS.selected_columns
_PENALTY_COLUMNS = _PROFILE_PENALTIES.selected_columns
#: PostgreSQL: the whole profile in one statement (one round trip): the entity's row with
#: its list entries and disclosed penalties as JSON — the same conditions and order as
#: the three statements above, which serve SQLite.  The public list types come as one
#: array parameter, so the statement's text does not depend on the pack and it can be
#: prepared once per connection.
_PROFILE_ONE = select(
    Entity.name,
    Entity.party_type,
    Entity.division_code,
    _json_rows(
        list(_LIST_COLUMNS),
        [
            ListEntry.uscc == _CODE,
            ListEntry.list_type == any_(bindparam("list_types", type_=ARRAY(String))),
            in_force_on(_DAY),  # type: ignore[arg-type]
        ],
        [ListEntry.since, ListEntry.id],
    ).label("lists"),
    _json_rows(
        list(_PENALTY_COLUMNS),
        [Penalty.subject_key == _CODE, Penalty.uscc == _CODE, disclosed_on(_DAY)],  # type: ignore[arg-type]
        [Penalty.decided_on.desc(), Penalty.id.desc()],
    ).label("penalties"),
    _json_rows(list(GROUND_COLUMNS), ground_where(_CODE, _DAY), [Penalty.id]).label("grounds"),
    _json_rows(list(OBJECTION_COLUMNS), objection_where(_CODE), [Objection.id]).label("objections"),
).where(Entity.uscc == _CODE)

#: The server-side name of the prepared profile statement.
PROFILE_STATEMENT = "registry_public_profile"
_PREPARED = "registry.public.profile_prepared"
_PROFILE_PARAMS = (("code", "text"), ("day", "date"), ("list_types", "text[]"))


@functools.cache
def profile_statement_sql() -> str:
    """:data:`_PROFILE_ONE` as PostgreSQL text with ``$1`` (code), ``$2`` (day) and ``$3``
    (the public list types) — for ``PREPARE`` (and for the benchmark's pgbench)."""
    from sqlalchemy.dialects import postgresql

    # The statement's own constants (statuses, '[]') rendered inline; the three
    # parameters rendered from sentinels that are then swapped for $n.
    sentinels = {"code": "'__code__'", "day": "'1111-11-11'", "list_types": "ARRAY['__types__']"}
    statement = _PROFILE_ONE.params(
        code="__code__", day=date(1111, 11, 11), list_types=["__types__"]
    )
    sql = str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    for n, (name, _type) in enumerate(_PROFILE_PARAMS, 1):
        if sentinels[name] not in sql:  # pragma: no cover - the statement changed shape
            raise RuntimeError(f"parameter {name} not found in the profile statement")
        sql = sql.replace(sentinels[name], f"${n}")
    return " ".join(sql.split())


def _prepare_sql() -> str:
    types = ", ".join(t for _name, t in _PROFILE_PARAMS)
    return f"PREPARE {PROFILE_STATEMENT} ({types}) AS {profile_statement_sql()}"


class _EntityRow(NamedTuple):
    name: str
    party_type: str
    division_code: str | None
    lists: str | bytes  # JSON: text from psycopg2, bytes from libpq
    penalties: str | bytes
    grounds: str | bytes
    objections: str | bytes


def read_profile_row(
    connection: Connection, code: str, day: date, list_types: Sequence[str]
) -> _EntityRow | None:
    """PostgreSQL: the profile's one row, by the statement prepared on this connection
    (prepared on first use and kept for the connection's life: a lookup then costs the
    server no parsing or planning — planning this statement takes ~4 times as long as
    running it).  Its ``info`` remembers the preparation; a connection the pool replaces
    starts afresh.  Run through SQLAlchemy, so that a connection the server dropped is
    recognised, invalidated and reported as such (the view then retries once on a new
    one).  Behind a pooler that resets server sessions between transactions (PgBouncer
    in transaction mode), named prepared statements do not survive: point the registry
    at PostgreSQL itself."""
    if not connection.info.get(_PREPARED):
        connection.exec_driver_sql(_prepare_sql())
        connection.info[_PREPARED] = True
    row = connection.exec_driver_sql(
        f"EXECUTE {PROFILE_STATEMENT} (%s, %s, %s)", (code, day, list(list_types) or [""])
    ).first()
    return None if row is None else _EntityRow(*row)


class LibpqProfile:
    """PostgreSQL: one connection of libpq's own (psycopg 3's ``pq`` layer), with the
    profile statement prepared on it at the protocol level — what ``pgbench -M prepared``
    does.  psycopg2 can only send SQL text, so its lookups are ``EXECUTE name (...)``
    statements the server parses, and whose argument expressions it evaluates, every
    time: measured on the benchmark's database, the protocol-level execution costs the
    server ~40 µs and the client ~30 µs less per lookup.  Values come back as bytes (the
    JSON columns go to orjson without decoding).  Not thread-safe: one per thread
    (:mod:`api.public.fastpath`).  Raises :class:`registry.core.db.DatabaseUnavailable` when it
    cannot connect or prepare, :class:`RuntimeError` when a lookup fails."""

    def __init__(self, conninfo: str) -> None:
        from psycopg import pq

        self._ok = pq.ExecStatus.TUPLES_OK
        self._bad = pq.ConnStatus.BAD
        self.pgconn = pq.PGconn.connect(conninfo.encode())
        try:
            if self.pgconn.status != pq.ConnStatus.OK:
                raise DatabaseUnavailable(_pq_error(self.pgconn.error_message))
            done = self.pgconn.prepare(PROFILE_STATEMENT.encode(), profile_statement_sql().encode())
            if done.status != pq.ExecStatus.COMMAND_OK:
                raise DatabaseUnavailable(_pq_error(done.error_message))
        except BaseException:
            self.pgconn.finish()
            raise
        self._name = PROFILE_STATEMENT.encode()
        self._day: tuple[date, bytes] | None = None
        self._types: tuple[tuple[str, ...], bytes] | None = None

    def row(self, code: str, day: date, list_types: Sequence[str]) -> _EntityRow | None:
        """The profile's one row (JSON columns as bytes), or None for an unknown code."""
        if self._day is None or self._day[0] != day:
            self._day = (day, day.isoformat().encode())
        types = tuple(list_types)
        if self._types is None or self._types[0] != types:
            self._types = (types, _text_array(types))
        result = self.pgconn.exec_prepared(
            self._name, [code.encode(), self._day[1], self._types[1]]
        )
        try:
            if result.status != self._ok:
                raise RuntimeError(_pq_error(result.error_message or self.pgconn.error_message))
            if not result.ntuples:
                return None
            name, party_type, division, lists, penalties, grounds, objections = (
                result.get_value(0, i) for i in range(7)
            )
            return _EntityRow(
                (name or b"").decode(),
                (party_type or b"").decode(),
                None if division is None else division.decode(),
                lists or b"[]",
                penalties or b"[]",
                grounds or b"[]",
                objections or b"[]",
            )
        finally:
            result.clear()

    @property
    def broken(self) -> bool:
        return bool(self.pgconn.status == self._bad)

    def close(self) -> None:
        self.pgconn.finish()


def _pq_error(message: bytes | None) -> str:
    return (message or b"").decode("utf-8", "replace").strip() or "PostgreSQL error"


def _text_array(items: Sequence[str]) -> bytes:
    """A ``text[]`` parameter in PostgreSQL's array input syntax."""
    quoted = ('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items)
    return ("{" + ",".join(quoted) + "}").encode()


class _Row:
    """A row read back from JSON, with the attribute access the builders use."""

    def __init__(self, names: Sequence[str], values: Sequence[Any]) -> None:
        # Dates stay as PostgreSQL's JSON wrote them: ISO 8601, what the answer shows.
        self.__dict__.update(zip(names, values, strict=True))


_LIST_NAMES = tuple(str(c.key) for c in _LIST_COLUMNS)
PENALTY_NAMES = tuple(str(c.key) for c in _PENALTY_COLUMNS)


def _rows_from_json(text_: str | bytes, names: Sequence[str]) -> list[_Row]:
    return [_Row(names, values) for values in orjson.loads(text_)]


_Read = tuple[Any, Sequence[Any], list[dict[str, Any]], Sequence[Any], Sequence[Any]]


def _read_profile(
    session: Session, code: str, day: date, lists: Mapping[str, Any], *, single: bool
) -> _Read | None:
    """The entity's row, its public list entries and disclosed penalties (as the public
    sees them, :func:`penalty_dict`): in one statement (``single``, PostgreSQL) or three
    (any engine)."""
    entries: Sequence[Any]
    if single:
        return _read_one(session.connection(), code, day, lists)
    entity = session.execute(_PROFILE_ENTITY, {"code": code}).first()
    if entity is None:
        return None
    entries = (
        session.execute(_PROFILE_LISTS, {"code": code, "day": day, "list_types": list(lists)}).all()
        if lists
        else []
    )
    penalties = session.execute(_PROFILE_PENALTIES, {"code": code, "day": day}).all()
    grounds, objections = read_extras(session, code, day)
    return entity, entries, [public_penalty(p._mapping) for p in penalties], grounds, objections


def public_profile(
    session: Session, uscc: str, as_of: date | None = None, *, pack: RulePack | None = None
) -> dict[str, Any] | None:
    """The disclosed profile of the entity with code ``uscc`` on ``as_of`` (default
    today): code, name, what the code says (region, registering authority, entity type),
    the public lists it is on, and its penalties disclosed that day, newest first.

    Raises :class:`~registry.core.codes.CodeError` for a malformed code (its ``check`` says
    which check failed); returns ``None`` for a well-formed code the registry does not
    know.

    The hot path of the public lookup: prebuilt Core statements (compiled once, then
    served from SQLAlchemy's cache), plain rows, no ORM objects.  The conditions are
    :func:`~registry.lists.entries.in_force_on` and
    :func:`~registry.records.disclosure.disclosed_on` themselves, bound to the day."""
    code = validate_uscc(uscc)
    day = as_of or clock.today()
    lists = public_lists(pack)
    read = _read_profile(session, code, day, lists, single=is_postgres(session))
    if read is None:
        return None
    return _profile_dict(code, day, lists, pack or default_pack(), *read)


def public_profile_on(
    connection: LibpqProfile, uscc: str, day: date, pack: RulePack
) -> dict[str, Any] | None:
    """:func:`public_profile` on a :class:`LibpqProfile` connection to PostgreSQL,
    without a session: the public API's lookup path (``api.public.fastpath``).  Same answer,
    same errors."""
    code = validate_uscc(uscc)
    lists = public_lists(pack)
    read = _read_one(connection, code, day, lists)
    return None if read is None else _profile_dict(code, day, lists, pack, *read)


def _read_one(
    connection: Connection | LibpqProfile, code: str, day: date, lists: Mapping[str, Any]
) -> _Read | None:
    """PostgreSQL: the entity's row, its public list entries and disclosed penalties (as
    the public sees them), from the one prepared statement."""
    if isinstance(connection, LibpqProfile):
        row = connection.row(code, day, tuple(lists))
    else:
        row = read_profile_row(connection, code, day, list(lists))
    if row is None:
        return None
    entries = _rows_from_json(row.lists, _LIST_NAMES) if lists else []
    penalties = [
        public_penalty(dict(zip(PENALTY_NAMES, values, strict=True)))
        for values in orjson.loads(row.penalties)
    ]
    return row, entries, penalties, orjson.loads(row.grounds), orjson.loads(row.objections)


def _profile_dict(
    code: str,
    day: date,
    lists: Mapping[str, ListType],
    pack: RulePack,
    entity: Any,
    entries: Sequence[Any],
    penalties: list[dict[str, Any]],
    grounds: Sequence[Any],
    objections: Sequence[Any],
) -> dict[str, Any]:
    """The answer: the list entries as :func:`registry.disclosure.entries.public_entry`
    builds them, and each record marked when an objection to it is open."""
    objected_penalties, objected_entries = objected(objections)
    for penalty in penalties:
        penalty["under_objection"] = penalty["id"] in objected_penalties
    by_id = grounds_by_id(grounds) if entries else {}
    disclosed = [p["id"] for p in penalties]
    name = entity.name
    if entity.party_type == NATURAL_PERSON:
        name = mask_name(name) or ""
    return {
        "uscc": code,
        "name": name,
        "party_type": entity.party_type,
        **dict(facts_of(code[:8])),  # the code is valid: checked by the caller
        "lists": [
            public_entry(e, lists, pack, by_id, objected_entries, disclosed) for e in entries
        ],
        "penalties": penalties,  # public dicts already
        "as_of": day.isoformat(),
    }
