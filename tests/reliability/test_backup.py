"""Backups restore: dump the database, restore it into a fresh one, every count equal.

The commands are the ones docs/operations.md gives: on SQLite the online backup API
(``sqlite3.Connection.backup``, safe while the app writes); on PostgreSQL
``pg_dump --format=custom`` and ``pg_restore`` from the server's bin directory.

A backup carries the dossier key (``instance/dossier_key``): restored on a rebuilt
machine with it, used dossiers stay used and kiosk retries are recognised; without
it, submissions are refused (503, saying why) and nothing is stored.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from survey_app import create_app
from survey_app.admin import units
from survey_app.collection import desks, questionnaires
from survey_app.extensions import db
from tests.helpers.databases import (
    IsolatedClient,
    base_config,
    dispose_engines,
    pg_database_url,
    pg_execute,
    using_postgresql,
)


def payload_for(i: int, dossier: str | None = None) -> dict[str, Any]:
    payload = {
        "id": str(uuid.uuid4()),
        "desk": "BK-1",
        "questionnaire": {"slug": "kiosk_quick", "version": 1},
        "answers": {"mood": i % 5 + 1, "fu_wait": (i + 2) % 5 + 1},
        "channel": "kiosk",
        "lang": "vi",
        "submitted_at": f"2025-03-01T09:{i:02d}:00+07:00",
    }
    if dossier is not None:
        payload["dossier"] = dossier
    return payload


def send(client: FlaskClient, payload: dict[str, Any], token: str) -> Any:
    return client.post(
        "/api/v1/responses", json=payload, headers={"Authorization": f"Bearer {token}"}
    )


def seed_responses(
    app: Flask, client: FlaskClient, count: int = 25, dossiers: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """``count`` kiosk responses (every fifth with a dossier code if ``dossiers``);
    returns the desk's device token and the payloads sent."""
    units.import_units(
        [{"code": "BK", "name_vi": "Xã sao lưu", "name_en": "Backup commune",
          "kind": "commune", "parent_code": ""}]
    )  # fmt: skip
    desks.create_desk("BK-1", "BK", "Quầy sao lưu")
    token = desks.issue_token("BK-1")
    questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    db.session.commit()
    sent = []
    for i in range(count):
        dossier = f"HS-2025-{i:06d}" if dossiers and i % 5 == 0 else None
        payload = payload_for(i, dossier)
        reply = send(client, payload, token)
        assert reply.status_code == 201, reply.get_json()
        sent.append(payload)
    db.session.remove()
    return token, sent


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


@contextmanager
def backed_up_and_restored(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Back the database up and restore it into a new one, as docs/operations.md says;
    yields the restored database's URL."""
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
            yield restored
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
        yield f"sqlite:///{restored_path}"


def test_backup_restores_every_row(
    app: Flask, client: FlaskClient, database_url: str, tmp_path: Path
) -> None:
    seed_responses(app, client)
    for engine in db.engines.values():  # the submissions engine too
        engine.dispose()
    before = table_counts(database_url)
    assert before["responses"] == 25 and before["answer_values"] == 50
    with backed_up_and_restored(database_url, tmp_path) as restored:
        assert table_counts(restored) == before


@contextmanager
def rebuilt_machine(
    restored_url: str, instance: Path, monkeypatch: pytest.MonkeyPatch, **config: Any
) -> Iterator[FlaskClient]:
    """The app on a rebuilt machine: a new instance folder, a new SECRET_KEY."""
    instance.mkdir(exist_ok=True)
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(instance))
    settings = {**base_config(restored_url, instance), "SECRET_KEY": "rebuilt-machine", **config}
    rebuilt = create_app(settings)
    rebuilt.test_client_class = IsolatedClient
    with rebuilt.app_context():
        try:
            yield rebuilt.test_client()
        finally:
            db.session.remove()
            dispose_engines()


def test_restore_with_the_dossier_key_keeps_dossiers_used_and_retries_answered(
    app: Flask,
    client: FlaskClient,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token, sent = seed_responses(app, client, count=10, dossiers=True)
    key_file = Path(app.instance_path) / "dossier_key"
    assert key_file.exists()
    dispose_engines()
    with backed_up_and_restored(database_url, tmp_path) as restored:
        before = table_counts(restored)
        instance = tmp_path / "rebuilt"
        instance.mkdir()
        shutil.copy2(key_file, instance / "dossier_key")  # the backup carries the key
        with rebuilt_machine(restored, instance, monkeypatch) as rebuilt:
            used = send(rebuilt, payload_for(40, dossier=sent[0]["dossier"]), token)
            assert used.status_code == 409, used.get_json()
            assert used.get_json()["error"] == "duplicate_dossier"
            for payload in (sent[5], sent[6]):  # a kiosk retry, with and without a dossier
                retry = send(rebuilt, payload, token)
                assert retry.status_code == 200, retry.get_json()
                assert retry.get_json()["status"] == "repeated"
            assert (
                send(rebuilt, payload_for(41, dossier="HS-2025-999999"), token).status_code == 201
            )
        assert table_counts(restored)["responses"] == before["responses"] + 1


def test_restore_without_the_dossier_key_refuses_submissions(
    app: Flask,
    client: FlaskClient,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token, sent = seed_responses(app, client, count=10, dossiers=True)
    dispose_engines()
    with backed_up_and_restored(database_url, tmp_path) as restored:
        before = table_counts(restored)
        machines = [("no-key", {}, "dossier_key_missing"),
                    ("other-key", {"DOSSIER_HASH_KEY": "not-the-data-key"},
                     "dossier_key_mismatch")]  # fmt: skip
        for name, config, error in machines:
            with rebuilt_machine(restored, tmp_path / name, monkeypatch, **config) as rebuilt:
                for payload in (payload_for(40, dossier=sent[0]["dossier"]), sent[5]):
                    refused = send(rebuilt, payload, token)
                    assert refused.status_code == 503, refused.get_json()
                    data = refused.get_json()
                    assert data["error"] == error
                    assert "khóa hồ sơ" in data["reason"] and data["reason"] in data["message"]
                assert rebuilt.get("/healthz").status_code == 200
                assert rebuilt.get("/").status_code == 200
        assert table_counts(restored) == before
