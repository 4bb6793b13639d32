"""``GET /metrics``: Prometheus text format (prometheus-client).

Per application (its own registry, so several apps in one process — tests — do not
mix): request counts by method, endpoint (the URL rule, never the raw path, so codes
and tokens never become label values) and status; latency histograms by method and
endpoint; counters of imports and rule evaluations run through this process.  At
scrape time a few gauges are read from the database (import batches by status, the
rules' dirty queue, webhook deliveries by status) — so CLI and scheduler work shows too.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (an empty
directory) and the answer aggregates every worker's counters.

The figures say how busy the registry is and what its queues hold, which is nobody
else's business: a scrape needs an administrator's token (``Authorization: Bearer``;
401 without, 403 with another role) unless ``ops.metrics_public: true`` says the
endpoint is on a private network (Prometheus: ``authorization: {credentials: …}``).
The token is looked up in the database like any other; while the database cannot be
asked, an admin token this process verified in the last ten minutes is still accepted —
an outage is when the figures matter most (``registry_database_up 0``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from api.common.auth import bearer_secret, require
from registry.core.db import DatabaseUnavailable
from registry.core.tokens import hash_token

EXTENSION = "registry_metrics"
#: Seconds an admin token verified by this process opens /metrics during an outage.
SCRAPE_MEMORY_S = 600.0
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

blp = Blueprint("metrics", __name__)


class _DatabaseGauges(Collector):
    """Gauges read from the database at scrape time (cheap counts of small tables)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The metric names without values: registering must not touch the database."""
        yield GaugeMetricFamily("registry_database_up", "1 if the database answered the scrape")
        yield GaugeMetricFamily(
            "registry_import_batches", "import batches by status", labels=["status"]
        )
        yield GaugeMetricFamily("registry_dirty_entities", "subjects waiting for the rules")
        yield GaugeMetricFamily(
            "registry_webhook_deliveries", "webhook deliveries by status", labels=["status"]
        )

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from registry.delivery.models import WebhookDelivery
        from registry.records.models import DirtyEntity, ImportBatch

        up = GaugeMetricFamily("registry_database_up", "1 if the database answered the scrape")
        batches = GaugeMetricFamily(
            "registry_import_batches", "import batches by status", labels=["status"]
        )
        dirty = GaugeMetricFamily("registry_dirty_entities", "subjects waiting for the rules")
        deliveries = GaugeMetricFamily(
            "registry_webhook_deliveries", "webhook deliveries by status", labels=["status"]
        )
        runtime = self.app.extensions["registry"]
        try:
            with runtime.sessions() as session:
                for status, n in session.execute(
                    select(ImportBatch.status, func.count()).group_by(ImportBatch.status)
                ):
                    batches.add_metric([status], n)
                dirty.add_metric(
                    [], session.execute(select(func.count(DirtyEntity.subject_key))).scalar_one()
                )
                for status, n in session.execute(
                    select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
                ):
                    deliveries.add_metric([status], n)
            up.add_metric([], 1)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        yield up
        yield batches
        yield dirty
        yield deliveries


class Metrics:
    """The application's metrics."""

    def __init__(self, app: Flask) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "registry_http_requests",
            "HTTP requests by method, endpoint (URL rule) and status",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "registry_http_request_duration_seconds",
            "HTTP request latency by method and endpoint (URL rule)",
            ["method", "endpoint"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.imports = Counter(
            "registry_imports",
            "file imports through the API by outcome (ok, fatal, refused)",
            ["outcome"],
            registry=self.registry,
        )
        self.import_rows = Counter(
            "registry_import_rows",
            "rows of API imports by result (created, updated, unchanged, rejected)",
            ["result"],
            registry=self.registry,
        )
        self.evaluations = Counter(
            "registry_evaluations",
            "rule evaluations started by API writes, by outcome (ok, failed, unavailable)",
            ["outcome"],
            registry=self.registry,
        )
        self.evaluated_subjects = Counter(
            "registry_evaluated_subjects",
            "subjects handed to the rules after API writes",
            registry=self.registry,
        )
        self.registry.register(_DatabaseGauges(app))
        #: SHA-256 of admin tokens that scraped, with when (time.monotonic) they were
        #: last verified in the database.
        self.scrapers: dict[str, float] = {}

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
            return generate_latest(merged) + generate_latest(self.registry)
        return generate_latest(self.registry)


def current() -> Metrics | None:
    return current_app.extensions.get(EXTENSION)


def _endpoint() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _finish(response: Response) -> Response:
    metrics = current()
    started = g.pop("metrics_started", None)
    if metrics is not None and started is not None:
        endpoint = _endpoint()
        metrics.requests.labels(request.method, endpoint, str(response.status_code)).inc()
        metrics.latency.labels(request.method, endpoint).observe(time.perf_counter() - started)
    return response


def count_import(summary: Any) -> None:
    """Count one API import (an :class:`importers.run.ImportSummary`)."""
    metrics = current()
    if metrics is None:
        return
    outcome = "fatal" if summary.fatal else "refused" if not summary.ok else "ok"
    metrics.imports.labels(outcome).inc()
    for result, n in (
        ("created", summary.created),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
        ("rejected", summary.rejected),
    ):
        if n:
            metrics.import_rows.labels(result).inc(n)


def count_evaluation(outcome: str, subjects: int) -> None:
    metrics = current()
    if metrics is None:
        return
    metrics.evaluations.labels(outcome).inc()
    if subjects:
        metrics.evaluated_subjects.inc(subjects)


@blp.get("/metrics")
def metrics_text() -> Response:
    """Prometheus text exposition (an admin token, unless ``ops.metrics_public``)."""
    metrics = current()
    if not current_app.extensions["registry"].config.ops.metrics_public:
        _authorise_scrape({} if metrics is None else metrics.scrapers)
    body = metrics.exposition() if metrics is not None else b""
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def _authorise_scrape(scrapers: dict[str, float]) -> None:
    """An admin token (401/403 otherwise); while the database is down, one verified
    within :data:`SCRAPE_MEMORY_S` (the outage's own error otherwise: 503)."""
    try:
        require("admin", writes=False)
    except (DBAPIError, DatabaseUnavailable):
        seen = scrapers.get(hash_token(bearer_secret()))
        if seen is None or time.monotonic() - seen > SCRAPE_MEMORY_S:
            raise
        return
    scrapers[hash_token(bearer_secret())] = time.monotonic()


def init_metrics(app: Flask) -> Metrics:
    metrics = Metrics(app)
    app.extensions[EXTENSION] = metrics
    app.before_request(_start)
    app.after_request(_finish)
    return metrics
