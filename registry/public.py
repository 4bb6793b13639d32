"""The public read model: what anyone may see, for the public pages and the public API.

One place decides what is public, so the web pages, the JSON API and anything else that
shows registry data to the public give the same answer:

- a penalty is shown on day D only while it is disclosed on D
  (:func:`registry.lifecycle.disclosed_on` — never a revoked record, never one outside its
  disclosure window or after credit repair);
- a list entry is shown only on a list the rule pack marks public, and only while it
  binds on D (:func:`registry.lists.in_force_on` — never a proposed or rejected entry);
- ID numbers never leave this module (they are not even read), and natural persons'
  names are masked (``张*``);
- dates are ISO 8601 strings and amounts decimal strings in 万元, so every door
  serialises them alike.

Functions here only read; they take the caller's session and never commit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from sqlalchemy import (
    BindParameter,
    Date,
    Numeric,
    String,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from registry import clock
from registry.changefeed import settled_id
from registry.codes import CodeError, head_facts, region_of, validate_uscc
from registry.db import DatabaseUnavailable, is_postgres
from registry.errors import DomainError, NotFound
from registry.export import CursorError, decode_cursor, encode_cursor, mask_name
from registry.lifecycle import disclosed_on, is_disclosed
from registry.lists import binds_on, in_force_on
from registry.models import Change, Entity, ListEntry, Penalty, Person
from registry.records import format_amount
from registry.search import analyse_query, escape_like

if TYPE_CHECKING:
    from rules import RulePack
    from rules.model import ListType

__all__ = [
    "MAX_PER_PAGE",
    "InvalidCursor",
    "changes_since",
    "mask_name",
    "public_lists",
    "public_profile",
    "published_list",
    "search_entities",
]

#: Largest page any public listing returns.
MAX_PER_PAGE = 100
NATURAL_PERSON = "natural_person"
_PERSON_PREFIX = "P:"
_LIKE_ESCAPE = "\\"


class InvalidCursor(DomainError):
    """A change-feed cursor this registry did not hand out."""

    status, code = 400, "invalid_cursor"


# --- helpers -------------------------------------------------------------------------


@functools.cache
def _default_pack() -> RulePack:
    from rules import DEFAULT_PACK_PATH, load_pack

    return load_pack(DEFAULT_PACK_PATH)


def public_lists(pack: RulePack | None = None) -> dict[str, ListType]:
    """The list types the pack publishes (``public: true``), by id.  Callers with a
    runtime pass ``runtime.pack``; without one the shipped default pack is used."""
    pack = pack or _default_pack()
    return {key: list_type for key, list_type in pack.lists.items() if list_type.public}


def _iso(value: date | datetime | str | None) -> str | None:
    """ISO 8601; a date read back from PostgreSQL's JSON is ISO 8601 already."""
    return value if value is None or isinstance(value, str) else value.isoformat()


