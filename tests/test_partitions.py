"""Responses and answers partitioned by wave (migration 0007) keep every rule they had.

- Both databases: the migration keeps every row, answer wave and key, down and up.
  A client id stays unique over all waves. A resend with the same id
  that the server now files under another wave (a wave created since) is "repeated",
  never a second row; a dossier used in one wave is refused in another.
- PostgreSQL only: each wave's rows sit in its own partitions (made when the wave is
  made), answers carry their response's wave and cannot exist without it, a response
  cannot change wave, deleting
  a response (as a retention rule would) takes its answers, weights and key with it,
  and a detached wave's client ids still count as taken.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from flask_migrate import downgrade, upgrade
from sqlalchemy import bindparam, delete, event, func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from survey_app.collection import questionnaires
from survey_app.collection.responses import (
    ResponseDraft,
    StoreOutcome,
    existing_outcome,
    store,
    store_many,
)
from survey_app.extensions import db
from survey_app.models import AnswerValue, Channel, Response, Unit, Wave, WaveKind
from survey_app.partitions import ANALYZE_AFTER, partition_names
from tests.helpers.databases import using_postgresql
from tests.helpers.kiosk_api import Setup

postgresql_only = pytest.mark.skipif(
    not using_postgresql(), reason="partitions exist on PostgreSQL only (set TEST_DATABASE_URL)"
)


def make_wave(code: str, unit_code: str, start: date) -> Wave:
    quick = questionnaires.get("kiosk_quick", 1)
    unit_id = db.session.scalar(select(Unit.id).where(Unit.code == unit_code))
    wave = Wave(
        code=code,
        name_vi=f"Đợt {code}",
        name_en=f"Wave {code}",
        kind=WaveKind.CONTINUOUS_FEEDBACK,
        questionnaire_id=quick.id,
        unit_id=unit_id,
        start_date=start,
        end_date=date(2025, 3, 31),
    )
    db.session.add(wave)
    db.session.commit()
    return wave


def draft(wave: Wave, client_id: uuid.UUID, dossier: str | None = None) -> ResponseDraft:
    return ResponseDraft(
        client_id=client_id,
        questionnaire_id=wave.questionnaire_id,
        unit_id=db.session.scalar(select(Unit.id).where(Unit.code == "QL")),
        channel=Channel.PHONE,
        answers={"mood": 4, "positives": ["nhanh"]},
        submitted_at=datetime(2025, 3, 10, 3, tzinfo=UTC),
        wave_id=wave.id,
        dossier_hash=dossier,
    )


def count_of(client_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(Response).where(Response.client_id == client_id)
    return int(db.session.scalar(query) or 0)


@pytest.fixture
def two_waves(app: Flask) -> tuple[Wave, Wave]:
    Setup(app)
    return make_wave("P1", "NA", date(2025, 3, 1)), make_wave("P2", "QL", date(2025, 3, 5))


def test_a_resend_filed_under_another_wave_is_repeated(two_waves: tuple[Wave, Wave]) -> None:
    first, second = two_waves
    client_id = uuid.uuid4()
    assert store(draft(first, client_id)) == StoreOutcome.CREATED
    # the server would now file the same submission under the newer, nearer wave
    assert store(draft(second, client_id)) == StoreOutcome.REPEATED
    assert count_of(client_id) == 1
    assert db.session.scalar(select(Response.wave_id).where(Response.client_id == client_id)) == (
        first.id
    )


def test_a_dossier_is_unique_over_all_waves(two_waves: tuple[Wave, Wave]) -> None:
    first, second = two_waves
    assert store(draft(first, uuid.uuid4(), "d" * 64)) == StoreOutcome.CREATED
    assert store(draft(second, uuid.uuid4(), "d" * 64)) == StoreOutcome.DUPLICATE_DOSSIER
    assert int(db.session.scalar(select(func.count()).select_from(Response)) or 0) == 1


@postgresql_only
def test_rows_sit_in_their_waves_partitions(two_waves: tuple[Wave, Wave]) -> None:
    first, second = two_waves
    for wave in (first, second, first):
        assert store(draft(wave, uuid.uuid4())) == StoreOutcome.CREATED
    placed = db.session.execute(
        text(
            "SELECT tableoid::regclass::text, wave_id, count(*) FROM responses "
            "GROUP BY 1, 2 ORDER BY 2"
        )
    ).all()
    assert placed == [
        (f"responses_w{first.id}", first.id, 2),
        (f"responses_w{second.id}", second.id, 1),
    ]
    answers = db.session.execute(
        text(
            "SELECT a.tableoid::regclass::text, count(*) FROM answer_values a "
            "JOIN responses r ON r.id = a.response_id AND r.wave_id = a.wave_id "
            "GROUP BY 1 ORDER BY 1"
        )
    ).all()
    assert answers == [(f"answer_values_w{first.id}", 4), (f"answer_values_w{second.id}", 2)]
    assert db.session.scalar(select(func.count()).select_from(AnswerValue)) == 6


@postgresql_only
def test_a_bulk_load_leaves_the_planner_statistics_of_what_it_loaded(
    two_waves: tuple[Wave, Wave],
) -> None:
    """A fold right after a bulk load (demo seed, paper import) must not be planned as
    if the new partitions were empty: the load ANALYZEs them, and only them."""
    first, second = two_waves
    assert store_many([draft(first, uuid.uuid4()) for _ in range(ANALYZE_AFTER)]) == ANALYZE_AFTER
    assert store_many([draft(second, uuid.uuid4()) for _ in range(3)]) == 3
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    names = [*partition_names(first.id), *partition_names(second.id)]
    analyzed = dict(
        db.session.execute(
            text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname IN :names"
            ).bindparams(bindparam("names", expanding=True)),
            {"names": names},
        ).all()
    )
    responses_1, answers_1 = partition_names(first.id)
    responses_2, answers_2 = partition_names(second.id)
    assert analyzed == {responses_1: 1, answers_1: 1, responses_2: 0, answers_2: 0}
    seen = dict(
        db.session.execute(
            text("SELECT relname, reltuples FROM pg_class WHERE relname IN (:r, :a)"),
            {"r": responses_1, "a": answers_1},
        ).all()
    )
    assert seen == {responses_1: ANALYZE_AFTER, answers_1: 2 * ANALYZE_AFTER}


@postgresql_only
def test_a_response_cannot_change_wave(two_waves: tuple[Wave, Wave]) -> None:
    first, second = two_waves
    client_id = uuid.uuid4()
    store(draft(first, client_id))
    with pytest.raises(DBAPIError, match="cannot change"):
        db.session.execute(
            update(Response).where(Response.client_id == client_id).values(wave_id=second.id)
        )
    db.session.rollback()


@postgresql_only
def test_a_deleted_response_takes_its_answers_and_key(two_waves: tuple[Wave, Wave]) -> None:
    first, second = two_waves
    client_id = uuid.uuid4()
    store(draft(first, client_id))
    store(draft(second, uuid.uuid4()))  # another response, whose answers stay
    kept = db.session.scalar(select(func.count()).select_from(AnswerValue))
    db.session.execute(delete(Response).where(Response.client_id == client_id))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AnswerValue)) == kept - 2
    keys = db.session.scalar(text("SELECT count(*) FROM response_keys"))
    assert keys == 1
    # as before partitioning: a deleted response's id may be stored again
    assert store(draft(second, client_id)) == StoreOutcome.CREATED


@postgresql_only
@pytest.mark.parametrize("wrong", ["response", "wave"])
def test_an_answer_needs_its_response_in_its_wave(two_waves: tuple[Wave, Wave], wrong: str) -> None:
    """Checked per statement by a trigger, not by foreign keys (migration 0009)."""
    first, second = two_waves
    client_id = uuid.uuid4()
    store(draft(first, client_id))
    response_id = db.session.scalar(select(Response.id).where(Response.client_id == client_id))
    item_id = questionnaires.get("kiosk_quick", 1).items[0].id
    row = {"response_id": response_id, "item_id": item_id, "value": 3, "wave_id": first.id}
    row["response_id" if wrong == "response" else "wave_id"] = (
        10**12 if wrong == "response" else second.id
    )
    with pytest.raises(IntegrityError, match="refers to no response of its wave"):
        db.session.execute(AnswerValue.__table__.insert(), [row])
    db.session.rollback()
    # and no update may move an answer away from its response either
    with pytest.raises(IntegrityError, match="refers to no response of its wave"):
        db.session.execute(
            update(AnswerValue)
            .where(AnswerValue.response_id == response_id)
            .values(response_id=10**12)
        )
    db.session.rollback()
    # the right row is taken
    db.session.execute(
        AnswerValue.__table__.insert(),
        [dict(row, **{"response_id": response_id, "wave_id": first.id})],
    )
    db.session.commit()


@postgresql_only
def test_the_answer_check_probes_the_keys_index_whatever_the_planner_prefers(
    two_waves: tuple[Wave, Wave],
) -> None:
    """Migration 0011: the check is a subplan probing ``pk_response_keys`` per row.

    Joins are made unattractive to the planner (``enable_nestloop`` off, on a fresh
    session, so PL/pgSQL plans the check anew); the ``NOT EXISTS`` form of migration
    0009 then read ``response_keys`` whole into a hash table, on every statement.
    auto_explain reports the plan of the check as run inside the trigger.
    """
    first, _second = two_waves
    client_id = uuid.uuid4()
    store(draft(first, client_id))
    db.session.commit()
    response_id = db.session.scalar(select(Response.id).where(Response.client_id == client_id))
    items = [item.id for item in questionnaires.get("kiosk_quick", 1).items[:3]]
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    plans: list[str] = []
    with psycopg.connect(url) as connection:
        connection.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
        for setting in (
            "LOAD 'auto_explain'",
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_nested_statements = on",
            "SET auto_explain.log_level = notice",
            "SET client_min_messages = notice",
            "SET enable_nestloop = off",
        ):
            connection.execute(setting)
        connection.execute(
            "DELETE FROM answer_values WHERE response_id = %s AND wave_id = %s",
            (response_id, first.id),
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO answer_values (response_id, item_id, value, wave_id) "
                "VALUES (%s, %s, 3, %s)",
                [(response_id, item_id, first.id) for item_id in items],
            )
        connection.rollback()
    checks = [plan for plan in plans if "written" in plan and "response_keys" in plan]
    assert checks, plans
    for plan in checks:
        assert "Index" in plan and "pk_response_keys" in plan, plan
        assert "Seq Scan on response_keys" not in plan and "Hash" not in plan, plan


@postgresql_only
def test_a_resend_is_told_from_the_keys_without_reading_a_partition(
    two_waves: tuple[Wave, Wave],
) -> None:
    """``existing_outcome`` compares a resend with the stored key row (client id, wave,
    dossier and content hash, migration 0012): no partition of ``responses`` is read,
    and a changed answer is still a conflict."""
    first, second = two_waves
    client_id = uuid.uuid4()
    store(draft(first, client_id))
    db.session.commit()
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    resend = draft(second, client_id)
    changed = replace(resend, answers={"mood": 1})
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        repeated, conflict = existing_outcome(resend), existing_outcome(changed)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert (repeated, conflict) == (StoreOutcome.REPEATED, StoreOutcome.CONFLICT)
    assert statements and all("response_keys" in statement for statement in statements)
    assert not any("FROM responses" in statement for statement in statements), statements


@postgresql_only
def test_the_keys_keep_each_responses_content_hash(two_waves: tuple[Wave, Wave]) -> None:
    """``response_keys.content_hash`` is the response's, however it was stored (one by
    one or in bulk), and follows an update of the response's."""
    first, second = two_waves
    store(draft(first, uuid.uuid4()))
    store_many([draft(second, uuid.uuid4()) for _ in range(3)])
    db.session.commit()
    differing = text(
        "SELECT count(*) FROM responses AS r JOIN response_keys AS k ON k.response_id = r.id "
        "WHERE k.content_hash IS DISTINCT FROM r.content_hash"
    )
    keys = text("SELECT count(*) FROM response_keys WHERE content_hash IS NOT NULL")
    assert db.session.scalar(differing) == 0
    assert db.session.scalar(keys) == 4
    db.session.execute(update(Response).values(content_hash="0" * 64))
    db.session.commit()
    assert db.session.scalar(differing) == 0
    assert db.session.scalar(text("SELECT min(content_hash) FROM response_keys")) == "0" * 64


