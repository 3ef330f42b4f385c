"""SIGKILL the server in the middle of a stream of submissions: nothing lost or doubled.

Kiosks stream responses to the app under gunicorn (two workers) on the test
database (SQLite file, or a PostgreSQL database when ``TEST_DATABASE_URL`` is set).
The whole server (master and workers) is killed with SIGKILL while requests are in
flight, then started again. Like the kiosk's offline queue, the clients keep every
response that was not acknowledged (connection refused or cut) and resend it, with
the same id, until it is. Afterwards every acknowledged response is stored exactly
once, nothing unacknowledged is left, every response has its answer rows, and the
database passes its integrity checks.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from survey_app.admin import units
from survey_app.collection import desks, questionnaires
from survey_app.collection.submissions import inbox
from survey_app.extensions import db
from tests.helpers.databases import dispose_engines, using_postgresql
from tests.helpers.served_app import Gunicorn, post, submission

KIOSKS = 4
BEFORE_KILL = 40  # acknowledged responses before the kill
AFTER_RESTART = 20  # and after the restart

pytestmark = pytest.mark.slow


def seed(app: Flask) -> dict[str, str]:
    units.import_units(
        [{"code": "CT", "name_vi": "Xã thử", "name_en": "Test commune", "kind": "commune",
          "parent_code": ""}]
    )  # fmt: skip
    tokens = {}
    for i in range(KIOSKS):
        code = f"CT-{i}"
        desks.create_desk(code, "CT", f"Quầy {i}")
        tokens[code] = desks.issue_token(code)
    questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    db.session.commit()
    db.session.remove()
    dispose_engines()  # the submissions engine too
    return tokens


class Stream:
    """Kiosk threads that submit until told to stop, keeping what was not acknowledged."""

    def __init__(self, tokens: dict[str, str], port: int) -> None:
        self.tokens = tokens
        self.port = port
        self.lock = threading.Lock()
        self.acknowledged: dict[str, int] = {}  # id -> status of the acknowledgement
        self.unacknowledged: dict[str, tuple[dict, str]] = {}
        self.failures = 0
        self.changed = threading.Condition(self.lock)  # notified after each answer
        self.stop = threading.Event()
        self.up = threading.Event()  # cleared while the server is down: kiosks wait
        self.up.set()
        self.threads = [
            threading.Thread(target=self.run, args=(desk,), daemon=True) for desk in tokens
        ]

    def run(self, desk: str) -> None:
        mood = 0
        while not self.stop.is_set():
            self.up.wait(timeout=1)
            mood = mood % 5 + 1
            payload = submission(desk, mood)
            status = post(self.port, payload, self.tokens[desk], timeout=3)
            with self.lock:
                if status in (200, 201):
                    self.acknowledged[payload["id"]] = status
                else:  # refused, cut or 5xx: the kiosk keeps it for later
                    self.failures += 1
                    self.unacknowledged[payload["id"]] = (payload, desk)
                self.changed.notify_all()
            if status not in (200, 201):
                time.sleep(0.05)

    def wait_for(self, count: int, timeout: float = 30) -> None:
        """Until ``count`` responses are acknowledged."""
        with self.changed:
            done = self.changed.wait_for(lambda: len(self.acknowledged) >= count, timeout)
            assert done, f"only {len(self.acknowledged)} acknowledged"

    def wait_for_failures(self, count: int, timeout: float = 30) -> None:
        """Until ``count`` requests have failed (refused, cut or 5xx) in all."""
        with self.changed:
            assert self.changed.wait_for(lambda: self.failures >= count, timeout), self.failures

    def resend_unacknowledged(self, timeout: float = 30) -> int:
        """Send every unacknowledged response again (same id) until acknowledged."""
        deadline = time.monotonic() + timeout
        resent = 0
        for client_id, (payload, desk) in list(self.unacknowledged.items()):
            while True:
                status = post(self.port, payload, self.tokens[desk])
                if status in (200, 201):
                    self.acknowledged[client_id] = status
                    del self.unacknowledged[client_id]
                    resent += 1
                    break
                assert status in (None, 500, 502, 503), f"resend answered {status}"
                assert time.monotonic() < deadline, "resends were never acknowledged"
                time.sleep(0.1)
        return resent


def integrity_problems(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    problems: list[str] = []
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                check = connection.execute(text("PRAGMA integrity_check")).scalars().all()
                if check != ["ok"]:
                    problems.append(f"integrity_check: {check}")
                fk = connection.execute(text("PRAGMA foreign_key_check")).all()
                if fk:
                    problems.append(f"foreign_key_check: {fk}")
            else:
                orphans = connection.execute(
                    text(
                        "SELECT count(*) FROM answer_values a LEFT JOIN responses r "
                        "ON r.id = a.response_id WHERE r.id IS NULL"
                    )
                ).scalar_one()
                if orphans:
                    problems.append(f"{orphans} answer rows without a response")
                for table, column, parent in (
                    ("responses", "desk_id", "desks"),
                    ("responses", "unit_id", "units"),
                    ("responses", "questionnaire_id", "questionnaires"),
                    ("answer_values", "item_id", "questionnaire_items"),
                ):
                    dangling = connection.execute(
                        text(
                            f"SELECT count(*) FROM {table} t LEFT JOIN {parent} p "
                            f"ON p.id = t.{column} WHERE t.{column} IS NOT NULL AND p.id IS NULL"
                        )
                    ).scalar_one()
                    if dangling:
                        problems.append(f"{dangling} {table}.{column} point nowhere")
            bare = connection.execute(
                text(
                    "SELECT count(*) FROM responses r WHERE NOT EXISTS "
                    "(SELECT 1 FROM answer_values a WHERE a.response_id = r.id)"
                )
            ).scalar_one()
            if bare:
                problems.append(f"{bare} responses stored without their answers")
    finally:
        engine.dispose()
    return problems


def stored_ids(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT client_id FROM responses")).scalars().all()
    finally:
        engine.dispose()
    return [str(uuid.UUID(str(value))) for value in rows]


@pytest.mark.parametrize(
    "with_inbox",
    [
        False,
        pytest.param(
            True,
            marks=pytest.mark.skipif(not using_postgresql(), reason="the inbox is PostgreSQL's"),
        ),
    ],
    ids=["stored", "inbox"],
)
def test_sigkill_mid_stream_loses_and_doubles_nothing(
    app: Flask, database_url: str, tmp_path: Path, with_inbox: bool
) -> None:
    """With ``with_inbox``, the acknowledged responses are rows of the submission inbox
    when the server is killed; they are moved afterwards, as the folder would."""
    tokens = seed(app)
    instance = tmp_path / "served"
    instance.mkdir()
    log = tmp_path / "gunicorn.log"
    settings = {"SUBMISSION_INBOX": "1" if with_inbox else "0"}
    server = Gunicorn(database_url, instance, log, settings=settings)
    stream = Stream(tokens, server.port)
    try:
        for thread in stream.threads:
            thread.start()
        stream.wait_for(BEFORE_KILL)
        failed = stream.failures
        server.kill()  # mid-stream: the kiosk threads have requests in flight
        # The kiosks meet the dead server (refused, cut): as many failures as kiosks.
        stream.wait_for_failures(failed + len(stream.threads))
        stream.up.clear()  # then they wait and queue nothing new until it is back
        killed_at = len(stream.acknowledged)
        server = Gunicorn(database_url, instance, log, settings=settings)
        stream.port = server.port
        stream.up.set()
        stream.wait_for(killed_at + AFTER_RESTART)
        stream.stop.set()
        for thread in stream.threads:
            thread.join(timeout=10)
        stream.resend_unacknowledged()
    finally:
        stream.stop.set()
        stream.up.set()
        server.stop()

    assert stream.failures > 0, "the kill should have refused or cut some requests"
    assert not stream.unacknowledged
    if with_inbox:
        waiting = db.session.scalar(text("SELECT count(*) FROM response_inbox"))
        assert waiting, "the statement path should have left responses in the inbox"
        db.session.rollback()
        assert inbox.move() == waiting
    ids = stored_ids(database_url)
    assert len(ids) == len(set(ids)), "a response is stored twice"
    assert set(stream.acknowledged) <= set(ids), "an acknowledged response is lost"
    assert len(ids) == len(stream.acknowledged)
    assert integrity_problems(database_url) == []
