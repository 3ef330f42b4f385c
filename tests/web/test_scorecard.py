"""Unit scorecards on the simulated demo province (test client)."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from survey_app.admin import accounts
from survey_app.collection import questionnaire as spec
from survey_app.extensions import db
from survey_app.models import Response, Role, Unit, Wave
from survey_app.reporting.comparisons import changes, trends
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.scorecard.card import build
from survey_app.reporting.scorecard.counts import dissatisfaction_reasons

pytestmark = pytest.mark.demo
PASSWORD = "correct-horse-battery"


def text_of(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def login(client: FlaskClient, name: str, role: Role, unit: str | None) -> None:
    accounts.create_user(name, PASSWORD, role, unit)
    client.post("/auth/login", data={"username": name, "password": PASSWORD})


def kiosk_wave() -> Wave:
    return db.session.scalar(select(Wave).where(Wave.code.like("KIOSK-NA-%")))


def test_field_survey_scorecard_in_vietnamese(client: FlaskClient) -> None:
    # An analyst: Quỳnh Dị's figures fail the reporting rule, so a leader gets no rank,
    # change or trend (tests/web/test_reporting_rule.py); an analyst sees them, flagged.
    login(client, "town", Role.ANALYST, "NA-HM")
    response = client.get("/scorecard/HM-QD/HM-2018-12")
    assert response.status_code == 200
    page = text_of(response)
    assert '<h1 id="scorecard-title">Phường Quỳnh Dị</h1>' in page
    assert 'class="lang-switch"' in page
    assert "Suy luận theo thiết kế" in page and "gia quyền: trọng số thiết kế" in page
    for aspect in ("Tiếp cận dịch vụ", "Thủ tục hành chính", "Công chức giải quyết công việc"):
        assert aspect in page
    assert "trên 10" in page  # rank among the town's ten wards and communes
    assert "So với Khảo sát SIPAS tháng 5/2018" in page and "điểm phần trăm" in page
    assert "xu hướng tăng" in page  # three waves: a trend sentence
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart"' in page
    assert page.count("<circle") == 3
    # Issue 16: each wave's interval (a whisker with caps, and the band) and its name.
    assert page.count('<path class="ci"') == 3 and "<polygon" in page
    start = page.index('class="trend-chart"')
    chart = page[start : page.index("</svg>", start)]
    assert "Khảo sát SIPAS năm 2017" in chart and "HM-2017" not in chart
    assert "10/2017" in chart
    # A field survey has no dissatisfaction item: no list of criteria as "reasons", and
    # the card says the question was not asked (it said "no reason was given").
    assert "Bảng hỏi này không hỏi lý do chưa hài lòng." in page
    assert "Không có lý do chưa hài lòng nào được nêu." not in page
    assert "Những lý do chưa hài lòng thường gặp nhất" in page
    assert "<script>" not in page and "onclick" not in page


def test_english_kiosk_scorecard_is_model_based_with_reasons(client: FlaskClient) -> None:
    login(client, "town", Role.LEADER, "NA-HM")
    page = text_of(client.get(f"/scorecard/HM-QD/{kiosk_wave().code}?lang=en"))
    assert "Model-based: self-selected kiosk and phone feedback" in page
    assert "Satisfaction at the desk" in page and "Waiting time" in page
    assert "No earlier wave of this survey for this unit." in page
    assert "Flagged for review" in page  # the simulated burst at this desk


def test_reasons_are_the_top_five_counts(app: Flask) -> None:
    wave = kiosk_wave()
    unit = db.session.scalar(select(Unit).where(Unit.code == "HM-QD"))
    definition = spec.Questionnaire.from_dict(wave.questionnaire.definition)
    counts: Counter[str] = Counter()
    rows = db.session.scalars(
        select(Response).where(Response.wave_id == wave.id, Response.unit_id == unit.id)
    )
    # Only the dissatisfaction item counts (issue 16): not the positively worded
    # criteria rated low, one of which repeated the option "waiting time".
    for response in rows:
        for code in response.answers.get("problems", []):
            counts[
                next(o.label.vi for o in definition.item("problems").options if o.code == code)
            ] += 1
    with app.test_request_context("/"):
        reasons = dissatisfaction_reasons(unit, wave, "vi", 100)
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(r.label, r.count) for r in reasons] == expected
    criteria = {definition.item(c).label.vi for c in ("fu_wait", "fu_staff", "fu_guidance")}
    assert not criteria & {r.label for r in reasons}
    assert reasons[0].share == expected[0][1] / 100


@pytest.mark.parametrize(
    ("settings", "shown"),
    [
        ({"MAX_CI_HALF_WIDTH": 0.01}, False),
        ({"MAX_CI_HALF_WIDTH": 100, "MIN_EFFECTIVE_N": 1}, True),
    ],
)
def test_reporting_rule(app_config: dict, make_app: object, settings: dict, shown: bool) -> None:
    app_config.update(settings)
    from survey_app import create_app

    application = create_app(app_config)
    client = application.test_client()
    with application.app_context():
        accounts.create_user("town", PASSWORD, Role.LEADER, "NA-HM")
    client.post("/auth/login", data={"username": "town", "password": PASSWORD})
    page = text_of(client.get("/scorecard/NA-HM/HM-2018-12"))
    assert ('class="big not-enough"' in page) is not shown
    assert ("Khoảng tin cậy 95%:" in page) is shown
    with application.app_context():
        db.session.remove()
        for engine in db.engines.values():  # the submissions engine too
            engine.dispose()


@pytest.mark.parametrize("panel", [False, True])
def test_trend_and_change_are_those_of_comparisons(app: Flask, panel: bool) -> None:
    """The scorecard's trend and change are :mod:`comparisons`' estimates (one home for
    the rule), for independent waves and for waves declared a panel (one joint design,
    whose covariances the page's figures, each wave on its own, do not hold)."""
    codes = ("HM-2017", "HM-2018-05", "HM-2018-12")
    waves = [db.session.scalar(select(Wave).where(Wave.code == code)) for code in codes]
    town = db.session.scalar(select(Unit).where(Unit.code == "NA-HM"))
    if panel:
        waves[1].panel_of_id, waves[2].panel_of_id = waves[0].id, waves[1].id
        db.session.commit()
    with app.test_request_context("/?lang=vi"):
        card = build(town, waves[-1], "vi")
        trend = trends.trend(town, waves)
        change = changes.change(town, waves[1], waves[2])
        assert card.trend_sentence == trend.sentence()
    assert card.change is not None and card.change.shared_psus is panel
    # Equal up to rounding: PostgreSQL may sum the rows in another order in each query.
    shown, expected = card.change.difference, change.difference
    assert (shown.value, shown.se, shown.p_value) == pytest.approx(
        (expected.value, expected.se, expected.p_value), rel=1e-9
    )
    same = trends.trend_of(compute(waves, [town], shared_psus=panel), town, waves)
    assert (same.slope, same.se, same.p_value) == pytest.approx(
        (trend.slope, trend.se, trend.p_value), rel=1e-9
    )
    # A result that holds other units too (the overview's series): the town's domains
    # alone give the same trend.
    among = compute(waves, [*town.children, town], shared_psus=panel)
    assert len({d.unit_id for d in among.domains}) > 1
    mixed = trends.trend_of(among, town, waves)
    assert (mixed.slope, mixed.se, mixed.p_value) == pytest.approx(
        (trend.slope, trend.se, trend.p_value), rel=1e-9
    )


def test_pdf_download_is_the_same_page(client: FlaskClient) -> None:
    login(client, "town", Role.LEADER, "NA-HM")
    response = client.get("/scorecard/HM-QD/HM-2018-12/scorecard.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert "scorecard-HM-QD-HM-2018-12.pdf" in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1  # one A4 sheet
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert abs(width - 595.3) < 1 and abs(height - 841.9) < 1
    text = reader.pages[0].extract_text()
    assert "Phường Quỳnh Dị" in text and "Thị xã Hoàng Mai" in text


def test_scope_and_roles(client: FlaskClient) -> None:
    assert client.get("/scorecard/HM-QD/HM-2018-12").status_code == 302  # to the login page
    login(client, "ward", Role.LEADER, "HM-QD")
    assert client.get("/scorecard/HM-QD/HM-2018-12").status_code == 200
    assert client.get("/scorecard/HM-MH/HM-2018-12").status_code == 404  # a sibling ward
    assert client.get("/scorecard/NA-HM/HM-2018-12").status_code == 404  # the town above
    assert client.get("/scorecard/HM-MH/HM-2018-12/scorecard.pdf").status_code == 404
    assert client.get("/scorecard/HM-QD/QN-2022").status_code == 404  # no data there
    assert client.get("/scorecard/NOPE/HM-2018-12").status_code == 404
    index = text_of(client.get("/scorecard/"))
    assert "/scorecard/HM-QD/HM-2018-12" in index and "HM-MH" not in index
    client.post("/auth/logout")
    login(client, "device", Role.KIOSK, "HM-QD")
    assert client.get("/scorecard/HM-QD/HM-2018-12").status_code == 403
