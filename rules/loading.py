"""Loading a rule pack: YAML → checked, resolved, frozen :class:`~rules.model.RulePack`.

Every problem is reported with the file, the key path and what is wrong, and all
problems are reported at once, so that an operator fixes a pack in one pass. The
format is documented in ``docs/rule-packs.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from rules.competence import read_authority_categories
from rules.errors import PackError
from rules.model import (
    RulePack,
)
from rules.pack_rules import (
    read_alerts,
    read_grading,
    read_pack_examples,
    read_rules,
    read_rules_model,
)
from rules.pack_sections import (
    read_aggregates,
    read_disclosure,
    read_keyword_sets,
    read_lists,
    read_measures,
    read_severity,
)
from rules.packfile import DEFAULT_PACK_PATH, resolve_pack
from rules.validation import Checker

FORMAT = 1

_TOP_KEYS = (
    "format",
    "name",
    "title",
    "description",
    "extends",
    "lists",
    "keyword_sets",
    "severity",
    "disclosure",
    "aggregates",
    "on_basis_revoked",
    "rules",
    "rules_model",
    "alerts",
    "measures",
    "examples",
    "grading",
    "authority_categories",
)
_PACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ON_BASIS_REVOKED = ("remove", "keep")


# ------------------------------------------------------------------------ load


def _canonical(content: dict[str, Any], rules_model: str | None) -> str:
    data = dict(content)
    if rules_model is not None:
        data["rules_model"] = json.loads(rules_model)
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _build(path: Path) -> tuple[RulePack | None, list[str]]:
    """The pack at ``path`` and the problems found while building it."""
    content = resolve_pack(path)
    check = Checker(path)
    check.keys(
        "(top level)", content, _TOP_KEYS, ("name", "lists", "severity", "disclosure", "rules")
    )
    if content.get("format", FORMAT) != FORMAT:
        check.add(
            "format", f"this version reads pack format {FORMAT}, not {content.get('format')!r}"
        )
    name = check.text("name", content.get("name"), pattern=_PACK_NAME) or "?"
    categories = read_authority_categories(check, content.get("authority_categories"))
    lists = read_lists(check, content.get("lists"), categories)
    keyword_sets = read_keyword_sets(check, content.get("keyword_sets", {}))
    severity = read_severity(check, content.get("severity"))
    disclosure = read_disclosure(check, content.get("disclosure"), keyword_sets)
    aggregates = read_aggregates(check, content.get("aggregates", {}), keyword_sets, lists)
    rules_model = read_rules_model(check, content.get("rules_model"))
    has_model = content.get("rules_model") is not None
    grading = read_grading(check, content.get("grading"), aggregates)
    rules = read_rules(
        check, content.get("rules"), lists, aggregates, has_model, grading is not None
    )
    alerts = read_alerts(check, content.get("alerts"), keyword_sets)
    measures = read_measures(check, content.get("measures"), lists)
    examples = read_pack_examples(
        check, content.get("examples"), aggregates, rules, alerts, grading is not None
    )
    on_revoked = content.get("on_basis_revoked", "remove")
    if on_revoked not in _ON_BASIS_REVOKED:
        check.add(
            "on_basis_revoked", f"must be one of {', '.join(_ON_BASIS_REVOKED)}, not {on_revoked!r}"
        )
    if check.problems:
        return None, check.problems
    canonical = _canonical(content, rules_model)
    pack = RulePack(
        name=name,
        title=check.text("title", content.get("title"), required=False) or name,
        version=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        path=str(path),
        lists=lists,
        keyword_sets=keyword_sets,
        severity=severity,
        disclosure=disclosure,
        aggregates=aggregates,
        rules=rules,
        alerts=alerts,
        measures=measures,
        on_basis_revoked=str(on_revoked),
        examples=examples,
        rules_model=rules_model,
        canonical=canonical,
        grading=grading,
        authority_categories=categories,
    )
    return pack, []


def load_pack(path: str | Path = DEFAULT_PACK_PATH) -> RulePack:
    """Load, resolve (``extends``) and check the rule pack at ``path``.

    Raises :class:`~rules.errors.PackError` naming the file, the key path and what is
    wrong for every structural problem (unknown keys, unknown list types, aggregates
    or keyword sets, bad expressions, inconsistent periods). Semantic checks that need
    the engine — examples, unreachable rules — are :func:`rules.check_pack`'s.
    """
    pack, problems = _build(Path(path).resolve())
    if pack is None:
        raise PackError(problems)
    return pack
