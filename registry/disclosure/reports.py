"""Credit reports (信用报告) a tender can accept: numbered, dated, carrying every public
fact of the entity on the day, and verifiable.

A report is issued for an entity and a day: :func:`issue_report` reads its public
profile (:func:`registry.disclosure.profile.public_profile` — the same facts the entity
page shows) and its published inspection results, and stores what it said
(:class:`registry.disclosure.models.CreditReport`).  Asked again the same day with the
same facts, the same report is handed back; when the facts changed during the day a new
number is issued (``XYBG-<yyyymmdd>-<code>-<nnn>``).

The verification code is an HMAC-SHA256 under the deployment's ``report`` key
(:mod:`registry.core.keys`) over the number, the subject, the day, the time of issue
and the digest of the facts, shown in groups of four characters.  :func:`verify_report`
takes a number and a code: genuine when the code is the one the registry would give
that number; then whether the facts still hold, by comparing today's facts with those
reported.  A report with no public records is still a report ("查无不良信用记录").

Operations flush; the caller commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.codes import validate_uscc
from registry.core.config import RecordsConfig
from registry.core.errors import Invalid
from registry.disclosure.models import CreditReport
from registry.disclosure.profile import public_profile
from registry.disclosure.views import facts_of

if TYPE_CHECKING:
    from rules import RulePack

PREFIX = "XYBG"
CODE_LENGTH = 20  # base32 characters: 100 bits


def report_facts(
    profile: Mapping[str, Any], inspections: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The facts a report certifies, in a canonical shape: the disclosed penalties and
    list entries as they read that day, and the published inspection results.  What
    may change without changing the facts (objection marks, the day) is left out."""
    return {
        "name": profile["name"],
        "penalties": sorted(
            (
                [
                    p["id"],
                    p["decision_number"],
                    p["decided_on"],
                    p["disclosure_until"],
                    p["fine_wan"],
                    p["content"],
                ]
                for p in profile["penalties"]
            ),
            key=lambda row: row[0],
        ),
        "lists": sorted(
            ([e["id"], e["list_type"], e["since"], e["until"]] for e in profile["lists"]),
            key=lambda row: row[0],
        ),
        "inspections": sorted(
            (
                [
                    r["task_id"],
                    _iso(r["inspected_on"]),
                    r["outcome"],
                ]
                for r in inspections
            ),
            key=lambda row: (row[0], row[1] or ""),
        ),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def digest(facts: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(facts, option=orjson.OPT_SORT_KEYS)).hexdigest()


def verification_code(key: bytes, report: CreditReport) -> str:
    """The report's code: ``XXXX-XXXX-XXXX-XXXX-XXXX`` (base32, no padding)."""
    message = "|".join(
        (
            report.number,
            report.uscc,
            report.as_of.isoformat(),
            _utc(report.issued_at).isoformat(timespec="seconds"),
            report.facts_digest,
        )
    ).encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    text = base64.b32encode(mac).decode()[:CODE_LENGTH]
    return "-".join(text[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _clean_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def entity_inspections(session: Session, uscc: str) -> list[dict[str, Any]]:
    from registry.supervision.inspections import published_results_for

    return published_results_for(session, uscc)


def issue_report(
    session: Session,
    key: bytes,
    uscc: str,
    *,
    pack: RulePack | None = None,
    now: datetime | None = None,
    issuer: str = RecordsConfig.report_issuer,
) -> dict[str, Any]:
    """The credit report of ``uscc`` as of today, issued in the name of ``issuer``
    (``records.report_issuer``): the stored report of the day with the same facts, or a
    newly numbered one.  A valid code the registry holds nothing about
    gets a report too — "查无不良信用记录" is what a bidder needs; a malformed code raises
    :class:`~registry.core.codes.CodeError`."""
    now = now or clock.now()
    day = clock.today()
    profile = public_profile(session, uscc, day, pack=pack) or _unknown_profile(uscc, day)
    inspections = entity_inspections(session, profile["uscc"])
    facts = report_facts(profile, inspections)
    facts_digest = digest(facts)
    issued = session.execute(
        select(CreditReport)
        .where(
            CreditReport.uscc == profile["uscc"],
            CreditReport.as_of == day,
            CreditReport.facts_digest == facts_digest,
        )
        .order_by(CreditReport.id)
        .limit(1)
    ).scalar_one_or_none()
    if issued is None:
        count = session.execute(
            select(func.count())
            .select_from(CreditReport)
            .where(CreditReport.uscc == profile["uscc"], CreditReport.as_of == day)
        ).scalar_one()
        issued = CreditReport(
            number=f"{PREFIX}-{day:%Y%m%d}-{profile['uscc']}-{count + 1:03d}",
            uscc=profile["uscc"],
            name=profile["name"],
            as_of=day,
            issued_at=now.replace(microsecond=0),
            facts_digest=facts_digest,
            facts={
                **facts,
                "counts": {
                    "penalties": len(profile["penalties"]),
                    "lists": len(profile["lists"]),
                    "inspections": len(inspections),
                },
            },
        )
        session.add(issued)
        session.flush()
    return {
        "number": issued.number,
        "code": verification_code(key, issued),
        "issuer": issuer,
        "issued_at": _utc(issued.issued_at),
        "as_of": day.isoformat(),
        "profile": profile,
        "inspections": inspections,
        "clean": not profile["penalties"] and not _dishonesty(profile),
    }


def _unknown_profile(uscc: str, day: date) -> dict[str, Any]:
    """The profile of a valid code with no record in the registry: what its code says."""
    code = validate_uscc(uscc)
    return {
        "uscc": code,
        "name": "",
        "party_type": "organisation",
        **dict(facts_of(code[:8])),
        "lists": [],
        "penalties": [],
        "as_of": day.isoformat(),
    }


def _dishonesty(profile: Mapping[str, Any]) -> list[Any]:
    return [e for e in profile["lists"] if e.get("group") != "incentive"]


class BadReportNumber(Invalid):
    """A report number that is not in the registry's form."""


def verify_report(
    session: Session, key: bytes, number: str, code: str, *, pack: RulePack | None = None
) -> dict[str, Any]:
    """Whether the report ``number`` with ``code`` is genuine and, if so, whether its
    facts still hold today: ``{"genuine", "facts_hold", "report": {...} | None,
    "changed": [what changed]}``.  An unknown number and a wrong code answer alike
    (not genuine), so the answer tells nothing about numbers without their code."""
    number = number.strip().upper()
    if not number.startswith(PREFIX + "-") or len(number) > 64:
        raise BadReportNumber(
            "报告编号格式不正确，应形如 XYBG-20261205-91310000…-001",
            details={"number": ["报告编号格式不正确"]},
        )
    report = session.execute(
        select(CreditReport).where(CreditReport.number == number)
    ).scalar_one_or_none()
    given = _clean_code(code)
    if report is None or not hmac.compare_digest(
        _clean_code(verification_code(key, report)), given
    ):
        return {"genuine": False, "facts_hold": None, "report": None, "changed": []}
    day = clock.today()
    profile = public_profile(session, report.uscc, day, pack=pack) or _unknown_profile(
        report.uscc, day
    )
    now_facts = report_facts(profile, entity_inspections(session, report.uscc))
    holds = digest(now_facts) == report.facts_digest
    changed = [] if holds else _what_changed(report.facts, now_facts)
    return {
        "genuine": True,
        "facts_hold": holds,
        "report": {
            "number": report.number,
            "uscc": report.uscc,
            "name": report.name,
            "as_of": report.as_of.isoformat(),
            "issued_at": _utc(report.issued_at).isoformat(timespec="seconds"),
            "counts": dict(report.facts.get("counts", {})),
        },
        "changed": changed,
    }


def _what_changed(then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    labels = {
        "name": "主体名称",
        "penalties": "公示中的行政处罚信息",
        "lists": "名单状态",
        "inspections": "抽查检查结果",
    }
    return [f"{label}已变化" for part, label in labels.items() if then.get(part) != now.get(part)]
