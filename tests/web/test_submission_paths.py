"""The two ways a kiosk or phone response is stored, seen through the API.

On PostgreSQL, once a first response of a desk for a questionnaire and a local day has
gone through the slow path (``submissions.entry._store``), the context is remembered and
later responses with the same key are stored by one statement
(``submissions.fast_path.store_at_once``). That statement checks again what the remembered
context assumed: when the context no longer holds it stores nothing and the slow path
decides afresh; when it holds but the id or the dossier is taken, the outcome (200
repeated, 409 conflict or duplicate_dossier) is decided right after it. On SQLite
there is no remembered path: every test here must still pass, with every response
going through the slow path.

Each test warms the context with a first submission, then tries one case. The
``paths`` fixture counts which path handled each request, so the tests also prove on
PostgreSQL that the single statement was really used (or really refused).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from survey_app import SUBMISSIONS_BIND, create_app, partitions
from survey_app.admin import accounts
from survey_app.admin import console as admin
from survey_app.collection import desks
from survey_app.collection.questionnaires import Codebook
from survey_app.collection.responses import ResponseDraft, StoreOutcome
from survey_app.collection.submissions import dossiers, entry, fast_path, prepared
from survey_app.collection.submissions.rate_limit import LimitHit
from survey_app.collection.submissions.result import SubmitResult
from survey_app.extensions import db
from survey_app.models import AnswerValue, Desk, Response, Role
from tests.helpers.databases import dispose_engines, using_postgresql
from tests.helpers.kiosk_api import (
    Setup,
    add_wave,
    answer_codes,
    body,
    count,
    fields_of,
    kiosk,
    post,
    stored,
    when,
)

CONTEXTS = "survey.submission_contexts"
CREATED, REPEATED = StoreOutcome.CREATED, StoreOutcome.REPEATED
CONFLICT, DUPLICATE_DOSSIER = StoreOutcome.CONFLICT, StoreOutcome.DUPLICATE_DOSSIER
#: What handled the requests: the single-statement outcomes, and the slow-path stores.
Taken = tuple[tuple[StoreOutcome | None, ...], int]
#: 2025-03-01 09:00 in Hà Nội; every response here is submitted on that local day.
BASE = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def setup(app: Flask) -> Setup:
    return Setup(app)


@dataclass
class Paths:
    """What handled the requests since the last :meth:`take`.

    ``attempts``: the outcome of each single-statement attempt (None: the remembered
    context did not hold, so the slow path decided); ``slow``: how many submissions
    reached the slow path's store.
    """

    attempts: list[StoreOutcome | None] = field(default_factory=list)
    slow: int = 0

    def take(self) -> Taken:
        taken = (tuple(self.attempts), self.slow)
        self.attempts.clear()
        self.slow = 0
        return taken


@pytest.fixture
def paths(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """Counts calls of the slow path's store and of the single statement."""
    seen = Paths()
    real_store, real_at_once = entry._store, fast_path.store_at_once

    def counting_store(draft: ResponseDraft, rows: list[tuple[int, int]]) -> SubmitResult:
        seen.slow += 1
        return real_store(draft, rows)

    def counting_at_once(
        draft: ResponseDraft,
        codebook: Codebook,
        rows: list[tuple[int, int]],
        device_token: str | None,
        hit: LimitHit | None = None,
    ) -> StoreOutcome | None:
        outcome = real_at_once(draft, codebook, rows, device_token, hit)
        seen.attempts.append(outcome)
        return outcome

    monkeypatch.setattr(entry, "_store", counting_store)
    monkeypatch.setattr(fast_path, "store_at_once", counting_at_once)
    return seen


@pytest.fixture
def fast(app: Flask) -> bool:
    """Whether this app has the single-statement path: on PostgreSQL, and only there."""
    has_it = SUBMISSIONS_BIND in db.engines
    assert has_it == using_postgresql()
    return has_it


def by_statement(fast: bool, outcome: StoreOutcome = CREATED, times: int = 1) -> Taken:
    """The expected :meth:`Paths.take` of ``times`` submissions decided by the single
    statement with ``outcome`` (on SQLite: by the slow path)."""
    return ((outcome,) * times, 0) if fast else ((), times)


def refused_then(fast: bool, slow: int) -> Taken:
    """The remembered context did not hold, then the slow path decided (on SQLite: only
    the slow path). ``slow`` is 1 if it reached the store, else 0."""
    return ((None,), slow) if fast else ((), slow)


