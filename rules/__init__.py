"""Rule packs as data, evaluated on zen-engine.

Pure: plain data in, decisions out — this package imports neither Flask nor
SQLAlchemy. A rule pack (YAML, see ``docs/rule-packs.md``) declares list types,
keyword sets, the severity classes and disclosure periods, the aggregates the registry
must compute per entity, the entity rules, per-penalty alerts and the
joint-punishment measures. It compiles to zen JSON decision models.

    pack = load_pack(path)
    evaluator = pack.evaluator()                     # once per process
    evaluator.evaluate_penalties([{...}, ...])       # -> [PenaltyOutcome]
    evaluator.evaluate_entities([{...}, ...])        # -> [EntityOutcome]
"""

from rules.checking import check_pack
from rules.errors import FactsError, ModelOutputError, PackError
from rules.evaluate import (
    AlertHit,
    Decision,
    EntityOutcome,
    Evaluator,
    GradeOutcome,
    PenaltyOutcome,
)
from rules.keywords import match_keyword_sets
from rules.loading import load_pack
from rules.model import (
    Aggregate,
    AlertRule,
    DisclosurePolicy,
    ListType,
    Measure,
    Rule,
    RulePack,
    SeverityPolicy,
)
from rules.packfile import DEFAULT_PACK_PATH, PACKS_DIR

__all__ = [
    "DEFAULT_PACK_PATH",
    "PACKS_DIR",
    "Aggregate",
    "AlertHit",
    "AlertRule",
    "Decision",
    "DisclosurePolicy",
    "EntityOutcome",
    "Evaluator",
    "FactsError",
    "GradeOutcome",
    "ListType",
    "Measure",
    "ModelOutputError",
    "PackError",
    "PenaltyOutcome",
    "Rule",
    "RulePack",
    "SeverityPolicy",
    "check_pack",
    "load_pack",
    "match_keyword_sets",
]
