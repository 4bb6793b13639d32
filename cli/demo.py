"""``credit-registry init --demo N``: a registry with believable data to look at.

The synthetic records go through the same door as any authority's file (the import
engine, then the rules), and the proposed list entries are confirmed in the name of
their deciding authority, so the public pages and the sanctions API have something
to show."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import select

from registry.core.runtime import Runtime
from registry.records import demo

NOTICE_GIVEN = "演示数据：告知期满，确认列入"


def load_demo(rt: Runtime, records: int, seed: int = 2026) -> str:
    """Import ``records`` synthetic penalties, run the rules, confirm the proposals;
    returns a one-line summary."""
    from importers.run import import_file
    from registry.core import clock
    from registry.evaluation.runs import evaluate_all
    from registry.lists.demo import date_demo_entries
    from registry.lists.entries import confirm_entry
    from registry.lists.models import ListEntry

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.jsonl"
        demo.write_file(path, records, "jsonl", seed=seed)
        summary = import_file(rt, str(path), fmt="jsonl", actor="demo")
    if summary.fatal:
        raise RuntimeError(f"演示数据导入失败：{summary.fatal}")
    evaluate_all(rt, actor="demo")
    confirmed = 0
    with rt.unit_of_work() as session:
        proposed = session.execute(
            select(ListEntry.id, ListEntry.authority_uscc).where(ListEntry.status == "proposed")
        ).all()
        for entry_id, authority in proposed:
            confirm_entry(session, rt.pack, entry_id, authority, "demo", NOTICE_GIVEN)
            confirmed += 1
        # Dated as their basis would have listed them, not all on the day of the load.
        dated = date_demo_entries(session, rt.pack, clock.today(), seed=seed)
    return (
        f"演示数据：{summary.counts()}；已确认 {confirmed} 个拟列入的名单条目；"
        f"{dated} 个条目按其依据的决定日期定日"
    )
