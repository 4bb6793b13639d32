"""Applying a plan: derived penalty columns, alerts, entry changes with their dated
events and decisions, person links and the audit entries — in the caller's transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    CursorResult,
    Result,
    bindparam,
    insert,
    text,
    update,
)
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.db import is_citus, is_postgres
from registry.core.models import Change, UTCDateTime
from registry.evaluation.models import Alert, Decision
from registry.lists.entries import entry_terms, is_public_list, snapshot
from registry.lists.models import ListEntry, ListEntryEvent
from registry.records.models import Penalty
from rules import RulePack

if TYPE_CHECKING:
    pass
from registry.evaluation.plan import (
    INELIGIBLE,
    AlertOpening,
    Derived,
    EntryAction,
    EntryState,
    PenaltyChange,
)

log = logging.getLogger(__name__)
#: Up to this many new entries in a transaction get an audit entry each; more (bulk
#: runs) get one audit entry per batch listing them all.
_AUDIT_EACH_UP_TO = 50


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE/DELETE touched.  Session.execute is typed as returning a
    Result; for those statements it is a CursorResult, which has ``rowcount``."""
    return cast(CursorResult[Any], result).rowcount


def write_penalties(session: Session, changes: list[PenaltyChange]) -> int:
    """Store the derived columns of changed penalties; returns how many were written.

    PostgreSQL: one ``UPDATE … FROM unnest(arrays)``, skipping rows a writer holds locked
    (that writer queues the subject again in its own transaction, so nothing is lost)."""
    if not changes:
        return 0
    if is_postgres(session):
        # Citus locks rows only within one shard: there the update waits for a writer's
        # row lock rather than skipping it, and names each row's subject (its shard).
        citus = is_citus(session)
        guard = (
            "p.subject_key = v.subject_key"
            if citus
            else "p.id IN (SELECT id FROM penalties WHERE id = ANY(CAST(:ids AS bigint[])) "
            "FOR UPDATE SKIP LOCKED)"
        )
        result = session.execute(
            text(
                f"""
                UPDATE penalties p SET severity = v.severity,
                    disclosure_until = v.disclosure_until,
                    repair_allowed_from = v.repair_allowed_from, repairable = v.repairable,
                    pack_version = v.pack_version, disclosure_regime = v.disclosure_regime
                FROM unnest(CAST(:ids AS bigint[]), CAST(:severity AS text[]),
                            CAST(:until AS date[]), CAST(:allowed AS date[]),
                            CAST(:repairable AS boolean[]), CAST(:version AS text[]),
                            CAST(:regime AS text[]), CAST(:subjects AS text[]))
                     AS v(id, severity, disclosure_until, repair_allowed_from, repairable,
                          pack_version, disclosure_regime, subject_key)
                WHERE p.id = v.id AND {guard}
                """
            ),
            {
                "ids": [c.penalty_id for c in changes],
                "severity": [c.after.severity for c in changes],
                "until": [c.after.disclosure_until for c in changes],
                "allowed": [c.after.repair_allowed_from for c in changes],
                "repairable": [c.after.repairable for c in changes],
                "version": [c.after.pack_version for c in changes],
                "regime": [c.after.disclosure_regime for c in changes],
                "subjects": [c.subject_key for c in changes],
            },
        )
        return int(rowcount(result))
    table = Penalty.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("pid"))
        .values(**{name: bindparam(f"v_{name}") for name in Derived._fields}),
        [
            {"pid": c.penalty_id, **{f"v_{k}": v for k, v in c.after._asdict().items()}}
            for c in changes
        ],
        execution_options={"synchronize_session": False},
    )
    return len(changes)


def penalty_audit(
    session: Session, changes: list[PenaltyChange], actor: str, version: str
) -> list[audit.AuditEvent]:
    """One audit entry per batch listing every penalty whose derived columns changed, and
    a change-feed row where an already evaluated penalty's disclosure window moved."""
    moved = [
        {"uscc": c.subject_key, "kind": "penalty", "object_id": c.penalty_id}
        for c in changes
        if c.before.pack_version is not None
        and c.before.disclosure_until != c.after.disclosure_until
    ]
    if moved:
        now = clock.now()
        session.execute(
            insert(Change.__table__),
            [{**m, "action": "disclosure_changed", "at": now} for m in moved],
        )
    subjects = {c.subject_key for c in changes}
    return [
        audit.AuditEvent(
            actor=actor,
            action="penalties.evaluated",
            object_type="penalty",
            object_id=changes[0].penalty_id if len(changes) == 1 else None,
            uscc=next(iter(subjects)) if len(subjects) == 1 else None,
            after=_penalty_audit_body(changes, version),
        )
    ]


