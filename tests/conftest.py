"""Fixtures shared by the whole suite.

Every test that needs the app gets its own freshly migrated database:
- on SQLite (the default) a copy of a database file migrated once per session;
- on PostgreSQL (``TEST_DATABASE_URL`` set, as ``scripts/test.sh`` does) a new
  database created from a migrated template database, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import settings
from jinja2.bccache import Bucket, BytecodeCache

from survey_app import create_app
from survey_app.admin import accounts
from survey_app.collection import audio
from survey_app.extensions import db
from tests.helpers.databases import (
    IsolatedClient,
    base_config,
    dispose_engines,
    pg_copy_strategy,
    pg_database_url,
    pg_execute,
    uses_database,
    using_postgresql,
)

_counter = itertools.count()


class _SharedBytecode(BytecodeCache):
    """Compiled templates kept for the session: every test makes its own app, and each
    app's Jinja environment compiled every template it rendered again (2-3% of the
    suite's time). Keyed by template name and source checksum, as Jinja does."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


# Flask passes jinja_options to each app's environment (documented class attribute).
Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _SharedBytecode()}

# Property-based tests: in CI (CI set, as on the clean clone) every run draws the same
# examples, so a failure there can be reproduced; locally they explore new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# The command lines and servers the tests start run with Python's buffered output, as
# they do for users: these machines set PYTHONUNBUFFERED, under which output a program
# forgets to flush before it ends (or a log that reaches its file only when flushed)
# would pass unnoticed.
os.environ.pop("PYTHONUNBUFFERED", None)

# Passwords are hashed with the same scrypt and the same code, at a smaller work factor
# (N = 2**12 instead of werkzeug's 2**15): hundreds of accounts are made and logged in,
# and each hash cost 50-100 ms. The hash still starts with "scrypt:" and a wrong
# password is still refused. The reliability tests' gunicorn keeps the real cost.
accounts.PASSWORD_METHOD = "scrypt:4096:8:1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass runs the tests that use a database; the others (the R
    comparisons of ``analysis/``, questionnaire parsing, the command lines on files,
    simulations) run once, in the SQLite pass: they run the same code either way.

    A test marked ``same_on_every_database("lang", "size")`` runs on the PostgreSQL
    pass with the first value of those parameters only (each other parameter's values
    all run): they change what the browser shows (a language, a screen size, a display
    mode), not what the database is asked. ``SURVEY_TEST_EVERY_TEST=1`` runs every test
    and every parameter on the PostgreSQL pass too."""
    if not using_postgresql() or os.environ.get("SURVEY_TEST_EVERY_TEST"):
        return
    kept, left = [], []
    variants: set[tuple[str, ...]] = set()
    for item in items:
        uses = uses_database(set(getattr(item, "fixturenames", ())), item.path)
        if uses and (variant := _database_variant(item)) is not None:
            uses = variant not in variants
            variants.add(variant)
        (kept if uses else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def _database_variant(item: pytest.Item) -> tuple[str, ...] | None:
    """What a test marked ``same_on_every_database`` asks of the database: the test
    and the values of its other parameters (None for a test not so marked)."""
    marker = item.get_closest_marker("same_on_every_database")
    callspec = getattr(item, "callspec", None)
    if marker is None or callspec is None:
        return None
    unknown = set(marker.args) - set(callspec.params)
    assert not unknown, f"{item.nodeid}: no parameter {sorted(unknown)}"
    others = sorted((name, repr(value)) for name, value in callspec.params.items()
                    if name not in marker.args)  # fmt: skip
    return (str(item.path), getattr(item, "originalname", item.name), repr(others))


@contextlib.contextmanager
def instance_path(folder: Path) -> Iterator[None]:
    """``SURVEY_INSTANCE_PATH`` set for the app made inside, restored afterwards."""
    before = os.environ.get("SURVEY_INSTANCE_PATH")
    os.environ["SURVEY_INSTANCE_PATH"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SURVEY_INSTANCE_PATH", None)
        else:
            os.environ["SURVEY_INSTANCE_PATH"] = before


@pytest.fixture
def analysis_cli_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m analysis`` speaks English (``SURVEY_LANG=en``; its default is
    Vietnamese), in process and in the processes a test starts: for the tests that
    read its English messages. tests/analysis/test_cli_language.py reads both."""
    monkeypatch.setenv("SURVEY_LANG", "en")


@pytest.fixture(autouse=True)
def environment_restored() -> Iterator[None]:
    """Each test ends with the environment it started with: what a test or the code it
    runs sets (the command line's ``LANGUAGE``, cli.language.speak) does not reach the next."""
    before = dict(os.environ)
    yield
    if os.environ != before:
        os.environ.clear()
        os.environ.update(before)


