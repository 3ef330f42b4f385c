"""The figure store gives the figures of the rows, exactly, whatever happens in between.

On the golden survey (three field waves, 956 respondents) plus kiosk ratings of a
continuous-feedback wave, hypothesis draws sequences of what happens on a real server —
folds of a batch, new responses (some flagged as a burst), burst decisions (keep,
exclude, and a kept one excluded again), a weighting scheme activated and deactivated,
a rebuild of one wave — and at the end of each sequence (and again once everything is
folded) every figure of every wave, whole and
by procedure field and channel, from the store (sums of folded responses + rows of the
others) equals the figure from the rows alone to 1e-12 (``figure_store.verify``), on
SQLite and on PostgreSQL. Deletions by retention rules are not drawn: the platform has
no retention rule yet.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask, current_app
from flask.testing import FlaskCliRunner
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.schema import CreateTable

from survey_app.admin import accounts
from survey_app.collection import desks, questionnaires, responses
from survey_app.collection import questionnaire as spec
from survey_app.extensions import db
from survey_app.models import (
    Channel,
    Desk,
    FigureCell,
    FigureCount,
    FigureQueue,
    FigureSum,
    Procedure,
    ProcedureField,
    Response,
    Role,
    Unit,
    User,
    Wave,
    WaveKind,
)
from survey_app.reporting import bursts, figure_store
from survey_app.reporting.indices.stored import not_queued, queued, stat_lists
from survey_app.reporting.tallies import tallies
from survey_app.weighting.published import active_schemes
from survey_app.weighting.sample import load_sample
from survey_app.weighting.schemes import activate, deactivate, save_scheme
from survey_app.weighting.spec import WeightingSpec
from survey_app.weighting.targets import TargetRows
from tests.helpers import golden_survey

ROOT = Path(__file__).resolve().parents[2]
QUESTIONNAIRE = ROOT / "tests" / "data" / "questionnaires" / "indices_weighted.yaml"
PASSWORD = "correct-horse-battery"


def sex(record: dict) -> dict[str, str]:
    return {"sex": "f" if int(record["id"]) % 5 < 2 else "m"}


def setup_data() -> tuple[dict[str, Unit], dict[int, Wave], Wave]:
    """The golden survey, two desks and a feedback wave of kiosk ratings."""
    by_code, waves = golden_survey.store(QUESTIONNAIRE, sex)
    questionnaires.upsert(spec.load_questionnaire(ROOT / "questionnaires" / "kiosk_quick.yaml"))
    for code in ("D1", "D2"):
        desks.create_desk(f"K-{code}", code, f"Quầy {code}")
    quick = questionnaires.get("kiosk_quick", 1)
    feedback = Wave(
        code="FB",
        name_vi="Phản hồi",
        name_en="Feedback",
        kind=WaveKind.CONTINUOUS_FEEDBACK,
        questionnaire_id=quick.id,
        unit_id=by_code["DIST"].id,
        start_date=datetime(2026, 11, 1).date(),
        end_date=datetime(2026, 11, 30).date(),
    )
    db.session.add(feedback)
    db.session.commit()
    accounts.create_user("analyst", PASSWORD, Role.ANALYST, None)
    return by_code, waves, feedback


def add_responses(
    waves: dict[int, Wave], feedback: Wave, count: int, seed: int, flag_reason: str | None = None
) -> list[int]:
    """``count`` new responses: field forms in a random wave and kiosk ratings (stored
    flagged with ``flag_reason``, when given)."""
    frame = golden_survey.data()
    drafts = []
    desk_rows = list(db.session.scalars(select(Desk)))
    for k in range(count):
        if (seed + k) % 2:
            record = frame.iloc[(seed * 7 + k * 13) % len(frame)].to_dict()
            wave = waves[1 + (seed + k) % 3]
            answers = {
                i: int(record[i]) for i in golden_survey.ITEMS if record[i] == record[i]
            } | sex(record)
            unit_id = db.session.scalar(select(Unit.id).where(Unit.code == record["unit"]))
            drafts.append(golden_survey.field_draft(record, wave, unit_id, answers, uuid.uuid4()))
        else:
            desk = desk_rows[(seed + k) % len(desk_rows)]
            day = datetime(2026, 11, 1 + (seed + k) % 20, 9, tzinfo=UTC)
            drafts.append(
                responses.ResponseDraft(
                    client_id=uuid.uuid4(),
                    questionnaire_id=feedback.questionnaire_id,
                    unit_id=desk.unit_id,
                    desk_id=desk.id,
                    channel=Channel.KIOSK if k % 3 else Channel.PHONE,
                    answers={"mood": 1 + (seed + k) % 5},
                    submitted_at=day + timedelta(minutes=k),
                    wave_id=feedback.id,
                )
            )
    drafts = [dataclasses.replace(draft, flag_reason=flag_reason) for draft in drafts]
    assert responses.store_many(drafts) == len(drafts)
    return list(
        db.session.scalars(
            select(Response.id).where(Response.client_id.in_([d.client_id for d in drafts]))
        )
    )


def loaded_waves() -> tuple[dict[int, Wave], Wave]:
    """:func:`setup_data`'s waves, loaded in the current session."""
    waves = {
        k: db.session.scalar(select(Wave).where(Wave.code == code))
        for k, code in ((1, "W2021"), (2, "W2022"), (3, "W2023"))
    }
    return waves, db.session.scalar(select(Wave).where(Wave.code == "FB"))