def warm(client: FlaskClient, setup: Setup, paths: Paths, **changes: Any) -> dict[str, Any]:
    """Store a first response through the slow path; returns its payload."""
    first = kiosk(**changes)
    token = setup.token if first["channel"] == "kiosk" else None
    assert post(client, first, token).status_code == 201
    assert paths.take() == ((), 1)
    return first


def utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- a second response of a warmed desk ------------------------------------------------


def test_the_first_response_remembers_the_context_on_postgresql_only(
    app: Flask, client: FlaskClient, setup: Setup, paths: Paths, fast: bool
) -> None:
    first = warm(client, setup, paths)
    contexts = app.extensions.get(CONTEXTS, {})
    if not fast:
        assert contexts == {}
        return
    ((key, context),) = contexts.items()
    assert (key.code, key.slug, key.version, key.day) == (
        "QL-01",
        "kiosk_quick",
        1,
        date(2025, 3, 1),
    )
    row = stored(first["id"])
    assert context.desk.id == row.desk_id and context.desk.unit_id == row.unit_id
    assert context.codebook.questionnaire_id == row.questionnaire_id
    assert context.wave_id == row.wave_id  # the feedback period the first answer opened


@pytest.mark.parametrize("channel", ["kiosk", "phone"])
def test_a_second_response_is_stored_whole_by_one_statement(
    app: Flask, client: FlaskClient, setup: Setup, paths: Paths, fast: bool, channel: str
) -> None:
    warm(client, setup, paths)
    second = body(
        channel=channel,
        lang="en",
        answers={"mood": 2, "problems": ["thai_do", "cho_lau"], "fu_wait": 1},
        started_at=when(30),
        submitted_at=when(95),
        dossier="hs-2025-000777" if channel == "phone" else None,
    )
    response = post(client, second, setup.token if channel == "kiosk" else None)
    assert response.status_code == 201
    assert response.get_json() == {"id": second["id"], "status": "created"}
    assert paths.take() == by_statement(fast)

    row = stored(second["id"])
    assert row.channel == channel and row.lang == "en"
    assert row.desk.code == "QL-01" and row.unit.code == "QL"
    assert row.questionnaire.slug == "kiosk_quick" and row.wave.code.startswith("FB")
    assert row.answers == {"mood": 2, "problems": ["cho_lau", "thai_do"], "fu_wait": 1}
    assert utc(row.submitted_at) == BASE + timedelta(seconds=95)
    assert utc(row.started_at) == BASE + timedelta(seconds=30)
    received = utc(row.received_at)
    assert received is not None and abs(datetime.now(UTC) - received) < timedelta(minutes=1)
    assert not row.flagged and row.flag_reason is None
    assert row.stratum is None and row.psu is None and row.design_weight is None
    if channel == "phone":
        assert row.dossier_hash == dossiers.hash_dossier("HS-2025-000777")
    else:
        assert row.dossier_hash is None
    # Stored whole: one coded row per answer (problems: options 1 and 2 of their list).
    assert answer_codes(second["id"]) == [
        ("fu_wait", 1),
        ("mood", 2),
        ("problems", 1),
        ("problems", 2),
    ]
    assert count(Response) == 2 and count(AnswerValue) == 2 + 4
    # The stored content hash is the slow path's: the same body again is a retry.
    assert post(client, second, setup.token if channel == "kiosk" else None).status_code == 200


# --- a stale context: the single statement refuses, the slow path decides -----------


def test_a_reissued_token_is_checked_again(
    client: FlaskClient, setup: Setup, paths: Paths, fast: bool
) -> None:
    warm(client, setup, paths)
    new_token = desks.issue_token("QL-01")

    refused = post(client, kiosk(10), setup.token)
    assert refused.status_code == 401 and refused.get_json()["error"] == "unauthorized"
    assert paths.take() == refused_then(fast, 0)
    assert count(Response) == 1

    renewed = kiosk(20)
    assert post(client, renewed, new_token).status_code == 201
    paths.take()
    later = kiosk(30)
    assert post(client, later, new_token).status_code == 201
    assert paths.take() == by_statement(fast)
    assert post(client, kiosk(40), setup.token).status_code == 401
    assert count(Response) == 3 and count(AnswerValue) == 3 * 2
    assert {stored(p["id"]).desk.code for p in (renewed, later)} == {"QL-01"}