@pytest.fixture(scope="session", autouse=True)
def espeak_once_per_text(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """espeak-ng speaks each (language, text) once per session; later loads copy its file.

    ``flask questionnaires load`` makes the audio of some 150 texts (about 3 s) and many
    tests load the questionnaires into their fresh instance folder. The first
    synthesis runs espeak-ng itself (so a missing or failing espeak-ng is still an
    error), and what the app sees is the same: a new file per text, counted as made.
    """
    real = audio.synthesise
    shared = shared_folder()
    spoken = shared / "espeak" if shared else tmp_path_factory.mktemp("espeak")
    spoken.mkdir(exist_ok=True)

    def synthesise(lang: str, text: str, target: Path) -> None:
        if shutil.which(audio.ESPEAK) is None:
            real(lang, text, target)  # the error a missing espeak-ng gives
            return
        made = spoken / (hashlib.sha256(f"{lang}\0{text}".encode()).hexdigest() + target.suffix)
        if not made.is_file():
            # another test process may be speaking it too: each writes its own file and
            # renames it into place, so a reader never sees half a file
            partial = made.with_suffix(f".{os.getpid()}.partial")
            real(lang, text, partial)
            partial.replace(made)
        shutil.copyfile(made, target)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audio, "synthesise", synthesise)
        yield


def migrate_database(database_url: str, folder: Path) -> None:
    from flask_migrate import upgrade

    with instance_path(folder):
        app = create_app(base_config(database_url, folder))
        with app.app_context():
            upgrade()
            dispose_engines()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to the latest revision, to copy for each test."""
    folder = tmp_path_factory.mktemp("template")
    if using_postgresql():
        name = f"survey_template_{os.getpid()}"
        pg_execute(f"DROP DATABASE IF EXISTS {name}")
        pg_execute(f"CREATE DATABASE {name}")
        migrate_database(pg_database_url(name), folder)
        yield name
        pg_execute(f"DROP DATABASE IF EXISTS {name}")
    else:
        path = folder / "template.sqlite3"
        migrate_database(f"sqlite:///{path}", folder)
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield str(path)


def clone_database(template: str, destination: Path) -> str:
    """Copy a template database; returns the copy's URL (PostgreSQL: its name)."""
    if using_postgresql():
        name = f"survey_test_{os.getpid()}_{next(_counter)}"
        pg_execute(f"CREATE DATABASE {name} TEMPLATE {template}{pg_copy_strategy()}")
        return name
    shutil.copyfile(template, destination)
    return str(destination)


def shared_folder() -> Path | None:
    """The folder the test processes of one ``scripts/test.sh`` run share
    (``SURVEY_TEST_SHARED``), or None when this process runs alone."""
    shared = os.environ.get("SURVEY_TEST_SHARED")
    return Path(shared) if shared else None


@pytest.fixture(scope="session")
def demo_template(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database holding the simulated demo province (``flask demo seed``).

    Under ``scripts/test.sh`` the two processes of a pass share it: the first to need it
    seeds it, holding a lock, and the other copies it from there; it is left for the
    script to remove with the test server and folders. Alone, each process seeds its own
    and drops it at the end.
    """
    shared = shared_folder()
    if shared is None:
        yield from seeded_demo(migrated_template, tmp_path_factory.mktemp("demo"))
        return
    folder = shared / ("demo-postgresql" if using_postgresql() else "demo-sqlite")
    folder.mkdir(exist_ok=True)
    ready = folder / "ready"
    with (folder.parent / f"{folder.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not ready.is_file():
            seeded = seeded_demo(migrated_template, folder)
            ready.write_text(next(seeded))  # not resumed: nothing is dropped
    yield ready.read_text()


def seeded_demo(migrated_template: str, folder: Path) -> Iterator[str]:
    """Seed the demo into a copy of the migrated template in ``folder``; yields the
    copy (a path, or a PostgreSQL database's name), dropped when resumed."""
    copy = clone_database(migrated_template, folder / "demo.sqlite3")
    url = pg_database_url(copy) if using_postgresql() else f"sqlite:///{copy}"
    with instance_path(folder):
        app = create_app(base_config(url, folder))
        with app.app_context():
            result = app.test_cli_runner().invoke(
                args=["demo", "seed", "--credentials", str(folder / "credentials.txt")]
            )
            assert result.exit_code == 0, result.output
            db.session.remove()
            dispose_engines()
    if not using_postgresql():
        with sqlite3.connect(copy) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    yield copy
    if using_postgresql():
        pg_execute(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, migrated_template: str, tmp_path: Path
) -> Iterator[str]:
    """A fresh migrated database for one test: empty, or with the demo province for
    tests marked ``@pytest.mark.demo``."""
    if request.node.get_closest_marker("demo"):
        migrated_template = request.getfixturevalue("demo_template")
    if using_postgresql():
        name = clone_database(migrated_template, tmp_path)
        yield pg_database_url(name)
        pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        path = tmp_path / "test.sqlite3"
        clone_database(migrated_template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def make_app(migrated_template: str, tmp_path: Path) -> Iterator[Callable[[], Flask]]:
    """A factory of apps, each on its own fresh migrated database."""
    made: list[tuple[Flask, str]] = []

    def factory() -> Flask:
        copy = clone_database(migrated_template, tmp_path / f"db{len(made)}.sqlite3")
        url = pg_database_url(copy) if using_postgresql() else f"sqlite:///{copy}"
        with instance_path(tmp_path):
            application = create_app(base_config(url, tmp_path))
        made.append((application, copy))
        return application

    yield factory
    for application, copy in made:
        with application.app_context():
            db.session.remove()
            dispose_engines()
        if using_postgresql():
            pg_execute(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")


@pytest.fixture
def app_config(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The test configuration; a test may change it before asking for ``app``."""
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(instance))
    return base_config(database_url, instance)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(app_config)
    with application.app_context():
        yield application
        db.session.remove()
        dispose_engines()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
