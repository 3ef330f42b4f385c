"""The submission inbox (``SUBMISSION_INBOX``, PostgreSQL): acknowledged, then moved.

A kiosk response on the single-statement path is acknowledged once its key is claimed
and it is written to ``response_inbox``; :func:`inbox.move` (run by ``figures refresh``
and, every second, by its resident form) inserts it into ``responses`` with its answer
rows, its queue row and its burst flag. These tests check, through the API, that what
is moved is what the statement path stores, that resends, conflicts and dossiers are
told before and after the move, that the burst flags agree with the statement path's
for any order of arrival (hypothesis), and that concurrent movers move each row once.
On SQLite there is no inbox: the setting changes nothing.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from survey_app.collection.submissions import inbox
from survey_app.extensions import db
from survey_app.models import Response
from survey_app.partitions import RESPONSE_INBOX
from survey_app.reporting import figure_store
from tests.helpers.databases import using_postgresql
from tests.helpers.kiosk_api import Setup, answer_codes, count, kiosk, post, stored

on_postgresql = pytest.mark.skipif(not using_postgresql(), reason="the inbox is PostgreSQL's")


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(SUBMISSION_INBOX=True)
    return app_config


@pytest.fixture
def setup(app: Flask) -> Setup:
    return Setup(app)


def waiting() -> int:
    """Rows in the inbox."""
    return int(db.session.scalar(select(func.count()).select_from(RESPONSE_INBOX)) or 0)


def key_count() -> int:
    return int(db.session.scalar(text("SELECT count(*) FROM response_keys")) or 0)


def send(client: FlaskClient, setup: Setup, payload: dict[str, Any], status: int = 201) -> Any:
    token = setup.token if payload.get("desk", "QL-01") == "QL-01" else setup.other_token
    answer = post(client, payload, token)
    assert answer.status_code == status, answer.get_json()
    return answer.get_json()


@on_postgresql
def test_a_response_is_acknowledged_from_the_inbox_and_moved_whole(
    client: FlaskClient, setup: Setup
) -> None:
    first = kiosk(0)
    send(client, setup, first)  # the general path: stored at once, context remembered
    assert (count(Response), waiting()) == (1, 0)
    payloads = [
        kiosk(10, answers={"mood": 4, "positives": ["nhanh", "tan_tinh"]}),
        kiosk(20, answers={"mood": 2, "problems": ["cho_lau"]}),
        kiosk(30, answers={"mood": 5}),
    ]
    for payload in payloads:
        assert send(client, setup, payload) == {"id": payload["id"], "status": "created"}
    # acknowledged: keys claimed, rows waiting, nothing in responses yet
    assert (count(Response), waiting(), key_count()) == (1, 3, 4)
    db.session.rollback()
    assert inbox.move() == 3
    assert (count(Response), waiting(), key_count()) == (4, 0, 4)
    for payload in payloads:
        row = stored(payload["id"])
        assert row.answers == payload["answers"]
        assert (row.desk_id, row.unit_id, row.wave_id) == (
            stored(first["id"]).desk_id,
            stored(first["id"]).unit_id,
            stored(first["id"]).wave_id,
        )
        assert (row.flagged, row.flag_reason) == (False, None)
    # the answer rows are those the single statement stores without the inbox
    client.application.config["SUBMISSION_INBOX"] = False
    for payload in payloads:
        twin = kiosk(40, answers=payload["answers"])
        send(client, setup, twin)
        assert answer_codes(payload["id"]) == answer_codes(twin["id"]) != []
    # the figure store folds them, and agrees with the rows
    db.session.rollback()
    figure_store.refresh()
    compared, mismatches = figure_store.verify()
    assert compared > 0 and mismatches == []


@on_postgresql
def test_resends_conflicts_and_dossiers_are_told_before_and_after_the_move(
    client: FlaskClient, setup: Setup
) -> None:
    send(client, setup, kiosk(0))
    first = kiosk(10, dossier="HS-000123")
    send(client, setup, first)
    assert waiting() == 1
    for moved in (False, True):
        assert send(client, setup, first, 200) == {"id": first["id"], "status": "repeated"}
        changed = {**first, "answers": {"mood": 1}}
        assert send(client, setup, changed, 409)["error"] == "conflict"
        again = kiosk(20, dossier="HS-000123")
        assert send(client, setup, again, 409)["error"] == "duplicate_dossier"
        db.session.rollback()
        assert (count(Response), waiting()) == ((2, 0) if moved else (1, 1))
        if not moved:
            assert inbox.move() == 1
    assert stored(first["id"]).dossier_hash is not None


@pytest.fixture
def limited_to_three(app_config: dict[str, Any]) -> None:
    app_config.update(RATELIMIT_ENABLED=True, RATELIMIT_SUBMIT_KIOSK="3 per minute")


@on_postgresql
def test_the_rate_limit_is_counted_and_nothing_is_kept_over_it(
    limited_to_three: None, client: FlaskClient, setup: Setup
) -> None:
    for seconds in (0, 1, 2):
        send(client, setup, kiosk(seconds))
    assert send(client, setup, kiosk(3), 429)["error"]
    db.session.rollback()
    assert (count(Response), waiting(), key_count()) == (1, 2, 3)


# One arrival: seconds after 09:00, one of two answer sets, and whether the inbox is
# moved right after it.
ARRIVALS = st.lists(
    st.tuples(st.integers(0, 90), st.booleans(), st.booleans()), min_size=1, max_size=12
)


@on_postgresql
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(arrivals=ARRIVALS)
def test_the_burst_flags_agree_with_the_statement_path(
    app: Flask, client: FlaskClient, setup: Setup, arrivals: list[tuple[int, bool, bool]]
) -> None:
    """The same arrivals at two desks, one through the single statement (each decided
    as it comes), the other through the inbox (moved in batches where ``arrivals`` say,
    and at the end): every response gets the same flag."""
    app.config.update(BURST_COUNT=3, BURST_WINDOW_S=30)
    # each example in an hour of its own, so that no earlier example's answers count
    hour = 3600 * (1 + int(db.session.scalar(select(func.count()).select_from(Response)) or 0))
    answer_sets = ({"mood": 5}, {"mood": 4, "positives": ["nhanh"]})
    flags: dict[str, list[bool]] = {}
    for desk in ("QL-01", "VI-01"):
        app.config["SUBMISSION_INBOX"] = desk == "VI-01"
        # warm the desk's context (the general path) with an answer set no arrival has
        send(client, setup, kiosk(hour - 600, desk=desk, answers={"mood": 1}))
        ids = []
        for seconds, second_set, move_now in arrivals:
            payload = kiosk(hour + seconds, desk=desk, answers=answer_sets[second_set])
            send(client, setup, payload)
            ids.append(payload["id"])
            if move_now and desk == "VI-01":
                db.session.rollback()
                inbox.move()
        db.session.rollback()
        inbox.move()
        flags[desk] = [stored(i).flagged for i in ids]
    assert flags["QL-01"] == flags["VI-01"], arrivals


@on_postgresql
def test_the_resident_refresh_moves_the_inbox_between_folds(
    app: Flask, client: FlaskClient, setup: Setup
) -> None:
    send(client, setup, kiosk(0))
    seen: list[tuple[int, int]] = []
    later = kiosk(10)

    def wait(seconds: float) -> bool:
        db.session.rollback()
        seen.append((seconds, waiting()))
        if len(seen) == 1:  # a response acknowledged after the fold
            send(client, setup, later)
            return False
        return True

    figure_store.keep_refreshing(60, wait, lambda _folded: None)
    db.session.rollback()
    assert seen == [(inbox.MOVE_EVERY_S, 0), (inbox.MOVE_EVERY_S, 0)]
    assert stored(later["id"]).id is not None


@on_postgresql
def test_two_movers_move_each_response_once(app: Flask, client: FlaskClient, setup: Setup) -> None:
    send(client, setup, kiosk(0))
    for seconds in range(1, 21):
        send(client, setup, kiosk(seconds, answers={"mood": 1 + seconds % 5}))
    db.session.rollback()
    moved: list[int] = []
    errors: list[BaseException] = []

    def mover() -> None:
        with app.app_context():
            try:
                moved.append(inbox.move())
            except BaseException as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=mover) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(moved) == [0, 20]
    assert (count(Response), waiting()) == (21, 0)
    ids = db.session.scalars(select(Response.client_id)).all()
    assert len(set(ids)) == len(ids)


def test_without_postgresql_the_setting_changes_nothing(
    app: Flask, client: FlaskClient, setup: Setup
) -> None:
    if using_postgresql():
        pytest.skip("SQLite's behaviour")
    for seconds in (0, 10):
        send(client, setup, kiosk(seconds))
    assert count(Response) == 2
    assert inbox.move() == 0