OPERATIONS = st.lists(
    st.sampled_from(["fold", "add", "flag", "keep", "exclude", "scheme", "rebuild"]),
    min_size=3,
    max_size=7,
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPERATIONS, seed=st.integers(0, 1000))
def test_store_equals_rows_after_any_interleaving(
    app: Flask, operations: list[str], seed: int
) -> None:
    # each example starts with nothing folded (hypothesis reuses the database)
    figure_store._empty(None)  # the sums gone, every response of a wave queued
    db.session.commit()
    if db.session.scalar(select(func.count()).select_from(Wave)) == 0:
        setup_data()
    waves, feedback = loaded_waves()
    analyst = db.session.scalar(select(User).where(User.username == "analyst"))
    flagged: list[int] = []
    for step, operation in enumerate(operations):
        if operation == "fold":
            figure_store.refresh(limit=300 + 50 * step)
        elif operation == "add":
            add_responses(waves, feedback, 12, seed + step)
        elif operation == "flag":  # a burst: stored flagged, as the submission rule does
            ids = add_responses(waves, feedback, 4, seed + 100 + step)
            db.session.execute(
                Response.__table__.update()
                .where(Response.id.in_(ids))
                .values(flagged=True, flag_reason="burst")
            )
            db.session.commit()
            flagged += ids
        elif operation in ("keep", "exclude") and flagged:
            bursts.review(analyst, flagged, operation)
        elif operation == "scheme":
            wave = waves[1 + seed % 3]
            active = active_schemes([wave.id]).get(wave.id)
            if active is None:
                sample = load_sample(wave)
                rows = [["unit", c, t] for c, t in (("D1", 52e3), ("D2", 61e3), ("D3", 47e3),
                                                    ("D4", 58e3))]  # fmt: skip
                options = WeightingSpec(
                    method="poststratify",
                    targets=TargetRows.from_json({"layout": "long", "rows": rows}),
                )
                scheme = save_scheme(sample, options, f"s{step}", None)
                activate(wave, scheme.id, None)
            else:
                deactivate(wave, analyst)
        elif operation == "rebuild":
            figure_store.rebuild([waves[1 + (seed + step) % 3].id])
    compared, mismatches = figure_store.verify()
    assert not mismatches, (operations, mismatches[:5])
    assert compared > 0
    assert counted() == counted(store=False), operations
    # and after folding everything, the same again
    figure_store.refresh()
    compared, mismatches = figure_store.verify()
    assert not mismatches and compared > 0
    assert counted() == counted(store=False)


def counted(store: bool = True) -> list[tuple]:
    """Every unit's responses per wave as the collection table and the wave lists read
    them: from the store's tallies plus the unfolded rows, or (``store`` False) from
    every response."""
    config = current_app.config
    before = config["FIGURE_STORE"]
    config["FIGURE_STORE"] = store
    try:
        return sorted((t.unit_id, t.wave_id or 0, t.responses, t.last_received) for t in tallies())
    finally:
        config["FIGURE_STORE"] = before


