"""Red lists an authority names (守信激励名单 by designation), e.g. 海关高级认证企业 named
by customs, 纳税信用A级纳税人 named by the tax authority.

Such a list is an incentive list of the pack (``kind: incentive``) that no rule fills: its
entries come from the naming authority — one at a time through the API
(:func:`add_named_entry`) or as a file (:func:`import_named_file`, ``credit-registry
lists import``).  An entry is active from ``since`` (default today) to ``until`` (default:
``since`` plus the list's term), with the authority's basis text in ``note``.  The same
entry again (same code, list, dates and basis) changes nothing; the same code with other
dates or basis updates the entry in force (a renewal), audited.  The authority removes
its entries with the regulators' ``remove`` (``/api/v1/list-entries/<id>/remove``).

Every change writes the entry's dated event, an audit entry and a change-feed row
(:func:`registry.lists.entries.record_event`).  Whether an entity gets the incentives is decided
when a department asks (:mod:`registry.disclosure.sanctions`): never while a punishment binds.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.core import clock
from registry.core.codes import CodeError, validate_uscc
from registry.core.errors import Invalid
from registry.core.wording import json_problem
from registry.lists.entries import (
    check_competence,
    entry_terms,
    in_force_on,
    record_event,
    snapshot,
)
from registry.lists.models import ListEntry
from registry.records.models import Entity

if TYPE_CHECKING:
    from registry.core.runtime import Runtime
    from rules import RulePack

#: Column names a file may use, by field (English names of the API, or Chinese headers).
HEADERS: dict[str, tuple[str, ...]] = {
    "uscc": ("uscc", "统一社会信用代码", "信用代码"),
    "name": ("name", "名称", "企业名称", "主体名称"),
    "since": ("since", "起始日期", "认定日期", "列入日期"),
    "until": ("until", "截止日期", "有效期至"),
    "basis": ("basis", "依据", "认定依据", "认定文书"),
}
MAX_BASIS = 2000


@dataclass
class Problem:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"第 {self.line} 行：{self.field}：{self.reason}"


@dataclass
class ImportReport:
    list_type: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)

    def counts(self) -> str:
        from registry.core.wording import counts_sentence

        return counts_sentence(self.added, self.updated, self.unchanged, self.rejected)


def named_list(pack: RulePack, list_type: str) -> None:
    """Invalid unless ``list_type`` is a red list of the pack that no rule fills."""
    spec = pack.lists.get(list_type)
    named = [
        name
        for name, s in pack.lists.items()
        if s.kind == "incentive" and not any(r.list_type == name for r in pack.rules)
    ]
    if spec is None or list_type not in named:
        why = (
            "不是当前规则包中的名单"
            if spec is None
            else "不是由认定机关命名的守信激励名单"
            if spec.kind != "incentive"
            else "由规则自动列入，不能由机关命名"
        )
        raise Invalid(
            f"名单类型“{list_type}”{why}",
            details={"list_type": [f"应为以下之一：{', '.join(named) or '（无）'}"]},
        )


def _day(value: Any, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise Invalid(
            f"{what} 应为日期（YYYY-MM-DD），而不是“{value}”",
            details={what: ["应为日期（YYYY-MM-DD）"]},
        ) from None


def add_named_entry(
    session: Session,
    pack: RulePack,
    list_type: str,
    uscc: str,
    *,
    authority_uscc: str | None,
    actor: str,
    basis: str,
    since: date | None = None,
    until: date | None = None,
    name: str | None = None,
) -> tuple[ListEntry, str]:
    """Put ``uscc`` on the named red list ``list_type``; returns the entry and what was
    done: ``added``, ``updated`` or ``unchanged``.  Raises Invalid naming the field."""
    named_list(pack, list_type)
    check_competence(pack, list_type, authority_uscc)
    try:
        code = validate_uscc(uscc)
    except CodeError as exc:
        raise Invalid(exc.message, details={"uscc": [exc.message], "check": exc.check}) from None
    text = (basis or "").strip()
    if not text:
        raise Invalid("必须填写认定依据（basis）", details={"basis": ["必填项缺失"]})
    if len(text) > MAX_BASIS:
        raise Invalid(
            f"认定依据过长（最多{MAX_BASIS}字）", details={"basis": [f"最多{MAX_BASIS}字"]}
        )
    start = since or clock.today()
    term_until, _ = entry_terms(pack, list_type, start)
    end = until or term_until
    if end is not None and end < start:
        raise Invalid(f"截止日期 {end} 早于起始日期 {start}", details={"until": ["早于起始日期"]})
    current = session.execute(
        select(ListEntry)
        .where(
            ListEntry.uscc == code,
            ListEntry.list_type == list_type,
            ListEntry.status == "active",
            ListEntry.rule_id.is_(None),
        )
        .order_by(ListEntry.id.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if current is not None and (current.until is None or current.until >= start):
        if (current.since, current.until, current.note, current.authority_uscc) == (
            start,
            end,
            text,
            authority_uscc,
        ):
            return current, "unchanged"
        if current.authority_uscc != authority_uscc:
            raise Invalid(
                f"该主体已由机关 {current.authority_uscc} 列入此名单（条目 {current.id}）",
                details={"uscc": ["已由其他机关列入此名单"]},
                context={"list_entry_id": current.id},
            )
        _known_entity(session, code, name)
        before = snapshot(current)
        current.since, current.until, current.note = start, end, text
        session.flush()
        record_event(
            session,
            current,
            "renewed",
            clock.today(),
            actor,
            text,
            before,
            pack,
            public_change="activated",
        )
        return current, "updated"
    _known_entity(session, code, name)
    entry = ListEntry(
        uscc=code,
        list_type=list_type,
        status="active",
        rule_id=None,
        pack_version=pack.version,
        authority_uscc=authority_uscc,
        basis_penalty_ids=[],
        proposed_on=clock.today(),
        since=start,
        until=end,
        early_removal_from=start,
        confirmed_by=actor,
        note=text,
    )
    session.add(entry)
    session.flush()
    record_event(
        session,
        entry,
        "activated",
        clock.today(),
        actor,
        text,
        None,
        pack,
        public_change="activated",
    )
    return entry, "added"


def _known_entity(session: Session, code: str, name: str | None) -> None:
    """Register an entity the registry does not know yet, when the file names it (so the
    public page can show its red-list membership)."""
    if name and name.strip() and session.get(Entity, code) is None:
        session.add(
            Entity(
                uscc=code,
                name=name.strip()[:200],
                party_type="organisation",
                division_code=code[2:8],
                province_code=code[2:4],
            )
        )


# --- files ---------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid("文件既不是 UTF-8 也不是 GB18030 编码", details={"file": ["编码无法识别"]})


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, fields by name or None, problem) for each data line of the file."""
    text = _decode(path.read_bytes())
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except RecursionError:
                yield number, None, "JSON嵌套层数过多"
                continue
            except ValueError as exc:
                yield number, None, f"不是有效的JSON：{json_problem(exc)}"
                continue
            if not isinstance(item, dict):
                yield number, None, "每行应为一个JSON对象"
                continue
            yield number, item, None
        return
    # strict: a quote never closed is a file error whatever field size limit another
    # import left set in this process (csv.field_size_limit is process-wide).
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        raise Invalid(f"文件不是可读取的CSV：{exc}", details={"file": [str(exc)]}) from None
    columns: dict[int, str] = {}
    for index, cell in enumerate(header):
        for name, aliases in HEADERS.items():
            if cell in aliases or cell.lower() in aliases:
                columns[index] = name
    if "uscc" not in columns.values():
        raise Invalid(
            f"表头中没有统一社会信用代码列（可用：{', '.join(HEADERS['uscc'])}）",
            details={"header": header},
        )
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            yield (
                number,
                {columns[i]: c.strip() for i, c in enumerate(cells) if i in columns},
                None,
            )
    except csv.Error as exc:
        raise Invalid(f"文件不是可读取的CSV：{exc}", details={"file": [str(exc)]}) from None


