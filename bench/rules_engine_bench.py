"""Throughput of the pure rules engine (no database): penalties/s and entities/s.

    /tmp/venv/bin/python bench/rules_engine_bench.py [--penalties N] [--entities N] [--pack PATH]

Three figures each: one engine call per item (what a naive caller pays), batches with
every item distinct (memo useless: the engine's own cost), and batches of realistic
data, where facts repeat and the memo answers most items.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from rules import DEFAULT_PACK_PATH, load_pack

CATEGORIES = [
    ["警告"],
    ["罚款"],
    ["罚款"],
    ["罚款", "没收违法所得"],
    ["吊销许可证件"],
    ["责令停产停业", "罚款"],
]
VIOLATIONS = [
    "假冒注册商标",
    "销售假冒注册商标的商品",
    "未按规定公示年度报告",
    "违反安全生产管理规定",
    "侵犯著作权",
    "价格违法",
]


def penalty(number: int, rng: random.Random, *, distinct: bool) -> dict[str, Any]:
    fine = (
        round(rng.uniform(0, 150), 4) + number * 1e-6
        if distinct
        else rng.choice([0.2, 0.5, 1, 2, 5, 10, 20, 100])
    )
    return {
        "penalty_id": number,
        "decision_number": f"市监罚〔2024〕{number}号",
        "decided_on": f"20{rng.randint(20, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "party_type": rng.choice(
            ["organisation", "organisation", "natural_person", "individual_business"]
        ),
        "categories": rng.choice(CATEGORIES),
        "fine_wan": Decimal(str(fine)),
        "confiscated_wan": None,
        "business_volume_wan": rng.choice([None, None, 3, 7.2, 25]),
        "illegal_gains_wan": rng.choice([None, None, 1, 4]),
        "aggravated": rng.random() < 0.05,
        "transferred_to_police": rng.random() < 0.1,
        "violation_type": rng.choice(VIOLATIONS),
        "keyword_sets": None,
    }


def entity(number: int, rng: random.Random, names: list[str], *, distinct: bool) -> dict[str, Any]:
    top = 10**6 if distinct else 3
    return {
        "uscc": f"91{number:016d}",
        "as_of": "2026-11-29",
        "party_type": "organisation",
        "aggregates": {
            name: {
                "value": rng.randint(1, top) if distinct else rng.choice([0, 0, 0, 1, 1, 2, top]),
                "ids": [number],
            }
            for name in names
        },
    }


RATES: dict[str, dict[str, float]] = {}


def rate(label: str, count: int, run: Callable[[], object]) -> None:
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    print(f"{label:<40} {count / elapsed:>10,.0f}/s  {elapsed / count * 1e6:8.1f} µs each")
    RATES[label] = {"per_s": count / elapsed, "us_each": elapsed / count * 1e6}


def batches(
    what: str,
    evaluate: Callable[[list[dict[str, Any]]], object],
    distinct: list[dict[str, Any]],
    realistic: list[dict[str, Any]],
) -> None:
    """The rate of ``evaluate`` (a fresh evaluator each time) over all-distinct facts in
    one batch, then over facts with realistic repeats."""
    rate(f"{what}, batches, all distinct", len(distinct), lambda: evaluate(distinct))
    rate(f"{what}, batches, realistic repeats", len(realistic), lambda: evaluate(realistic))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--penalties", type=int, default=50_000)
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--pack", default=str(DEFAULT_PACK_PATH))
    parser.add_argument("--json-out", help="also write the figures as JSON to this path")
    args = parser.parse_args()
    pack = load_pack(args.pack)
    rng = random.Random(7)
    names = list(pack.aggregates)

    distinct = [penalty(n, rng, distinct=True) for n in range(args.penalties)]
    realistic = [penalty(n, rng, distinct=False) for n in range(args.penalties)]
    single = distinct[: min(2_000, args.penalties)]
    evaluator = pack.evaluator()
    rate(
        "penalties, one call each",
        len(single),
        lambda: [evaluator.evaluate_penalties([p]) for p in single],
    )
    batches(
        "penalties", lambda rows: pack.evaluator().evaluate_penalties(rows), distinct, realistic
    )

    distinct_entities = [entity(n, rng, names, distinct=True) for n in range(args.entities)]
    realistic_entities = [entity(n, rng, names, distinct=False) for n in range(args.entities)]
    one = distinct_entities[: min(2_000, args.entities)]
    rate(
        "entities, one call each", len(one), lambda: [evaluator.evaluate_entities([e]) for e in one]
    )
    batches(
        "entities",
        lambda rows: pack.evaluator().evaluate_entities(rows),
        distinct_entities,
        realistic_entities,
    )
    skipped = [{"party_type": "organisation", "aggregates": {}}] * args.entities
    rate(
        "entities, can_skip on all-zero facts",
        len(skipped),
        lambda: [evaluator.can_skip(e) for e in skipped],
    )
    if args.json_out:
        figures = {"benchmark": "rules-engine", "pack": args.pack, "rates": RATES}
        Path(args.json_out).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