@postgresql_only
def test_a_detached_waves_ids_stay_taken(
    two_waves: tuple[Wave, Wave], runner: FlaskCliRunner
) -> None:
    first, second = two_waves
    client_id = uuid.uuid4()
    store(draft(first, client_id))
    db.session.commit()
    result = runner.invoke(args=["partitions", "detach", "--wave", first.code])
    assert result.exit_code == 0, result.output
    assert f"responses_w{first.id}" in result.output
    assert count_of(client_id) == 0  # archived: out of the live tables
    # not stored again: its key row stays, with the content that makes it a retry
    assert store(draft(second, client_id)) == StoreOutcome.REPEATED
    assert count_of(client_id) == 0


#: What ``partitions detach`` says when it cannot, in each language.
REFUSALS = {
    "vi": {"not_postgresql": "phân vùng chỉ có trên PostgreSQL; cơ sở dữ liệu này là SQLite",
           "not_attached": "không có phân vùng nào đang gắn: đã tách rồi?"},
    "en": {"not_postgresql": "partitions exist on PostgreSQL only; this database is SQLite",
           "not_attached": "has no attached partitions: detached already?"},
}  # fmt: skip


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_detach_says_why_it_cannot_in_the_command_lines_language(
    two_waves: tuple[Wave, Wave], runner: FlaskCliRunner, lang: str
) -> None:
    """On SQLite there are no partitions; on PostgreSQL a wave detached once has none
    left to detach."""
    first, _second = two_waves
    line = ["partitions", "detach", "--wave", first.code, "--lang", lang]
    if using_postgresql():
        assert runner.invoke(args=line).exit_code == 0
    result = runner.invoke(args=line)
    assert result.exit_code != 0
    said = REFUSALS[lang]["not_attached" if using_postgresql() else "not_postgresql"]
    assert said in result.output, result.output


