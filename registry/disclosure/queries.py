"""Public search, published lists and the public change feed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    and_,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.changefeed import settled_id
from registry.core.errors import NotFound
from registry.core.models import Change
from registry.lists.entries import binds_on, in_force_on
from registry.lists.models import ListEntry
from registry.records.disclosure import disclosed_on, is_disclosed
from registry.records.export import CursorError, decode_cursor, encode_cursor, mask_name
from registry.records.models import Entity, Penalty, Person
from registry.records.search import analyse_query, escape_like

if TYPE_CHECKING:
    from rules import RulePack
    from rules.model import ListType
from registry.disclosure.profile import penalty_dict
from registry.disclosure.views import (
    PERSON_PREFIX,
    InvalidCursor,
    code_facts,
    entity_name,
    iso_day,
    list_entry_dict,
    lists_of,
    page_bounds,
    public_lists,
)

_LIKE_ESCAPE = "\\"


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
    (:mod:`registry.records.search`).  Code matches come first, then exact and leading name
    matches, then shorter names.  Each item carries what the code says, the public lists
    the entity is on and how many penalties are disclosed on ``as_of``."""
    query = analyse_query(q)
    if query.empty:
        return [], 0
    offset, limit = page_bounds(page, per_page)
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
    fragment_match: Any = None
    if query.code_fragment:
        # Any contiguous part of a code (a trigram index serves it on PostgreSQL).
        fragment_match = Entity.uscc.like(
            f"%{escape_like(query.code_fragment, _LIKE_ESCAPE)}%", escape=_LIKE_ESCAPE
        )
        conditions.append(fragment_match)
    if query.terms:
        # A name typed in parts (成都 化妆品): every part somewhere in the name.
        conditions.append(
            and_(*(_contains(Entity.name, term, fold_case=True) for term in query.terms))
        )
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
        *([(fragment_match, 0)] if fragment_match is not None else []),
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
    listed = lists_of(session, keys, day, lists)
    counts = dict(
        session.execute(
            select(Penalty.uscc, func.count())
            .where(Penalty.uscc.in_(keys), disclosed_on(day))
            .group_by(Penalty.uscc)
        ).all()
    )
    items = []
    for entity in entities:
        by_code = (bool(query.code_prefix) and entity.uscc.startswith(query.code_prefix or "")) or (
            bool(query.code_fragment) and (query.code_fragment or "") in entity.uscc
        )
        items.append(
            {
                "uscc": entity.uscc,
                "name": entity_name(entity),
                "party_type": entity.party_type,
                **code_facts(entity.uscc, entity.division_code),
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


#: How a published list can be ordered: newest first, oldest first, by name (pinyin).
LIST_SORTS = ("date", "date_asc", "name")


def published_list(
    session: Session,
    list_type: str,
    page: int = 1,
    per_page: int = 50,
    as_of: date | None = None,
    *,
    pack: RulePack | None = None,
    sort: str = "date",
    region: str | None = None,
    authority: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The entries of public list ``list_type`` binding on ``as_of`` (default today),
    and their total: each with what the public is told about it
    (:func:`registry.disclosure.entries.public_entry`) and the entity's code, name and
    region.  ``sort``: :data:`LIST_SORTS`; ``region``: a province's two digits (or a
    longer division prefix); ``authority``: the listing authority's code.  Raises
    :class:`~registry.core.errors.NotFound` for a list the pack does not know or does
    not publish."""
    lists = public_lists(pack)
    if list_type not in lists:
        raise NotFound(f"没有公开的名单“{list_type}”", details={"list_type": list_type})
    offset, limit = page_bounds(page, per_page)
    day = as_of or clock.today()
    where = _list_where(list_type, day, region, authority)
    total = session.execute(
        select(func.count())
        .select_from(ListEntry)
        .outerjoin(Entity, Entity.uscc == ListEntry.uscc)
        .where(where)
    ).scalar_one()
    if sort == "name":
        order: list[Any] = [
            func.coalesce(Entity.name_pinyin, Entity.name, ListEntry.uscc),
            ListEntry.id,
        ]
    elif sort == "date_asc":
        order = [ListEntry.since, ListEntry.id]
    else:
        order = [ListEntry.since.desc(), ListEntry.id.desc()]
    rows = session.execute(
        select(ListEntry, Entity)
        .outerjoin(Entity, Entity.uscc == ListEntry.uscc)
        .where(where)
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    ).all()
    return _published_items(session, rows, lists, pack, day), int(total)


def _list_where(list_type: str, day: date, region: str | None, authority: str | None) -> Any:
    conditions = [ListEntry.list_type == list_type, in_force_on(day)]
    if region:
        conditions.append(Entity.division_code.like(escape_like(region, _LIKE_ESCAPE) + "%"))
    if authority:
        conditions.append(ListEntry.authority_uscc == authority)
    return and_(*conditions)


def _published_items(
    session: Session,
    rows: Sequence[Any],
    lists: Mapping[str, ListType],
    pack: RulePack | None,
    day: date,
) -> list[dict[str, Any]]:
    from registry.disclosure.entries import entries_for
    from registry.disclosure.views import default_pack

    facts = entries_for(session, [e for e, _ in rows], lists, pack or default_pack(), day)
    persons = _person_names(session, [e.uscc for e, _ in rows])
    items = []
    for entry, entity in rows:
        if entity is not None:
            name: str | None = entity_name(entity)
            code: str | None = entity.uscc
            where = code_facts(entity.uscc, entity.division_code)
        else:
            name, code = persons.get(entry.uscc), None
            where = {"region": None, "division_code": None}
            if not entry.uscc.startswith(PERSON_PREFIX):
                code = entry.uscc
                where = code_facts(code)
        items.append(
            {
                **facts[entry.id],
                "kind": lists[entry.list_type].kind,
                "uscc": code,
                "name": name,
                "region": where.get("region"),
            }
        )
    return items


def list_filters(
    session: Session, list_type: str, as_of: date | None = None
) -> dict[str, list[dict[str, str]]]:
    """What a published list can be filtered by on ``as_of``: the provinces of the
    listed entities and the listing authorities (by the name their records give them)."""
    from registry.core.codes import region_of

    day = as_of or clock.today()
    where = and_(ListEntry.list_type == list_type, in_force_on(day))
    provinces = session.execute(
        select(Entity.province_code)
        .join(ListEntry, ListEntry.uscc == Entity.uscc)
        .where(where)
        .distinct()
        .order_by(Entity.province_code)
    ).scalars()
    regions = []
    for province in provinces:
        label = region_of(f"{province}0000").label if province else None
        if label:
            regions.append({"value": province, "label": label})
    named = session.execute(
        select(ListEntry.authority_uscc, func.min(Penalty.authority))
        .join(
            Penalty,
            and_(
                # the subject key (the code, when there is one) keeps the join on one
                # shard per entity on Citus
                Penalty.subject_key == ListEntry.uscc,
                Penalty.uscc == ListEntry.uscc,
                Penalty.authority_uscc == ListEntry.authority_uscc,
            ),
        )
        .where(where, ListEntry.authority_uscc.is_not(None))
        .group_by(ListEntry.authority_uscc)
    ).all()
    authorities = sorted(
        ({"value": code, "label": name} for code, name in named if code),
        key=lambda a: a["label"],
    )
    return {"regions": regions, "authorities": authorities}


def published_list_all(
    session: Session,
    list_type: str,
    as_of: date | None = None,
    *,
    pack: RulePack | None = None,
    sort: str = "date",
    region: str | None = None,
    authority: str | None = None,
    limit: int = 100_000,
) -> list[dict[str, Any]]:
    """Every entry of a published list (for its CSV download), page by page."""
    out: list[dict[str, Any]] = []
    page = 1
    while len(out) < limit:
        items, total = published_list(
            session,
            list_type,
            page,
            100,
            as_of,
            pack=pack,
            sort=sort,
            region=region,
            authority=authority,
        )
        out.extend(items)
        if not items or len(out) >= total:
            break
        page += 1
    return out[:limit]


def _person_names(session: Session, keys: Iterable[str]) -> dict[str, str | None]:
    person_keys = {k: k[len(PERSON_PREFIX) :] for k in keys if k.startswith(PERSON_PREFIX)}
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
    # Up to where the feed is settled (registry.core.changefeed): a change still being written
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
        if change.uscc.startswith(PERSON_PREFIX):
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
            record = {**list_entry_dict(entry, lists), "uscc": entry.uscc} if visible else None
        elif change.kind == "entity":
            entity = entities.get(change.uscc)
            if entity is None:
                out.append(None)
                continue
            visible = True
            record = {"uscc": entity.uscc, "name": entity_name(entity)}
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
                "at": iso_day(change.at),
                "disclosed": visible,
                "record": record,
            }
        )
    return out
