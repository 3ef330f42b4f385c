"""The test databases and apps: SQLite files or PostgreSQL databases (TEST_DATABASE_URL),
the test configuration, and a test client whose requests each run in their own app
context, as in production."""

from __future__ import annotations

import contextvars
import os
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from survey_app.extensions import db

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")


def using_postgresql() -> bool:
    return bool(PG_ADMIN_URL)


def base_config(database_url: str, instance_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }


def pg_execute(statement: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def pg_database_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def dispose_engines() -> None:
    """Close the pooled connections of every engine of the current app (on PostgreSQL
    also the submissions engine, survey_app.add_submissions_bind)."""
    for engine in db.engines.values():
        engine.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose requests run as in production: each in its own app context.

    The ``app`` fixture keeps an app context open so tests can call services directly;
    without this, requests would reuse it and share ``g`` (the locale, the database
    session) with the test and with each other. Before each request the test's own
    session ends its transaction, so it sees what the request commits.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        db.session.rollback()
        return contextvars.Context().run(super().open, *args, **kwargs)