def _amount(value: Decimal | str | None) -> str | None:
    """Canonical amount text (:func:`~registry.records.format_amount`); an amount read
    back from PostgreSQL's JSON is ``numeric`` text (plain digits, never an exponent)
    and is trimmed as text, without a round trip through Decimal."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value.rstrip("0").rstrip(".") or "0") if "." in value else value
    return format_amount(value)


def _page_bounds(page: int, per_page: int) -> tuple[int, int]:
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    page = max(1, int(page))
    return (page - 1) * per_page, per_page


def _code_facts(uscc: str, division_code: str | None = None) -> dict[str, Any]:
    """What the code itself says: region (positions 3-8), registering authority
    (position 1) and entity type (position 2)."""
    try:
        code = validate_uscc(uscc)
    except CodeError:
        region = region_of(division_code) if division_code and division_code.isdigit() else None
        return {
            "region": region.label if region else None,
            "division_code": division_code,
            "registration_authority": None,
            "entity_type": None,
        }
    return dict(_facts_of(code[:8]))


@functools.lru_cache(maxsize=4096)
def _facts_of(head: str) -> tuple[tuple[str, Any], ...]:
    """The facts of a valid code's first 8 characters (authority, entity type, division):
    a few thousand combinations, worked out once each."""
    authority, entity_type, region = head_facts(head)
    return (
        ("region", region.label or None),
        ("division_code", region.division_code),
        ("registration_authority", authority),
        ("entity_type", entity_type),
    )


def _entity_name(entity: Entity) -> str:
    if entity.party_type == NATURAL_PERSON:
        return mask_name(entity.name) or ""
    return entity.name


def _list_entry_dict(entry: ListEntry, lists: Mapping[str, ListType]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "list_type": entry.list_type,
        "title": lists[entry.list_type].title,
        "since": _iso(entry.since),
        "until": _iso(entry.until),
    }


def penalty_dict(penalty: Penalty) -> dict[str, Any]:
    """A disclosed penalty as the public sees it (the caller checked it is disclosed):
    no ID numbers, person keys, remarks or enforcement extensions; persons' names
    masked."""
    return _public_penalty({name: getattr(penalty, name) for name in _PENALTY_NAMES})


def _public_penalty(row: Mapping[Any, Any]) -> dict[str, Any]:
    """:func:`penalty_dict` of the profile statement's penalty columns by name — from a
    penalty or row (dates and Decimals), or from the statement's JSON (ISO dates and
    amount text: the public lookup's hot loop)."""
    person = row["party_type"] == NATURAL_PERSON
    return {
        "id": row["id"],
        "uscc": row["uscc"],
        "party_name": mask_name(row["party_name"]) if person else row["party_name"],
        "party_type": row["party_type"],
        "legal_representative": None if person else mask_name(row["legal_representative"]),
        "decision_number": row["decision_number"],
        "authority": row["authority"],
        "authority_uscc": row["authority_uscc"],
        "violation_type": row["violation_type"],
        "facts": row["facts"],
        "basis": row["basis"],
        "categories": list(row["categories"] or []),
        "content": row["content"],
        "fine_wan": _amount(row["fine_wan"]),
        "confiscated_wan": _amount(row["confiscated_wan"]),
        "licence_affected": row["licence_affected"],
        "decided_on": _iso(row["decided_on"]),
        "disclosure_until": _iso(row["disclosure_until"]),
        "severity": row["severity"],
        "repair_allowed_from": _iso(row["repair_allowed_from"]) if row["repairable"] else None,
    }


def _lists_of(
    session: Session, keys: Sequence[str], day: date, lists: Mapping[str, ListType]
) -> dict[str, list[ListEntry]]:
    out: dict[str, list[ListEntry]] = {key: [] for key in keys}
    if not keys or not lists:
        return out
    rows = session.execute(
        select(ListEntry)
        .where(ListEntry.uscc.in_(list(keys)), ListEntry.list_type.in_(list(lists)))
        .where(in_force_on(day))
        .order_by(ListEntry.since, ListEntry.id)
    ).scalars()
    for entry in rows:
        if binds_on(entry, day):
            out[entry.uscc].append(entry)
    return out


# --- one entity ----------------------------------------------------------------------


_DAY = bindparam("day", type_=Date)
_CODE: BindParameter[str] = bindparam("code", type_=String)
#: Built once: only the columns the answer needs, no ORM objects, no identity map.
_PROFILE_ENTITY = select(Entity.name, Entity.party_type, Entity.division_code).where(
    Entity.uscc == _CODE
)
_PROFILE_LISTS = (
    select(ListEntry.id, ListEntry.list_type, ListEntry.since, ListEntry.until)
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
    )
    .where(Penalty.uscc == _CODE, disclosed_on(_DAY))  # type: ignore[arg-type]
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
        [Penalty.uscc == _CODE, disclosed_on(_DAY)],  # type: ignore[arg-type]
        [Penalty.decided_on.desc(), Penalty.id.desc()],
    ).label("penalties"),
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
    (:mod:`api.fastpath`).  Raises :class:`registry.db.DatabaseUnavailable` when it
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
            name, party_type, division, lists, penalties = (
                result.get_value(0, i) for i in range(5)
            )
            return _EntityRow(
                (name or b"").decode(),
                (party_type or b"").decode(),
                None if division is None else division.decode(),
                lists or b"[]",
                penalties or b"[]",
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
_PENALTY_NAMES = tuple(str(c.key) for c in _PENALTY_COLUMNS)


def _rows_from_json(text_: str | bytes, names: Sequence[str]) -> list[_Row]:
    return [_Row(names, values) for values in orjson.loads(text_)]


def _read_profile(
    session: Session, code: str, day: date, lists: Mapping[str, Any], *, single: bool
) -> tuple[Any, Sequence[Any], list[dict[str, Any]]] | None:
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
    return entity, entries, [_public_penalty(p._mapping) for p in penalties]


def public_profile(
    session: Session, uscc: str, as_of: date | None = None, *, pack: RulePack | None = None
) -> dict[str, Any] | None:
    """The disclosed profile of the entity with code ``uscc`` on ``as_of`` (default
    today): code, name, what the code says (region, registering authority, entity type),
    the public lists it is on, and its penalties disclosed that day, newest first.

    Raises :class:`~registry.codes.CodeError` for a malformed code (its ``check`` says
    which check failed); returns ``None`` for a well-formed code the registry does not
    know.

    The hot path of the public lookup: prebuilt Core statements (compiled once, then
    served from SQLAlchemy's cache), plain rows, no ORM objects.  The conditions are
    :func:`~registry.lists.in_force_on` and :func:`~registry.lifecycle.disclosed_on`
    themselves, bound to the day."""
    code = validate_uscc(uscc)
    day = as_of or clock.today()
    lists = public_lists(pack)
    read = _read_profile(session, code, day, lists, single=is_postgres(session))
    if read is None:
        return None
    return _profile_dict(code, day, lists, *read)


def public_profile_on(
    connection: LibpqProfile, uscc: str, day: date, pack: RulePack
) -> dict[str, Any] | None:
    """:func:`public_profile` on a :class:`LibpqProfile` connection to PostgreSQL,
    without a session: the public API's lookup path (``api.fastpath``).  Same answer,
    same errors."""
    code = validate_uscc(uscc)
    lists = public_lists(pack)
    read = _read_one(connection, code, day, lists)
    return None if read is None else _profile_dict(code, day, lists, *read)


def _read_one(
    connection: Connection | LibpqProfile, code: str, day: date, lists: Mapping[str, Any]
) -> tuple[_EntityRow, list[_Row], list[dict[str, Any]]] | None:
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
        _public_penalty(dict(zip(_PENALTY_NAMES, values, strict=True)))
        for values in orjson.loads(row.penalties)
    ]
    return row, entries, penalties


