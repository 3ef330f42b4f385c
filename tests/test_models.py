"""Database-level constraints that the duplicate checks and the analytics rely on."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from survey_app.extensions import db
from survey_app.models import (
    Channel,
    Questionnaire,
    Response,
    ResponseWeight,
    Unit,
    UnitKind,
    Wave,
    WaveKind,
    WeightingScheme,
)
from tests.helpers.databases import using_postgresql


@pytest.fixture
def base_rows(app: Flask) -> dict[str, int]:
    unit = Unit(code="U1", name_vi="Xã Một", name_en="Commune One", kind=UnitKind.COMMUNE)
    questionnaire = Questionnaire(
        slug="q", version=1, checksum="0" * 64, title_vi="Phiếu", title_en="Form", definition={}
    )
    db.session.add_all([unit, questionnaire])
    db.session.flush()
    wave = Wave(
        code="W1",
        name_vi="Đợt 1",
        name_en="Wave 1",
        kind=WaveKind.FIELD_SURVEY,
        questionnaire_id=questionnaire.id,
        unit_id=unit.id,
        start_date=date(2018, 1, 1),
        end_date=date(2018, 2, 1),
    )
    db.session.add(wave)
    db.session.commit()
    return {"unit": unit.id, "questionnaire": questionnaire.id, "wave": wave.id}


def response_values(rows: dict[str, int], client_id: uuid.UUID, **extra: object) -> dict:
    return {
        "client_id": client_id, "questionnaire_id": rows["questionnaire"],
        "unit_id": rows["unit"], "wave_id": rows["wave"], "channel": Channel.KIOSK,
        "submitted_at": datetime(2018, 1, 5, tzinfo=UTC), "received_at": datetime.now(UTC),
        "answers": {}, "content_hash": "x", "lang": "vi", "flagged": False, **extra,
    }  # fmt: skip


def refused_twice(first: dict, second: dict) -> None:
    """The database stores ``second`` nowhere: SQLite's unique index raises; on
    PostgreSQL, where responses are partitioned by wave, the keys live in
    ``response_keys`` and the responses' trigger skips the row, as the app's
    ``ON CONFLICT DO NOTHING`` expects (migration 0007). Either way, one row."""
    db.session.execute(insert(Response), [first])
    db.session.commit()
    try:
        db.session.execute(insert(Response), [second])
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        assert not using_postgresql()
    else:
        assert using_postgresql()  # skipped, not raised
    assert len(db.session.scalars(select(Response)).all()) == 1


def test_duplicate_client_id_rejected_by_database(base_rows: dict[str, int]) -> None:
    client_id = uuid.uuid4()
    refused_twice(response_values(base_rows, client_id), response_values(base_rows, client_id))


def test_duplicate_dossier_hash_rejected(base_rows: dict[str, int]) -> None:
    first = response_values(base_rows, uuid.uuid4(), dossier_hash="d" * 64)
    second = response_values(base_rows, uuid.uuid4(), dossier_hash="d" * 64)
    refused_twice(first, second)


def test_foreign_keys_enforced(base_rows: dict[str, int]) -> None:
    bad = response_values(base_rows, uuid.uuid4())
    bad["unit_id"] = 999_999
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Response), [bad])
        db.session.commit()
    db.session.rollback()


def test_design_weight_must_be_positive(base_rows: dict[str, int]) -> None:
    with pytest.raises(IntegrityError):
        db.session.execute(
            insert(Response), [response_values(base_rows, uuid.uuid4(), design_weight=0.0)]
        )
    db.session.rollback()


def test_one_active_scheme_per_wave(base_rows: dict[str, int]) -> None:
    wave = base_rows["wave"]
    db.session.add(
        WeightingScheme(wave_id=wave, name="a", version=1, method="rake", is_active=True)
    )
    db.session.add(
        WeightingScheme(wave_id=wave, name="b", version=1, method="rake", is_active=False)
    )
    db.session.commit()
    db.session.add(
        WeightingScheme(wave_id=wave, name="c", version=1, method="rake", is_active=True)
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_response_weight_positive(base_rows: dict[str, int]) -> None:
    db.session.execute(insert(Response), [response_values(base_rows, uuid.uuid4())])
    response_id = db.session.scalar(select(Response.id))
    scheme = WeightingScheme(wave_id=base_rows["wave"], name="a", version=1, method="design")
    db.session.add(scheme)
    db.session.flush()
    db.session.add(ResponseWeight(scheme_id=scheme.id, response_id=response_id, weight=-1.0))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_wave_dates_ordered(base_rows: dict[str, int]) -> None:
    db.session.add(
        Wave(
            code="W2",
            name_vi="x",
            name_en="x",
            kind=WaveKind.FIELD_SURVEY,
            questionnaire_id=base_rows["questionnaire"],
            unit_id=base_rows["unit"],
            start_date=date(2019, 1, 2),
            end_date=date(2019, 1, 1),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
