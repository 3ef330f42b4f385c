"""Kiosk submissions to POST /api/v1/responses: units, desks with device tokens, valid bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_app.admin import units
from survey_app.collection import desks, questionnaires
from survey_app.collection import questionnaire as spec
from survey_app.extensions import db
from survey_app.models import (
    AnswerValue,
    Questionnaire,
    QuestionnaireItem,
    Response,
    Unit,
    Wave,
    WaveKind,
)
from tests.helpers.questionnaire_cases import lab, one_section

API = "/api/v1/responses"
SUBMITTED = "2025-03-01T09:30:00+07:00"

TEST_QUESTIONNAIRE = one_section(
    "api_test",
    lab("Phiếu thử", "Test form"),
    [
        {"code": "visits", "type": "number", "integer": True, "min": 1, "max": 30,
         "label": lab("Số lần đến", "Visits")},
        {"code": "note", "type": "text", "max_length": 10, "label": lab("Góp ý", "Comment")},
    ],
)  # fmt: skip


class Setup:
    """Units, two desks with device tokens and the questionnaires, made per test."""

    def __init__(self, app: Flask) -> None:
        units.import_units(
            [
                {"code": "NA", "name_vi": "Nghệ An", "name_en": "Nghe An", "kind": "province",
                 "parent_code": ""},
                {"code": "HM", "name_vi": "Thị xã Hoàng Mai", "name_en": "Hoang Mai town",
                 "kind": "district", "parent_code": "NA"},
                {"code": "QL", "name_vi": "Phường Quỳnh Lộc", "name_en": "Quynh Loc ward",
                 "kind": "commune", "parent_code": "HM"},
                {"code": "VI", "name_vi": "Thành phố Vinh", "name_en": "Vinh city",
                 "kind": "district", "parent_code": "NA"},
            ]
        )  # fmt: skip
        desks.create_desk("QL-01", "QL", "Quầy phường Quỳnh Lộc")
        desks.create_desk("VI-01", "VI", "Quầy thành phố Vinh")
        self.token = desks.issue_token("QL-01")
        self.other_token = desks.issue_token("VI-01")
        questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
        questionnaires.upsert(spec.Questionnaire.from_dict(TEST_QUESTIONNAIRE))
        db.session.commit()


def body(**changes: Any) -> dict[str, Any]:
    """A valid kiosk submission for desk QL-01, with ``changes`` applied (None removes)."""
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "desk": "QL-01",
        "questionnaire": {"slug": "kiosk_quick", "version": 1},
        "answers": {"mood": 5, "positives": ["nhanh"]},
        "channel": "kiosk",
        "lang": "vi",
        "started_at": "2025-03-01T09:29:10+07:00",
        "submitted_at": SUBMITTED,
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def post(client: FlaskClient, payload: Any, token: str | None = None, **kwargs: Any) -> Any:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(API, json=payload, headers=headers, **kwargs)


def count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def stored(client_id: str) -> Response:
    row = db.session.scalar(select(Response).where(Response.client_id == uuid.UUID(client_id)))
    assert row is not None
    return row


def when(seconds: float, day: str = "2025-03-01") -> str:
    """An ISO time ``seconds`` after 09:00 on ``day`` in Hà Nội (+07:00)."""
    start = datetime.fromisoformat(f"{day}T09:00:00+07:00")
    return (start + timedelta(seconds=seconds)).isoformat()


def kiosk(seconds: float = 0, **changes: Any) -> dict[str, Any]:
    """A kiosk submission at ``when(seconds)``, without started_at."""
    changes.setdefault("started_at", None)
    return body(submitted_at=when(seconds), **changes)


def answer_codes(client_id: str) -> list[tuple[str, int]]:
    """The (item code, value) answer rows of the response stored under ``client_id``."""
    rows = db.session.execute(
        select(QuestionnaireItem.code, AnswerValue.value)
        .join(AnswerValue, AnswerValue.item_id == QuestionnaireItem.id)
        # the wave too: an answer row carries its response's (its partition on PostgreSQL)
        .join(
            Response,
            (Response.id == AnswerValue.response_id) & (Response.wave_id == AnswerValue.wave_id),
        )
        .where(Response.client_id == uuid.UUID(client_id))
    )
    return sorted((code, value) for code, value in rows)


def fields_of(response: Any) -> set[tuple[str, str]]:
    assert response.status_code == 422, response.get_json()
    data = response.get_json()
    assert data["error"] == "invalid" and data["message"]
    assert all(e["message"] for e in data["errors"])
    return {(e["field"], e["code"]) for e in data["errors"]}


def add_wave(code: str, unit: str, start: date, end: date, **kwargs: Any) -> int:
    unit_id = db.session.scalar(select(Unit.id).where(Unit.code == unit))
    slug = kwargs.pop("slug", "kiosk_quick")
    questionnaire_id = db.session.scalar(select(Questionnaire.id).where(Questionnaire.slug == slug))
    wave = Wave(
        code=code, name_vi=code, name_en=code, unit_id=unit_id,
        questionnaire_id=questionnaire_id, start_date=start, end_date=end,
        kind=kwargs.pop("kind", WaveKind.CONTINUOUS_FEEDBACK),
    )  # fmt: skip
    db.session.add(wave)
    db.session.commit()
    return wave.id
