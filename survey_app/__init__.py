"""The Flask application: ``create_app`` builds it from configuration.

Views are thin: they validate input, call a function of a domain package
(``collection/``, ``weighting/``, ``reporting/``, ``admin/``) and render.
Only the service layer commits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

# Registers the rate-limit storages survey-sql:// and survey-memory:// with `limits`
# (before limiter.init_app reads RATELIMIT_STORAGE_URI).
from survey_app import ratelimit_storage  # noqa: F401
from survey_app.config import Config, load_or_create_secret_key
from survey_app.extensions import (
    SUBMISSIONS_BIND,
    babel,
    csrf,
    db,
    limiter,
    login_manager,
    migrate,
    select_locale,
)
from survey_app.static_files import SurveyFlask

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the application.

    Parameters
    ----------
    test_config
        Settings applied on top of the environment-derived configuration.
    """
    instance_path = os.environ.get("SURVEY_INSTANCE_PATH") or None
    app = SurveyFlask(__name__, instance_path=instance_path, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(Config(app.instance_path).as_dict())
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret_key(app.instance_path)

    register_submission_lane(app)
    register_proxies(app)
    register_edge(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    register_security(app)
    return app


def register_submission_lane(app: Flask) -> None:
    """``POST /api/v1/responses`` answered by its view without Flask's per-request hooks
    (survey_app/blueprints/submission_lane.py); inside ProxyFix, which gives it the
    client's address, and the edge's body time limit."""
    from survey_app.blueprints.submission_lane import SubmissionLane

    app.wsgi_app = SubmissionLane(app, app.wsgi_app)  # type: ignore[method-assign]


def register_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, read the client from X-Forwarded-*.

    werkzeug's ProxyFix takes the client address and scheme from the last
    ``TRUSTED_PROXIES`` values of X-Forwarded-For and X-Forwarded-Proto (the ones the
    trusted proxies appended), so a client cannot choose its own address by sending the
    header itself. The host is not taken from X-Forwarded-Host: a proxy that does not
    set it would pass a client's through (set ``PUBLIC_BASE_URL`` for printed links).
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def register_edge(app: Flask) -> None:
    """Guards every request passes first (survey_app/edge.py): forbidden characters,
    bounded integer ids, a time limit on the body. Before the extensions, so their
    hooks (rate limits, CSRF) never see what the edge refuses."""
    from survey_app import edge

    edge.register(app)


def register_security(app: Flask) -> None:
    from survey_app import security

    security.register(app)


def add_submissions_bind(app: Flask) -> None:
    """On PostgreSQL, a second engine for storing kiosk and phone responses.

    Same database, but autocommit (the one INSERT statement of a response is its own
    durable transaction: one round trip instead of BEGIN, INSERT, COMMIT) and
    ``plan_cache_mode=force_generic_plan``: the statement is prepared once per
    connection, and left to itself PostgreSQL plans it anew on every call, which cost
    more than running it (measured with pg_stat_statements, benchmarks/README.md).
    """
    uri = str(app.config["SQLALCHEMY_DATABASE_URI"])
    binds = dict(app.config.get("SQLALCHEMY_BINDS") or {})
    if not uri.startswith("postgresql") or SUBMISSIONS_BIND in binds:
        return
    binds[SUBMISSIONS_BIND] = {
        "url": uri,
        "isolation_level": "AUTOCOMMIT",
        # No transaction is ever left open on it, so nothing to roll back on return.
        "pool_reset_on_return": None,
        "connect_args": {"options": "-c plan_cache_mode=force_generic_plan"},
    }
    app.config["SQLALCHEMY_BINDS"] = binds


def register_extensions(app: Flask) -> None:
    from survey_app import models

    add_submissions_bind(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    # Flask-Login's own English message, translated when it is flashed (a plain string
    # goes into the session: localize_callback turns the lazy string into one).
    login_manager.login_message = lazy_gettext("Please log in to access this page.")
    login_manager.localize_callback = str

    @login_manager.user_loader
    def load_user(user_id: str) -> models.User | None:
        from survey_app.admin import accounts

        return accounts.user_for_session(user_id)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Foreign keys on, WAL journal, a busy timeout, and full durability on SQLite."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def register_blueprints(app: Flask) -> None:
    from survey_app.blueprints import admin, admin_desks, api, auth, dashboard, kiosk, main, phone

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    from survey_app.blueprints import assets

    app.register_blueprint(assets.bp)
    app.register_blueprint(kiosk.bp)
    app.register_blueprint(phone.bp)
    app.register_blueprint(admin_desks.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    from survey_app.blueprints import data, scorecard

    app.register_blueprint(scorecard.bp)
    app.register_blueprint(data.bp)
    from survey_app.blueprints import planner, waves, weights

    app.register_blueprint(weights.bp)
    app.register_blueprint(planner.bp)
    app.register_blueprint(waves.bp)
    from survey_app.blueprints import bursts

    app.register_blueprint(bursts.bp)
    from survey_app.blueprints import alerts

    app.register_blueprint(alerts.bp)
    from survey_app.blueprints import small_area

    app.register_blueprint(small_area.bp)
    from survey_app.reporting.indices.shared_sums import share_within_request

    # A page's figures read each wave's sums once (reporting/indices/shared_sums.py).
    app.before_request(share_within_request)
    if app.config.get("BENCHMARK_CEILING"):  # benchmarks/load_wrk.py only
        from survey_app.blueprints import bench

        app.register_blueprint(bench.bp)


def register_errorhandlers(app: Flask) -> None:
    from survey_app import errors

    errors.register(app)


def register_commands(app: Flask) -> None:
    from survey_app import cli

    cli.register(app)


def register_template_helpers(app: Flask) -> None:
    from survey_app import formatting, i18n

    i18n.register(app)
    formatting.register_filters(app)
