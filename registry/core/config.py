"""Configuration in layers, validated once and frozen.

Order (later wins): built-in defaults → ``config.yaml`` (or the file named by
``REGISTRY_CONFIG``) → ``REGISTRY_*`` environment variables → explicit overrides (tests,
``create_app(config=...)``).  An unknown key or a value of the wrong type is a
:class:`ConfigError` that names the key and where it came from; nothing reads the
environment after :func:`load_config` has run.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

ENV_PREFIX = "REGISTRY_"
DEFAULT_CONFIG_FILE = "config.yaml"


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the key and the source."""


@dataclass(frozen=True)
class DatabaseConfig:
    #: SQLAlchemy URL.  ``sqlite:///relative/path`` is relative to the config file.
    url: str = "sqlite:///data/registry.sqlite3"
    echo: bool = False
    pool_size: int = 10
    #: PostgreSQL: statements running longer are cancelled, so no request hangs.
    statement_timeout_ms: int = 15000
    connect_timeout_s: int = 5
    #: PostgreSQL streaming replicas (SQLAlchemy URLs): public lookups, search, published
    #: lists and the change feed read from the first one that is up and no more than
    #: ``max_replica_lag`` seconds behind; everything else reads and writes here
    #: (registry.core.replicas, docs/scaling.md).
    replica_urls: tuple[str, ...] = ()
    max_replica_lag: int = 5
    #: Where the API workers remember which token wrote lately (its reads then skip the
    #: replicas for ``max_replica_lag`` + 2 s, so it reads its own writes):
    #: ``memory://`` (each worker its own) or a Redis URL every worker shares, e.g.
    #: ``redis://127.0.0.1:6379`` (api/common/writers.py, docs/scaling.md).
    writers_storage: str = "memory://"


@dataclass(frozen=True)
class SecurityConfig:
    #: The deployment's one secret (environment ``REGISTRY_SECRET_KEY``, 32+ random
    #: bytes): every key the registry uses is derived from it per purpose
    #: (registry.core.keys).  Missing, short or the development value: nothing starts
    #: outside development mode.  How to rotate it: docs/security.md.
    secret_key: str = ""
    #: Development mode (environment ``REGISTRY_DEVELOPMENT=1``): a weak or missing
    #: secret is accepted (the development value stands in), for demos and tests only.
    development: bool = False
    #: Pins the key of the ID-number hash (person keys) apart from ``secret_key``, so
    #: the main secret can be rotated without orphaning person keys (docs/security.md).
    id_hash_secret: str = ""
    #: Secrets used before a rotation, newest first: only to recognise the receipts
    #: handed out under them (docs/security.md).
    previous_secret_keys: tuple[str, ...] = ()
    session_cookie_secure: bool = False


@dataclass(frozen=True)
class ApiConfig:
    public_rate_limit: str = "120/minute"
    #: Filing objections and complaints (public, no account): stricter than reads, one
    #: count per client shared by the API and the web forms.
    public_filing_rate_limit: str = "10/hour"
    #: Where the counts live: ``memory://`` per process (one worker), or a store every
    #: worker shares, e.g. ``redis://127.0.0.1:6379``.
    rate_limit_storage: str = "memory://"
    #: Proxies in front that append to ``X-Forwarded-For`` (0: clients connect directly,
    #: and the header is ignored); the client is the address the outermost one saw.
    trusted_proxies: int = 0
    max_upload_mb: int = 50
    #: Bounds on a JSON request body, checked before it is parsed (api/common/bodies.py):
    #: its size (413 above) and the nesting depth of its arrays and objects (400 above).
    max_json_kb: int = 1024
    max_json_depth: int = 32
    batch_check_limit: int = 1000
    page_size: int = 20
    max_page_size: int = 200


@dataclass(frozen=True)
class RulesConfig:
    #: Active rule packs (paths relative to the config file, or bare names of shipped packs).
    packs: tuple[str, ...] = ("default",)


@dataclass(frozen=True)
class ImporterConfig:
    batch_size: int = 5000
    inbox: str = "data/inbox"
    max_line_bytes: int = 1048576
    report_dir: str = "data/reports"
    #: Files on disk at least this large are read and validated in a second process
    #: while the first writes (``importers.run._load_in_process``); -1: never.
    parallel_read_min_bytes: int = 32 * 1024 * 1024


@dataclass(frozen=True)
class RecordsConfig:
    #: A penalty decided before this day is refused as a probable typing error (1899 for
    #: 1999…); an authority digitising older decisions sets an earlier day.
    earliest_decision_date: date = date(1990, 1, 1)
    #: Who issues the credit reports (信用报告 出具机构): the deployment's own name.
    report_issuer: str = "信用信息公示查询系统（行政处罚与信用名单公示登记机关）"


