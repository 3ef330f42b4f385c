"""Every spreadsheet download is safe to open (OWASP "CSV Injection").

The demo province gets hostile names: units, desks, waves and procedure fields named
like formulas, and a field wave gains responses whose stratum, PSU, comment and flag
reason are formulas (two also hold control characters, as data stored before uploads
refused them). Then every CSV, XLSX and SPSS download the app offers is fetched, and
no cell may begin with a formula character unless it is a genuine number. The list of
downloads is checked against ``app.url_map``: a new download route fails this test
until it is walked here too.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import uuid
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pyreadstat
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.admin import accounts
from survey_app.collection import responses
from survey_app.extensions import db
from survey_app.models import (
    Channel,
    Desk,
    ProcedureField,
    Questionnaire,
    Role,
    Unit,
    Wave,
)
from survey_app.spreadsheets import FORMULA_TRIGGERS

pytestmark = pytest.mark.demo

PASSWORD = "correct-horse-battery"
WAVE = "HM-2018-12"
HOSTILE = (
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
)
# The routes that answer a spreadsheet (a <fmt> in the rule); each is walked below.
SPREADSHEET_ENDPOINTS = {
    "dashboard.download",
    "data.export_wave",
    "data.export_codebook",
    "data.template",
    "weights.template",
}


def seed_hostile_names() -> Wave:
    for i, unit in enumerate(db.session.scalars(select(Unit).order_by(Unit.id))):
        unit.name_vi = unit.name_en = HOSTILE[i % len(HOSTILE)]
    for i, desk in enumerate(db.session.scalars(select(Desk).order_by(Desk.id))):
        desk.name = HOSTILE[(i + 1) % len(HOSTILE)]
    for i, wave in enumerate(db.session.scalars(select(Wave).order_by(Wave.id))):
        wave.name_vi = wave.name_en = HOSTILE[(i + 2) % len(HOSTILE)]
    for i, field in enumerate(db.session.scalars(select(ProcedureField))):
        field.name_vi = field.name_en = HOSTILE[(i + 3) % len(HOSTILE)]
    db.session.commit()
    wave = db.session.scalar(select(Wave).where(Wave.code == WAVE))
    assert wave is not None
    questionnaire = db.session.get(Questionnaire, wave.questionnaire_id)
    assert questionnaire is not None
    submitted = datetime.combine(wave.start_date, datetime.min.time(), tzinfo=UTC)
    drafts = []
    # two PSUs per stratum, so every stratum has a variance (no lonely PSU)
    for i, text in enumerate([*HOSTILE, "=1\x01", "@x\x0b"]):
        for j in (1, 2):
            drafts.append(
                responses.ResponseDraft(
                    client_id=uuid.uuid4(),
                    questionnaire_id=questionnaire.id,
                    unit_id=wave.unit_id,
                    channel=Channel.PAPER,
                    answers={"overall": 4, "comment": HOSTILE[(i + j) % len(HOSTILE)]},
                    submitted_at=submitted,
                    wave_id=wave.id,
                    stratum=text,
                    psu=HOSTILE[(i + j) % len(HOSTILE)],
                    design_weight=10.0,
                    flag_reason=HOSTILE[(i + 2 * j) % len(HOSTILE)],
                )
            )
    responses.store_many(drafts, enforce_required=False)
    return wave


@pytest.fixture
def admin(app: Flask, client: FlaskClient) -> FlaskClient:
    accounts.create_user("sheets_admin", PASSWORD, Role.ADMIN, None)
    response = client.post("/auth/login", data={"username": "sheets_admin", "password": PASSWORD})
    assert response.status_code == 302
    return client


def download_urls(wave: Wave) -> dict[str, list[str]]:
    """Every spreadsheet download, by endpoint, with queries that fill its table."""
    dashboard = [
        "overview?unit=NA-HM",
        "overview?unit=QNG",
        "unit?unit=NA-HM",
        f"unit?unit=NA-HM&wave={WAVE}",
        "unit?unit=QNG",
        "ranking?unit=QNG",
        "ranking?unit=NA-HM",
        f"compare?mode=units&unit_a=HM-QT&unit_b=NA-HM&wave_a={WAVE}",
        "compare?mode=waves&unit_a=NA-HM",
        "kiosk",
        "kiosk?unit=NA-HM",
    ]
    questionnaires = db.session.scalars(select(Questionnaire)).all()
    return {
        "dashboard.download": [
            f"/dashboard/download/{page.replace('?', f'.{fmt}?', 1)}"
            if "?" in page
            else f"/dashboard/download/{page}.{fmt}"
            for page in dashboard
            for fmt in ("csv", "xlsx")
        ],
        "data.export_wave": [
            f"/analyst/data/export/{wave.code}.{f}" for f in ("csv", "xlsx", "sav")
        ],
        "data.export_codebook": [
            f"/analyst/data/export/{wave.code}/codebook.{f}" for f in ("csv", "xlsx")
        ],
        "data.template": [
            f"/analyst/data/template/{q.slug}/v{q.version}.{f}"
            for q in questionnaires
            for f in ("csv", "xlsx")
        ],
        "weights.template": [
            f"/analyst/weights/{wave.code}/template.{f}{query}"
            for f in ("csv", "xlsx")
            for query in ("?layout=long", "?layout=cells&variables=unit&variables=gender")
        ],
    }


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_cells(body: bytes) -> list[str]:
    assert body.startswith("\ufeff".encode())
    return [
        cell
        for row in csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
        for cell in row
    ]


def xlsx_cells(body: bytes, url: str) -> list[Any]:
    book = openpyxl.load_workbook(io.BytesIO(body))  # not read-only: formulas stay formulas
    values = []
    for sheet in book.worksheets:  # hidden sheets (the template's lists) too
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{url}: formula in {sheet.title}!{cell.coordinate}"
                values.append(cell.value)
    return values


def sav_cells(body: bytes) -> list[Any]:
    handle, path = tempfile.mkstemp(suffix=".sav")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
        frame, meta = pyreadstat.read_sav(path)
    finally:
        os.unlink(path)
    values: list[Any] = list(meta.column_labels)
    for labels in meta.variable_value_labels.values():
        values += list(labels.values())
    for column in frame.columns:
        values += list(frame[column])
    return values


def unsafe(values: list[Any]) -> list[Any]:
    """Text cells that begin a formula and are not numbers."""
    return [
        v
        for v in values
        if isinstance(v, str) and v.startswith(FORMULA_TRIGGERS) and not is_number(v)
    ]


def test_every_download_route_is_walked(app: Flask) -> None:
    found = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and ("<fmt>" in rule.rule or rule.rule.endswith((".csv", ".xlsx", ".sav")))
    }
    assert found == SPREADSHEET_ENDPOINTS


def test_no_download_holds_a_live_formula(app: Flask, admin: FlaskClient) -> None:
    wave = seed_hostile_names()
    texts: list[str] = []
    numbers = 0
    for endpoint, urls in download_urls(wave).items():
        assert endpoint in SPREADSHEET_ENDPOINTS
        for url in urls:
            response = admin.get(url)
            assert response.status_code == 200, url
            body = response.get_data()
            if ".csv" in url:
                values: list[Any] = csv_cells(body)
            elif ".xlsx" in url:
                values = xlsx_cells(body, url)
            else:
                values = sav_cells(body)
            assert unsafe(values) == [], url
            texts += [v for v in values if isinstance(v, str)]
            numbers += sum(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    assert numbers > 100  # XLSX and SPSS numbers are written as numbers
    # the hostile names really reached the downloads, neutralised with a leading quote
    normalised = {t.replace("\r", "\n") for t in texts}
    for hostile in HOSTILE:
        assert "'" + hostile.replace("\r", "\n") in normalised, hostile
