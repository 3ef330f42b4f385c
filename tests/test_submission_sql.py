"""The SQL of the submission path checked against its Python twin, and the rate-limit
storage that replaced ``memory://``.

- PostgreSQL only: the burst rule exists whole in Python
  (:func:`survey_app.collection.submissions.burst.is_burst`, the slow path and SQLite) and in
  part in SQL (``sql._burst`` inside the single insert statement, which leaves
  a response to the slow path when an identical answer set submitted later is stored
  and its trailing window does not decide). A seeded random search over stored times,
  candidate times, ``BURST_COUNT`` and ``BURST_WINDOW_S`` (window edges included)
  checks that the statement decides exactly when it should, and then as Python does.
  The SQL flag is read from a response really stored by
  ``submissions.fast_path.store_at_once`` (then deleted), so the parameters are exactly
  the ones production passes.
- Both databases: :class:`survey_app.ratelimit_storage.SweepingMemoryStorage` starts no
  thread per hit, lets counters expire after their window, and sweeps expired keys at
  most once per ``SWEEP_INTERVAL_S``.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import limits.storage.memory
import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)
from sqlalchemy import delete, event, select, text

from survey_app import ratelimit_storage
from survey_app.collection.responses import (
    ResponseDraft,
    StoreOutcome,
    coded_rows,
    response_row,
)
from survey_app.collection.submissions import burst, fast_path, prepared
from survey_app.collection.submissions.context import Context, ContextKey, find_context
from survey_app.collection.submissions.times import MAX_CLOCK_SKEW
from survey_app.extensions import db, limiter
from survey_app.models import AnswerValue, Channel, Response, Wave, WaveKind
from survey_app.ratelimit_storage import DatabaseStorage, SweepingMemoryStorage
from tests.helpers.databases import using_postgresql
from tests.helpers.kiosk_api import Setup, body, post

postgresql_only = pytest.mark.skipif(
    not using_postgresql(),
    reason="the single-statement path and its SQL burst rule exist on PostgreSQL only "
    "(set TEST_DATABASE_URL to run this)",
)

SAME = {"mood": 5, "positives": ["nhanh"]}
OTHER = {"mood": 5}
US = timedelta(microseconds=1)
#: 10:00 in Hà Nội; the stored and candidate times lie around it, on the same local day.
BASE = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)


# --- the burst rule: SQL and Python agree ------------------------------------------


@dataclass(frozen=True)
class Desks:
    """The two desks of :class:`Setup` as the submission path sees them, and the ids of
    two other waves of their questionnaire (each a partition on PostgreSQL)."""

    ql: Context
    vi: Context
    token: str
    other_waves: tuple[int, int]


def other_wave(code: str, questionnaire_id: int, unit_id: int) -> int:
    """A field survey of the questionnaire: not the submissions' wave (which is None)."""
    wave = Wave(
        code=code,
        name_vi=f"Đợt {code}",
        name_en=f"Wave {code}",
        kind=WaveKind.FIELD_SURVEY,
        questionnaire_id=questionnaire_id,
        unit_id=unit_id,
        start_date=date(2024, 1, 1),
        end_date=date(2024, 12, 31),
    )
    db.session.add(wave)
    db.session.commit()
    return wave.id


def contexts(app: Flask) -> Desks:
    setup = Setup(app)
    key = ContextKey("QL-01", "kiosk_quick", 1, date(2025, 3, 1))
    ql = find_context(key)
    vi = find_context(ContextKey("VI-01", "kiosk_quick", 1, key.day))
    assert ql.desk is not None and vi.desk is not None and ql.codebook is not None
    questionnaire_id, unit_id = ql.codebook.questionnaire_id, ql.desk.unit_id
    waves = (
        other_wave("OTHER-1", questionnaire_id, unit_id),
        other_wave("OTHER-2", questionnaire_id, unit_id),
    )
    assert find_context(key) == ql  # field surveys are no submission's wave
    assert ql.wave_id is None  # no wave: the statement's wave check always holds
    return Desks(ql, vi, setup.token, waves)


def kiosk_draft(
    context: Context, answers: dict[str, Any], at: datetime, **extra: Any
) -> ResponseDraft:
    """A kiosk response of the context's desk, submitted ``at``."""
    assert context.desk is not None and context.codebook is not None
    return ResponseDraft(
        client_id=uuid.uuid4(),
        questionnaire_id=context.codebook.questionnaire_id,
        unit_id=context.desk.unit_id,
        desk_id=context.desk.id,
        channel=Channel.KIOSK,
        answers=answers,
        submitted_at=at,
        **extra,
    )


