"""Paper-form import and export through the analyst's pages: a small province (district X
with communes X-A and X-B, field-survey wave W-1 on the SIPAS questionnaire), a logged-
in user, an upload, the stored count."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_app.admin import accounts, units
from survey_app.collection import questionnaires
from survey_app.extensions import db
from survey_app.models import Response, Role, Unit, Wave, WaveKind

PASSWORD = "correct-horse-battery"

# District X with communes X-A and X-B, as rows for ``units.import_units``.
DISTRICT_X: list[dict[str, str]] = [
    {"code": "X", "name_vi": "Huyện Thử", "name_en": "Test district",
     "kind": "district", "parent_code": ""},
    {"code": "X-A", "name_vi": "Xã Đông", "name_en": "East commune",
     "kind": "commune", "parent_code": "X"},
    {"code": "X-B", "name_vi": "Xã Tây", "name_en": "West commune",
     "kind": "commune", "parent_code": "X"},
]  # fmt: skip
HEADER = "client_id,unit_code,wave_code,stratum,psu,design_weight,submitted_date,field,acc1,acc2,gender,comment"  # noqa: E501

CLEAN = (
    HEADER
    + "\nlabels row,ignored,,,,,,,,,,\n"
    + ",X-A,W-1,X-A,X-A-T1,12.5,05/03/2024,dat_dai,4,5,nu,Nhanh gọn\n"
    + ',X-B,W-1,X-B,X-B-T2,"7,5",2024-03-06,,2,,nam,\n'
)


def text_of(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def make_province(app: Flask) -> Wave:
    """District X with communes X-A and X-B, the questionnaires, and wave W-1 (SIPAS)."""
    questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    units.import_units(DISTRICT_X)
    sipas = questionnaires.latest("sipas")
    assert sipas is not None
    district = db.session.scalar(select(Unit).where(Unit.code == "X"))
    wave = Wave(
        code="W-1",
        name_vi="Khảo sát thử 2024",
        name_en="Test survey 2024",
        kind=WaveKind.FIELD_SURVEY,
        questionnaire_id=sipas.id,
        unit_id=district.id,
        start_date=date(2024, 3, 1),
        end_date=date(2024, 3, 31),
    )
    db.session.add(wave)
    db.session.commit()
    return wave


def login(client: FlaskClient, name: str, role: Role, unit: str | None = None) -> None:
    accounts.create_user(name, PASSWORD, role, unit)
    client.post("/auth/login", data={"username": name, "password": PASSWORD})


def upload(client: FlaskClient, content: bytes, name: str = "phieu.csv", lang: str = "vi"):
    response = client.post(
        f"/analyst/data/import?lang={lang}",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )
    if response.status_code == 302 and "/auth/" not in response.headers["Location"]:
        return client.get(response.headers["Location"])  # the page with the flash message
    return response


def stored() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Response)) or 0