@pytest.mark.parametrize("channel", ["kiosk", "phone"])
def test_a_deactivated_desk_is_checked_again(
    client: FlaskClient, setup: Setup, paths: Paths, fast: bool, channel: str
) -> None:
    warm(client, setup, paths)
    desk = db.session.scalar(select(Desk).where(Desk.code == "QL-01"))
    assert desk is not None
    desk.active = False
    db.session.commit()

    response = post(client, kiosk(10, channel=channel), setup.token)
    assert fields_of(response) == {("desk", "unknown_desk")}
    assert paths.take() == refused_then(fast, 0)
    assert count(Response) == 1 and count(AnswerValue) == 2


def test_a_wave_created_after_warming_is_used(
    client: FlaskClient, setup: Setup, paths: Paths, fast: bool
) -> None:
    # Today in Hà Nội, as a kiosk sees it; 09:00 may be a few hours ahead, which is allowed.
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    moment = datetime.fromisoformat(f"{today.isoformat()}T09:00:00+07:00")

    def on_today(seconds: int, **changes: Any) -> dict[str, Any]:
        submitted_at = (moment + timedelta(seconds=seconds)).isoformat()
        return body(started_at=None, submitted_at=submitted_at, **changes)

    first = on_today(0)
    assert post(client, first, setup.token).status_code == 201
    assert paths.take() == ((), 1)
    period = stored(first["id"]).wave_id  # the month's feedback period, opened by it
    assert period is not None

    # A wave of the desk's district: it covers the ward's desk too.
    district = add_wave("HM-TODAY", "HM", today, today)
    second = on_today(10)
    assert post(client, second, setup.token).status_code == 201
    assert paths.take() == refused_then(fast, 1)
    assert stored(second["id"]).wave_id == district
    third = on_today(20)
    assert post(client, third, setup.token).status_code == 201
    assert paths.take() == by_statement(fast)
    assert stored(third["id"]).wave_id == district

    # A wave of the ward itself is more specific than the district's.
    ward = add_wave("QL-TODAY", "QL", today, today)
    fourth, fifth = on_today(30), on_today(40)
    assert post(client, fourth, setup.token).status_code == 201
    assert paths.take() == refused_then(fast, 1)
    assert post(client, fifth, setup.token).status_code == 201
    assert paths.take() == by_statement(fast)
    assert [stored(p["id"]).wave_id for p in (fourth, fifth)] == [ward, ward]

    # The first response's retry is still a retry, and it keeps its period;
    # so is the third's, stored with the district's wave.
    again = post(client, first, setup.token)
    assert again.status_code == 200
    assert again.get_json() == {"id": first["id"], "status": "repeated"}
    assert post(client, third, setup.token).status_code == 200
    assert paths.take() == by_statement(fast, REPEATED, times=2)
    assert stored(first["id"]).wave_id == period and stored(third["id"]).wave_id == district
    changed = post(client, dict(first, answers={"mood": 1}), setup.token)
    assert changed.status_code == 409 and changed.get_json()["error"] == "conflict"
    assert count(Response) == 5 and count(AnswerValue) == 5 * 2


def test_a_desk_moved_to_another_unit_after_warming(
    app_config: dict[str, Any], client: FlaskClient, setup: Setup, paths: Paths
) -> None:
    warm(client, setup, paths)
    actor = accounts.create_user("mover", "a long enough password 1", Role.ADMIN)
    admin.update_desk(actor, "QL-01", "VI", "Quầy đã chuyển", 60)

    moved = kiosk(10)
    assert post(client, moved, setup.token).status_code == 201
    assert stored(moved["id"]).unit.code == "VI"
    assert post(client, moved, setup.token).status_code == 200
    # The kiosk's retry may reach another worker process, which remembers nothing.
    other_worker = create_app(app_config)
    try:
        with other_worker.test_client() as other_client:
            retry = post(other_client, moved, setup.token)
    finally:
        with other_worker.app_context():
            db.session.remove()
            dispose_engines()
    assert retry.status_code == 200, retry.get_json()
    assert count(Response) == 2


# --- retries, conflicts and dossiers of statement-stored responses -----------------