def _penalty_audit_body(changes: list[PenaltyChange], version: str) -> dict[str, Any]:
    """The ids by severity; for a few records (incremental runs) each one's new values.
    The values follow from the record version and the pack version, both kept."""
    by_severity: dict[str, list[int]] = defaultdict(list)
    for c in changes:
        by_severity[c.after.severity or "-"].append(c.penalty_id)
    body: dict[str, Any] = {
        "pack_version": version,
        "count": len(changes),
        "by_severity": dict(by_severity),
    }
    if len(changes) <= 50:
        body["penalties"] = {
            str(c.penalty_id): {
                "severity": c.after.severity,
                "disclosure_until": c.after.disclosure_until,
                "repair_allowed_from": c.after.repair_allowed_from,
                "repairable": c.after.repairable,
                "regime": c.after.disclosure_regime,
            }
            for c in changes
        }
    return body


def open_alerts(
    session: Session, alerts: list[AlertOpening], version: str, actor: str
) -> list[audit.AuditEvent]:
    if not alerts:
        return []
    # RETURNING the natural key instead of sort_by_parameter_order: SQLAlchemy would
    # split the insert into many small statements to keep the order.
    alerts_table = Alert.__table__
    returned = session.execute(
        insert(alerts_table).returning(
            alerts_table.c.id, alerts_table.c.uscc, alerts_table.c.kind, alerts_table.c.penalty_id
        ),
        [
            {
                "uscc": a.subject_key,
                "kind": a.kind,
                "penalty_id": a.penalty_id,
                "decision_number": a.decision_number,
                "authority_uscc": a.authority_uscc,
                "rule_id": a.rule_id,
                "pack_version": version,
                "threshold": audit.to_jsonable(a.threshold),
                "status": "open",
            }
            for a in alerts
        ],
    )
    by_key = {(uscc, kind, pid): alert_id for alert_id, uscc, kind, pid in returned}
    ids = [by_key[(a.subject_key, a.kind, a.penalty_id)] for a in alerts]
    subjects = {a.subject_key for a in alerts}
    return [
        audit.AuditEvent(
            actor=actor,
            action="alerts.opened",
            object_type="alert",
            object_id=ids[0] if len(ids) == 1 else None,
            uscc=next(iter(subjects)) if len(subjects) == 1 else None,
            after={
                "count": len(ids),
                # [alert id, penalty id, kind, authority]
                "alerts": [
                    [alert_id, a.penalty_id, a.kind, a.authority_uscc]
                    for alert_id, a in zip(ids, alerts, strict=True)
                ],
            },
        )
    ]


_EVENT = {
    "propose": "proposed",
    "activate": "activated",
    "refresh": "basis_updated",
    "withdraw": "withdrawn",
    "remove": "removed",
}