def stored_row(
    context: Context, answers: dict[str, Any], at: datetime, received: datetime
) -> dict[str, Any]:
    """A responses row of the context's desk, submitted ``at``, received ``received``."""
    return dict(response_row(kiosk_draft(context, answers, at)), received_at=received)


def sql_flag(desks: Desks, answers: dict[str, Any], at: datetime) -> bool | None:
    """The burst flag the single statement gives a new response (stored, then removed);
    None if it left the response to the slow path (and stored nothing)."""
    context = desks.ql
    draft = kiosk_draft(context, answers, at, extra_hash_fields={"dossier_hash": None})
    rows = coded_rows(draft, context.codebook)
    outcome = fast_path.store_at_once(draft, context.codebook, rows, desks.token)
    if outcome is None:
        assert (
            db.session.scalar(select(Response.id).where(Response.client_id == draft.client_id))
            is None
        )
        return None
    assert outcome is StoreOutcome.CREATED
    flagged, reason = db.session.execute(
        select(Response.flagged, Response.flag_reason).where(Response.client_id == draft.client_id)
    ).one()
    assert reason == ("burst" if flagged else None)
    db.session.execute(delete(Response).where(Response.client_id == draft.client_id))
    db.session.commit()
    return bool(flagged)


def python_flag(desks: Desks, answers: dict[str, Any], at: datetime) -> bool:
    context = desks.ql
    assert context.desk is not None and context.codebook is not None
    flagged = burst.is_burst(
        context.desk.id, context.codebook.questionnaire_id, context.wave_id, answers, at
    )
    db.session.rollback()
    return flagged


def left_to_the_slow_path(
    rows: list[dict[str, Any]], desks: Desks, answers: dict[str, Any], at: datetime
) -> bool:
    """Whether the statement must leave a response at ``at`` to the slow path: the
    identical sets it may count (the desk's, in its wave, received since ``at - window
    - MAX_CLOCK_SKEW``) include one submitted in ``(at, at + window]``, and fewer than
    ``BURST_COUNT - 1`` in ``[at - window, at]``."""
    count, window = burst.burst_settings()
    if count <= 0:
        return False
    desk_id = desks.ql.desk.id if desks.ql.desk is not None else None
    times = [
        row["submitted_at"]
        for row in rows
        if row["desk_id"] == desk_id
        and row["wave_id"] is None
        and row["answers"] == answers
        and row["received_at"] >= at - window - MAX_CLOCK_SKEW
    ]
    trailing = sum(at - window <= moment <= at for moment in times)
    return trailing < count - 1 and any(at < moment <= at + window for moment in times)


def random_offset(rng: random.Random, window: timedelta) -> timedelta:
    """A random offset within three windows of BASE, to the microsecond."""
    span = int(window / US) * 3
    return US * rng.randint(-span, span)


def stored_times(rng: random.Random, window: timedelta) -> list[datetime]:
    """Submission times of the identical answer sets already stored: random, some
    repeated and some exactly one window (or one microsecond less or more) apart."""
    times: list[datetime] = []
    for _ in range(rng.randint(0, 8)):
        if times and rng.random() < 0.5:
            previous = rng.choice(times)
            step = rng.choice([timedelta(0), window, window - US, window + US, -window])
            times.append(previous + step)
        else:
            times.append(BASE + random_offset(rng, window))
    return times


def candidates(rng: random.Random, times: list[datetime], window: timedelta) -> list[datetime]:
    """Candidate submission times: BASE, every window edge around a stored time, and
    random ones."""
    edges = {
        moment + shift
        for moment in times
        for shift in (timedelta(0), window, -window, window + US, -window - US, window - US)
    }
    edges.update(BASE + random_offset(rng, window) for _ in range(8))
    chosen = rng.sample(sorted(edges), min(len(edges), 16))
    return [BASE, *chosen]


