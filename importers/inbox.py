"""The import inbox: a directory authorities (or a transfer job) drop penalty files into.

Each file is imported once, then moved to ``done/`` — or to ``failed/`` when it could not
be imported at all (or was refused under ``strict``) — with its report beside it
(``<name>.report.csv``).  A file in a sub-directory named by a USCC
(``inbox/11320500NTDF6XDB6G/2026-11.csv``) is imported for that authority, as
``--authority`` would.

Safe with two schedulers: a file is claimed by renaming it into ``processing/`` (atomic
on one file system), so only one of them imports it.  Files still being written are left
for the next round: names starting with ``.`` or ending in ``.part``/``.tmp``, and files
changed in the last few seconds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from importers.readers import detect_format
from importers.run import ImportSummary, ReportWriter, import_file
from registry.core.codes import is_valid_uscc
from registry.core.config import Config
from registry.core.runtime import Runtime

DONE, FAILED, PROCESSING = "done", "failed", "processing"
_SKIP_SUFFIXES = (".part", ".tmp", ".partial", ".report.csv")


def _candidates(inbox: Path, settle_seconds: float) -> Iterator[tuple[Path, str | None]]:
    now = time.time()
    tops = [(inbox, None)]
    tops += [(d, d.name) for d in sorted(inbox.iterdir()) if d.is_dir() and is_valid_uscc(d.name)]
    for directory, authority in tops:
        for path in sorted(directory.iterdir()):
            name = path.name
            if not path.is_file() or name.startswith(".") or name.endswith(_SKIP_SUFFIXES):
                continue
            try:
                detect_format(name)
            except ValueError:
                continue
            try:
                if now - path.stat().st_mtime < settle_seconds:
                    continue
            except FileNotFoundError:
                continue
            yield path, authority


def _unique(target: Path) -> Path:
    """``target``, or ``name-2.ext``… if a file of that name is already there."""
    if not target.exists():
        return target
    for n in range(2, 10_000):
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(target)


def import_inbox(
    source: Runtime | Config,
    *,
    actor: str = "inbox",
    settle_seconds: float = 2.0,
    strict: bool = False,
) -> list[ImportSummary]:
    """Import every file waiting in ``importer.inbox``; return one summary per file."""
    rt = source if isinstance(source, Runtime) else Runtime(source)
    inbox = rt.config.path(rt.config.importer.inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    for sub in (DONE, FAILED, PROCESSING):
        (inbox / sub).mkdir(exist_ok=True)
    summaries = []
    try:
        for path, authority in list(_candidates(inbox, settle_seconds)):
            claimed = inbox / PROCESSING / f"{os.getpid()}-{path.name}"
            try:
                path.rename(claimed)
            except FileNotFoundError:
                continue  # another scheduler took it
            summaries.append(_import_one(rt, claimed, path, authority, actor, strict))
    finally:
        if rt is not source:
            rt.dispose()
    return summaries


def _import_one(
    rt: Runtime, claimed: Path, original: Path, authority: str | None, actor: str, strict: bool
) -> ImportSummary:
    name = original.name
    report_tmp = claimed.with_name(claimed.name + ".report.csv")
    report = ReportWriter(report_tmp)
    try:
        summary = import_file(
            rt,
            claimed,
            name=name,
            authority=authority,
            strict=strict,
            report=report,
            actor=f"{actor}:{name}",
        )
    except BaseException:
        # Not the file's fault (the database went away, the job was stopped): put it
        # back for the next round; the batches already committed make that safe.
        report.close()
        report_tmp.unlink(missing_ok=True)
        claimed.rename(original)
        raise
    if summary.fatal:
        # No console here: the reason the file was refused goes into its report.
        report.add(0, "_file", summary.fatal)
    report.close()
    inbox = rt.config.path(rt.config.importer.inbox)
    target = _unique(inbox / (DONE if summary.ok else FAILED) / name)
    claimed.rename(target)
    final_report = target.with_name(target.name + ".report.csv")
    report_tmp.rename(final_report)
    summary.report = str(final_report)
    return summary
