"""Draining a large dirty queue the bulk way (key-ordered pages, read by key range where
the queue is dense, worker processes on PostgreSQL) stores exactly what evaluating the
same queue subject by subject stores: penalties' derived data, list entries with their
events and decisions, alerts, grades with history, change feed, person links, audit."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import text, update

from registry.core.audit import verify_chain
from registry.core.codes import mask_id_number, person_key
from registry.evaluation.queue import page_subjects
from registry.evaluation.runs import evaluate_dirty, evaluate_now
from registry.records.demo import make_resident_id
from registry.records.disclosure import queue_dirty
from registry.records.models import Penalty, Person
from tests.conftest import TEST_ID_KEY, _empty_all_tables
from tests.evaluation.factories import make_penalty, new_uscc

IP = "销售侵犯注册商标专用权商品"
SERIOUS = ["罚款", "吊销许可证件"]
ANNUAL = "未按规定公示年度报告"

#: Subjects of each kind in the scenario; keys are drawn once so both runs share them.
KINDS = (
    "heavy",  # serious IP penalty: proposed on samr_serious, grade C
    "repeat",  # two IP penalties 24 months apart: proposed on ip_serious
    "annual",  # annual report: active on abnormal operations at once, person linked
    "clean",  # one penalty 40 months ago: grade A, red-listed
    "alert",  # counterfeit with business volume at the threshold: alert opened
    "plain",  # one ordinary fine: grade B, nothing listed
    "revoked",  # proposed before, its basis revoked since: withdrawn
    "red_then_fined",  # red-listed before, a penalty arrived: removed (ineligible)
    "person",  # a natural person: evaluated, not graded
)


def _keys(count: int) -> dict[str, list[str]]:
    keys = {kind: [new_uscc() for _ in range(count)] for kind in KINDS if kind != "person"}
    rng = random.Random(count)
    keys["person"] = [make_resident_id(rng, "440300") for _ in range(count)]
    return keys


def _person(s, number: str) -> str:
    key = person_key(number, TEST_ID_KEY)
    s.add(Person(person_key=key, id_type="身份证", id_masked=mask_id_number(number), name="代表"))
    s.flush()
    return key


def _build(rt, keys: dict[str, list[str]], idle: list[str]) -> list[str]:
    """The scenario, written the same way each time; returns the subjects to queue."""
    with rt.sessions() as s:
        people = [_person(s, number) for number in keys["person"]]
        for i in range(len(keys["heavy"])):
            make_penalty(s, keys["heavy"][i], violation_type=IP, categories=SERIOUS)
            for day in (date(2024, 6, 1), date(2026, 6, 1)):
                make_penalty(s, keys["repeat"][i], violation_type="假冒专利", decided_on=day)
            make_penalty(
                s,
                keys["annual"][i],
                violation_type=ANNUAL,
                categories=["警告"],
                fine_wan=None,
                legal_representative_key=people[i],
            )
            make_penalty(s, keys["clean"][i], decided_on=date(2023, 7, 1))
            make_penalty(s, keys["alert"][i], violation_type="假冒注册商标", business_volume_wan=5)
            make_penalty(s, keys["plain"][i], decided_on=date(2026, 3, 1 + i))
            make_penalty(s, keys["revoked"][i], violation_type=IP, categories=SERIOUS)
            make_penalty(s, keys["red_then_fined"][i], decided_on=date(2023, 1, 1))
            make_penalty(s, person=people[i], violation_type=ANNUAL, categories=["警告"])
        for key in idle:  # never queued: must stay unevaluated
            make_penalty(s, key, violation_type=IP, categories=SERIOUS)
        s.commit()
    # the state before: evaluated once, then the records changed
    evaluate_now(rt, keys["revoked"] + keys["red_then_fined"])
    with rt.sessions() as s:
        s.execute(
            update(Penalty)
            .where(Penalty.subject_key.in_(keys["revoked"]))
            .values(status="revoked", revoked_on=date(2026, 11, 1))
        )
        for key in keys["red_then_fined"]:
            make_penalty(s, key, decided_on=date(2026, 11, 2))
        s.commit()
    entities = {k for kind, group in keys.items() if kind != "person" for k in group}
    return sorted(entities | {f"P:{p}" for p in people})


def _rows(s, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in s.execute(text(sql))]


def _stored(rt) -> dict[str, Any]:
    """What the registry holds, with generated ids replaced by natural keys."""
    with rt.sessions() as s:
        entry_key: dict[int, tuple[Any, ...]] = {}
        rank: Counter[tuple[str, str]] = Counter()
        for entry_id, uscc, list_type in _rows(
            s, "SELECT id, uscc, list_type FROM list_entries ORDER BY id"
        ):
            rank[(uscc, list_type)] += 1
            entry_key[entry_id] = (uscc, list_type, rank[(uscc, list_type)])
        out: dict[str, Any] = {
            "penalties": sorted(
                _rows(
                    s,
                    "SELECT id, severity, disclosure_until, repair_allowed_from, repairable, "
                    "pack_version, disclosure_regime FROM penalties",
                )
            ),
            "entries": sorted(
                (entry_key[row[0]], *row[1:])
                for row in _rows(
                    s,
                    "SELECT id, status, rule_id, pack_version, authority_uscc, "
                    "basis_penalty_ids, proposed_on, since, until, early_removal_from, "
                    "confirmed_by, ended_on, ended_by, end_reason FROM list_entries",
                )
            ),
            "events": sorted(
                (entry_key[row[0]], *row[1:])
                for row in _rows(
                    s,
                    "SELECT list_entry_id, uscc, event, on_date, actor, reason "
                    "FROM list_entry_events",
                )
            ),
            "decisions": sorted(
                (
                    (entry_key[row[0]], *row[1:-2], repr(row[-2]), repr(row[-1]))
                    for row in _rows(
                        s,
                        "SELECT list_entry_id, uscc, pack_version, list_type, rule_id, "
                        "rule_title, outcome, basis_penalty_ids, facts, trace FROM decisions",
                    )
                ),
                key=repr,
            ),
            "alerts": sorted(
                _rows(
                    s,
                    "SELECT uscc, kind, penalty_id, authority_uscc, rule_id, "
                    "pack_version, status FROM alerts",
                )
            ),
            "grades": sorted(
                (*row[:-1], repr(row[-1]))
                for row in _rows(
                    s,
                    "SELECT uscc, grade, since, until, pack_version, explanation "
                    "FROM credit_grades",
                )
            ),
            "changes": sorted(
                (
                    uscc,
                    kind,
                    entry_key[object_id] if kind == "list_entry" else object_id,
                    action,
                )
                for uscc, kind, object_id, action in _rows(
                    s, "SELECT uscc, kind, object_id, action FROM changes"
                )
            ),
            "person_links": sorted(
                _rows(s, "SELECT uscc, person_key, role, source_penalty_id FROM person_links")
            ),
            "queued": _rows(s, "SELECT subject_key FROM dirty_entities"),
            "unevaluated": sorted(
                _rows(s, "SELECT subject_key FROM penalties WHERE pack_version IS NULL")
            ),
        }
        # Audit: per-object entries must match; entries covering a batch may be grouped
        # differently (transactions differ), so what they cover is compared as a whole.
        per_object: Counter[tuple[Any, ...]] = Counter()
        covered: dict[str, Counter[str]] = {}
        for action, uscc, after in _rows(
            s, "SELECT action, uscc, after FROM audit_log ORDER BY id"
        ):
            after = after if isinstance(after, dict) else _json(after)
            if action in ("list_entry.proposed", "list_entry.activated") or action.startswith(
                ("list_entry.", "credit_grade.")
            ):
                body = {k: v for k, v in (after or {}).items() if k not in ("id",)}
                per_object[(action, uscc, repr(sorted(body.items())))] += 1
            else:
                items = (after or {}).get("by_severity") or (after or {}).get("alerts") or []
                bag = covered.setdefault(action, Counter())
                if isinstance(items, dict):
                    for severity, ids in items.items():
                        bag.update(f"{severity}:{i}" for i in ids)
                else:
                    bag.update(repr(item[1:]) for item in items)
        out["audit_per_object"] = per_object
        out["audit_covered"] = covered
        assert verify_chain(s)[1] is None
    return out


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def _scenario_run(rt, keys, idle, **how) -> dict[str, Any]:
    queue = _build(rt, keys, idle)
    with rt.sessions() as s:
        queue_dirty(s, queue)
        s.commit()
    summary = evaluate_dirty(rt, **how)
    assert summary.subjects == len(queue)
    stored = _stored(rt)
    _empty_all_tables(rt)
    return stored


def test_bulk_drain_stores_what_the_per_subject_path_stores(rt, backend):
    keys = _keys(4)
    idle = [new_uscc() for _ in range(5)]
    one_by_one = _scenario_run(rt, keys, idle, bulk_from=0)
    # pages of 6: some read by key range (dense), others by key list; two processes on
    # PostgreSQL, each draining its share of the queue
    bulk = _scenario_run(
        rt, keys, idle, bulk_from=1, bulk_batch=6, workers=2 if backend == "postgresql" else 1
    )
    assert one_by_one["queued"] == []
    for name in one_by_one:
        assert bulk[name] == one_by_one[name], name
    # the scenario did what it says
    entries = one_by_one["entries"]
    statuses = Counter((key[1], row[0]) for key, *row in entries)
    assert statuses[("samr_serious", "proposed")] == 4
    assert statuses[("ip_serious", "proposed")] == 4
    assert statuses[("abnormal_operations", "active")] == 8  # entities and persons
    assert statuses[("a_grade_clean", "active")] == 4
    assert statuses[("a_grade_clean", "removed")] == 4
    assert statuses[("samr_serious", "rejected")] == 4
    assert len(one_by_one["alerts"]) == 4
    assert len(one_by_one["person_links"]) == 4
    # every entity graded, once a day (the fined red-listed ones: A this morning, B now)
    grades = {g[0]: g[1] for g in one_by_one["grades"]}
    assert len(grades) == len(one_by_one["grades"]) == 32
    assert {grades[key] for key in keys["clean"]} == {"A"}
    assert {grades[key] for key in keys["red_then_fined"]} == {"B"}
    # nothing of the idle subjects was evaluated, though pages read their key ranges
    assert one_by_one["unevaluated"] == [(key,) for key in sorted(idle)]


def test_a_page_is_read_by_key_range_only_where_the_queue_is_dense(rt, session):
    keys = sorted(new_uscc() for _ in range(12))
    for key in keys:
        make_penalty(session, key)
    session.commit()
    dense = page_subjects(session, keys[:8], None)
    assert dense.ranged
    assert dense.keys == tuple(keys[:8])
    # 8 queued among 12 in the range (after, keys[11]]: a key list
    sparse = page_subjects(session, keys[0:12:3] + keys[1:12:3], None)
    assert not sparse.ranged
    # one idle subject in a page of eight: the range, the idle one dropped
    page = [k for k in keys[:9] if k != keys[4]]
    mixed = page_subjects(session, page, None)
    assert mixed.ranged
    assert keys[4] not in mixed.keys