def test_fold_marks_each_response_once_and_the_cli_verifies(
    app: Flask, runner: FlaskCliRunner
) -> None:
    setup_data()
    stored = db.session.scalar(
        select(func.count()).select_from(Response).where(Response.flagged.is_(False))
    )
    first = runner.invoke(args=["figures", "refresh"])  # Vietnamese by default
    assert first.exit_code == 0, first.output
    assert f"đã cộng dồn {stored} phiếu trả lời" in first.output
    again = runner.invoke(args=["figures", "refresh", "--lang", "en"])
    assert "folded 0 responses" in again.output
    assert vector_respondents(FigureSum) == stored  # every respondent counted once
    assert vector_respondents(FigureCell) == stored  # in the per-PSU cells too
    checked = runner.invoke(args=["figures", "verify", "--lang", "en"])
    assert checked.exit_code == 0, checked.output
    assert " 0 differences" in checked.output
    rebuilt = runner.invoke(args=["figures", "rebuild", "--wave", "W2021", "--lang", "en"])
    assert rebuilt.exit_code == 0 and "folded " in rebuilt.output
    assert (
        runner.invoke(args=["figures", "verify", "--wave", "W2021", "--lang", "en"]).exit_code == 0
    )
    unknown = runner.invoke(args=["figures", "verify", "--wave", "NOPE", "--lang", "en"])
    assert unknown.exit_code != 0 and "unknown wave: NOPE" in unknown.output


def test_a_pass_folds_what_was_stored_when_it_began(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Responses stored while a pass runs wait for the next pass. Under a steady stream
    of submissions a pass that also took each arrival never ended, folding a few
    responses per batch."""
    _units, waves, feedback = setup_data()
    before = db.session.scalar(
        select(func.count()).select_from(Response).where(Response.flagged.is_(False))
    )
    fold_batch = figure_store._fold_batch
    arrived: list[int] = []

    def arriving(up_to: int) -> tuple[int, int]:
        if not arrived:  # submissions while the pass runs
            arrived.extend(add_responses(waves, feedback, 4, seed=7))
        return fold_batch(up_to)

    monkeypatch.setattr(figure_store, "_fold_batch", arriving)
    assert figure_store.refresh() == before
    waiting = [row[0] for row in db.session.execute(figure_store.pending_query())]
    assert sorted(waiting) == sorted(arrived)
    monkeypatch.undo()
    assert figure_store.refresh() == len(arrived) == 4
    assert unfolded_count() == 0


def unfolded_count() -> int:
    db.session.rollback()  # a new snapshot: the folds commit in another process
    return int(db.session.scalar(select(func.count()).select_from(FigureQueue)) or 0)


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"refresh --every exited: {process.communicate()}")
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_refresh_every_stays_folds_what_arrives_and_stops_on_sigterm(
    app: Flask, tmp_path: Path
) -> None:
    _units, waves, feedback = setup_data()
    stored = int(db.session.scalar(select(func.count()).select_from(Response)) or 0)
    db.session.commit()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SURVEY_INSTANCE_PATH": str(tmp_path),
    }
    flask = str(Path(sys.executable).with_name("flask"))
    command = [flask, "--app", "survey_app", "figures", "refresh", "--every", "0.2", "--lang", "en"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: unfolded_count() == 0, "the first fold", process)
        added = len(add_responses(waves, feedback, 3, seed=1))  # after the first fold
        wait_for(lambda: unfolded_count() == 0, "a fold of what arrived since", process)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    # one line per fold that folded something: the first, then the three new ones
    assert out.splitlines() == [f"folded {stored:,} responses", f"folded {added} responses"]
    compared, mismatches = figure_store.verify()
    assert compared > 0 and not mismatches


def test_refresh_every_refuses_a_period_that_is_not_positive(runner: FlaskCliRunner) -> None:
    for period in ("0", "-5", "soon"):
        result = runner.invoke(args=["figures", "refresh", "--every", period, "--lang", "en"])
        assert result.exit_code == 2 and "--every" in result.output, result.output


def test_the_fold_finds_the_pending_responses_through_the_queue(app: Flask) -> None:
    """After a load and a rebuild, the fold's query starts from the store's queue (on
    PostgreSQL the rows no fold has marked, through their partial index) and looks each
    response up by its key, without reading a wave's responses (with sequential scans
    off on PostgreSQL, so that the test's small tables do not make a scan the cheaper
    plan: the plan must exist)."""
    setup_data()
    figure_store.rebuild()
    newest = db.session.scalar(select(func.max(Response.id)))
    wave_ids = list(db.session.scalars(select(Wave.id)))
    # and so do a pass's query, bounded by the newest id when it began, and the pages'
    # reading of the responses not folded yet
    read = select(Response.id, Response.unit_id).where(queued(wave_ids))
    for pending in (figure_store.pending_query(), figure_store.pending_query(newest), read):
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            explain, scan = "EXPLAIN ", "Seq Scan on responses"
        else:
            explain, scan = "EXPLAIN QUERY PLAN ", "SCAN responses"
        compiled = pending.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(r[-1]) for r in db.session.execute(text(explain + str(compiled))))
        db.session.rollback()
        assert "figure_queue" in plan and scan not in plan, (plan, pending)
        if pending is not read and db.engine.dialect.name == "postgresql":
            # a fold reads the rows it has not marked, by their index (SQLite reads
            # the queue whole and leaves the marked rows out before the join)
            assert "ix_figure_queue_pending" in plan, plan
    # and it finds them: two responses queued again are the next batch, in id order
    rows = db.session.execute(
        select(Response.wave_id, Response.id)
        .where(Response.flagged.is_(False), Response.wave_id.is_not(None))
        .order_by(Response.id.desc())
        .limit(2)
    ).all()
    db.session.execute(
        FigureQueue.__table__.insert(), [{"wave_id": w, "response_id": i} for w, i in rows]
    )
    db.session.commit()
    query = figure_store.pending_query()
    pending = [tuple(row) for row in db.session.execute(query)]
    assert pending == sorted((i, w, False) for w, i in rows)


def test_the_stores_pages_leave_room_for_the_folds_updates(app: Flask) -> None:
    """PostgreSQL: the store's tables are filled to half (migration 0013, and the models
    for ``create_all``), so that a fold's update of a row it met before stays on its
    page and adds no index entry."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a fill factor exists on PostgreSQL only")
    tables = [FigureSum.__table__, FigureCell.__table__, FigureCount.__table__]
    options = dict(
        db.session.execute(
            text("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(:names)"),
            {"names": [table.name for table in tables]},
        ).all()
    )
    assert options == {table.name: ["fillfactor=50"] for table in tables}
    for table in tables:
        assert "WITH (fillfactor = 50)" in str(CreateTable(table).compile(db.engine))