def _profile_dict(
    code: str,
    day: date,
    lists: Mapping[str, ListType],
    entity: Any,
    entries: Sequence[Any],
    penalties: list[dict[str, Any]],
) -> dict[str, Any]:
    name = entity.name
    if entity.party_type == NATURAL_PERSON:
        name = mask_name(name) or ""
    return {
        "uscc": code,
        "name": name,
        "party_type": entity.party_type,
        **dict(_facts_of(code[:8])),  # the code is valid: checked by the caller
        "lists": [_list_entry_dict(e, lists) for e in entries],
        "penalties": penalties,  # public dicts already
        "as_of": day.isoformat(),
    }


# --- search --------------------------------------------------------------------------


def _contains(column: Any, needle: str, *, fold_case: bool) -> Any:
    pattern = f"%{escape_like(needle, _LIKE_ESCAPE)}%"
    if fold_case:
        return column.ilike(pattern, escape=_LIKE_ESCAPE)
    return column.like(pattern, escape=_LIKE_ESCAPE)


def search_entities(
    session: Session,
    q: str,
    page: int = 1,
    per_page: int = 20,
    *,
    as_of: date | None = None,
    pack: RulePack | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Entities whose code starts with ``q`` or whose name contains it, and the total.

    The name match forgives a missing or different legal-form suffix (有限公司 …),
    half-width brackets, and pinyin or initials typed instead of characters
    (:mod:`registry.search`).  Code matches come first, then exact and leading name
    matches, then shorter names.  Each item carries what the code says, the public lists
    the entity is on and how many penalties are disclosed on ``as_of``."""
    query = analyse_query(q)
    if query.empty:
        return [], 0
    offset, limit = _page_bounds(page, per_page)
    day = as_of or clock.today()

    conditions = []
    code_match: Any = None
    if query.code_prefix:
        prefix = query.code_prefix
        # The range lets a B-tree on the primary key serve the prefix on both engines
        # ('Z' is outside the code alphabet, so it sorts after every code character);
        # LIKE keeps the answer exact under any collation.
        code_match = and_(
            Entity.uscc >= prefix,
            Entity.uscc < prefix + "Z",
            Entity.uscc.like(escape_like(prefix, _LIKE_ESCAPE) + "%", escape=_LIKE_ESCAPE),
        )
        conditions.append(code_match)
    for variant in query.names:
        has_latin = any(ch.isascii() and ch.isalpha() for ch in variant)
        conditions.append(_contains(Entity.name, variant, fold_case=has_latin))
    if query.latin:
        # name_pinyin may have been written with spaces between syllables; compare
        # without them.
        spelled = func.replace(func.coalesce(Entity.name_pinyin, ""), " ", "")
        conditions.append(_contains(spelled, query.latin, fold_case=False))
        conditions.append(_contains(Entity.name_initials, query.latin, fold_case=False))
    where = or_(*conditions)

    total = session.execute(select(func.count()).select_from(Entity).where(where)).scalar_one()
    if not total:
        return [], 0

    first = query.names[0]
    rank = case(
        *([(code_match, 0)] if code_match is not None else []),
        (Entity.name == first, 1),
        (Entity.name.like(escape_like(first, _LIKE_ESCAPE) + "%", escape=_LIKE_ESCAPE), 2),
        else_=3,
    )
    entities = (
        session.execute(
            select(Entity)
            .where(where)
            .order_by(rank, func.length(Entity.name), Entity.uscc)
            .offset(offset)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    keys = [e.uscc for e in entities]
    lists = public_lists(pack)
    listed = _lists_of(session, keys, day, lists)
    counts = dict(
        session.execute(
            select(Penalty.uscc, func.count())
            .where(Penalty.uscc.in_(keys), disclosed_on(day))
            .group_by(Penalty.uscc)
        ).all()
    )
    items = []
    for entity in entities:
        by_code = bool(query.code_prefix) and entity.uscc.startswith(query.code_prefix or "")
        items.append(
            {
                "uscc": entity.uscc,
                "name": _entity_name(entity),
                "party_type": entity.party_type,
                **_code_facts(entity.uscc, entity.division_code),
                "lists": [
                    {"list_type": e.list_type, "title": lists[e.list_type].title}
                    for e in listed[entity.uscc]
                ],
                "penalty_count": int(counts.get(entity.uscc, 0)),
                "matched_by": "code" if by_code else "name",
            }
        )
    return items, int(total)


# --- a published list ----------------------------------------------------------------


def published_list(
    session: Session,
    list_type: str,
    page: int = 1,
    per_page: int = 50,
    as_of: date | None = None,
    *,
    pack: RulePack | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The entries of public list ``list_type`` binding on ``as_of`` (default today),
    newest first, and their total.  Raises :class:`~registry.errors.NotFound` for a list
    the pack does not know or does not publish."""
    lists = public_lists(pack)
    if list_type not in lists:
        raise NotFound(f"没有公开的名单“{list_type}”", details={"list_type": list_type})
    offset, limit = _page_bounds(page, per_page)
    day = as_of or clock.today()
    where = and_(ListEntry.list_type == list_type, in_force_on(day))
    total = session.execute(select(func.count()).select_from(ListEntry).where(where)).scalar_one()
    rows = session.execute(
        select(ListEntry, Entity)
        .outerjoin(Entity, Entity.uscc == ListEntry.uscc)
        .where(where)
        .order_by(ListEntry.since.desc(), ListEntry.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    persons = _person_names(session, [e.uscc for e, _ in rows])
    items = []
    for entry, entity in rows:
        if entity is not None:
            name: str | None = _entity_name(entity)
            code: str | None = entity.uscc
            facts = _code_facts(entity.uscc, entity.division_code)
        else:
            name, code = persons.get(entry.uscc), None
            facts = {"region": None, "division_code": None}
            if not entry.uscc.startswith(_PERSON_PREFIX):
                code = entry.uscc
                facts = _code_facts(code)
        items.append(
            {
                **_list_entry_dict(entry, lists),
                "uscc": code,
                "name": name,
                "region": facts.get("region"),
            }
        )
    return items, int(total)


def _person_names(session: Session, keys: Iterable[str]) -> dict[str, str | None]:
    person_keys = {k: k[len(_PERSON_PREFIX) :] for k in keys if k.startswith(_PERSON_PREFIX)}
    if not person_keys:
        return {}
    names = dict(
        session.execute(
            select(Person.person_key, Person.name).where(
                Person.person_key.in_(list(person_keys.values()))
            )
        ).all()
    )
    return {key: mask_name(names.get(pk)) for key, pk in person_keys.items()}


# --- the change feed -----------------------------------------------------------------


def _was_disclosed(penalty: Penalty, day: date) -> bool:
    """Whether ``penalty`` was disclosed on some day up to ``day`` (so the public may
    have seen it and must hear that it changed or left)."""
    if penalty.disclosure_until is None:
        return False
    last = min(penalty.disclosure_until, day)
    first = penalty.decided_on
    if penalty.status == "revoked":
        if penalty.revoked_on is None:
            return False
        last = min(last, penalty.revoked_on - timedelta(days=1))
    elif penalty.status != "active":
        return False
    if penalty.repaired_on is not None:
        last = min(last, penalty.repaired_on - timedelta(days=1))
    return first <= last


def changes_since(
    session: Session,
    cursor: str | None,
    limit: int = 100,
    *,
    as_of: date | None = None,
    pack: RulePack | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Changes of publicly disclosed data after ``cursor`` (None: from the start), oldest
    first, at most ``limit``, and the cursor to pass next time (the same cursor when
    nothing new happened).

    Each item says what changed (``kind`` penalty | list_entry | entity, ``object_id``,
    ``action``) and carries the public ``record`` as it is now, or ``record: null`` with
    ``disclosed: false`` when it has left the public view (revoked, repaired, window or
    term ended) so a mirror drops it.  Changes the public never saw — undisclosed
    penalties, proposed or rejected entries, non-public lists, natural persons'
    records — are skipped.  The cursor is opaque (base64 of the last change id, the same
    cursor ``credit-registry export --since`` takes)."""
    if cursor:
        try:
            after = decode_cursor(cursor)
        except CursorError as exc:
            raise InvalidCursor(exc.message, details={"cursor": cursor}) from None
    else:
        after = 0
    limit = max(1, min(int(limit), 1000))
    day = as_of or clock.today()
    lists = public_lists(pack)
    items: list[dict[str, Any]] = []
    scanned_to = after
    # Up to where the feed is settled (registry.changefeed): a change still being written
    # below the newest id must not be passed.  Still in flight after two seconds: nothing
    # new this time, the same cursor back.
    settled = settled_id(session, wait=2.0)
    if settled is None:
        settled = after
    # Skipped rows still move the cursor; scanning stops after a bounded amount of work.
    for _round in range(20):
        changes = (
            session.execute(
                select(Change)
                .where(Change.id > scanned_to, Change.id <= settled)
                .order_by(Change.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
        if not changes:
            break
        for change, item in zip(changes, _feed_items(session, changes, day, lists), strict=True):
            scanned_to = change.id
            if item is not None:
                items.append(item)
                if len(items) >= limit:
                    break
        if len(items) >= limit or len(changes) < limit:
            break
    next_cursor = encode_cursor(scanned_to) if scanned_to else (cursor or encode_cursor(0))
    return items, next_cursor


def _feed_items(
    session: Session, changes: Sequence[Change], day: date, lists: Mapping[str, ListType]
) -> list[dict[str, Any] | None]:
    def ids(kind: str) -> list[int]:
        return [c.object_id for c in changes if c.kind == kind and c.object_id is not None]

    penalties = {
        p.id: p
        for p in session.execute(select(Penalty).where(Penalty.id.in_(ids("penalty")))).scalars()
    }
    entries = {
        e.id: e
        for e in session.execute(
            select(ListEntry).where(ListEntry.id.in_(ids("list_entry")))
        ).scalars()
    }
    entity_keys = [c.uscc for c in changes if c.kind == "entity"]
    entities = {
        e.uscc: e
        for e in session.execute(select(Entity).where(Entity.uscc.in_(entity_keys))).scalars()
    }
    out: list[dict[str, Any] | None] = []
    for change in changes:
        record: dict[str, Any] | None = None
        visible = False
        if change.uscc.startswith(_PERSON_PREFIX):
            out.append(None)
            continue
        if change.kind == "penalty":
            penalty = penalties.get(change.object_id or -1)
            if penalty is None or penalty.uscc is None or not _was_disclosed(penalty, day):
                out.append(None)
                continue
            visible = is_disclosed(penalty, day)
            record = penalty_dict(penalty) if visible else None
        elif change.kind == "list_entry":
            entry = entries.get(change.object_id or -1)
            if (
                entry is None
                or entry.list_type not in lists
                or entry.status not in ("active", "removed")
                or entry.since is None
                or entry.since > day
            ):
                out.append(None)
                continue
            visible = binds_on(entry, day)
            record = {**_list_entry_dict(entry, lists), "uscc": entry.uscc} if visible else None
        elif change.kind == "entity":
            entity = entities.get(change.uscc)
            if entity is None:
                out.append(None)
                continue
            visible = True
            record = {"uscc": entity.uscc, "name": _entity_name(entity)}
        else:
            out.append(None)
            continue
        out.append(
            {
                "id": change.id,
                "kind": change.kind,
                "uscc": change.uscc,
                "object_id": change.object_id,
                "action": change.action,
                "at": _iso(change.at),
                "disclosed": visible,
                "record": record,
            }
        )
    return out
