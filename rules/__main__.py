"""``python -m rules``: check a pack, or export its compiled zen models.

    python -m rules check [PACK]          # problems, one a line; exit 1 if any
    python -m rules export PACK [OUTDIR]  # writes <name>.penalty.json, <name>.entity-rules.json

The exported models open in GoRules' editor; an entity model edited there can be
named by a pack's ``rules_model``. The registry's ``credit-registry rules check``
calls the same :func:`rules.check_pack`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rules.checking import check_pack
from rules.compile import entity_model, grading_model, penalty_model
from rules.errors import PackError
from rules.loading import load_pack
from rules.packfile import DEFAULT_PACK_PATH


def export_models(pack_path: Path, out_dir: Path | None = None) -> list[Path]:
    """Write the pack's compiled penalty and entity models beside it (or in ``out_dir``)."""
    pack = load_pack(pack_path)
    target = out_dir or Path(pack.path).parent
    written = []
    models = [("penalty", penalty_model(pack)), ("entity-rules", entity_model(pack))]
    grading = grading_model(pack)
    if grading is not None:
        models.append(("grading", grading))
    for suffix, model in models:
        path = target / f"{pack.name}.{suffix}.json"
        path.write_text(json.dumps(model, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rules", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a pack and run its examples")
    check.add_argument("pack", nargs="?", type=Path, default=DEFAULT_PACK_PATH)
    export = commands.add_parser("export", help="write the compiled zen models as JSON")
    export.add_argument("pack", type=Path)
    export.add_argument("out_dir", nargs="?", type=Path)
    args = parser.parse_args(argv)
    if args.command == "check":
        problems = check_pack(args.pack)
        for problem in problems:
            print(problem)
        if not problems:
            print(f"{args.pack}: OK")
        return 1 if problems else 0
    try:
        for path in export_models(args.pack, args.out_dir):
            print(path)
    except PackError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