def test_a_fold_neither_compiles_its_queries_nor_starts_workers(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a fold's transaction turns off JIT compilation and parallel workers
    (their cost, on the planner's estimates for a batch, exceeded the queries'), and
    its commit's wait for the WAL flush (a fold lost in a crash is lost whole, and done
    again), only for itself."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("JIT and parallel workers are PostgreSQL's")
    setup_data()

    def fold_settings() -> tuple[str, str, str]:
        jit = db.session.scalar(text("SHOW jit"))
        workers = db.session.scalar(text("SHOW max_parallel_workers_per_gather"))
        return jit, workers, db.session.scalar(text("SHOW synchronous_commit"))

    before = fold_settings()
    db.session.rollback()
    assert before[0] != "off" and before[1] != "0" and before[2] != "off"
    seen: list[tuple[str, str, str]] = []
    add = figure_store._add

    def spying(*args: Any, **options: Any) -> None:
        seen.append(fold_settings())
        add(*args, **options)

    monkeypatch.setattr(figure_store, "_add", spying)
    assert figure_store.refresh() > 0
    assert seen and set(seen) == {("off", "0", "off")}
    assert fold_settings() == before


def unpacked(model: type[FigureSum] | type[FigureCell]) -> dict[tuple, tuple[float, ...]]:
    """Every statistic the store's vectors of ``model`` hold: (design keys, statistic)
    -> (a, b, c)."""
    table = model.__table__
    keys = [c for c in table.c if c.name not in ("id", "stats_id", "sums")]
    rows = db.session.execute(select(*keys, table.c.stats_id, table.c.sums)).all()
    lists = stat_lists({row[-2] for row in rows})
    found = {}
    for *key, stats_id, sums in rows:
        vector = np.frombuffer(sums, dtype="<f8").reshape(-1, 3).tolist()
        for name, values in zip(lists[stats_id], vector, strict=True):
            found[(*key, name)] = tuple(values)
    return found


def vector_respondents(model: type[FigureSum] | type[FigureCell]) -> float:
    """The respondents the store's vectors of ``model`` hold (their "r" statistic's ``a``)."""
    return sum(values[0] for key, values in unpacked(model).items() if key[-1] == "r")