def apply_actions(
    session: Session,
    pack: RulePack,
    actions: list[EntryAction],
    today: date,
    now: Any,
    actor: str,
) -> list[audit.AuditEvent]:
    """Write the entry changes with their events, decisions, change-feed rows; returns
    their audit events.  Set-based: one statement per kind of row."""
    if not actions:
        return []
    created = [a for a in actions if a.action in ("propose", "activate")]
    if created:
        new_rows: list[dict[str, Any]] = []
        terms: dict[str, tuple[date | None, date]] = {}
        for a in created:
            since = until = early = None
            if a.action == "activate":
                since = today
                if a.list_type not in terms:
                    terms[a.list_type] = entry_terms(pack, a.list_type, today)
                until, early = terms[a.list_type]
            new_rows.append(
                {
                    "uscc": a.subject_key,
                    "list_type": a.list_type,
                    "status": "active" if a.action == "activate" else "proposed",
                    "rule_id": a.rule_id,
                    "pack_version": pack.version,
                    "authority_uscc": a.authority_uscc,
                    "basis_penalty_ids": list(a.basis_ids),
                    "proposed_on": today,
                    "since": since,
                    "until": until,
                    "early_removal_from": early,
                }
            )
        # one new entry per (subject, list) in a batch: the natural key maps the ids back
        entries = ListEntry.__table__
        returned = session.execute(
            insert(entries).returning(entries.c.id, entries.c.uscc, entries.c.list_type),
            new_rows,
        )
        by_key = {(uscc, list_type): entry_id for entry_id, uscc, list_type in returned}
        ids = [by_key[(row["uscc"], row["list_type"])] for row in new_rows]
        for entry_id, row, a in zip(ids, new_rows, created, strict=True):
            a.entry = EntryState(
                id=entry_id,
                confirmed_by=None,
                ended_on=None,
                ended_by=None,
                end_reason=None,
                **row,
            )
    befores: dict[int, dict[str, Any]] = {}
    table = ListEntry.__table__
    applied: list[EntryAction] = []
    for a in actions:
        if a.action in ("propose", "activate") or a.entry is None:
            applied.append(a)
            continue
        # Row by row, guarded by the status read (these are few): a regulator who
        # confirmed, rejected or removed the entry meanwhile wins, and the change is
        # left for the next evaluation to reconsider.
        entry = a.entry
        if a.action == "refresh":
            values: dict[str, Any] = {
                "basis_penalty_ids": list(a.basis_ids),
                "pack_version": pack.version,
            }
        else:
            values = {
                "status": "rejected" if a.action == "withdraw" else "removed",
                "ended_on": today,
                "ended_by": actor,
                "end_reason": a.end_reason,
            }
        done = session.execute(
            update(table)
            .where(table.c.id == entry.id, table.c.status == entry.status)
            .values(**values)
            .returning(table.c.id),
            execution_options={"synchronize_session": False},
        ).first()
        if done is None:
            log.info("list entry %s changed while being evaluated; left as it is", entry.id)
            continue
        befores[entry.id] = {**snapshot(entry), "basis_penalty_ids": list(entry.basis_penalty_ids)}
        for name, value in values.items():
            setattr(entry, name, value)
        applied.append(a)
    actions[:] = applied

    event_rows, decision_rows, change_rows, events = [], [], [], []
    for a in actions:
        assert a.entry is not None  # every action has its entry by now
        entry = a.entry
        reason = (
            f"basis_revoked: {', '.join(map(str, a.revoked_ids))}"
            if a.revoked_ids
            else f"{INELIGIBLE}: {a.rule_id}: {a.rule_title}"
            if a.end_reason == INELIGIBLE
            else f"{a.rule_id}: {a.rule_title}"
        )
        event_rows.append(
            {
                "list_entry_id": entry.id,
                "uscc": entry.uscc,
                "event": _EVENT[a.action],
                "on_date": today,
                "at": now,
                "actor": actor,
                "reason": reason,
            }
        )
        public_change = {"activate": "activated", "remove": "removed"}.get(a.action)
        if public_change and is_public_list(pack, entry.list_type):
            change_rows.append(
                {
                    "uscc": entry.uscc,
                    "kind": "list_entry",
                    "object_id": entry.id,
                    "action": public_change,
                    "at": now,
                }
            )
        decision_rows.extend(_decision_rows(a, entry, pack.version, now))
        after = {**snapshot(entry), "basis_penalty_ids": list(entry.basis_penalty_ids)}
        after.update(rule_id=a.rule_id, reason=reason)
        after = {k: v for k, v in after.items() if v is not None}
        if a.basis_entry_ids:
            after["basis_list_entry_ids"] = list(a.basis_entry_ids)
        if a.action in ("propose", "activate") and len(created) > _AUDIT_EACH_UP_TO:
            continue  # many new entries: one audit entry for the batch, below
        events.append(
            audit.AuditEvent(
                actor=actor,
                action=f"list_entry.{_EVENT[a.action]}",
                object_type="list_entry",
                object_id=entry.id,
                uscc=entry.uscc,
                before=befores.get(entry.id),
                after=after,
            )
        )
    if len(created) > _AUDIT_EACH_UP_TO:
        # As the importer does for new records: one entry per batch and kind lists every
        # new entry, so the chain vouches for each without an entry per row; each entry
        # also has its dated event and its decisions.
        for action in ("propose", "activate"):
            made = [a for a in created if a.action == action and a.entry is not None]
            if made:
                events.append(
                    audit.AuditEvent(
                        actor=actor,
                        action=f"list_entries.{_EVENT[action]}",
                        object_type="list_entry",
                        after={
                            "count": len(made),
                            "pack_version": pack.version,
                            # [entry id, subject, list type, rule]; the basis of each is
                            # in its row and its decisions
                            "entries": [
                                [a.entry.id, a.subject_key, a.list_type, a.rule_id]
                                for a in made
                                if a.entry is not None
                            ],
                        },
                    )
                )
    session.execute(insert(ListEntryEvent.__table__), event_rows)
    session.execute(insert(Decision.__table__), decision_rows)
    if change_rows:
        session.execute(insert(Change.__table__), change_rows)
    return events


