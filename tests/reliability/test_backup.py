"""Backups restore: dump the database, restore it into a fresh one, every count equal.

The commands are the ones docs/operations.md gives: on SQLite the online backup API
(``sqlite3.Connection.backup``, safe while the app writes); on PostgreSQL
``pg_dump --format=custom`` and ``pg_restore`` from the server's bin directory.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from survey_app.extensions import db
from survey_app.services import desks, questionnaires, units
from tests.conftest import pg_database_url, pg_execute, using_postgresql


def seed_responses(app: Flask, client: FlaskClient, count: int = 25) -> None:
    units.import_units(
        [{"code": "BK", "name_vi": "Xã sao lưu", "name_en": "Backup commune",
          "kind": "commune", "parent_code": ""}]
    )  # fmt: skip
    desks.create_desk("BK-1", "BK", "Quầy sao lưu")
    token = desks.issue_token("BK-1")
    questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    db.session.commit()
    for i in range(count):
        payload = {
            "id": str(uuid.uuid4()),
            "desk": "BK-1",
            "questionnaire": {"slug": "kiosk_quick", "version": 1},
            "answers": {"mood": i % 5 + 1, "fu_wait": (i + 2) % 5 + 1},
            "channel": "kiosk",
            "lang": "vi",
            "submitted_at": f"2025-03-01T09:{i:02d}:00+07:00",
        }
        reply = client.post(
            "/api/v1/responses", json=payload, headers={"Authorization": f"Bearer {token}"}
        )
        assert reply.status_code == 201, reply.get_json()
    db.session.remove()


def table_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        names = inspect(engine).get_table_names()
        with engine.connect() as connection:
            return {
                name: int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                for name in sorted(names)
            }
    finally:
        engine.dispose()


def pg_tool(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path is None:
        pytest.skip(f"{name} not found")
    return on_path


def libpq_url(url: str) -> str:
    """The URL as pg_dump understands it (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_backup_restores_every_row(
    app: Flask, client: FlaskClient, database_url: str, tmp_path: Path
) -> None:
    seed_responses(app, client)
    for engine in db.engines.values():  # the submissions engine too
        engine.dispose()
    before = table_counts(database_url)
    assert before["responses"] == 25 and before["answer_values"] == 50

    if using_postgresql():
        dump = tmp_path / "survey.dump"
        subprocess.run(
            [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(dump),
             libpq_url(database_url)],
            check=True,
        )  # fmt: skip
        restored_name = f"{make_url(database_url).database}_restored"
        pg_execute(f"CREATE DATABASE {restored_name}")
        try:
            restored = pg_database_url(restored_name)
            subprocess.run(
                [pg_tool("pg_restore"), "--no-owner", "--exit-on-error",
                 "--dbname", libpq_url(restored), str(dump)],
                check=True,
            )  # fmt: skip
            assert table_counts(restored) == before
        finally:
            pg_execute(f"DROP DATABASE IF EXISTS {restored_name} WITH (FORCE)")
    else:
        source_path = make_url(database_url).database
        backup_path = tmp_path / "backup.sqlite3"
        with sqlite3.connect(source_path) as source, sqlite3.connect(backup_path) as target:
            source.backup(target)
        source.close()
        target.close()
        # Restore: the backup file is a complete database; copy it into place.
        restored_path = tmp_path / "restored.sqlite3"
        shutil.copyfile(backup_path, restored_path)
        with sqlite3.connect(restored_path) as restored:
            assert restored.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert restored.execute("PRAGMA foreign_key_check").fetchall() == []
        restored.close()
        assert table_counts(f"sqlite:///{restored_path}") == before