def test_a_tampered_cell_is_found(app: Flask, runner: FlaskCliRunner) -> None:
    """The default figures read the per-PSU cells: one tampered cell is a difference."""
    setup_data()
    figure_store.refresh()
    cell = db.session.scalar(select(FigureCell).order_by(FigureCell.id).limit(1))
    sums = np.frombuffer(cell.sums, dtype="<f8").copy()
    names = stat_lists([cell.stats_id])[cell.stats_id]
    first_item = next(k for k, name in enumerate(names) if name.startswith("i:"))
    sums[3 * first_item] += 1.0  # one more satisfied answer's weight
    cell.sums = sums.tobytes()
    db.session.commit()
    result = runner.invoke(args=["figures", "verify", "--lang", "en"])
    assert result.exit_code == 1
    assert " 0 differences" not in result.output


def test_cells_of_another_index_rule_are_not_read(app: Flask) -> None:
    """A cell without a statistic this layout needs (folded under another version's
    rule) sends its wave to the rows: the figures stay those of the rows."""
    setup_data()
    figure_store.refresh()
    for cell in db.session.scalars(select(FigureCell)):
        names = stat_lists([cell.stats_id])[cell.stats_id]
        sums = np.frombuffer(cell.sums, dtype="<f8").reshape(-1, 3)
        kept = [k for k, name in enumerate(names) if not name.startswith("a:")]
        cell.stats_id = figure_store.stat_list_id([names[k] for k in kept])
        cell.sums = sums[kept].tobytes()
    db.session.commit()
    compared, mismatches = figure_store.verify()
    assert compared > 0 and not mismatches


def test_a_store_that_disagrees_is_found(app: Flask, runner: FlaskCliRunner) -> None:
    """verify can fail: one tampered sum is reported and the command exits 1."""
    setup_data()
    figure_store.refresh()
    row = db.session.scalar(select(FigureSum).order_by(FigureSum.id).limit(1))
    sums = np.frombuffer(row.sums, dtype="<f8").copy()
    names = stat_lists([row.stats_id])[row.stats_id]
    sums[3 * next(k for k, name in enumerate(names) if name.startswith("i:"))] += 1.0
    row.sums = sums.tobytes()
    db.session.commit()
    result = runner.invoke(args=["figures", "verify", "--lang", "en"])
    assert result.exit_code == 1
    assert "differences" in result.output and " 0 differences" not in result.output


def test_folds_and_rebuilds_at_once_count_each_response_once(app: Flask) -> None:
    """Folds and rebuilds running side by side (the cron job while an administrator
    rebuilds) while responses arrive: each response is folded exactly once, so the
    store still equals the rows and the tallies the responses."""
    _, waves, feedback = setup_data()
    wave_ids = {k: w.id for k, w in waves.items()}
    feedback_id = feedback.id
    errors: list[BaseException] = []

    def work(action: str) -> None:
        with app.app_context():  # its own session: the objects above are not shared
            try:
                waves = {k: db.session.get(Wave, i) for k, i in wave_ids.items()}
                feedback = db.session.get(Wave, feedback_id)
                for step in range(3):
                    if action == "add":
                        add_responses(waves, feedback, 10, 500 + step)
                    elif action == "fold":
                        figure_store.refresh(limit=60)
                    else:
                        figure_store.rebuild([waves[1 + step % 3].id])
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(a,)) for a in ("add", "fold", "rebuild")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    compared, mismatches = figure_store.verify()
    assert compared > 0 and not mismatches, mismatches[:5]
    assert counted() == counted(store=False)
    figure_store.refresh()
    assert vector_respondents(FigureCell) == db.session.scalar(
        select(func.count())
        .select_from(Response)
        .where(Response.wave_id.is_not(None), not_queued())
    )
    assert counted() == counted(store=False)


def test_migration_0014_turns_the_flag_into_the_queue_and_back(app: Flask) -> None:
    """Upgrading to 0014 queues exactly the responses of a wave that were not folded;
    downgrading marks folded exactly those of a wave that were not queued."""
    _units, waves, feedback = setup_data()
    wave_ids = {k: w.id for k, w in waves.items()}
    feedback_id = feedback.id
    figure_store.refresh()
    waiting = db.session.execute(
        select(Response.wave_id, Response.id)
        .where(Response.wave_id.is_not(None))
        .order_by(Response.id)
        .limit(3)
    ).all()
    db.session.execute(
        FigureQueue.__table__.insert(), [{"wave_id": w, "response_id": i} for w, i in waiting]
    )
    db.session.commit()
    db.session.remove()
    queue = text("SELECT wave_id, response_id FROM figure_queue")
    downgrade(revision="0013")
    for engine in db.engines.values():
        engine.dispose()
    flags = dict(
        db.session.execute(text("SELECT id, folded FROM responses WHERE wave_id IS NOT NULL")).all()
    )
    assert {i for i, folded in flags.items() if not folded} == {i for _w, i in waiting}
    assert len(flags) > len(waiting)
    db.session.remove()
    upgrade()
    for engine in db.engines.values():
        engine.dispose()
    assert sorted(tuple(row) for row in db.session.execute(queue)) == sorted(map(tuple, waiting))
    # and the trigger queues what is stored from now on
    waves = {k: db.session.get(Wave, i) for k, i in wave_ids.items()}
    added = add_responses(waves, db.session.get(Wave, feedback_id), 2, seed=3)
    rows = {tuple(row) for row in db.session.execute(queue)}
    assert {i for _w, i in rows} == {i for _w, i in waiting} | set(added)


