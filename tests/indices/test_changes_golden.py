"""Changes between waves through the read API equal R, for independent and panel waves.

The golden survey (tests/reference/data_indices/, three waves of the same 20 communes)
is stored in the database; ``GET /api/v1/changes`` then answers the change of the
overall index (rate and score) of the district and of unit D1 between waves. R's
numbers are in tests/reference/golden_indices.json (make_golden_indices.R):
``svycontrast`` of the domain totals on

- ``independent``: each wave its own sample (strata and PSUs wave-specific), so the
  two estimates have covariance 0 — what the API must publish when the survey team
  has not declared the waves a panel, even though PSU labels repeat;
- ``panel``: the waves as one ``svydesign`` sharing PSUs — what the API must publish
  once the later wave is declared a panel of the earlier one (``panel_of``).

Estimate and SE to 1e-8 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Role
from tests.helpers import golden_survey

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "tests" / "reference" / "golden_indices.json").read_text())
QUESTIONNAIRE = ROOT / "tests" / "data" / "questionnaires" / "indices_golden.yaml"
PASSWORD = "correct-horse-battery"
PAIRS = [("DIST_3", "DIST_2"), ("D1_3", "D1_1")]


def golden(design: str, kind: str, after: str, before: str) -> dict[str, float]:
    case_id = f"{design} overall {kind} contrast {after} - {before}"
    return next(c for c in GOLDEN["cases"] if c["id"] == case_id)["values"]


@pytest.mark.parametrize("design", ["independent", "panel"])
def test_changes_in_the_api_equal_r(app: Flask, client: FlaskClient, design: str) -> None:
    _units, waves = golden_survey.store(QUESTIONNAIRE)
    if design == "panel":  # the survey team declares it; labels alone never make a panel
        waves[2].panel_of_id = waves[1].id
        waves[3].panel_of_id = waves[2].id
        db.session.commit()
    accounts.create_user("reader", PASSWORD, Role.ANALYST, "DIST")  # sees every figure
    client.post("/auth/login", data={"username": "reader", "password": PASSWORD})
    checked = 0
    for after, before in PAIRS:
        unit = after.split("_")[0]
        for kind in ("rate", "score"):
            query = (
                f"/api/v1/changes?unit={unit}&from={waves[int(before[-1])].code}"
                f"&to={waves[int(after[-1])].code}&index=overall&kind={kind}"
            )
            answer = client.get(query)
            assert answer.status_code == 200, answer.get_data(as_text=True)
            body = answer.get_json()
            assert body["shared_psus"] is (design == "panel")
            r = golden(design, kind, after, before)
            assert body["difference"]["value"] == pytest.approx(r["estimate"], rel=1e-8)
            assert body["difference"]["se"] == pytest.approx(r["se"], rel=1e-8)
            checked += 1
    assert checked == 4
