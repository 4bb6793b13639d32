"""Issued credit reports (信用报告): what a report said, so that anyone holding one can
check later that it is genuine and whether its facts still hold."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.core.models import Base, BigId, JsonDoc, UTCDateTime, utc_now


class CreditReport(Base):
    """One issued credit report: its number, subject, day and time, and a digest of the
    public facts it carried.  The verification code is not stored: it is the HMAC of
    these columns under the deployment's report key (:mod:`registry.disclosure.reports`)."""

    __tablename__ = "credit_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(
        String(64), unique=True, comment="XYBG-<yyyymmdd>-<code>-<nnn>, per entity and day"
    )
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200), comment="the subject's name as reported")
    as_of: Mapped[date] = mapped_column(Date, comment="the day whose public facts it reports")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    facts_digest: Mapped[str] = mapped_column(
        String(64), comment="SHA-256 of the reported public facts (canonical JSON)"
    )
    facts: Mapped[dict[str, Any]] = mapped_column(
        JsonDoc, comment="what it reported: record and entry ids, inspection results, counts"
    )
