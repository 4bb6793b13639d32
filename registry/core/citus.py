"""Where each table lives on a Citus cluster, and how ``credit-registry init --citus``
puts it there (docs/scaling.md).

Three placements:

- **distributed** by the subject's key, colocated with ``entities``: every per-entity
  query (a public profile, a sanctions check of one code, the rules of one subject)
  routes to one shard;
- **reference**: small, read everywhere, written rarely — a copy on every node;
- **local** on the coordinator, the default: global tables (the audit chain must stay
  one linear chain, the change feed's order is global, the dirty queue is claimed with
  ``SKIP LOCKED``), and every table nobody placed — a table added later works on a
  cluster unchanged, as an ordinary table of the coordinator.

A table may also say where it belongs in its model, ``__table_args__ = ({"info":
{"citus": "reference"}},)`` or ``{"citus": ("distributed", "uscc")}``; the table here
wins over the default, the model's ``info`` over the table here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Table, text

#: The table every distributed table is colocated with.
ANCHOR = "entities"

#: table → distribution column, colocated with ``entities`` (``uscc`` holds the subject
#: key, ``P:<person key>`` for a party without a code, in the per-subject tables).
DISTRIBUTED: dict[str, str] = {
    "entities": "uscc",
    "entity_names": "uscc",
    "person_links": "uscc",
    "penalties": "subject_key",
    "penalty_versions": "subject_key",
    "list_entries": "uscc",
    "list_entry_events": "uscc",
    "decisions": "uscc",
    "alerts": "uscc",
    "case_transfers": "uscc",
    "repairs": "uscc",
    "objections": "uscc",
    "credit_grades": "uscc",
    "measure_feedback": "uscc",
}

#: Distributed by another column, in a colocation group of their own: a decision
#: number is unique per authority, whoever the record names.
SEPARATE: dict[str, str] = {"decision_numbers": "authority_uscc"}

#: Copied to every node.
REFERENCE: tuple[str, ...] = ("api_tokens", "rule_packs", "measures", "persons")


@dataclass(frozen=True)
class Placement:
    kind: str  # distributed | separate | reference | local
    column: str | None = None


LOCAL = Placement("local")


def placement(table: Table) -> Placement:
    """Where ``table`` lives on a cluster (local on the coordinator unless placed)."""
    marked = table.info.get("citus")
    if marked == "reference":
        return Placement("reference")
    if marked == "local":
        return LOCAL
    if isinstance(marked, tuple) and marked[0] == "distributed":
        return Placement("distributed", marked[1])
    if table.name in DISTRIBUTED:
        return Placement("distributed", DISTRIBUTED[table.name])
    if table.name in SEPARATE:
        return Placement("separate", SEPARATE[table.name])
    if table.name in REFERENCE:
        return Placement("reference")
    return LOCAL


def has_citus(conn: Connection) -> bool:
    """Whether the database has the ``citus`` extension."""
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).first()
    return found is not None


def worker_count(conn: Connection) -> int:
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' "
                "AND isactive AND shouldhaveshards AND groupid <> 0"
            )
        ).scalar_one()
    )


def _current(conn: Connection) -> dict[str, str]:
    """Tables Citus already manages → their kind (``distributed``/``reference``/…)."""
    rows = conn.execute(text("SELECT table_name::text, citus_table_type FROM citus_tables")).all()
    return {str(row[0]): str(row[1]) for row in rows}


def distribute(conn: Connection, tables: Iterable[Table]) -> list[str]:
    """Make each of ``tables`` what :func:`placement` says; tables already placed are
    left alone (so running it again changes nothing).  Returns what was done, one line
    per table, in Chinese."""
    done: list[str] = []
    current = _current(conn)
    ordered = sorted(tables, key=lambda t: (_order(t), t.name))
    for table in ordered:
        where = placement(table)
        if where.kind == "local" or table.name in current:
            continue
        if where.kind == "reference":
            conn.execute(text("SELECT create_reference_table(:t)"), {"t": table.name})
            done.append(f"{table.name}：参照表（每个节点一份）")
        elif where.kind == "separate":
            conn.execute(
                text("SELECT create_distributed_table(:t, :c, colocate_with => 'none')"),
                {"t": table.name, "c": where.column},
            )
            done.append(f"{table.name}：按 {where.column} 分布（单独的分组）")
        else:
            colocate = "default" if table.name == ANCHOR else ANCHOR
            conn.execute(
                text("SELECT create_distributed_table(:t, :c, colocate_with => :w)"),
                {"t": table.name, "c": where.column, "w": colocate},
            )
            done.append(
                f"{table.name}：按 {where.column} 分布"
                + ("" if table.name == ANCHOR else f"，与 {ANCHOR} 同置")
            )
    return done


def _order(table: Table) -> int:
    """Reference tables first (distributed tables may refer to them), then the anchor
    of the colocation group, then the rest."""
    if table.name == ANCHOR:
        return 1
    return {"reference": 0, "distributed": 2, "separate": 3}.get(placement(table).kind, 4)
