#!/usr/bin/env python3
"""Fail when a module of the product grows past the size a reader can hold in mind.

docs/architecture.md: no module in registry/, api/, rules/, importers/ or cli/ over
800 lines; a module that outgrows it is split along what it does.
"""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 800
PACKAGES = ("registry", "api", "rules", "importers", "cli")


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    too_long = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > LIMIT:
                too_long.append((lines, path.relative_to(root)))
    for lines, path in too_long:
        print(f"{path}: {lines} lines (limit {LIMIT}): split it along what it does")
    if too_long:
        return 1
    print(f"module sizes: every module of {', '.join(PACKAGES)} within {LIMIT} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