def flag(ids: list[int]) -> None:
    """Flag responses as the submission's burst rule does."""
    db.session.execute(
        Response.__table__.update()
        .where(Response.id.in_(ids))
        .values(flagged=True, flag_reason="burst")
    )
    db.session.commit()


def marked() -> set[int]:
    queue = FigureQueue.__table__
    return set(db.session.scalars(select(queue.c.response_id).where(queue.c.flagged.is_(True))))


def test_a_fold_reads_each_flagged_response_once(app: Flask) -> None:
    """Flagged responses stay in the queue (the tallies count them there), and the first
    fold that meets them marks them: no later fold, nor the pages' reading of the
    responses not folded, reads them again. A review that keeps them unmarks them, and
    the next fold folds them."""
    _units, waves, feedback = setup_data()
    figure_store.refresh()
    ids = add_responses(waves, feedback, 12, seed=5)
    flag(ids[:5])
    assert figure_store.refresh() == 7
    assert marked() == set(ids[:5])
    assert db.session.execute(figure_store.pending_query()).all() == []
    wave_ids = list(db.session.scalars(select(Wave.id)))
    read = select(Response.id).where(queued(wave_ids))  # what the pages read from rows
    assert set(db.session.scalars(read)) == set()
    assert figure_store.refresh() == 0
    assert counted() == counted(store=False)  # still counted, as flagged
    analyst = db.session.scalar(select(User).where(User.username == "analyst"))
    assert bursts.review(analyst, ids[:3], "keep") == 3
    assert marked() == set(ids[3:5])
    assert set(db.session.scalars(read)) == set(ids[:3])
    assert figure_store.refresh() == 3
    compared, mismatches = figure_store.verify()
    assert compared > 0 and not mismatches
    assert counted() == counted(store=False)
    # excluded again: the wave's sums are emptied and its responses queued; the next
    # fold marks the excluded ones and folds the rest
    assert bursts.review(analyst, ids[:3], "exclude") == 3
    figure_store.refresh()
    assert marked() == set(ids[:5])
    compared, mismatches = figure_store.verify()
    assert compared > 0 and not mismatches


def test_a_kept_burst_is_found_in_the_queue_by_its_key(app: Flask) -> None:
    """Keeping a burst unmarks its queue rows through the queue's key (wave, response),
    not by reading the queue whole: the marked rows, which no index of rows to fold
    holds, are most of the queue where a desk floods it (with sequential scans off on
    PostgreSQL, so that the test's small table does not make a scan the cheaper plan:
    the plan must exist)."""
    _units, waves, feedback = setup_data()
    figure_store.refresh()
    ids = add_responses(waves, feedback, 6, seed=13)
    flag(ids)
    figure_store.refresh()
    wave_of = dict(
        db.session.execute(select(Response.id, Response.wave_id).where(Response.id.in_(ids))).all()
    )
    statement = figure_store.mark_statement(wave_of[ids[0]], ids[:2], False)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        explain, found = "EXPLAIN ", r"pk_figure_queue .*Index Cond: \(+wave_id = "
    else:
        explain, found = "EXPLAIN QUERY PLAN ", r"SEARCH figure_queue USING .*\(wave_id=\?"
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(str(r[-1]) for r in db.session.execute(text(explain + str(compiled))))
    db.session.rollback()
    assert re.search(found, plan), plan
    # and it unmarks exactly the rows named with their waves (a pair without a wave
    # names no queue row: a response outside any wave has none)
    assert marked() == set(ids)
    figure_store.requeue([(ids[0], wave_of[ids[0]]), (ids[1], wave_of[ids[1]]), (ids[2], None)])
    db.session.commit()
    assert marked() == set(ids) - set(ids[:2])