@postgresql_only
def test_the_sql_burst_rule_agrees_with_is_burst(app: Flask) -> None:
    desks = contexts(app)
    rng = random.Random(20250301)
    skew = MAX_CLOCK_SKEW
    received = datetime.now(UTC)
    # BURST_COUNT 1 and 0 first, then random settings (a fractional window too).
    settings = [(1, 120.0), (0, 120.0), (2, 1.0), (5, 120.0)] + [
        (rng.choice([2, 2, 3, 3, 4, 5]), rng.choice([1.0, 2.5, 10.0, 30.0, 120.0]))
        for _ in range(14)
    ]
    compared: list[tuple[int, float, bool]] = []
    left = 0
    disagreements: list[str] = []
    for burst_count, seconds in settings:
        app.config.update(BURST_COUNT=burst_count, BURST_WINDOW_S=seconds)
        window = timedelta(seconds=seconds)
        db.session.execute(delete(AnswerValue))
        db.session.execute(delete(Response))
        times = stored_times(rng, window)
        rows = [stored_row(desks.ql, SAME, moment, received) for moment in times]
        # What must not count: other answers, another desk's identical ones, the desk's
        # identical ones in another wave, and rows received before
        # ``at - window - MAX_CLOCK_SKEW`` (only BASE is checked for the last: one row
        # received exactly at that limit counts, one a microsecond earlier does not).
        for moment in rng.sample(times, min(len(times), 3)):
            rows.append(stored_row(desks.ql, OTHER, moment, received))
            rows.append(stored_row(desks.vi, SAME, moment, received))
        for moment in times:
            wave_id = desks.other_waves[0]
            rows.append(dict(stored_row(desks.ql, SAME, moment, received), wave_id=wave_id))
        limit = BASE - window - skew
        rows.append(stored_row(desks.ql, SAME, BASE - window / 2, limit))
        rows.append(stored_row(desks.ql, SAME, BASE - window / 3, limit - US))
        db.session.execute(Response.__table__.insert(), rows)
        db.session.commit()
        for at in candidates(rng, times, window):
            for answers in (SAME, OTHER) if rng.random() < 0.2 else (SAME,):
                expected = python_flag(desks, answers, at)
                actual = sql_flag(desks, answers, at)
                compared.append((burst_count, seconds, expected))
                must_leave = left_to_the_slow_path(rows, desks, answers, at)
                left += actual is None
                if actual != (None if must_leave else expected):
                    offsets = sorted(str(moment - BASE) for moment in times)
                    disagreements.append(
                        f"BURST_COUNT={burst_count} BURST_WINDOW_S={seconds} "
                        f"at=BASE+{at - BASE} answers={answers} stored at BASE+{offsets}: "
                        f"is_burst {expected}, SQL {actual} (None: left to the slow path)"
                    )
    assert disagreements == []
    assert len(compared) >= 200
    # Both kinds of answer from the statement are common: decided, and left.
    assert 20 <= left <= len(compared) - 150, left
    # Not a vacuous agreement: both answers are common, with every kind of setting.
    flags = [flag for _count, _seconds, flag in compared]
    assert flags.count(True) >= 40 and flags.count(False) >= 40
    assert {flag for count, _s, flag in compared if count == 1} == {True}
    assert {flag for count, _s, flag in compared if count == 0} == {False}
    assert {flag for count, _s, flag in compared if count >= 2} == {True, False}


@postgresql_only
def test_the_received_at_limit_counts_in_both_rules(app: Flask) -> None:
    """The row received exactly ``window + MAX_CLOCK_SKEW`` before ``at`` completes a
    burst of two; one received a microsecond earlier does not, in either rule."""
    desks = contexts(app)
    app.config.update(BURST_COUNT=2, BURST_WINDOW_S=60)
    limit = BASE - timedelta(seconds=60) - MAX_CLOCK_SKEW
    for received, expected in ((limit, True), (limit - US, False)):
        db.session.execute(delete(Response))
        row = stored_row(desks.ql, SAME, BASE - timedelta(seconds=30), received)
        db.session.execute(Response.__table__.insert(), [row])
        db.session.commit()
        assert python_flag(desks, SAME, BASE) is expected
        assert sql_flag(desks, SAME, BASE) is expected


@postgresql_only
@pytest.mark.parametrize("burst_count", [1, 2])
def test_a_negative_window_finds_no_burst_in_either_rule(app: Flask, burst_count: int) -> None:
    """A negative ``BURST_WINDOW_S`` (a mistaken setting) holds no time: neither rule
    flags, and the single statement still stores (PostgreSQL refuses a window frame of
    negative length, so the rule must not reach it)."""
    desks = contexts(app)
    app.config.update(BURST_COUNT=burst_count, BURST_WINDOW_S=-60)
    row = stored_row(desks.ql, SAME, BASE, datetime.now(UTC))
    db.session.execute(Response.__table__.insert(), [row])
    db.session.commit()
    assert python_flag(desks, SAME, BASE) is False
    assert sql_flag(desks, SAME, BASE) is False