def test_a_statement_stored_response_is_retried_not_stored_twice(
    client: FlaskClient,
    setup: Setup,
    paths: Paths,
    fast: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On PostgreSQL the statement itself reads the stored response of a resend: the
    # second query (responses.existing_outcome) is not needed.
    lookups: list[ResponseDraft] = []
    real_lookup = fast_path.existing_outcome

    def counting_lookup(draft: ResponseDraft) -> StoreOutcome | None:
        lookups.append(draft)
        return real_lookup(draft)

    monkeypatch.setattr(fast_path, "existing_outcome", counting_lookup)
    warm(client, setup, paths)
    second = kiosk(10, answers={"mood": 3, "problems": ["cho_lau"]})
    assert post(client, second, setup.token).status_code == 201
    assert paths.take() == by_statement(fast)

    again = post(client, second, setup.token)
    assert again.status_code == 200
    assert again.get_json() == {"id": second["id"], "status": "repeated"}
    assert paths.take() == by_statement(fast, REPEATED)
    # The same instants written in UTC are the same content.
    same = dict(second, submitted_at=(BASE + timedelta(seconds=10)).isoformat())
    assert post(client, same, setup.token).status_code == 200
    assert paths.take() == by_statement(fast, REPEATED)

    for changed in (
        dict(second, answers={"mood": 3, "problems": ["thai_do"]}),
        dict(second, submitted_at=when(11)),
        dict(second, lang="en"),
        dict(second, channel="phone"),
        dict(second, dossier="HS-1"),
    ):
        response = post(client, changed, setup.token)
        assert response.status_code == 409, changed
        assert response.get_json()["error"] == "conflict"
        assert paths.take() == by_statement(fast, CONFLICT)
    assert count(Response) == 2 and count(AnswerValue) == 2 + 2
    assert stored(second["id"]).answers == {"mood": 3, "problems": ["cho_lau"]}
    assert lookups == []


@pytest.mark.parametrize("channel", ["kiosk", "phone"])
def test_a_dossier_taken_is_refused_on_the_statement_path(
    client: FlaskClient, setup: Setup, paths: Paths, fast: bool, channel: str
) -> None:
    token = setup.token if channel == "kiosk" else None
    warm(client, setup, paths, channel=channel, dossier="HS-2025-000001")
    second = kiosk(10, channel=channel, dossier="HS-2025-000002")
    assert post(client, second, token).status_code == 201
    assert paths.take() == by_statement(fast)
    before = (count(Response), count(AnswerValue))

    for other_channel, code in ((channel, " hs-2025-000002 "), ("phone", "HS-2025-000001")):
        reuse = kiosk(20, channel=other_channel, dossier=code, answers={"mood": 1})
        response = post(client, reuse, setup.token if other_channel == "kiosk" else None)
        assert response.status_code == 409
        assert response.get_json()["error"] == "duplicate_dossier"
        assert paths.take() == by_statement(fast, DUPLICATE_DOSSIER)
    assert (count(Response), count(AnswerValue)) == before
    # The owner of the dossier may still retry, and a new dossier is welcome.
    assert post(client, second, token).status_code == 200
    assert paths.take() == by_statement(fast, REPEATED)
    assert post(client, kiosk(30, channel=channel, dossier="HS-3"), token).status_code == 201
    assert count(Response) == before[0] + 1


# --- bursts ----------------------------------------------------------------------------


def send_all(client: FlaskClient, setup: Setup, payloads: list[dict[str, Any]]) -> list[Any]:
    """Post each payload (kiosk); returns the (flagged, flag_reason) of each row."""
    for payload in payloads:
        assert post(client, payload, setup.token).status_code == 201
    return [(stored(p["id"]).flagged, stored(p["id"]).flag_reason) for p in payloads]


@pytest.mark.parametrize(
    ("burst_count", "window"), [(None, None), (3, 30)], ids=["defaults", "3-in-30s"]
)
def test_a_burst_is_flagged_by_either_path(
    app: Flask,
    client: FlaskClient,
    setup: Setup,
    paths: Paths,
    fast: bool,
    burst_count: int | None,
    window: int | None,
) -> None:
    if burst_count is not None:
        app.config.update(BURST_COUNT=burst_count, BURST_WINDOW_S=window)
    burst_count = burst_count or 5
    same = {"mood": 4, "positives": ["nhanh"]}
    payloads = [kiosk(10 * i, answers=same) for i in range(burst_count + 1)]
    # The first goes through the slow path and warms the context.
    assert send_all(client, setup, payloads[:1]) == [(False, None)]
    assert paths.take() == ((), 1)
    # Other answers from this desk and identical ones from another desk do not count.
    noise = kiosk(1, answers={"mood": 3})
    other_desk = kiosk(2, desk="VI-01", answers=same)
    assert post(client, noise, setup.token).status_code == 201
    assert post(client, other_desk, setup.other_token).status_code == 201
    assert not stored(other_desk["id"]).flagged
    paths.take()
    # The rest go through the single statement on PostgreSQL.
    flags = send_all(client, setup, payloads[1:])
    assert flags == [(False, None)] * (burst_count - 2) + [(True, "burst")] * 2
    rest = len(payloads) - 1
    assert paths.take() == by_statement(fast, times=rest)


def test_an_identical_answer_set_sent_late_is_decided_by_the_slow_path(
    app: Flask, client: FlaskClient, setup: Setup, paths: Paths, fast: bool
) -> None:
    """A kiosk that sends queued answers late: when an identical set submitted later is
    stored and the trailing window does not decide, the statement stores nothing and
    the slow path applies the whole rule (a burst or not); when the trailing window
    holds enough, the statement flags it itself."""
    app.config.update(BURST_COUNT=3, BURST_WINDOW_S=60)
    same = {"mood": 4, "positives": ["nhanh"]}
    warm(client, setup, paths, answers={"mood": 1})
    # Nothing identical yet: the statement decides (not a burst).
    assert send_all(client, setup, [kiosk(100, answers=same)]) == [(False, None)]
    assert paths.take() == by_statement(fast)
    # Submitted at 50 s, after the one at 100 s was stored: [50 s, 110 s] holds two.
    assert send_all(client, setup, [kiosk(50, answers=same)]) == [(False, None)]
    assert paths.take() == refused_then(fast, 1)
    # At 45 s: [45 s, 105 s] holds three, a burst that no trailing window shows.
    assert send_all(client, setup, [kiosk(45, answers=same)]) == [(True, "burst")]
    assert paths.take() == refused_then(fast, 1)
    # At 55 s: [-5 s, 55 s] holds 45 s and 50 s, so the statement flags it, although
    # 100 s is later.
    assert send_all(client, setup, [kiosk(55, answers=same)]) == [(True, "burst")]
    assert paths.take() == by_statement(fast)


@pytest.mark.parametrize("burst_count", [None, 2])
def test_identical_answers_spread_wider_than_the_window_are_not_a_burst(
    app: Flask, client: FlaskClient, setup: Setup, paths: Paths, burst_count: int | None
) -> None:
    if burst_count is not None:
        app.config.update(BURST_COUNT=burst_count, BURST_WINDOW_S=30)
    burst_count = burst_count or 5
    window = int(app.config.get("BURST_WINDOW_S", 120))
    warm(client, setup, paths, answers={"mood": 1})
    # With the first (at 0 s): `burst_count` identical sets, each window + 1 s apart.
    payloads = [kiosk((window + 1) * i, answers={"mood": 1}) for i in range(1, burst_count)]
    assert send_all(client, setup, payloads) == [(False, None)] * (burst_count - 1)
    # Exactly one window after the last one: both ends count, so with two it is a burst.
    closing = kiosk((window + 1) * (burst_count - 1) + window, answers={"mood": 1})
    expected = (True, "burst") if burst_count == 2 else (False, None)
    assert send_all(client, setup, [closing]) == [expected]


@pytest.mark.parametrize(("burst_count", "flagged"), [(1, True), (0, False)])
def test_burst_count_one_flags_everything_and_zero_nothing(
    app: Flask,
    client: FlaskClient,
    setup: Setup,
    paths: Paths,
    fast: bool,
    burst_count: int,
    flagged: bool,
) -> None:
    app.config.update(BURST_COUNT=burst_count)
    payloads = [kiosk(i, answers={"mood": 2}) for i in range(6)]
    expected = (True, "burst") if flagged else (False, None)
    assert send_all(client, setup, payloads) == [expected] * 6
    assert paths.take() == (((CREATED,) * 5, 1) if fast else ((), 6))


# --- the rate limit, counted by the statement itself -------------------------------------


def desk_hits(code: str) -> list[int]:
    """The rate-limit counters of the desk (one per window)."""
    desk_id = db.session.scalar(select(Desk.id).where(Desk.code == code))
    counts = db.session.execute(
        text("SELECT count FROM rate_limits WHERE key LIKE :key"),
        {"key": f"%/desk:{desk_id}/%"},
    ).scalars()
    return list(counts)


@pytest.fixture
def limited_to_three(app_config: dict[str, Any]) -> None:
    app_config.update(RATELIMIT_ENABLED=True, RATELIMIT_SUBMIT_KIOSK="3 per minute")


def test_the_statement_counts_the_rate_limit_and_stores_nothing_over_it(
    limited_to_three: None, client: FlaskClient, setup: Setup, paths: Paths, fast: bool
) -> None:
    """On PostgreSQL with survey-sql:// the hit is the statement's own upsert (one
    commit with the response): the same counter the limiter reads, the same 429."""
    warm(client, setup, paths)  # hit 1, counted by the limiter on the slow path
    payloads = [kiosk(seconds) for seconds in (1, 2, 3)]
    codes = [post(client, payload, setup.token).status_code for payload in payloads]
    assert codes == [201, 201, 429]
    ids = {uuid.UUID(p["id"]) for p in payloads}
    kept = db.session.scalars(select(Response.client_id).where(Response.client_id.in_(ids)))
    assert set(kept) == {uuid.UUID(p["id"]) for p in payloads[:2]}
    # On PostgreSQL the two were stored by the statement and the third was refused by
    # it (OverLimitError, before an outcome); on SQLite the limiter refused it.
    assert paths.take() == (((CREATED, CREATED), 0) if fast else ((), 2))
    assert desk_hits("QL-01") == [4]
    again = post(client, kiosk(4), setup.token)
    assert again.status_code == 429 and 1 <= int(again.headers["Retry-After"]) <= 60


@pytest.mark.skipif(not using_postgresql(), reason="partitions exist on PostgreSQL only")
def test_a_wave_whose_partition_was_archived_is_stored_by_the_slow_path(
    limited_to_three: None, client: FlaskClient, setup: Setup, paths: Paths
) -> None:
    """The statement names its wave's partition (its burst check reads only that one).
    Once the partition is archived (detached and dropped, docs/operations.md), the
    statement fails before storing or counting anything: the slow path stores the
    response (in the default partition), the hit is still counted once, and the limit
    still holds."""
    first = warm(client, setup, paths)  # hit 1
    wave_id = stored(first["id"]).wave_id
    assert wave_id is not None
    db.session.commit()  # the session's read holds the partition (DETACH would wait)
    with db.engine.begin() as connection:
        responses, answers = partitions.detach_wave(connection, wave_id)
        connection.execute(text(f"DROP TABLE {answers}, {responses}"))
    payloads = [kiosk(seconds) for seconds in (1, 2, 3)]
    codes = [post(client, payload, setup.token).status_code for payload in payloads]
    assert codes == [201, 201, 429]
    assert paths.take() == ((None, None), 2)
    assert [stored(p["id"]).wave_id for p in payloads[:2]] == [wave_id, wave_id]
    assert count(Response) == 2  # the first went with its partition; none of the third
    assert desk_hits("QL-01") == [4]


def test_a_connection_the_server_dropped_is_replaced_with_its_cursor(
    client: FlaskClient, setup: Setup, paths: Paths, fast: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Each pooled connection keeps its cursor for the statement
    (``prepared.run_insert``). When PostgreSQL drops the connection, the submission is
    still stored once, and the next statement runs on a new connection with a cursor of
    its own."""
    if not fast:
        pytest.skip("the single statement and its cursors exist on PostgreSQL only")
    warm(client, setup, paths)
    assert post(client, kiosk(1), setup.token).status_code == 201
    assert paths.take() == ((CREATED,), 0)
    engine = db.engines[SUBMISSIONS_BIND]
    pooled = engine.raw_connection()
    try:
        cursor = pooled.info[prepared.CURSOR]
        assert cursor.connection is pooled.driver_connection
        dropped = pooled.driver_connection.info.backend_pid
    finally:
        pooled.close()
    with db.engine.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})

    after = kiosk(2)
    assert post(client, after, setup.token).status_code == 201
    # The lane's first try failed on the dropped connection; Flask's stored it.
    assert paths.take() == ((CREATED,), 0)
    assert "the submission lane failed" in caplog.text
    assert post(client, kiosk(3), setup.token).status_code == 201
    assert paths.take() == ((CREATED,), 0)
    pooled = engine.raw_connection()
    try:
        assert pooled.driver_connection.info.backend_pid != dropped
        assert pooled.info[prepared.CURSOR].connection is pooled.driver_connection
    finally:
        pooled.close()
    assert count(Response) == 4 and stored(after["id"]) is not None
