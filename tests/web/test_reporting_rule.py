"""The reporting rule reaches every page and endpoint through one role mask
(``visibility.visible``): a figure that fails it (demo: Phường Quỳnh Dị, HM-QD, 48
interviews a wave, CI too wide in every Hoàng Mai wave) reaches a leader with no value,
CI, rank, rank change, sentence or funnel point; an analyst sees it, flagged."""

from __future__ import annotations

import html
import json
import math
import re

import pytest
from flask.testing import FlaskClient
from flask_babel import format_percent
from sqlalchemy import select

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Role, Unit, User, Wave
from survey_app.reporting.dashboard.charts_ranking import funnel_chart
from survey_app.reporting.dashboard.ranking import ranking_page
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure

pytestmark = pytest.mark.demo
PASSWORD = "a-long-test-password"
HIDDEN = "HM-QD"
NAME = "Phường Quỳnh Dị"
WAVES = ("HM-2017", "HM-2018-05", "HM-2018-12")


def login(client: FlaskClient, role: Role) -> User:
    user = accounts.create_user(f"hm_{role.value}", PASSWORD, role, "NA-HM")
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return user


def the(model: type, code: str):  # type: ignore[no-untyped-def]
    return db.session.scalar(select(model).where(model.code == code))


def hidden_figure() -> IndexFigure:
    unit, wave = the(Unit, HIDDEN), the(Wave, "HM-2018-12")
    figure = compute([wave], [unit]).figure(DomainKey(unit.id, wave.id))
    assert not figure.reportable and figure.n == 48  # the demo's premise
    return figure


def percent(client: FlaskClient, value: float) -> str:
    with client.application.test_request_context("/?lang=vi"):
        return format_percent(value, format="#,##0.0%")


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.get_data(as_text=True))


def row_of(text: str, unit_code: str) -> str | None:
    found = re.search(rf'<tr data-unit="{unit_code}">(.*?)</tr>', text, re.S)
    return found.group(1) if found else None


def funnel_names(user: User) -> set[str]:
    ranking = ranking_page(user, "NA-HM", "HM-2018-12", None, None, "vi")
    chart = json.loads(funnel_chart(ranking, "vi"))
    return {name for trace in chart["data"] for name in trace.get("text") or []}


@pytest.mark.parametrize("role", [Role.LEADER, Role.ANALYST, Role.ADMIN])
def test_every_page_masks_a_figure_failing_the_rule_for_leaders_only(
    client: FlaskClient, role: Role
) -> None:
    figure = hidden_figure()
    value = percent(client, figure.value)
    user = login(client, role)
    sees = role != Role.LEADER

    # Overview of the commune: its headline figure and its trend sentence.
    overview = page(client, f"/dashboard/?unit={HIDDEN}")
    assert (value in overview) is sees
    assert "chưa đủ dữ liệu" in overview
    trend_sentence = re.search(r"xu hướng (tăng|giảm)", overview)  # "Qua cả 3 đợt: …"
    assert (trend_sentence is not None) is sees
    # Drill-down of the town: the commune's row.
    drill = page(client, "/dashboard/unit/NA-HM?wave=HM-2018-12")
    assert NAME in drill and (value in drill) is sees
    # Compare two communes.
    compare = page(
        client,
        f"/dashboard/compare?mode=units&unit_a={HIDDEN}&unit_b=HM-MH&wave_a=HM-2018-12",
    )
    assert (value in compare) is sees and "chưa đủ dữ liệu" in compare
    # Ranking: no rank, no rank change, no sentence, no funnel point for a leader.
    ranking = page(client, "/dashboard/ranking?unit=NA-HM&wave=HM-2018-12")
    row = row_of(ranking, HIDDEN)
    highlights = re.search(r'<ul class="highlights">(.*?)</ul>', ranking, re.S)
    if sees:
        assert row is not None and value in row and "chưa đủ dữ liệu" in row
        assert NAME in funnel_names(user)
    else:
        assert row is None and value not in ranking
        assert NAME in re.search(r'<p id="not-ranked">(.*?)</p>', ranking, re.S).group(1)
        assert highlights is None or NAME not in highlights.group(1)
        assert NAME not in funnel_names(user)
        ranks = sorted(int(r) for r in re.findall(r'<td class="num rank">(\d+)</td>', ranking))
        assert ranks == list(range(1, len(ranks) + 1))  # no gap where the commune was
    # Scorecard: the value, the rank and the change.
    card = page(client, f"/scorecard/{HIDDEN}/HM-2018-12")
    assert (value in card) is sees
    assert (re.search(r'<p class="rank"><strong>\d+ trên \d+</strong>', card) is not None) is sees


@pytest.mark.parametrize("role", [Role.LEADER, Role.ANALYST])
def test_every_endpoint_masks_a_figure_failing_the_rule_for_leaders_only(
    client: FlaskClient, role: Role
) -> None:
    figure = hidden_figure()
    login(client, role)
    sees = role != Role.LEADER

    table = client.get(f"/api/v1/indices?unit={HIDDEN}&wave=HM-2018-12&index=overall&kind=rate")
    (shown,) = table.get_json()["figures"]
    assert shown["reportable"] is False and shown["n"] == 48
    if sees:
        assert shown["value"] == pytest.approx(figure.value, rel=1e-12)
    else:
        assert all(shown[k] is None for k in ("value", "se", "ci_low", "ci_high", "df"))

    change = client.get(f"/api/v1/changes?unit={HIDDEN}&from=HM-2018-05&to=HM-2018-12")
    body = change.get_json()
    assert change.status_code == 200
    assert (body["after"]["value"] is not None) is sees
    assert (body["difference"] is not None and body["sentence"] is not None) is sees

    waves = "&".join(f"wave={w}" for w in WAVES)
    trend = client.get(f"/api/v1/trends?unit={HIDDEN}&{waves}").get_json()
    assert all((f["value"] is not None) is sees for f in trend["figures"])
    assert (trend["slope_per_year"] is not None and trend["sentence"] is not None) is sees

    ranking = client.get(
        "/api/v1/rankings?parent=NA-HM&wave=HM-2018-12&previous=HM-2018-05"
    ).get_json()
    rows = {row["unit"]: row for row in ranking["rows"]}
    if sees:
        assert rows[HIDDEN]["reportable"] is False and rows[HIDDEN]["rank"] >= 1
        assert ranking["not_ranked"] == []
    else:
        assert HIDDEN not in rows and HIDDEN in ranking["not_ranked"]
        assert all(row["reportable"] for row in rows.values())
        assert sorted(r["rank"] for r in rows.values()) == list(range(1, len(rows) + 1))
        # previous ranks only among communes meeting the rule in the previous wave too
        previous = [r["previous_rank"] for r in rows.values() if r["previous_rank"] is not None]
        assert sorted(previous) == list(range(1, len(previous) + 1))
        assert not any(math.isnan(r["value"]) for r in rows.values())