def test_migration_0015_marks_the_flagged_responses_queued(app: Flask) -> None:
    """Upgrading to 0015 marks exactly the queued responses that are flagged; the
    downgrade leaves the queue's rows as they were."""
    _units, waves, feedback = setup_data()
    figure_store.refresh()
    ids = add_responses(waves, feedback, 8, seed=9)
    flag(ids[:3])
    db.session.remove()
    queue = text("SELECT wave_id, response_id FROM figure_queue")
    before = sorted(tuple(row) for row in db.session.execute(queue))
    db.session.remove()
    downgrade(revision="0014")
    for engine in db.engines.values():
        engine.dispose()
    assert sorted(tuple(row) for row in db.session.execute(queue)) == before
    db.session.remove()
    upgrade()
    for engine in db.engines.values():
        engine.dispose()
    assert sorted(tuple(row) for row in db.session.execute(queue)) == before
    assert marked() == set(ids[:3])


def test_a_burst_excluded_while_a_fold_sums_it_leaves_no_sums_behind(app: Flask) -> None:
    """PostgreSQL: a kept burst excluded while a fold holds it (summed, not committed)
    waits for the fold, then finds it folded and takes its wave's sums out. Without
    the folds' lock in ``unfold_responses`` the decision saw the response still queued,
    and the fold then committed the sums of a response now excluded."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("folds and decisions run side by side on PostgreSQL only")
    _units, waves, feedback = setup_data()
    figure_store.refresh()
    ids = add_responses(waves, feedback, 4, seed=11)
    db.session.execute(
        Response.__table__.update()
        .where(Response.id.in_(ids))
        .values(flagged=True, flag_reason="burst")
    )
    db.session.commit()
    analyst = db.session.scalar(select(User).where(User.username == "analyst"))
    bursts.review(analyst, ids, "keep")  # counted again, still queued
    analyst_id = analyst.id
    summed, release = threading.Event(), threading.Event()
    add_cells = figure_store._add_cells
    errors: list[BaseException] = []

    def held(*args: object) -> None:  # the fold has summed its batch; it waits here
        add_cells(*args)  # type: ignore[arg-type]
        summed.set()
        assert release.wait(60)

    def in_app(action: Callable[[], object]) -> threading.Thread:
        """``action`` in a thread with its own app context and session; its error is
        kept for the test's thread."""

        def run() -> None:
            with app.app_context():
                try:
                    action()
                except BaseException as error:
                    errors.append(error)
                finally:
                    db.session.remove()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    figure_store._add_cells = held  # type: ignore[assignment]
    try:
        folding = in_app(figure_store.refresh)
        assert summed.wait(60)
        deciding = in_app(lambda: bursts.review(db.session.get(User, analyst_id), ids, "exclude"))
        waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        deadline = time.monotonic() + 30
        while deciding.is_alive() and not db.session.scalar(waiting):
            assert time.monotonic() < deadline, "the decision neither waited nor ended"
            db.session.rollback()
            time.sleep(0.01)
        release.set()
        folding.join(60)
        deciding.join(60)
    finally:
        figure_store._add_cells = add_cells  # type: ignore[assignment]
        release.set()
    db.session.rollback()
    assert not errors, errors
    excluded = select(func.count()).where(Response.id.in_(ids), Response.flagged.is_(True))
    assert db.session.scalar(excluded) == len(ids)
    compared, mismatches = figure_store.verify()
    assert compared > 0 and not mismatches, mismatches[:5]
    figure_store.refresh()
    compared, mismatches = figure_store.verify()
    assert compared > 0 and not mismatches, mismatches[:5]


def assign_procedures() -> list[int]:
    """Two procedure fields, and a procedure of one or the other for two responses in
    three (the rest have none); returns the fields' ids."""
    fields = list(db.session.scalars(select(ProcedureField).order_by(ProcedureField.id)))
    if not fields:
        for code in ("land", "civil"):
            field = ProcedureField(code=code, name_vi=code, name_en=code)
            field.procedures.append(Procedure(code=f"{code}-1", name_vi=code, name_en=code))
            db.session.add(field)
            fields.append(field)
        db.session.flush()
    procedures = [field.procedures[0].id for field in fields]
    for response in db.session.scalars(select(Response).where(Response.procedure_id.is_(None))):
        if response.id % 3:
            response.procedure_id = procedures[response.id % 3 - 1]
    db.session.commit()
    return [field.id for field in fields]