def import_named_file(
    rt: Runtime,
    path: str | Path,
    list_type: str,
    *,
    authority_uscc: str | None,
    actor: str,
) -> ImportReport:
    """Import a CSV (header: uscc/统一社会信用代码, since, until, basis, name) or JSONL file
    of codes an authority names to ``list_type``, in one transaction; every line that
    cannot be taken is reported with its line number, field and reason."""
    source = Path(path)
    report = ImportReport(list_type)
    with rt.unit_of_work() as session:
        named_list(rt.pack, list_type)
        check_competence(rt.pack, list_type, authority_uscc)
        for number, item, problem in _rows(source):
            if item is None:
                report.rejected += 1
                report.problems.append(Problem(number, "整行", problem or "无法读取"))
                continue
            unknown = sorted(set(item) - set(HEADERS))
            if unknown:
                report.rejected += 1
                report.problems.append(
                    Problem(number, unknown[0], f"未知字段（可用：{'、'.join(HEADERS)}）")
                )
                continue
            try:  # every check comes before any write: a refused line leaves nothing
                _, done = add_named_entry(
                    session,
                    rt.pack,
                    list_type,
                    str(item.get("uscc") or ""),
                    authority_uscc=authority_uscc,
                    actor=actor,
                    basis=str(item.get("basis") or ""),
                    since=_day(item.get("since"), "since"),
                    until=_day(item.get("until"), "until"),
                    name=(str(item["name"]) if item.get("name") else None),
                )
            except Invalid as exc:
                report.rejected += 1
                fields_ = [k for k in (exc.details or {}) if k in HEADERS] or ["uscc"]
                report.problems.append(Problem(number, fields_[0], exc.message))
                continue
            setattr(report, done, getattr(report, done) + 1)
    return report


def named_entries_in_force(
    session: Session, codes: Iterable[str], day: date, pack: RulePack
) -> list[ListEntry]:
    """Red-list entries binding the codes on ``day`` (any incentive list)."""
    lists = list(pack.incentive_lists)
    if not lists:
        return []
    return list(
        session.execute(
            select(ListEntry)
            .where(
                ListEntry.uscc.in_(sorted(set(codes))),
                ListEntry.list_type.in_(lists),
                in_force_on(day),
            )
            .order_by(ListEntry.list_type, ListEntry.since)
        ).scalars()
    )
