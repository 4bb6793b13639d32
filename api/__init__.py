"""The web application: JSON API under /api/v1 and the public pages.

``create_app`` is built from small named steps; it touches no database and starts no
scheduler (``credit-registry serve`` starts the in-process jobs; production runs
``credit-registry scheduler``).  ``gunicorn 'api:create_app()'`` works.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from registry.core.config import Config, load_config
from registry.core.runtime import Runtime


def create_app(
    config: Config | Mapping[str, Any] | None = None, *, runtime: Runtime | None = None
) -> Flask:
    """Build the WSGI application.  ``config`` may be a ready :class:`Config` or a mapping
    of overrides applied on top of the usual layers (tests)."""
    if runtime is None:
        if config is None or isinstance(config, Mapping):
            config = load_config(overrides=config)
        runtime = Runtime(config)
    app = Flask(__name__)
    _configure(app, runtime)
    _register_errors(app)
    _register_blueprints(app)
    from api.common.limiter import trust_proxies
    from api.public.fastpath import install

    install(app)  # the public lookup's short path, in front of Flask
    trust_proxies(app, runtime)  # outermost: every layer sees the same client address
    return app


def _configure(app: Flask, runtime: Runtime) -> None:
    cfg = runtime.config
    app.extensions["registry"] = runtime
    from api.common.writers import writers_from

    app.extensions["writers"] = writers_from(cfg.database.writers_storage)
    from registry.records.schema import set_earliest_decision_date

    set_earliest_decision_date(cfg.records.earliest_decision_date)
    app.config.update(
        # Session cookies are signed with their own derived key, never the secret.
        SECRET_KEY=runtime.keys.session,
        MAX_CONTENT_LENGTH=cfg.api.max_upload_mb * 1024 * 1024,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.security.session_cookie_secure,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    from api.common.bodies import install as guard_bodies
    from api.common.context import close_db, remember_writer
    from api.common.limiter import init_limiter
    from api.common.metrics import init_metrics

    app.teardown_appcontext(close_db)
    app.after_request(remember_writer)
    init_metrics(app)
    init_limiter(app, runtime)
    guard_bodies(app, runtime)


def _register_errors(app: Flask) -> None:
    from api.common.errors import register_error_handlers

    register_error_handlers(app)


def _register_blueprints(app: Flask) -> None:
    from api.common.docs import blp as docs
    from api.common.docs import make_api
    from api.common.limiter import exempt_blueprint, limit_blueprint
    from api.common.metrics import blp as metrics
    from api.common.ops import blp as ops
    from api.dashboard.views import blp as dashboard
    from api.departments import sanctions, subscriptions
    from api.public import lookup as public_api
    from api.regulators import alerts, bulk, imports, lists, penalties, redlists, repairs
    from api.site import blp as web

    app.register_blueprint(ops)
    app.register_blueprint(metrics)
    limit_blueprint(app, web)  # the public pages and forms: the public limit
    exempt_blueprint(app, dashboard)  # behind a login with a token: not limited
    app.register_blueprint(web)
    app.register_blueprint(docs)
    api = make_api(app)
    limit_blueprint(app, public_api.blp)
    for module in (
        public_api,
        sanctions,
        subscriptions,
        penalties,
        imports,
        lists,
        bulk,
        repairs,
        alerts,
        redlists,
    ):
        api.register_blueprint(module.blp)
    _register_supervision(app, api)
    _register_intake(app, api)


def _register_supervision(app: Flask, api: Any) -> None:
    """Random inspections, case transfers, quality commitments (docs/inspections.md)."""
    from api.common.limiter import limit_blueprint
    from api.supervision import commitments, inspections, transfers

    limit_blueprint(app, inspections.public_blp)
    for blp in (inspections.blp, inspections.public_blp, transfers.blp, commitments.blp):
        api.register_blueprint(blp)


def _register_intake(app: Flask, api: Any) -> None:
    """Objections and complaints: a public blueprint (read limit plus the filing limit)
    and an authorities' one each."""
    from api.common.limiter import limit_blueprint
    from api.intake import complaints, objections

    for module in (objections, complaints):
        limit_blueprint(app, module.public_blp)
        api.register_blueprint(module.public_blp)
        api.register_blueprint(module.blp)