def test_every_breakdown_and_filter_of_the_store_equals_the_rows(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A breakdown by field or by channel alone, and a filter on either, read the
    vectors per PSU, field and channel (each summed over what it leaves out) and the
    queued responses' rows: the same figures as the rows alone."""
    _units, waves, feedback = setup_data()
    fields = assign_procedures()
    figure_store.refresh()
    add_responses(waves, feedback, 12, seed=3)  # read from their rows
    assign_procedures()
    options = [
        {"by_field": True},
        {"by_channel": True},
        {"channel": "kiosk"},
        {"channel": "phone", "by_field": True},
        *({"field_id": field} for field in fields),
    ]
    monkeypatch.setattr(figure_store, "BREAKDOWNS", tuple(options))
    compared, mismatches = figure_store.verify()
    assert compared > 0 and not mismatches, mismatches[:5]


def test_migration_0016_packs_the_sums_and_unpacks_them(app: Flask) -> None:
    """Downgrading to 0015 gives each statistic its row again, with the same sums;
    upgrading packs them back, padding each vector with its wave's answer groups (a
    fold of 0015 left out a group no respondent of the cell answered), and the figures
    stay those of the rows. A rebuild then writes every vector as a fold does."""
    _units, waves, feedback = setup_data()
    assign_procedures()
    figure_store.refresh()
    add_responses(waves, feedback, 8, seed=9)
    figure_store.refresh()
    before = unpacked(FigureSum)
    assert before
    db.session.remove()
    downgrade(revision="0015")
    for engine in db.engines.values():
        engine.dispose()
    old = text("SELECT wave_id, unit_id, stratum, psu, field_id, channel, stat, a, b, c "
               "FROM figure_sums")  # fmt: skip
    assert {tuple(row[:7]): tuple(row[7:]) for row in db.session.execute(old)} == before
    # as 0015's folds wrote them: no row for a group no respondent answered
    zero = "DELETE FROM figure_sums WHERE stat LIKE 'a:%' AND a = 0"
    assert db.session.execute(text(zero)).rowcount > 0
    db.session.commit()
    db.session.remove()
    upgrade()
    for engine in db.engines.values():
        engine.dispose()
    # a wave where no respondent answered a group's items has no such statistic left
    # to pad with: read from its rows, as under 0015, until a rebuild
    named = {(key[0], key[-1]) for key, sums in before.items() if sums[0]}
    padded = {k: v for k, v in before.items() if (k[0], k[-1]) in named or k[-1][:2] != "a:"}
    assert len(padded) < len(before)
    assert unpacked(FigureSum) == padded
    compared, mismatches = figure_store.verify()
    assert compared > 0 and not mismatches, mismatches[:5]
    figure_store.rebuild()
    assert unpacked(FigureSum) == before


def test_a_response_stored_flagged_enters_the_queue_marked(app: Flask) -> None:
    """Migration 0017: the trigger that queues a stored response copies its flag into
    the queue row's mark, so no fold reads it (nor marks it); 0016's trigger left that
    to the first fold."""
    _units, waves, feedback = setup_data()
    figure_store.refresh()
    flagged = add_responses(waves, feedback, 6, seed=21, flag_reason="burst")
    kept = add_responses(waves, feedback, 4, seed=31)
    assert db.session.scalar(select(func.count()).where(Response.id.in_(flagged), Response.flagged))
    assert marked() == set(flagged)  # before any fold
    pending = {row[0] for row in db.session.execute(figure_store.pending_query())}
    assert pending == set(kept)
    assert figure_store.refresh() == len(kept)
    db.session.remove()
    downgrade(revision="0016")
    for engine in db.engines.values():
        engine.dispose()
    waves, feedback = loaded_waves()
    late = add_responses(waves, feedback, 3, seed=41, flag_reason="burst")
    assert marked() == set(flagged)  # 0016: unmarked until a fold meets them
    db.session.remove()
    upgrade()
    for engine in db.engines.values():
        engine.dispose()
    assert figure_store.refresh() == 0
    assert marked() == set(flagged) | set(late)  # the fold marked the late ones
    waves, feedback = loaded_waves()
    again = add_responses(waves, feedback, 3, seed=51, flag_reason="burst")
    assert marked() == set(flagged) | set(late) | set(again)
    compared, mismatches = figure_store.verify()
    assert compared > 0 and not mismatches, mismatches[:5]
    assert counted() == counted(store=False)
