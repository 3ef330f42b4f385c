"""The kiosk page and the phone form: a desk with the shipped questionnaires, a logged-in
user, the kiosk's embedded configuration, the stored responses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.admin import units
from survey_app.collection import desks, questionnaires
from survey_app.collection import questionnaire as spec
from survey_app.extensions import db
from survey_app.models import Desk, Response, Role
from tests.helpers.accounts import login as accounts_login

PASSWORD = "correct-horse-battery"


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def make_desk(app: Flask, code: str = "Q-C", unit: str = "C") -> Desk:
    units.import_units([{"code": unit, "name_vi": "Xã Đông", "name_en": "East commune",
                         "kind": "commune", "parent_code": ""}])  # fmt: skip
    questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    return desks.create_desk(code, unit, "Quầy xã Đông", timeout_s=45)


def login(client: FlaskClient, role: Role) -> None:
    accounts_login(client, f"user_{role.value}", role, password=PASSWORD)


def kiosk_config(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="kiosk-config">(.*?)</script>', page, re.S
    )
    assert match, "the kiosk page embeds its configuration as JSON data"
    return json.loads(match.group(1))


def definition(slug: str) -> spec.Questionnaire:
    row = questionnaires.latest(slug)
    assert row is not None
    return spec.Questionnaire.from_dict(row.definition)


def stored() -> list[Response]:
    db.session.rollback()
    return list(db.session.scalars(select(Response).order_by(Response.id)))
