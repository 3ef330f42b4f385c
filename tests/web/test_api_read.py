"""GET /api/v1/indices, /changes, /trends and /rankings: figures, scope and errors."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Role, Unit, UnitKind, Wave, WaveKind
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey
from tests.helpers.accounts import login

pytestmark = pytest.mark.demo


def test_anonymous_and_kiosk_users_are_refused(client: FlaskClient) -> None:
    anonymous = client.get("/api/v1/indices?unit=NA-HM&wave=HM-2017")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "unauthorized"
    login(client, "tablet", Role.KIOSK, None)
    assert client.get("/api/v1/indices?unit=NA-HM&wave=HM-2017").status_code == 403


def test_indices_equal_the_service_and_respect_scope(client: FlaskClient) -> None:
    login(client, "hm_leader", Role.LEADER, "NA-HM")
    body = client.get(
        "/api/v1/indices?unit=NA-HM&unit=HM-QT&wave=HM-2018-12&index=overall&kind=rate"
    ).get_json()
    units = [db.session.scalar(select(Unit).where(Unit.code == c)) for c in ("NA-HM", "HM-QT")]
    wave = db.session.scalar(select(Wave).where(Wave.code == "HM-2018-12"))
    expected = compute([wave], units)
    assert {(f["unit"], f["index"], f["kind"]) for f in body["figures"]} == {
        ("NA-HM", "overall", "rate"),
        ("HM-QT", "overall", "rate"),
    }
    for figure in body["figures"]:
        unit = next(u for u in units if u.code == figure["unit"])
        ours = expected.figure(DomainKey(unit.id, wave.id))
        if ours.reportable:
            assert figure["value"] == pytest.approx(ours.value, rel=1e-12)
            assert figure["ci_low"] == pytest.approx(ours.ci_low, rel=1e-12)
        else:  # the reporting rule: a leader gets no value (tests/web/test_reporting_rule.py)
            assert figure["value"] is None and figure["ci_low"] is None
        assert figure["n"] == ours.n and figure["inference"] == "design-based"
    outside = client.get("/api/v1/indices?unit=QNG&wave=QN-2022")
    assert outside.status_code == 404 and "QNG" in outside.get_json()["message"]


def test_indices_breakdown_by_channel(client: FlaskClient) -> None:
    login(client, "admin2", Role.ADMIN, None)
    wave = db.session.scalars(select(Wave).where(Wave.code.startswith("KIOSK-NA"))).one()
    body = client.get(
        f"/api/v1/indices?unit=NA&wave={wave.code}&by=channel&index=overall&kind=rate"
    ).get_json()
    assert {f["channel"] for f in body["figures"]} == {"kiosk", "phone"}
    assert all(f["inference"] == "model-based" for f in body["figures"])


def test_change_and_trend_tell_the_hoang_mai_story(client: FlaskClient) -> None:
    login(client, "hm_leader", Role.LEADER, "NA-HM")
    vi = client.get("/api/v1/changes?unit=NA-HM&from=HM-2017&to=HM-2018-05").get_json()
    assert vi["significant"] is True and vi["difference"]["value"] > 0
    assert vi["sentence"].startswith("tăng ") and "có ý nghĩa thống kê" in vi["sentence"]
    en = client.get("/api/v1/changes?unit=NA-HM&from=HM-2017&to=HM-2018-05&lang=en").get_json()
    assert en["sentence"].startswith("rose by ")
    trend = client.get(
        "/api/v1/trends?unit=NA-HM&wave=HM-2017&wave=HM-2018-05&wave=HM-2018-12"
    ).get_json()
    assert trend["slope_per_year"] > 0 and trend["p_value"] < 0.05
    assert len(trend["figures"]) == 3


def test_ranking_of_quang_ngai_departments(client: FlaskClient) -> None:
    login(client, "qn_leader", Role.LEADER, "QNG")
    body = client.get(
        "/api/v1/rankings?parent=QNG&wave=QN-2022&previous=QN-2021&unit_kind=department"
    ).get_json()
    rows = body["rows"]
    assert len(rows) == 18 and [r["rank"] for r in rows] == list(range(1, 19))
    labour = next(r for r in rows if r["unit"] == "QNG-SLDTBXH")
    assert labour["rank_low"] <= labour["rank"] <= labour["rank_high"]
    assert labour["rank_change"] == labour["previous_rank"] - labour["rank"]
    assert body["multiple_comparisons"] == "holm" and body["funnel"]["n_eff"]


def test_a_ranking_leaves_out_units_without_answers_as_the_page_does(
    client: FlaskClient,
) -> None:
    """Most departments have no kiosk: the page ranks those that have answers, and the
    API once refused the whole ranking (422, "no data for …" and 16 codes)."""
    login(client, "qn_analyst", Role.ANALYST, "QNG")
    qng = db.session.scalar(select(Unit).where(Unit.code == "QNG"))
    kiosk = db.session.scalar(
        select(Wave).where(Wave.kind == WaveKind.CONTINUOUS_FEEDBACK, Wave.unit_id == qng.id)
    )
    query = f"parent=QNG&wave={kiosk.code}&unit_kind=department"
    answer = client.get(f"/api/v1/rankings?{query}")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    ranked = {row["unit"] for row in body["rows"]}
    page = client.get(f"/dashboard/ranking?unit=QNG&group=department&wave={kiosk.code}")
    assert ranked == set(re.findall(r'<tr[^>]*data-unit="([^"]+)"', page.get_data(as_text=True)))
    departments = {u.code for u in qng.children if u.kind == UnitKind.DEPARTMENT}
    assert len(ranked) >= 2 and ranked.isdisjoint(body["no_data"])
    assert ranked | set(body["no_data"]) == departments and len(body["no_data"]) > len(ranked)
    # One district with a kiosk: no ranking, said as the page says it, in either language.
    for lang, said in (("en", "At least two units with answers"), ("vi", "Cần ít nhất hai")):
        one = client.get(f"/api/v1/rankings?parent=QNG&wave={kiosk.code}&unit_kind=district"
                         f"&lang={lang}")  # fmt: skip
        assert one.status_code == 422 and one.get_json()["message"].startswith(said), lang


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("/api/v1/indices?wave=HM-2017", 400),
        ("/api/v1/indices?unit=NA-HM", 400),
        ("/api/v1/indices?unit=NOPE&wave=HM-2017", 404),
        ("/api/v1/indices?unit=NA-HM&wave=NOPE", 404),
        ("/api/v1/indices?unit=NA-HM&wave=HM-2017&index=aspect:nope", 400),
        ("/api/v1/indices?unit=NA-HM&wave=HM-2017&kind=median", 400),
        ("/api/v1/indices?unit=NA-HM&wave=HM-2017&by=colour", 400),
        ("/api/v1/indices?unit=NA-HM&wave=HM-2017&field=NOPE", 404),
        ("/api/v1/trends?unit=NA-HM&wave=HM-2017&wave=HM-2018-05", 422),
        ("/api/v1/rankings?parent=NA-HM&wave=HM-2018-12&unit_kind=planet", 400),
    ],
)
def test_bad_parameters_are_clear_4xx(client: FlaskClient, query: str, status: int) -> None:
    login(client, "admin2", Role.ADMIN, None)
    response = client.get(query)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["message"]


@pytest.mark.parametrize(
    ("query", "missing"),
    [
        ("/api/v1/changes?unit=NA-HM&from=HM-2017", "to"),
        ("/api/v1/changes?unit=NA-HM&to=HM-2017", "from"),
        ("/api/v1/changes?from=HM-2017&to=HM-2018-12", "unit"),
        ("/api/v1/trends?wave=HM-2017&wave=HM-2018-05&wave=HM-2018-12", "unit"),
        ("/api/v1/rankings?wave=HM-2018-12", "parent"),
        ("/api/v1/rankings?parent=NA-HM&wave=", "wave"),
    ],
)
def test_a_missing_parameter_is_named(client: FlaskClient, query: str, missing: str) -> None:
    """A documented parameter left out is a 400 that names it, in the reader's language
    (it was a 404 for a unit or wave with an empty code: "Unknown wave: ")."""
    login(client, "admin2", Role.ADMIN, None)
    for lang, message in (("en", f"Give the parameter {missing}."),
                          ("vi", f"Hãy nêu tham số {missing}.")):  # fmt: skip
        response = client.get(f"{query}&lang={lang}")
        assert response.status_code == 400, response.get_json()
        assert response.get_json() == {"error": "missing_parameter", "message": message}


def test_mixing_field_survey_and_feedback_is_refused(client: FlaskClient) -> None:
    login(client, "admin2", Role.ADMIN, None)
    kiosk = db.session.scalars(select(Wave).where(Wave.code.startswith("KIOSK-NA"))).one()
    response = client.get(f"/api/v1/indices?unit=NA&wave=HM-2017&wave={kiosk.code}")
    assert response.status_code == 422 and response.get_json()["error"] == "cannot_compute"


def test_openapi_documents_the_read_endpoints(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert {"/indices", "/changes", "/trends", "/rankings"} <= set(document["paths"])


def test_indices_say_which_pairs_have_no_answers_and_why(client: FlaskClient) -> None:
    """A unit and wave without answers was left out of "figures" without a word: a script
    asking for a department's kiosk feedback got {"figures": []} and could not tell an
    empty answer from a failure."""
    login(client, "qn_leader", Role.LEADER, "QNG")
    kiosk = db.session.scalars(select(Wave).where(Wave.code.startswith("KIOSK-QNG"))).one()
    departments = db.session.scalars(
        select(Unit).where(Unit.kind == UnitKind.DEPARTMENT, Unit.code.startswith("QNG-"))
    ).all()
    codes = sorted(u.code for u in departments)
    query = "&".join(f"unit={code}" for code in codes)
    body = client.get(f"/api/v1/indices?{query}&wave={kiosk.code}&index=overall&kind=rate")
    assert body.status_code == 200
    answered = {f["unit"] for f in body.get_json()["figures"]}
    missing = body.get_json()["no_data"]
    # every unit asked for is a figure or listed with its reason, never both
    assert answered | {m["unit"] for m in missing} == set(codes)
    assert not answered & {m["unit"] for m in missing}
    with_answers = {d.unit_id for d in compute([kiosk], list(departments)).domains}
    assert answered == {u.code for u in departments if u.id in with_answers}
    assert missing and answered  # the demo's departments: some have kiosks, most not
    first = missing[0]
    assert first["wave"] == kiosk.code
    assert first["message"] == f"{first['unit']} không có câu trả lời nào trong đợt {kiosk.code}."

    english = client.get(
        f"/api/v1/indices?unit={first['unit']}&wave={kiosk.code}&lang=en&channel=kiosk"
    ).get_json()
    assert english == {
        "figures": [],
        "no_data": [
            {
                "unit": first["unit"],
                "wave": kiosk.code,
                "message": f"{first['unit']} has no answers in wave {kiosk.code} for the "
                "procedure field or channel asked for.",
            }
        ],
    }
    field_survey = client.get(f"/api/v1/indices?{query}&wave=QN-2022&index=overall").get_json()
    assert field_survey["figures"] and field_survey["no_data"] == []  # all were surveyed
