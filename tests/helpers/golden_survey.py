"""The simulated three-wave field survey of the golden tests, stored in the database.

tests/reference/make_indices_data.py wrote the respondents
(tests/reference/data_indices/responses.csv: wave, stratum, PSU, unit D1-D4 of the
district DIST, design weight, eight criteria and an overall item); the R scripts
tests/reference/make_golden_indices.R and make_golden_published.R read the same file.
:func:`store` puts them in the database as field-survey responses, through the
service that stores validated responses (``collection.responses.store_many``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from survey_app.admin import units
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires, responses
from survey_app.extensions import db
from survey_app.models import Channel, Unit, Wave, WaveKind

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "reference"
QUESTIONNAIRES = ROOT / "tests" / "data" / "questionnaires"
ITEMS = ("acc1", "acc2", "acc3", "proc1", "proc2", "proc3", "staff1", "staff2", "ov")


@cache
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "data_indices" / "responses.csv")


@cache
def waves_frame() -> pd.DataFrame:
    return pd.read_csv(REF / "data_indices" / "waves.csv")


def store(
    questionnaire: Path,
    extra_answers: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None,
) -> tuple[dict[str, Unit], dict[int, Wave]]:
    """Store every respondent under ``questionnaire``; the units by code and the waves
    by number. ``extra_answers(record)`` adds answers (e.g. a demographic item)."""
    definition = spec.load_questionnaire(questionnaire)
    questionnaires.upsert(definition)
    qrow = questionnaires.get(definition.slug, definition.version)
    units.import_units(
        [{"code": "DIST", "name_vi": "Huyện", "name_en": "District", "kind": "district",
          "parent_code": ""}]
        + [{"code": code, "name_vi": f"Phòng {code}", "name_en": f"Department {code}",
            "kind": "department", "parent_code": "DIST"} for code in ("D1", "D2", "D3", "D4")]
    )  # fmt: skip
    by_code = {u.code: u for u in db.session.scalars(db.select(Unit))}
    waves = {}
    for row in waves_frame().itertuples():
        wave = Wave(
            code=row.code,
            name_vi=row.code,
            name_en=row.code,
            kind=WaveKind.FIELD_SURVEY,
            questionnaire_id=qrow.id,
            unit_id=by_code["DIST"].id,
            start_date=date.fromisoformat(row.start_date),
            end_date=date.fromisoformat(row.end_date),
        )
        db.session.add(wave)
        waves[int(row.wave)] = wave
    db.session.flush()
    frame = data()
    drafts = []
    for record in frame.to_dict("records"):
        answers: dict[str, Any] = {
            item: int(record[item]) for item in ITEMS if not pd.isna(record[item])
        }
        if extra_answers is not None:
            answers.update(extra_answers(record))
        wave = waves[int(record["wave"])]
        drafts.append(
            field_draft(
                record, wave, by_code[record["unit"]].id, answers, uuid.UUID(int=int(record["id"]))
            )
        )
    assert responses.store_many(drafts) == len(frame)
    return by_code, waves


def field_draft(
    record: Mapping[str, Any],
    wave: Wave,
    unit_id: int,
    answers: dict[str, Any],
    client_id: uuid.UUID,
) -> responses.ResponseDraft:
    """A respondent of the data file as a field-survey response of ``wave``, submitted on
    its first day, with the record's stratum, PSU and design weight."""
    return responses.ResponseDraft(
        client_id=client_id,
        questionnaire_id=wave.questionnaire_id,
        unit_id=unit_id,
        channel=Channel.FIELD,
        answers=answers,
        submitted_at=datetime.combine(wave.start_date, datetime.min.time(), UTC),
        wave_id=wave.id,
        stratum=record["stratum"],
        psu=record["psu"],
        design_weight=float(record["weight"]),
    )