def test_the_migration_keeps_every_row_both_ways(two_waves: tuple[Wave, Wave]) -> None:
    """0007 down to 0006 and up again with responses stored: rows, waves and keys kept."""
    first, second = two_waves
    ids = [uuid.uuid4() for _ in range(3)]
    for client_id, wave in zip(ids, (first, second, first), strict=True):
        assert store(draft(wave, client_id)) == StoreOutcome.CREATED

    def snapshot() -> list[tuple]:
        return sorted(
            db.session.execute(
                select(
                    Response.client_id, Response.wave_id, AnswerValue.item_id, AnswerValue.value
                ).join(AnswerValue, AnswerValue.response_id == Response.id)
            ).all()
        )

    before = snapshot()
    assert len(before) == 6
    second_id = second.id
    db.session.remove()
    downgrade(revision="0006")
    db.engine.dispose()
    upgrade()
    db.engine.dispose()
    assert snapshot() == before
    waves = db.session.execute(
        select(AnswerValue.wave_id, Response.wave_id).join(
            Response, Response.id == AnswerValue.response_id
        )
    ).all()
    assert all(a == r for a, r in waves)
    # the keys came back: a resend is still a repeat, a new id still stored
    second = db.session.get(Wave, second_id)
    assert second is not None
    assert store(draft(second, ids[0])) == StoreOutcome.REPEATED
    assert store(draft(second, uuid.uuid4())) == StoreOutcome.CREATED
