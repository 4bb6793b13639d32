"""The double-random draw (双随机), reproducible from a published seed
(docs/inspections.md): pure, no database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from registry.core.errors import Invalid

#: Version line of the canonical draw text; change it only with the algorithm.
DRAW_FORMAT = "credit-registry inspection draw v1"
GRADES: tuple[str, ...] = ("A", "B", "C", "D")
_RATIO_ITEM = re.compile(r"^\s*([A-Z])\s*=\s*(\d+(?:\.\d+)?)\s*%\s*$")


# --- the pure draw ---------------------------------------------------------------------


@dataclass(frozen=True)
class PoolMember:
    code: str
    name: str
    region: str


@dataclass(frozen=True)
class Stratum:
    grade: str
    population: int
    ratio: Decimal
    sample: int


@dataclass(frozen=True)
class Drawn:
    position: int
    uscc: str
    grade: str
    rank: str
    inspectors: tuple[str, ...]


@dataclass(frozen=True)
class Draw:
    task_id: int
    seed: str
    drawn_on: date
    ungraded_as: str
    inspectors_per_entity: int
    population_count: int
    population_sha256: str
    strata: tuple[Stratum, ...]
    pool: tuple[PoolMember, ...]
    sample: tuple[Drawn, ...]

    @property
    def text(self) -> str:
        return canonical_text(self)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def ratio_text(ratio: Decimal) -> str:
    """A ratio as plain decimal text without trailing zeros (``0.1``, ``0.03``, ``1``)."""
    text = format(ratio, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def sample_size(ratio: Decimal, population: int) -> int:
    """``floor(ratio × population + 1/2)``: the ratio applied with half rounded up."""
    return int((ratio * population + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR))


def entity_rank(seed: str, task_id: int, uscc: str) -> str:
    return hmac.new(seed.encode(), f"{task_id}|{uscc}".encode(), hashlib.sha256).hexdigest()


def inspector_rank(seed: str, task_id: int, uscc: str, code: str) -> str:
    msg = f"{task_id}|{uscc}|{code}".encode()
    return hmac.new(seed.encode(), msg, hashlib.sha256).hexdigest()


def population_sha256(population: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"{uscc},{grade}\n" for uscc, grade in sorted(population))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def in_conflict(member: PoolMember, uscc: str, previous: Iterable[str]) -> bool:
    """The conflict rule: ``member`` inspected this entity of their own region last time."""
    return uscc[2:8].startswith(member.region) and member.code in set(previous)


def run_draw(
    *,
    task_id: int,
    seed: str,
    drawn_on: date,
    population: Sequence[tuple[str, str]],
    ratios: Mapping[str, Decimal],
    ungraded_as: str,
    pool: Sequence[PoolMember],
    inspectors_per_entity: int,
    previous: Mapping[str, Sequence[str]],
) -> Draw:
    """The draw (see the module docstring): a pure function of its arguments.

    ``population`` holds ``(uscc, grade)`` pairs (grades already defaulted);
    ``previous`` maps a code to the inspectors of its previous inspection."""
    by_grade: dict[str, list[tuple[str, str]]] = {}
    for uscc, grade in population:
        by_grade.setdefault(grade, []).append((entity_rank(seed, task_id, uscc), uscc))
    strata: list[Stratum] = []
    chosen: list[tuple[str, str, str]] = []
    for grade in sorted(set(ratios) | set(by_grade)):
        members = sorted(by_grade.get(grade, []))
        ratio = ratios.get(grade, Decimal(0))
        n = min(sample_size(ratio, len(members)), len(members))
        strata.append(Stratum(grade, len(members), ratio, n))
        chosen.extend((rank, uscc, grade) for rank, uscc in members[:n])
    chosen.sort()
    ordered_pool = sorted(pool, key=lambda m: m.code)
    load: Counter[str] = Counter()
    sample: list[Drawn] = []
    for position, (rank, uscc, grade) in enumerate(chosen, start=1):
        before = previous.get(uscc, ())
        eligible = [m for m in ordered_pool if not in_conflict(m, uscc, before)]
        eligible.sort(
            key=lambda m: (load[m.code], inspector_rank(seed, task_id, uscc, m.code), m.code)
        )
        picked = tuple(m.code for m in eligible[:inspectors_per_entity])
        load.update(picked)
        sample.append(Drawn(position, uscc, grade, rank, picked))
    return Draw(
        task_id=task_id,
        seed=seed,
        drawn_on=drawn_on,
        ungraded_as=ungraded_as,
        inspectors_per_entity=inspectors_per_entity,
        population_count=len(population),
        population_sha256=population_sha256(population),
        strata=tuple(strata),
        pool=tuple(ordered_pool),
        sample=tuple(sample),
    )


def canonical_text(draw: Draw) -> str:
    """The draw as canonical UTF-8 text (LF line ends): what the CLI prints and what
    ``draw_sha256`` is taken over.  Same inputs, same bytes."""
    lines = [
        DRAW_FORMAT,
        f"task: {draw.task_id}",
        f"seed: {draw.seed}",
        f"drawn_on: {draw.drawn_on.isoformat()}",
        f"population: {draw.population_count} sha256={draw.population_sha256}",
        f"ungraded_as: {draw.ungraded_as}",
        f"inspectors_per_entity: {draw.inspectors_per_entity}",
    ]
    for s in draw.strata:
        lines.append(
            f"stratum {s.grade}: population={s.population} ratio={ratio_text(s.ratio)} "
            f"sample={s.sample}"
        )
    for m in draw.pool:
        lines.append(f"inspector {m.code} region={m.region} name={m.name}")
    for d in draw.sample:
        lines.append(
            f"drawn {d.position} {d.uscc} grade={d.grade} rank={d.rank} "
            f"inspectors={','.join(d.inspectors) or '-'}"
        )
    return "\n".join(lines) + "\n"


# --- inputs ----------------------------------------------------------------------------


def parse_config_ratios(items: Iterable[str]) -> dict[str, Decimal]:
    """``["A=3%", …]`` (configuration) → ``{"A": Decimal("0.03"), …}``."""
    out: dict[str, Decimal] = {}
    for item in items:
        match = _RATIO_ITEM.match(item)
        if not match:
            raise Invalid(
                f"抽查比例“{item}”的格式应为 等级=百分比%，例如 A=3%",
                details={"supervision.inspection_ratios": [item]},
            )
        out[match.group(1)] = Decimal(match.group(2)) / 100
    return check_ratios(out, "supervision.inspection_ratios")


def check_ratios(ratios: Mapping[str, Any], where: str = "ratios") -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for grade, value in ratios.items():
        try:
            ratio = Decimal(str(value))
        except InvalidOperation:
            raise Invalid(
                f"{grade} 级的抽查比例“{value}”不是数字", details={where: {grade: ["不是数字"]}}
            ) from None
        if not ratio.is_finite() or ratio < 0 or ratio > 1:
            raise Invalid(
                f"{grade} 级的抽查比例应在 0 到 1 之间",
                details={where: {grade: ["应在 0 到 1 之间"]}},
            )
        out[grade] = ratio
    return out
