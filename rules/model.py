"""The parts of a rule pack, as frozen dataclasses.

A :class:`RulePack` is what :func:`rules.load_pack` returns: the YAML file checked,
resolved (``extends``) and turned into plain immutable values. Everything the registry
needs to know about lists, measures, aggregates and rules is read from here, so that a
change of policy is an edit of the pack, never of code.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rules.competence import AuthorityCategory, Competence
    from rules.evaluate import Evaluator

Severity = Literal["minor", "general", "serious"]
Action = Literal["propose", "activate"]

SEVERITIES: tuple[Severity, ...] = ("minor", "general", "serious")
PARTY_TYPES: tuple[str, ...] = ("organisation", "natural_person", "individual_business")
#: Who a measure can bind (联合惩戒对象): the listed entity and, for a legal person, the
#: people DOMAIN.md §5 names. The registry knows the legal representative from the
#: penalty records; the other roles are for data it may hold later.
BINDS: tuple[str, ...] = (
    "entity",
    "legal_representative",
    "principal",
    "responsible_staff",
    "actual_controller",
)
LIST_KINDS: tuple[str, ...] = ("dishonesty", "incentive")
#: The three groups the public sees lists in (``group:`` of a list), with their titles:
#: 严重失信主体名单, the lighter 经营异常名录 (its own legal basis), 守信激励名单.
LIST_GROUPS: dict[str, str] = {
    "serious": "严重失信主体名单",
    "abnormal": "经营异常名录",
    "incentive": "守信激励名单",
}
#: A list without ``group:`` is grouped by its kind.
DEFAULT_GROUP_OF_KIND: dict[str, str] = {"dishonesty": "serious", "incentive": "incentive"}
#: What a measure does: a joint punishment (联合惩戒) for a dishonesty list, or a joint
#: incentive (联合激励) for an incentive list (守信激励名单, "red list").
MEASURE_KINDS: tuple[str, ...] = ("punishment", "incentive")
#: The kind of measure each kind of list triggers.
MEASURE_KIND_OF_LIST: dict[str, str] = {"dishonesty": "punishment", "incentive": "incentive"}
AGGREGATE_KINDS: tuple[str, ...] = (
    "count",
    "max_count_within",
    "list_held",
    "listed",
    "months_since",
)
#: Credit grades (信用分类监管), best first (DOMAIN.md §6).
GRADES: tuple[str, ...] = ("A", "B", "C", "D")


@dataclass(frozen=True)
class ListType:
    """A list (名单) entities can be put on, and its terms.

    ``term_months`` None means "until corrected" (e.g. 经营异常名录);
    ``early_removal_months`` is the minimum time on the list before repair or early
    removal may be granted; ``requires_confirmation`` says whether the engine only
    *proposes* an entry that a regulator confirms (告知 and hearing first) or the
    entry is active at once.
    """

    id: str
    title: str
    kind: str
    term_months: int | None
    early_removal_months: int
    requires_confirmation: bool
    public: bool
    legal_basis: str
    #: who may name, confirm, reject or remove its entries: authority categories of the
    #: pack or code prefixes (None: the deciding authority of each entry, no more)
    competent: tuple[str, ...] | None = None
    #: the public group (:data:`LIST_GROUPS`): ``serious``, ``abnormal`` or ``incentive``
    group: str = "serious"

    @property
    def group_title(self) -> str:
        return LIST_GROUPS.get(self.group, self.group)

    @property
    def action(self) -> Action:
        """What a rule does to this list: propose (needs a regulator) or activate."""
        return "propose" if self.requires_confirmation else "activate"


@dataclass(frozen=True)
class Measure:
    """A joint-punishment measure (联合惩戒措施) and the lists that trigger it."""

    id: str
    title: str
    department: str
    scenarios: tuple[str, ...]
    lists: tuple[str, ...]
    binds: tuple[str, ...]
    #: legal basis per triggering list type (the measure's own basis, or the list's)
    legal_bases: dict[str, str] = field(hash=False)
    #: ``punishment`` (triggered by dishonesty lists) or ``incentive`` (by red lists)
    kind: str = "punishment"

    @property
    def legal_basis(self) -> str:
        """Every legal basis of the measure, distinct, joined with "；"."""
        return "；".join(dict.fromkeys(self.legal_bases[list_type] for list_type in self.lists))

    def legal_basis_for(self, list_type: str) -> str:
        """The legal basis under which this measure applies to an entry on ``list_type``."""
        return self.legal_bases[list_type]

    def binds_persons(self) -> bool:
        """True when the measure reaches people (e.g. the legal representative) too."""
        return any(role != "entity" for role in self.binds)


@dataclass(frozen=True)
class Aggregate:
    """A per-entity fact the registry computes (in SQL) and hands to the engine.

    - ``count``: non-revoked penalties whose violation type matches ``keyword_set``
      (every penalty when the aggregate names no set; when ``severity`` is given, only
      those whose evaluated severity is one of those; when ``months`` is given, only
      those decided within the ``months`` calendar months up to the as-of date);
    - ``max_count_within``: the largest number of such penalties whose decision dates
      all lie within ``months`` calendar months of each other;
    - ``list_held``: 1 when the entity has an active entry on ``list_type`` held for at
      least ``months`` months on the as-of date, else 0;
    - ``listed``: how many entries on any of ``list_types`` bind on the as-of date;
    - ``months_since``: whole calendar months from the latest counted penalty (matching
      ``keyword_set`` when given) to the as-of date; 0 when there is none (no track
      record) — a positive fact for "no penalty in N months" (its ids are empty: a
      clean record rests on no record).

    The registry hands each value together with the ids of the penalties (or list
    entries) forming it; those ids become the basis of a decision.
    """

    name: str
    kind: str
    title: str
    keyword_set: str | None = None
    severity: tuple[str, ...] = ()
    months: int | None = None
    list_type: str | None = None
    list_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleExample:
    """A worked example carried by a rule: aggregate values in, fires or not."""

    name: str
    aggregates: dict[str, float] = field(hash=False)
    party_type: str
    fires: bool


class _Condition:
    """A condition over the entity facts: a mapping of zen tests (``conditions``) or
    one expression (``expression``) — entity rules and grading rows share it."""

    conditions: tuple[tuple[str, str], ...]
    expression: str | None

    @property
    def when(self) -> str:
        """The condition as one readable zen expression (for explanations)."""
        if self.expression is not None:
            return self.expression
        return " and ".join(f"{name} {test}" for name, test in self.conditions)

    @property
    def references(self) -> tuple[str, ...]:
        """The fact names (aggregates, ``party_type``) the table form tests."""
        return tuple(name for name, _ in self.conditions)


@dataclass(frozen=True)
class Rule(_Condition):
    """An entity rule: when the aggregates satisfy ``when``, act on ``list_type``.

    ``conditions`` holds the table form of ``when`` (aggregate → zen unary test, all
    must hold); ``expression`` holds the expression form. Both empty when the pack's
    ``rules_model`` decides instead.
    """

    id: str
    title: str
    action: Action
    list_type: str
    basis: str
    conditions: tuple[tuple[str, str], ...] = ()
    expression: str | None = None
    description: str = ""
    examples: tuple[RuleExample, ...] = ()


@dataclass(frozen=True)
class Threshold:
    """One prosecution threshold: ``field`` (a penalty amount, 万元) ≥ ``at_least``."""

    field: str
    at_least: float


@dataclass(frozen=True)
class Offence:
    """An offence an alert looks for, and the thresholds (any one suffices)."""

    id: str
    title: str
    keyword_set: str
    unless_keyword_sets: tuple[str, ...]
    thresholds: tuple[Threshold, ...]


@dataclass(frozen=True)
class AlertExample:
    """A worked example carried by an alert: one penalty in, fires or not."""

    name: str
    penalty: dict[str, Any] = field(hash=False)
    fires: bool
    offence: str | None = None
    amount_field: str | None = None


@dataclass(frozen=True)
class AlertRule:
    """A per-penalty alert (not a list), e.g. ``criminal-transfer-check`` (以罚代刑)."""

    id: str
    kind: str
    title: str
    skip_when: tuple[str, ...]
    offences: tuple[Offence, ...]
    examples: tuple[AlertExample, ...] = ()

    def offence(self, offence_id: str) -> Offence:
        """The offence with this id (KeyError if none)."""
        for offence in self.offences:
            if offence.id == offence_id:
                return offence
        raise KeyError(offence_id)


@dataclass(frozen=True)
class SeverityPolicy:
    """DOMAIN.md §3 severity classes as data.

    Serious: any of ``serious_categories``, or aggravated (when
    ``serious_if_aggravated``), or a fine ≥ ``serious_fine_at_least_wan``.
    Minor: only ``minor_categories``, or those plus ``fine_category`` with a fine below
    ``minor_fine_below_wan[party_type]``. Anything else is general.
    """

    serious_categories: tuple[str, ...]
    serious_if_aggravated: bool
    serious_fine_at_least_wan: float | None
    minor_categories: tuple[str, ...]
    fine_category: str
    minor_fine_below_wan: dict[str, float] = field(hash=False)


@dataclass(frozen=True)
class Period:
    """Disclosure period of one severity class: minimum before repair, maximum."""

    min_months: int
    max_months: int


@dataclass(frozen=True)
class Regime:
    """A disclosure regime (e.g. the NDRC measures of 2023) from its effective date.

    A record keeps the regime in force on its decision date. ``periods`` maps each
    severity to its :class:`Period`, or to None when that severity is not disclosed.
    """

    id: str
    title: str
    effective_from: str
    periods: dict[str, Period | None] = field(hash=False)


@dataclass(frozen=True)
class FieldRule:
    """A rule for violations in a field (matched by keyword set).

    ``min_months`` raises the minimum before repair (local longer minimum);
    ``repairable: False`` forbids early repair (life and health fields).
    """

    id: str
    title: str
    keyword_set: str
    min_months: int | None = None
    repairable: bool | None = None


@dataclass(frozen=True)
class DisclosurePolicy:
    """Regimes in effective-date order, plus the field rules."""

    regimes: tuple[Regime, ...]
    field_rules: tuple[FieldRule, ...] = ()

    def regime_for(self, decided_on: str) -> Regime:
        """The regime in force on ``decided_on`` (ISO date).

        Records decided before the first regime's date take the first regime.
        """
        starts = [regime.effective_from for regime in self.regimes]
        index = bisect.bisect_right(starts, decided_on) - 1
        return self.regimes[max(index, 0)]


@dataclass(frozen=True)
class GradeRule(_Condition):
    """One row of the grading table: when the facts satisfy it, the entity gets ``grade``.

    Rows are tried in pack order and the first that holds decides (first hit); like an
    entity rule, the condition is a mapping of zen tests (``conditions``) or one
    expression (``expression``) over the aggregates and ``party_type``.
    """

    id: str
    grade: str
    title: str
    conditions: tuple[tuple[str, str], ...] = ()
    expression: str | None = None


@dataclass(frozen=True)
class GradeExample:
    """A worked example of the grading: aggregate values in, the grade expected."""

    name: str
    aggregates: dict[str, float] = field(hash=False)
    party_type: str
    grade: str


@dataclass(frozen=True)
class Grading:
    """Credit grades (信用分类监管, DOMAIN.md §6): a first-hit table over the aggregates.

    ``titles`` names each grade (A–D); ``rules`` are tried in order, and an entity no
    row matches gets ``default``.  ``public`` says whether the public pages show the
    grade (departments always see it).
    """

    titles: dict[str, str] = field(hash=False)
    rules: tuple[GradeRule, ...]
    default: str
    public: bool = False
    examples: tuple[GradeExample, ...] = ()

    def title(self, grade: str) -> str:
        return self.titles.get(grade, grade)

    def rule(self, rule_id: str) -> GradeRule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None


@dataclass(frozen=True)
class PackExample:
    """A pack-level example: a penalty or an entity in, expected outcome fields."""

    name: str
    subject: Literal["penalty", "entity"]
    facts: dict[str, Any] = field(hash=False)
    expect: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class RulePack:
    """A loaded, checked rule pack. Build it with :func:`rules.load_pack`."""

    name: str
    title: str
    version: str
    path: str
    lists: dict[str, ListType] = field(hash=False)
    keyword_sets: dict[str, tuple[str, ...]] = field(hash=False)
    severity: SeverityPolicy
    disclosure: DisclosurePolicy
    aggregates: dict[str, Aggregate] = field(hash=False)
    rules: tuple[Rule, ...]
    alerts: tuple[AlertRule, ...]
    measures: tuple[Measure, ...]
    #: what happens to an entry no rule supports any more whose basis includes a revoked
    #: record (DOMAIN.md §4 rule 5): remove or keep
    on_basis_revoked: str
    examples: tuple[PackExample, ...] = ()
    #: the zen JSON model deciding entity rules, when the pack names one (``rules_model``)
    rules_model: str | None = field(default=None, repr=False)
    #: the canonical JSON of the whole pack; ``version`` is its sha256
    canonical: str = field(default="", repr=False, compare=False)
    #: credit grades A–D (the ``grading`` section), when the pack grades entities
    grading: Grading | None = field(default=None, hash=False)
    #: kinds of authority and their code prefixes (``authority_categories``)
    authority_categories: dict[str, AuthorityCategory] = field(default_factory=dict, hash=False)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; KeyError naming the known ids if there is none."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        known = ", ".join(rule.id for rule in self.rules)
        raise KeyError(f"pack {self.name!r} has no rule {rule_id!r} (known: {known})")

    def alert(self, alert_id: str) -> AlertRule:
        """The alert rule with this id (KeyError if none)."""
        for alert in self.alerts:
            if alert.id == alert_id:
                return alert
        raise KeyError(f"pack {self.name!r} has no alert {alert_id!r}")

    def measures_for(
        self, list_type: str, scenario: str | None = None, kind: str | None = None
    ) -> tuple[Measure, ...]:
        """The measures an active entry on ``list_type`` triggers, in pack order.

        With ``scenario`` (e.g. ``procurement``), only the measures for that scenario;
        with ``kind`` (``punishment`` or ``incentive``), only measures of that kind.
        An unknown list type has no measures.
        """
        return tuple(
            measure
            for measure in self.measures
            if list_type in measure.lists
            and (scenario is None or scenario in measure.scenarios)
            and (kind is None or measure.kind == kind)
        )

    def competence(self, list_type: str) -> Competence | None:
        """Who may act on entries of ``list_type`` (None: the list names nobody, so the
        deciding authority of each entry alone decides)."""
        from rules.competence import competence

        spec = self.lists.get(list_type)
        if spec is None:
            return None
        return competence(list_type, spec.title, spec.competent, self.authority_categories)

    def list_kind(self, list_type: str) -> str:
        """``dishonesty`` or ``incentive`` (an unknown list counts as dishonesty)."""
        spec = self.lists.get(list_type)
        return "dishonesty" if spec is None else spec.kind

    @property
    def incentive_lists(self) -> tuple[str, ...]:
        """The red lists (守信激励名单) of the pack, in pack order."""
        return tuple(name for name, spec in self.lists.items() if spec.kind == "incentive")

    @property
    def scenarios(self) -> tuple[str, ...]:
        """Every scenario some measure names, sorted."""
        return tuple(sorted({s for measure in self.measures for s in measure.scenarios}))

    def evaluator(self) -> Evaluator:
        """A new :class:`rules.evaluate.Evaluator` holding this pack's compiled models.

        Building one compiles the zen models (a few milliseconds): create it once per
        process and reuse it.
        """
        from rules.evaluate import Evaluator  # here: rules.evaluate imports this module

        return Evaluator(self)