@dataclass(frozen=True)
class SchedulerConfig:
    #: ``serve`` runs the jobs in-process (embedded setup); production runs
    #: ``credit-registry scheduler`` once per deployment instead.
    in_serve: bool = True
    sweep_interval_minutes: int = 60
    evaluate_interval_seconds: int = 30
    #: Full re-evaluation (grades and red lists that change with time alone).
    reevaluate_interval_hours: int = 24
    inbox_interval_seconds: int = 60
    webhook_interval_seconds: int = 30
    stats_interval_minutes: int = 15


@dataclass(frozen=True)
class SupervisionConfig:
    """Defaults of double-random inspections (DOMAIN.md §6); a task may set its own."""

    #: Sample ratio per credit grade, ``GRADE=PERCENT%`` (A low risk … D serious).
    inspection_ratios: tuple[str, ...] = ("A=3%", "B=5%", "C=10%", "D=30%")
    #: The grade an entity without a credit grade counts as.
    ungraded_as: str = "B"
    #: Inspectors drawn for each entity (two officers inspect together).
    inspectors_per_entity: int = 2


@dataclass(frozen=True)
class IntakeConfig:
    """Objections (异议申诉) and public complaints (举报投诉), docs/intake.md."""

    #: Working days the deciding authority has to answer an objection (a rule pack's
    #: ``objection_deadline_working_days`` wins when it sets one).
    objection_deadline_working_days: int = 10
    #: Public holidays (ISO dates, e.g. 2026-10-01) that are not working days.
    holidays: tuple[str, ...] = ()
    #: Weekend days that are working days (调休), ISO dates.
    extra_working_days: tuple[str, ...] = ()
    #: Complaint routing, ``<region-code prefix>=<authority USCC>`` (e.g.
    #: ``4403=11440300MB2C92751D``); the longest matching prefix wins.
    complaint_routes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListsConfig:
    """Regulators' decisions on list entries (docs/dashboard.md)."""

    #: Entries one bulk confirm or reject may decide at most (API, CLI, dashboard); a
    #: larger selection is refused whole, so one call stays one bounded transaction.
    bulk_limit: int = 5000


@dataclass(frozen=True)
class WebhooksConfig:
    """Deliveries to departments' subscriptions (registry/delivery/addresses.py)."""

    #: Deliver to private, loopback and link-local addresses too: only for a closed
    #: network whose subscribers have no public address.  Default: public addresses only.
    allow_private_addresses: bool = False


@dataclass(frozen=True)
class OpsConfig:
    """The operations endpoints (``/healthz``, ``/readyz``, ``/metrics``)."""

    #: ``/metrics`` without a token: only where the scrape port is on a private network
    #: nobody else reaches.  Default: an administrator's token is required.
    metrics_public: bool = False


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    importer: ImporterConfig = field(default_factory=ImporterConfig)
    records: RecordsConfig = field(default_factory=RecordsConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    supervision: SupervisionConfig = field(default_factory=SupervisionConfig)
    intake: IntakeConfig = field(default_factory=IntakeConfig)
    lists: ListsConfig = field(default_factory=ListsConfig)
    ops: OpsConfig = field(default_factory=OpsConfig)
    webhooks: WebhooksConfig = field(default_factory=WebhooksConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    #: Directory relative paths are resolved against (the config file's directory).
    base_dir: str = "."

    def path(self, value: str) -> Path:
        """Resolve a configured path against the config file's directory."""
        p = Path(value)
        return p if p.is_absolute() else Path(self.base_dir) / p

    @property
    def database_url(self) -> str:
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.path(url[len(prefix) :]).resolve())
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.database.url.startswith("sqlite")

    def rule_pack_paths(self) -> tuple[Path, ...]:
        shipped = Path(__file__).resolve().parents[2] / "rules" / "packs"
        out = []
        for name in self.rules.packs:
            if "/" not in name and not name.endswith((".yaml", ".yml", ".json")):
                out.append(shipped / f"{name}.yaml")
            else:
                out.append(self.path(name))
        return tuple(out)


# Environment names that the contract fixes and that do not follow SECTION_KEY.
ENV_ALIASES = {
    "PUBLIC_RATE_LIMIT": ("api", "public_rate_limit"),
    "SECRET_KEY": ("security", "secret_key"),
    "DEVELOPMENT": ("security", "development"),
}
_NOT_SETTINGS = {"CONFIG"}


def _coerce(value: Any, typ: Any, where: str) -> Any:
    origin = typing.get_origin(typ)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}：应为 true 或 false，而不是 {value!r}")
    if typ is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}：应为整数，而不是 {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise ConfigError(f"{where}：应为整数，而不是 {value!r}")
    if typ is date:
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{where}：应为日期（YYYY-MM-DD），而不是 {value!r}")
    if typ is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}：应为文本，而不是 {value!r}")
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}：应为列表，而不是 {value!r}")
        return tuple(
            _coerce(v, typing.get_args(typ)[0], f"{where}[{i}]") for i, v in enumerate(value)
        )
    if isinstance(origin, type) and issubclass(origin, types.UnionType):  # pragma: no cover
        raise ConfigError(f"{where}：不支持的类型")
    raise ConfigError(f"{where}：不支持的类型 {typ!r}")  # pragma: no cover