def _decision_rows(a: EntryAction, entry: EntryState, version: str, now: Any) -> list[dict]:
    facts = dict(a.facts)  # plain JSON already: strings, numbers, lists
    if a.basis_entry_ids:
        facts["basis_list_entry_ids"] = list(a.basis_entry_ids)
    base = {
        "uscc": a.subject_key,
        "pack_version": version,
        "list_type": a.list_type,
        "list_entry_id": entry.id,
        "facts": facts,
        "decided_at": now,
    }
    if not a.decisions and a.end_reason == INELIGIBLE:
        return [
            {
                **base,
                "rule_id": a.rule_id or INELIGIBLE,
                "rule_title": a.rule_title,
                "outcome": a.action,
                "basis_penalty_ids": [],
                "trace": {
                    "reason": INELIGIBLE,
                    "note": "no rule supports the red-list entry any more (e.g. a penalty "
                    "arrived or the grade fell)",
                    "facts": facts.get("aggregates", {}),
                },
            }
        ]
    if not a.decisions:  # withdraw / remove: the entry's own rule, explained by the revocation
        return [
            {
                **base,
                "rule_id": a.rule_id or "basis-revoked",
                "rule_title": a.rule_title,
                "outcome": a.action,
                "basis_penalty_ids": list(a.basis_ids),
                "trace": {
                    "reason": "basis_revoked",
                    "revoked_penalty_ids": list(a.revoked_ids),
                    "basis_penalty_ids": list(a.basis_ids),
                    "note": "no rule supports the entry any more; its basis includes revoked "
                    "records (DOMAIN.md §4 rule 5)",
                },
            }
        ]
    penalty_basis = set(a.basis_ids)
    return [
        {
            **base,
            "rule_id": d.rule_id,
            "rule_title": d.rule_title,
            "outcome": a.action,
            "basis_penalty_ids": [i for i in d.basis_ids if i in penalty_basis],
            "trace": d.trace,  # the engine's answer: plain JSON
        }
        for d in a.decisions
    ]


def link_persons(
    session: Session,
    subject_keys: Sequence[str],
    now: Any,
    actor: str,
    events: list[audit.AuditEvent],
) -> int:
    """Link listed entities to their legal representatives (measures reach people,
    DOMAIN.md §5); idempotent — the importer may have made the links already."""
    codes = [key for key in subject_keys if not key.startswith("P:")]
    if not codes:
        return 0
    result = session.execute(
        text(
            """
            INSERT INTO person_links (uscc, person_key, role, source_penalty_id, since_on,
                                      created_at, updated_at)
            SELECT p.uscc, p.legal_representative_key, 'legal_representative',
                   min(p.id), min(p.decided_on), :now, :now
            FROM penalties p
            WHERE p.uscc IN :codes AND p.legal_representative_key IS NOT NULL
              AND EXISTS (SELECT 1 FROM persons x WHERE x.person_key = p.legal_representative_key)
            GROUP BY p.uscc, p.legal_representative_key
            ON CONFLICT (uscc, person_key, role) DO NOTHING
            """
        ).bindparams(bindparam("codes", expanding=True), bindparam("now", type_=UTCDateTime())),
        {"codes": codes, "now": now},
    )
    linked = max(int(rowcount(result) or 0), 0)
    if linked:
        events.append(
            audit.AuditEvent(
                actor=actor,
                action="person_links.created",
                object_type="person_link",
                uscc=codes[0] if len(codes) == 1 else None,
                after={"count": linked, "role": "legal_representative", "entities": codes},
            )
        )
    return linked
