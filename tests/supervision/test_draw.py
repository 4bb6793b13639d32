"""The double-random draw: reproducible bit for bit from its published seed (API and
CLI), ratios per grade within rounding, the documented algorithm re-implemented here
from docs/inspections.md, and the conflict rule across consecutive tasks."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from decimal import Decimal

from registry.supervision.draw import PoolMember, run_draw, sample_size
from tests.supervision.conftest import POOL, grade, old_grade

SEED = "2026-Q4-南山-7f3a91"
RATIOS = {"A": "0.1", "B": "0.25", "C": "0.5", "D": "0.3"}
# Stratum sizes chosen so that half-up rounding shows: A 2.5→3, B 7.5→8, C 4.5→5, D 2.1→2.
SIZES = {"A": 25, "B": 20, "C": 9, "D": 7}
UNGRADED = 10  # count as B: B has 30 → 7.5 → 8


def _register(session, factory):
    """Entities of Nanshan (440305) in four grades plus ungraded ones, one Futian
    (440304) entity out of scope, and one whose earlier grade D has ended (now A)."""
    codes: dict[str, list[str]] = {g: [] for g in "ABCD"}
    for g, n in SIZES.items():
        for _ in range(n):
            entity = factory.entity()
            grade(session, entity.uscc, g)
            codes[g].append(entity.uscc)
    moved = codes["A"][0]
    old_grade(session, moved, "D", until=date(2025, 12, 31))
    for _ in range(UNGRADED):
        codes["B"].append(factory.entity().uscc)
    outside = factory.entity(factory.uscc("440304"))
    grade(session, outside.uscc, "D")
    factory.commit()
    return codes


def _expected_sample(task_id: int, codes: dict[str, list[str]]) -> set[str]:
    """docs/inspections.md, step 2, written from the text alone."""
    chosen: set[str] = set()
    for g, members in codes.items():
        ranked = sorted(
            (hmac.new(SEED.encode(), f"{task_id}|{u}".encode(), hashlib.sha256).hexdigest(), u)
            for u in members
        )
        n = int(Decimal(RATIOS[g]) * len(members) + Decimal("0.5"))
        chosen.update(u for _, u in ranked[:n])
    return chosen


def test_draw_is_reproducible_bit_for_bit_and_respects_ratios(
    client, session, factory, regulator, make_task, invoke
):
    codes = _register(session, factory)
    task_id = make_task(ratios=RATIOS)

    drawn = client.post(
        f"/api/v1/inspections/tasks/{task_id}/draw", json={"seed": SEED}, headers=regulator.headers
    )
    assert drawn.status_code == 200, drawn.json
    draw = drawn.json
    assert draw["recorded"] is True
    assert draw["population_count"] == sum(SIZES.values()) + UNGRADED  # Futian is out of scope
    strata = {s["grade"]: s for s in draw["strata"]}
    assert {g: s["sample"] for g, s in strata.items()} == {"A": 3, "B": 8, "C": 5, "D": 2}
    for g, s in strata.items():
        assert abs(s["sample"] - Decimal(s["ratio"]) * s["population"]) <= Decimal("0.5")
        assert sum(1 for d in draw["sample"] if d["grade"] == g) == s["sample"]
    assert {d["uscc"] for d in draw["sample"]} == _expected_sample(task_id, codes)
    assert all(len(d["inspectors"]) == 2 for d in draw["sample"])
    assert draw["draw_sha256"] == hashlib.sha256(draw["text"].encode()).hexdigest()

    # The API re-run (dry run) gives the same bytes and says so.
    rerun = client.post(
        f"/api/v1/inspections/tasks/{task_id}/draw",
        json={"seed": SEED, "dry_run": True},
        headers=regulator.headers,
    ).json
    assert rerun["recorded"] is False
    assert rerun["text"] == draw["text"]
    assert rerun["matches_recorded"] is True

    # The CLI, twice: byte-identical standard output, equal to the recorded draw.
    first = invoke("inspections", "draw", str(task_id), "--seed", SEED)
    second = invoke("inspections", "draw", str(task_id), "--seed", SEED)
    assert first.exit_code == 0, first.output
    assert first.stdout_bytes == second.stdout_bytes
    assert first.stdout_bytes == draw["text"].encode("utf-8")
    assert "与已记录的抽取结果一致" in first.stderr

    # Another seed gives another draw (and is not recorded over the first).
    other = invoke("inspections", "draw", str(task_id), "--seed", "another seed")
    assert other.stdout_bytes != first.stdout_bytes
    assert "与已记录的抽取结果不一致" in other.stderr
    task = client.get(f"/api/v1/inspections/tasks/{task_id}", headers=regulator.headers).json
    assert task["seed"] == SEED
    assert task["status"] == "drawn"
    assert task["draw_sha256"] == draw["draw_sha256"]
    assert [i["uscc"] for i in task["items"]] == [d["uscc"] for d in draw["sample"]]


def test_cli_draws_a_planned_task_and_api_agrees(
    client, session, factory, regulator, make_task, invoke
):
    _register(session, factory)
    task_id = make_task(ratios=RATIOS)
    dry = invoke("inspections", "draw", str(task_id), "--seed", SEED, "--dry-run")
    assert "未记录（试运行）" in dry.stderr
    assert (
        client.get(f"/api/v1/inspections/tasks/{task_id}", headers=regulator.headers).json["status"]
        == "planned"
    )
    done = invoke("inspections", "draw", str(task_id), "--seed", SEED)
    assert done.exit_code == 0
    assert "已记录：任务" in done.stderr
    assert done.stdout_bytes == dry.stdout_bytes
    task = client.get(f"/api/v1/inspections/tasks/{task_id}", headers=regulator.headers).json
    assert task["draw_sha256"] == hashlib.sha256(done.stdout_bytes).hexdigest()
    unknown = invoke("inspections", "draw", "999999", "--seed", SEED)
    assert unknown.exit_code == 2
    assert "抽查任务 999999 不存在" in unknown.output


def test_seed_committed_in_advance_must_match(client, session, factory, regulator, make_task):
    factory.entity()
    factory.commit()
    committed = hashlib.sha256(SEED.encode()).hexdigest()
    task_id = make_task(seed_sha256=committed)
    wrong = client.post(
        f"/api/v1/inspections/tasks/{task_id}/draw", json={"seed": "x"}, headers=regulator.headers
    )
    assert wrong.status_code == 422
    assert "seed" in wrong.json["error"]["details"]
    right = client.post(
        f"/api/v1/inspections/tasks/{task_id}/draw", json={"seed": SEED}, headers=regulator.headers
    )
    assert right.status_code == 200
    assert right.json["recorded"] is True
    again = client.put(
        f"/api/v1/inspections/tasks/{task_id}/inspectors",
        json={"inspectors": POOL},
        headers=regulator.headers,
    )
    assert again.status_code == 409


def test_conflict_rule_across_two_consecutive_tasks(client, session, factory, regulator, make_task):
    # Four Nanshan entities, all drawn (ratio 1), two inspectors each, twice in a row.
    codes = [factory.entity().uscc for _ in range(4)]
    factory.commit()
    ratios = {"A": "1", "B": "1", "C": "1", "D": "1"}
    own_region = {m["code"] for m in POOL if m["region"] == "440305"}
    for seed in ("s1", "s2", "s3"):
        first_id = make_task(ratios=ratios)
        first = client.post(
            f"/api/v1/inspections/tasks/{first_id}/draw",
            json={"seed": seed},
            headers=regulator.headers,
        ).json
        second_id = make_task(ratios=ratios)
        second = client.post(
            f"/api/v1/inspections/tasks/{second_id}/draw",
            json={"seed": seed + "-next"},
            headers=regulator.headers,
        ).json
        before = {d["uscc"]: set(d["inspectors"]) for d in first["sample"]}
        assert set(before) == set(codes)
        for d in second["sample"]:
            repeated = set(d["inspectors"]) & before[d["uscc"]] & own_region
            assert not repeated, (seed, d["uscc"], repeated)
            assert len(d["inspectors"]) == 2


def test_pure_draw_leaves_out_the_conflicted_inspector_only_in_own_region():
    pool = [PoolMember("P1", "甲", "440305"), PoolMember("P2", "乙", "4401")]
    common = {
        "task_id": 1,
        "seed": "s",
        "drawn_on": date(2026, 11, 29),
        "ratios": {"B": Decimal(1)},
        "ungraded_as": "B",
        "pool": pool,
        "inspectors_per_entity": 2,
        "previous": {"914403051234567890": ["P1", "P2"], "914401061234567890": ["P1", "P2"]},
    }
    nanshan = run_draw(population=[("914403051234567890", "B")], **common)
    assert nanshan.sample[0].inspectors == ("P2",)  # P1 is of Nanshan: left out; P2 is not
    guangzhou = run_draw(population=[("914401061234567890", "B")], **common)
    assert guangzhou.sample[0].inspectors == ("P1",)  # P2 is of Guangzhou: left out


def test_sample_size_rounds_half_up():
    assert [sample_size(Decimal("0.05"), n) for n in (9, 10, 30, 31)] == [0, 1, 2, 2]
    assert sample_size(Decimal("0.3"), 5) == 2  # 1.5 → 2
    assert sample_size(Decimal("0.03"), 50) == 2  # 1.5 → 2


def test_the_worked_example_of_the_documentation():
    """docs/inspections.md, "Worked example": same inputs, same SHA-256."""
    population = [
        ("9144030512DD272H2D", "B"),
        ("91440305AY4CL12T2C", "A"),
        ("91440305D1TJ3Y7L4L", "D"),
        ("91440305H3BJ1XG69N", "B"),
        ("91440305LJY1JJC15D", "B"),
    ]
    draw = run_draw(
        task_id=7,
        seed="2026-Q4-南山-7f3a91",
        drawn_on=date(2026, 11, 29),
        population=population,
        ratios={"A": Decimal("0.03"), "B": Decimal("0.5"), "C": Decimal("0.1"), "D": Decimal(1)},
        ungraded_as="B",
        pool=[
            PoolMember("44030500101", "李明", "440305"),
            PoolMember("44030500102", "陈芳", "440305"),
            PoolMember("44010000201", "张伟", "4401"),
        ],
        inspectors_per_entity=2,
        previous={},
    )
    assert draw.sha256 == "8ec8dc7dfac17964545291cd58cb79aee13a4c88996b7d0ff9a5fb9cc40eef52"
    assert [d.uscc for d in draw.sample] == [
        "9144030512DD272H2D",
        "91440305D1TJ3Y7L4L",
        "91440305H3BJ1XG69N",
    ]