@postgresql_only
def test_the_burst_check_reads_identical_answers_through_their_index(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both rules find the desk's identical answer sets by ``jsonb_hash`` through
    ``ix_responses_desk_same_answers`` (migration 0010), under the generic plan that a
    prepared statement gets, not by reading every response the desk received that day."""
    desks = contexts(app)
    received = datetime.now(UTC)
    rows = [
        stored_row(
            desks.ql, {"mood": 1 + i % 5, "fu_wait": 1 + i % 7}, BASE - i * US * 10**6, received
        )
        for i in range(400)
    ]
    db.session.execute(Response.__table__.insert(), rows)
    db.session.commit()
    db.session.execute(text("ANALYZE responses"))
    db.session.commit()
    plans = []

    def explain(statement: str, parameters: Any) -> None:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            plan = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars()
            plans.append("\n".join(plan))
            connection.exec_driver_sql("RESET plan_cache_mode")

    # The Python rule (the general path): its query, as sent.
    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.startswith("SELECT") and "jsonb_hash" in statement:
            explain(statement, parameters)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        python_flag(desks, SAME, BASE)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    # The single statement: its SQL and arguments, as run.
    real_run = prepared.run_insert

    def run_and_explain(engine: Any, params: Any, *, counted: bool, inbox: bool) -> Any:
        raw = prepared._raw_insert(type(engine.dialect), counted, params["wave_id"], inbox)
        with engine.connect() as connection:
            cursor = connection.connection.driver_connection.cursor()
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            raw_cursor = psycopg.RawCursor(connection.connection.driver_connection)
            raw_cursor.execute("EXPLAIN " + raw.sql, raw.arguments(params))
            plans.append("\n".join(row[0] for row in raw_cursor.fetchall()))
            cursor.execute("RESET plan_cache_mode")
        return real_run(engine, params, counted=counted, inbox=inbox)

    monkeypatch.setattr(prepared, "run_insert", run_and_explain)
    sql_flag(desks, SAME, BASE)
    assert len(plans) == 2
    for plan in plans:
        conditions = [line for line in plan.splitlines() if "Index Cond" in line]
        assert any("jsonb_hash(answers)" in line for line in conditions), plan
        assert not any("received_at" in line for line in conditions), plan
        # Only the submission's wave is opened (no wave here: the default partition),
        # not every wave's partition (desks.other_waves are two more).
        assert "responses_default" in plan, plan
        assert not any(f"responses_w{wave}" in plan for wave in desks.other_waves), plan
    # The statement's part of the rule reads the identical times through the index
    # only: no count of each time's window (the whole rule, left to the slow path).
    assert "WindowAgg" not in plans[1], plans[1]


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _plan_nodes(child)


@postgresql_only
def test_a_flood_of_identical_answers_is_flagged_by_reading_a_few(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 identical answer sets from the desk in the last 100 s (a stuck button): the
    single statement flags the next one after reading BURST_COUNT - 1 of them, and
    never looks for later ones (EXPLAIN ANALYZE of the statement as run, rolled
    back)."""
    desks = contexts(app)
    app.config.update(BURST_COUNT=5, BURST_WINDOW_S=120)
    received = datetime.now(UTC)
    rows = [
        stored_row(desks.ql, SAME, BASE - i * timedelta(seconds=1) / 3, received)
        for i in range(300)
    ]
    db.session.execute(Response.__table__.insert(), rows)
    db.session.commit()
    db.session.execute(text("ANALYZE responses"))
    db.session.commit()
    analysed: list[dict[str, Any]] = []
    real_run = prepared.run_insert

    def run_and_analyse(engine: Any, params: Any, *, counted: bool, inbox: bool) -> Any:
        raw = prepared._raw_insert(type(engine.dialect), counted, params["wave_id"], inbox)
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            with driver.transaction(force_rollback=True):
                driver.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                cursor = psycopg.RawCursor(driver)
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + raw.sql, raw.arguments(params))
                analysed.append(cursor.fetchone()[0][0]["Plan"])
        return real_run(engine, params, counted=counted, inbox=inbox)

    monkeypatch.setattr(prepared, "run_insert", run_and_analyse)
    assert sql_flag(desks, SAME, BASE + US) is True
    (plan,) = analysed
    nodes = list(_plan_nodes(plan))
    # The desk's identical answer sets, read through their index (migration 0010).
    scans = [n for n in nodes if "jsonb_hash" in n.get("Index Name", "")]
    assert scans, plan
    read = sum(
        n["Actual Loops"] * (n["Actual Rows"] + n.get("Rows Removed by Filter", 0)) for n in scans
    )
    assert read == 4, scans
    # The search for later identical sets (its own scan of that index) never ran.
    assert len(scans) == 2 and min(n["Actual Loops"] for n in scans) == 0, scans