def _section(cls: type, values: Mapping[str, Any], source: str, prefix: str) -> Any:
    if not isinstance(values, Mapping):
        raise ConfigError(f"{source}：'{prefix}' 应为键值映射，而不是 {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in values:
        if key not in names:
            raise ConfigError(
                f"{source}：未知的配置项 '{prefix}.{key}'（可用：{', '.join(sorted(names))}）"
            )
    return {k: _coerce(v, hints[k], f"{source}: '{prefix}.{k}'") for k, v in values.items()}


def _merge(base: Config, layer: Mapping[str, Any], source: str) -> Config:
    if not isinstance(layer, Mapping):
        raise ConfigError(f"{source}：顶层应为各配置节的映射")
    sections = {f.name: f for f in dataclasses.fields(Config) if f.name != "base_dir"}
    changes: dict[str, Any] = {}
    for name, values in layer.items():
        if name not in sections:
            raise ConfigError(
                f"{source}：未知的配置节 '{name}'（可用：{', '.join(sorted(sections))}）"
            )
        current = getattr(base, name)
        parsed = _section(type(current), values or {}, source, name)
        changes[name] = dataclasses.replace(current, **parsed)
    return dataclasses.replace(base, **changes)


def _env_layer(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    hints = typing.get_type_hints(Config)
    sections = {
        f.name: {g.name for g in dataclasses.fields(hints[f.name])}
        for f in dataclasses.fields(Config)
        if f.name != "base_dir"
    }
    layer: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :]
        if rest in _NOT_SETTINGS:
            continue
        if rest in ENV_ALIASES:
            sec, key = ENV_ALIASES[rest]
        else:
            sec, _, key = rest.lower().partition("_")
            if sec not in sections:
                # Not one of ours (e.g. REGISTRY_TEST_POSTGRES_URL used by the test suite).
                continue
            if key not in sections[sec]:
                raise ConfigError(
                    f"环境变量：未知的配置项 {name}（应为 {ENV_PREFIX}<SECTION>_<KEY>，"
                    f"如 REGISTRY_DATABASE_URL）"
                )
        layer.setdefault(sec, {})[key] = value
    return layer


def project_config_file() -> Path | None:
    """The project's ``config.yaml`` (beside ``pyproject.toml`` in the source tree), found
    wherever the command runs — so a command run from another folder uses the project's
    database, never a new one there.  None for an installation without a source tree: set
    ``REGISTRY_CONFIG`` (or ``--config``)."""
    root = Path(__file__).resolve().parents[2]
    candidate = root / DEFAULT_CONFIG_FILE
    if candidate.is_file() and (root / "pyproject.toml").is_file():
        return candidate
    return None


def load_config(
    path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the frozen configuration from every layer; raise :class:`ConfigError`.

    The file: ``path`` (``--config``), else ``REGISTRY_CONFIG``, else the project's
    ``config.yaml`` (:func:`project_config_file`); relative paths in it are relative to
    the file's folder, never to the current directory."""
    environ = os.environ if environ is None else environ
    explicit = path or environ.get(ENV_PREFIX + "CONFIG")
    file = Path(explicit) if explicit else project_config_file()
    cfg = Config()
    if file is not None and file.exists():
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{file}：不是有效的 YAML（{exc}）") from exc
        cfg = _merge(cfg, data, str(file))
        cfg = dataclasses.replace(cfg, base_dir=str(file.resolve().parent))
    elif explicit:
        raise ConfigError(f"配置文件 {file} 不存在")
    cfg = _merge(cfg, _env_layer(environ), "环境变量")
    if overrides:
        cfg = _merge(cfg, overrides, "程序内覆盖")
    return cfg
