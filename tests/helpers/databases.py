"""The test databases and apps: SQLite files or PostgreSQL databases (TEST_DATABASE_URL),
the test configuration, and a test client whose requests each run in their own app
context, as in production."""

from __future__ import annotations

import contextvars
import os
from functools import cache
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from survey_app.extensions import db

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")


def using_postgresql() -> bool:
    return bool(PG_ADMIN_URL)


#: The fixtures through which a test reaches a database (``app``, ``client``, ``runner``
#: and the browser's and reliability tests' servers all ask for ``database_url``).
DATABASE_FIXTURES = frozenset({"database_url", "make_app", "migrated_template", "demo_template"})
#: Words of a test module that reaches PostgreSQL in its own way.
POSTGRESQL_WORDS = ("using_postgresql", "TEST_DATABASE_URL", "PG_ADMIN_URL", "pg_execute")


@cache
def _mentions_postgresql(module: Path) -> bool:
    text = module.read_text(encoding="utf-8")
    return any(word in text for word in POSTGRESQL_WORDS)


def uses_database(fixture_names: set[str], module: Path) -> bool:
    """Whether a test (its fixtures, closed over, and its module) reaches a database:
    the PostgreSQL pass runs only these (tests/conftest.py)."""
    return bool(DATABASE_FIXTURES & fixture_names) or _mentions_postgresql(module)


def base_config(database_url: str, instance_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }


@cache
def _pg_admin() -> Engine:
    """One pooled connection per test process for CREATE and DROP DATABASE (a new
    connection per statement cost a server process each, twice per test)."""
    return create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0,
        pool_pre_ping=True,
    )  # fmt: skip


def pg_execute(statement: str) -> None:
    with _pg_admin().connect() as connection:
        connection.execute(text(statement))


@cache
def pg_copy_strategy() -> str:
    """``STRATEGY FILE_COPY`` for ``CREATE DATABASE … TEMPLATE`` where the server has it
    (PostgreSQL 15+): the default since 15 (WAL_LOG) writes every page of the copy to
    the WAL; the file copy took 0.15-0.18 s instead of 0.25-0.44 s for the demo's
    database on the test script's server (tmpfs, fsync off)."""
    with _pg_admin().connect() as connection:
        version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    return " STRATEGY FILE_COPY" if version >= 150000 else ""


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
