"""Data shapes the demo never makes, through the service and the read API.

Hypothesis draws small field waves: singleton strata, one PSU in all, a lone
respondent, communes with no answers, every answer satisfied or none, items left
blank by everyone, unequal weights and every lonely-PSU rule. Each is imported through
the paper import and read back through ``/api/v1/indices`` (rate and score, the town
and its communes) and ``/api/v1/changes``. The contract: never a 5xx; a figure is
either computed (a finite value inside its interval) or shown as not enough data
(no value, ``reportable`` false); a request that cannot be answered is a 4xx whose
message gives the reason.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from survey_app.admin import accounts, units
from survey_app.collection import questionnaires, waves
from survey_app.collection.paper_import.importing import import_file
from survey_app.extensions import db
from survey_app.models import LonelyPSU, User
from tests.helpers.databases import IsolatedClient

PASSWORD = "data-shapes-password"
COMMUNES = ("HM-A", "HM-B", "HM-C")
UNITS = [
    {"code": "HM", "name_vi": "Thị xã Hoàng Mai", "name_en": "Hoang Mai", "kind": "district",
     "parent_code": ""},
    *({"code": c, "name_vi": f"Xã {c}", "name_en": f"Commune {c}", "kind": "commune",
       "parent_code": "HM"} for c in COMMUNES),
]  # fmt: skip
counter = itertools.count(1)


@pytest.fixture
def area(app: Flask) -> tuple[FlaskClient, User, list[str]]:
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    units.import_units(UNITS)
    analyst = accounts.create_user("shapes", PASSWORD, "analyst", None)
    db.session.commit()
    app.test_client_class = IsolatedClient
    client = app.test_client()
    reply = client.post("/auth/login", data={"username": "shapes", "password": PASSWORD})
    assert reply.status_code == 302
    definition = questionnaires.parsed(questionnaires.latest("sipas"))
    likert = [item.code for item in definition.items if item.type == "likert5"]
    return client, analyst, likert


# A respondent: commune, stratum, PSU, weight, and how they answer.
respondent = st.tuples(
    st.sampled_from(COMMUNES),
    st.sampled_from(["S1", "S2", "S3"]),
    st.sampled_from(["P1", "P2", "P3"]),
    st.sampled_from(["1", "2.5", "40"]),
    st.sampled_from(["all5", "all1", "mixed", "blank_half", "blank_all"]),
)
shape = st.fixed_dictionaries(
    {
        "people": st.lists(respondent, min_size=1, max_size=14),
        "rule": st.sampled_from([rule.value for rule in LonelyPSU]),
        "blank_items": st.lists(st.integers(0, 40), max_size=6),
    }
)


def answers_of(how: str, likert: list[str], blank: set[int], salt: int) -> list[str]:
    values = []
    for position, _code in enumerate(likert):
        if position in blank or how == "blank_all" or (how == "blank_half" and position % 2):
            values.append("")
        elif how == "all5":
            values.append("5")
        elif how == "all1":
            values.append("1")
        else:
            values.append(str(1 + (position + salt) % 5))
    return values


def import_wave(
    analyst: User, likert: list[str], people: list[tuple], rule: str, blank: set[int]
) -> str:
    code = f"SHAPE-{next(counter)}"
    waves.create_field_wave(
        code=code, name_vi=code, name_en=code, questionnaire="sipas", unit_code="HM",
        start=date(2025, 5, 1), end=date(2025, 5, 31), lonely_psu=rule,
    )  # fmt: skip
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["client_id", "unit_code", "wave_code", "stratum", "psu", "design_weight",
              "submitted_date", "gave_feedback", *likert]  # fmt: skip
    writer.writerow(header)
    writer.writerow(["labels"] + [""] * (len(header) - 1))
    for salt, (commune, stratum, psu, weight, how) in enumerate(people):
        # The feedback aspect is asked only after "yes": its criteria stay blank otherwise.
        said = "no" if how == "blank_all" else "yes"
        values = answers_of(how, likert, blank, salt)
        if said == "no":
            values = [
                "" if item.startswith("fb") else v for item, v in zip(likert, values, strict=True)
            ]
        writer.writerow([str(uuid.uuid4()), commune, code, stratum, psu, weight, "10/05/2025",
                         said, *values])  # fmt: skip
    report = import_file(f"{code}.csv", buffer.getvalue().encode(), analyst, "vi")
    assert report.ok, report.issues[:3]
    return code


def check_figures(body: dict[str, Any]) -> None:
    for figure in body["figures"]:
        value = figure["value"]
        if value is None:
            assert figure["reportable"] is False, figure
            continue
        assert math.isfinite(value), figure
        if figure["ci_low"] is not None:
            assert figure["ci_low"] - 1e-9 <= value <= figure["ci_high"] + 1e-9, figure


def get(client: FlaskClient, url: str) -> dict[str, Any]:
    reply = client.get(url)
    assert reply.status_code < 500, (url, reply.status_code, reply.get_data(as_text=True)[:400])
    body = reply.get_json()
    if reply.status_code >= 400:
        assert body and body.get("message"), (url, body)  # the reason is given
    return body if reply.status_code == 200 else {}


def test_every_data_shape_is_a_figure_or_a_reason(
    area: tuple[FlaskClient, User, list[str]],
) -> None:
    client, analyst, likert = area
    previous: list[str] = []

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(shape=shape)
    def attack(shape: dict[str, Any]) -> None:
        code = import_wave(
            analyst, likert, shape["people"], shape["rule"], set(shape["blank_items"])
        )
        units_query = "&".join(f"unit={u}" for u in ("HM", *COMMUNES))
        for kind in ("rate", "score"):
            body = get(client, f"/api/v1/indices?{units_query}&wave={code}&kind={kind}")
            if body:
                check_figures(body)
        if previous:
            get(client, f"/api/v1/changes?unit=HM&from={previous[-1]}&to={code}")
        previous.append(code)

    attack()
    # The shapes really ran: every wave was stored and read.
    assert len(previous) >= 10
    stored = db.session.scalars(select(waves.Wave.code).where(waves.Wave.code.like("SHAPE-%")))
    assert set(previous) <= set(stored)
