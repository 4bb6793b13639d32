"""Reading a rule pack file: YAML with unique keys, plain data, and inheritance
(``extends``): a child pack merged over its base, section by section.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import yaml

from rules.errors import PackError
from rules.validation import kind_of

PACKS_DIR = Path(__file__).resolve().parent / "packs"
#: The shipped default pack (DOMAIN.md §3–§5).
DEFAULT_PACK_PATH = PACKS_DIR / "default.yaml"


# ------------------------------------------------------------------- YAML reading


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (YAML would keep the last silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError([f"{path}: cannot read the pack: {exc.strerror or exc}"]) from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PackError([f"{path}: not valid YAML: {exc}"]) from exc


def _plain(value: Any) -> Any:
    """YAML values as JSON-able data (dates become ISO strings)."""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


# ----------------------------------------------------------------------- extends

_BY_ID_SECTIONS = ("rules", "alerts", "measures")
_ENTRY_SECTIONS = ("lists", "keyword_sets", "aggregates", "severity", "authority_categories")


def _shallow(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **override}
    return override


def _merge_by_id(base: Any, override: Any) -> Any:
    if not (isinstance(base, list) and isinstance(override, list)):
        return override
    if not all(isinstance(item, dict) and "id" in item for item in [*base, *override]):
        return override
    merged = list(base)
    index = {item["id"]: position for position, item in enumerate(merged)}
    for item in override:
        if item["id"] in index:
            merged[index[item["id"]]] = _shallow(merged[index[item["id"]]], item)
        else:
            index[item["id"]] = len(merged)
            merged.append(item)
    return merged


def _merge_packs(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Apply a child pack (``extends``) on top of its base; see docs/rule-packs.md."""
    merged = dict(base)
    for key, value in child.items():
        if key == "extends":
            continue
        if key not in base:
            merged[key] = value
        elif key in _BY_ID_SECTIONS:
            merged[key] = _merge_by_id(base[key], value)
        elif key in _ENTRY_SECTIONS and isinstance(value, dict) and isinstance(base[key], dict):
            merged[key] = {
                **base[key],
                **{name: _shallow(base[key].get(name), entry) for name, entry in value.items()},
            }
        elif key == "grading" and isinstance(value, dict) and isinstance(base[key], dict):
            merged[key] = {**base[key], **value}  # e.g. only `public: true`
        elif key == "disclosure" and isinstance(value, dict) and isinstance(base[key], dict):
            section = dict(base[key])
            for name, entry in value.items():
                section[name] = _merge_by_id(section.get(name), entry)
            merged[key] = section
        else:
            merged[key] = value
    return merged


def resolve_pack(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The pack at ``path`` with its ``extends`` chain applied, paths made absolute."""
    if path in chain:
        cycle = " → ".join(str(p) for p in (*chain, path))
        raise PackError([f"{chain[0]}: extends: cycle {cycle}"])
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise PackError([f"{path}: the pack must be a YAML mapping, not {kind_of(raw)}"])
    raw = _plain(raw)
    if isinstance(raw.get("rules_model"), str):
        raw["rules_model"] = str((path.parent / raw["rules_model"]).resolve())
    base_ref = raw.get("extends")
    if base_ref is None:
        return cast(dict[str, Any], raw)
    if not isinstance(base_ref, str) or not base_ref:
        raise PackError(
            [f"{path}: extends: must be the path of another pack, not {kind_of(base_ref)}"]
        )
    base_path = (path.parent / base_ref).resolve()
    if not base_path.is_file():
        raise PackError([f"{path}: extends: no pack file at {base_path}"])
    return _merge_packs(resolve_pack(base_path, (*chain, path)), raw)