@postgresql_only
def test_the_single_statement_locks_the_same_relations_however_many_waves(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prepared statement's generic plan locks every partition of every partitioned
    table it reads, before pruning them: the statement read ``responses`` (burst check,
    resend lookup) and took about 1,000 locks per submission with 122 waves. It now
    reads its wave's partition and ``response_keys``, so it locks the same relations
    with 30 more waves (each a partition of ``responses`` and of ``answer_values``)."""
    desks = contexts(app)
    locked: list[set[str]] = []
    real_run = prepared.run_insert

    def run_and_list_locks(engine: Any, params: Any, *, counted: bool, inbox: bool) -> Any:
        raw = prepared._raw_insert(type(engine.dialect), counted, params["wave_id"], inbox)
        arguments = raw.arguments({**params, "client_id": uuid.uuid4()})
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            # The first transaction prepares the statement (the app's generic plan) and
            # plans the triggers' queries; the second one's locks are those of a run.
            for _ in range(2):
                driver.execute("BEGIN")
                with psycopg.RawCursor(driver) as cursor:
                    cursor.execute(raw.sql, arguments, prepare=True)
                    cursor.execute(
                        "SELECT relation::regclass::text FROM pg_locks "
                        "WHERE pid = pg_backend_pid() AND locktype = 'relation'"
                    )
                    held = {row[0] for row in cursor.fetchall()} - {"pg_locks"}
                driver.execute("ROLLBACK")
            locked.append(held)
        return real_run(engine, params, counted=counted, inbox=inbox)

    monkeypatch.setattr(prepared, "run_insert", run_and_list_locks)
    sql_flag(desks, SAME, BASE)
    assert desks.ql.codebook is not None and desks.ql.desk is not None
    more = [
        other_wave(f"MORE-{i}", desks.ql.codebook.questionnaire_id, desks.ql.desk.unit_id)
        for i in range(30)
    ]
    partitions = {
        row[0]
        for row in db.session.execute(
            text("SELECT inhrelid::regclass::text FROM pg_inherits "
                 "WHERE inhparent = 'responses'::regclass")
        )
    }  # fmt: skip
    assert {f"responses_w{wave}" for wave in more} <= partitions
    sql_flag(desks, SAME, BASE)
    first, second = locked
    assert first == second
    assert "responses_default" in first and "response_keys" in first
    assert not any(name.startswith("responses_w") for name in first), sorted(first)


# --- the rate-limit storage ------------------------------------------------------------


class Clock:
    """A fake clock for both ``time.time`` (limits) and ``time.monotonic`` (the sweep)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(ratelimit_storage, "time", fake)
    return fake


@pytest.fixture
def storage() -> Iterator[SweepingMemoryStorage]:
    """A fresh storage, once the timer its base class starts on creation has ended."""
    made = SweepingMemoryStorage()
    made.timer.join()
    yield made
    made.reset()


@pytest.fixture
def thread_starts(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """Every thread started from now on (``threading.Timer`` included)."""
    started: list[threading.Thread] = []
    real_start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    return started


def test_the_scheme_names_the_sweeping_storage() -> None:
    made = storage_from_string("survey-memory://")
    assert isinstance(made, SweepingMemoryStorage) and made.check()
    assert type(storage_from_string("memory://")) is MemoryStorage


def test_many_hits_start_no_thread(
    monkeypatch: pytest.MonkeyPatch,
    storage: SweepingMemoryStorage,
    thread_starts: list[threading.Thread],
) -> None:
    monkeypatch.setattr(ratelimit_storage, "SWEEP_INTERVAL_S", 0.0)  # a sweep on every hit
    item = parse("50 per second")
    strategies = [
        FixedWindowRateLimiter(storage),
        MovingWindowRateLimiter(storage),
        SlidingWindowCounterRateLimiter(storage),
    ]
    before = threading.active_count()
    for i in range(300):
        for strategy in strategies:
            strategy.hit(item, "submit", f"ip:{i % 7}")
        storage.incr(f"key:{i % 11}", 60)
        storage.decr(f"key:{i % 11}")
    assert thread_starts == []
    assert threading.active_count() <= before
    # The count does see threads: limits' own memory storage starts a timer again.
    plain = MemoryStorage()
    plain.timer.join()
    thread_starts.clear()  # the timer its constructor started
    FixedWindowRateLimiter(plain).hit(item, "submit", "ip:1")
    assert len(thread_starts) == 1 and isinstance(thread_starts[0], threading.Timer)
    thread_starts[0].join()


def test_counters_expire_after_their_window(clock: Clock, storage: SweepingMemoryStorage) -> None:
    assert [storage.incr("desk:1", 10) for _ in range(3)] == [1, 2, 3]
    clock.now += 9.999
    assert storage.get("desk:1") == 3 and storage.incr("desk:1", 10) == 4
    clock.now += 0.001  # ten seconds after the first hit
    assert storage.get("desk:1") == 0 and storage.incr("desk:1", 10) == 1

    strategy = FixedWindowRateLimiter(storage)
    item = parse("2 per 10 seconds")
    assert [strategy.hit(item, "submit", "ip:1") for _ in range(3)] == [True, True, False]
    clock.now += 10
    assert strategy.hit(item, "submit", "ip:1")

    moving = MovingWindowRateLimiter(storage)
    assert [moving.hit(item, "submit", "ip:2") for _ in range(3)] == [True, True, False]
    clock.now += 9.5
    assert not moving.hit(item, "submit", "ip:2")
    clock.now += 0.6
    assert moving.hit(item, "submit", "ip:2")


def test_the_sweep_removes_expired_keys_at_most_once_per_interval(
    monkeypatch: pytest.MonkeyPatch, clock: Clock, storage: SweepingMemoryStorage
) -> None:
    monkeypatch.setattr(ratelimit_storage, "SWEEP_INTERVAL_S", 5.0)
    sweeps: list[float] = []
    real_sweep = storage._MemoryStorage__expire_events  # type: ignore[attr-defined]

    def counting_sweep() -> None:
        sweeps.append(clock.now)
        real_sweep()

    monkeypatch.setattr(storage, "_MemoryStorage__expire_events", counting_sweep)

    for i in range(100):
        storage.incr(f"ip:old-{i}", 1)
    assert storage.acquire_entry("moving:old", 3, 1)
    assert sweeps == [1000.0]  # the first hit sweeps; the next sweep is due 5 s later
    clock.now += 2  # every old key has expired, but no sweep is due yet
    storage.incr("ip:new-a", 60)
    assert len(storage.storage) == 101 and len(storage.expirations) == 101
    clock.now += 3  # five seconds after the first sweep
    storage.incr("ip:new-b", 60)
    assert sweeps == [1000.0, 1005.0]
    assert set(storage.storage) == set(storage.expirations) == {"ip:new-a", "ip:new-b"}
    assert not any(key.startswith(("ip:old", "moving:old")) for key in storage.locks)
    assert not storage.events.get("moving:old")
    assert storage.get("ip:new-a") == 1 and storage.get("ip:new-b") == 1

    # Hits every 10 ms for a second: a sweep every five seconds, so none more here;
    # then one per interval as time goes on.
    for _ in range(100):
        clock.now += 0.01
        storage.incr("ip:busy", 60)
    assert len(sweeps) == 2
    for _ in range(4):
        clock.now += 5
        storage.incr("ip:busy", 60)
        storage.incr("ip:busy", 60)
    assert len(sweeps) == 6


@pytest.fixture
def rate_limited(app_config: dict[str, Any]) -> None:
    app_config["RATELIMIT_ENABLED"] = True
    app_config["RATELIMIT_SUBMIT_KIOSK"] = "3 per minute"


def test_the_app_limits_submissions_without_starting_threads(
    rate_limited: None,
    app: Flask,
    client: FlaskClient,
    thread_starts: list[threading.Thread],
) -> None:
    setup = Setup(app)
    # The default storage is the database's shared counters (survey-sql://).
    assert isinstance(limiter.storage, DatabaseStorage)
    codes = [post(client, body(), setup.token).status_code for _ in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    assert thread_starts == []


def test_a_limits_version_without_the_private_hooks_fails_loudly() -> None:
    class Renamed:  # what a future limits' MemoryStorage might look like
        pass

    with pytest.raises(RuntimeError, match="_MemoryStorage__schedule_expiry"):
        ratelimit_storage.check_memory_hooks(Renamed)
    ratelimit_storage.check_memory_hooks()  # today's limits has them
