"""Charts that explain themselves (issue 16): the ranking at equal or nearly equal n is a
caterpillar plot (estimates with 95% intervals, ordered), coloured only for units that
differ from the overall figure after Holm's adjustment; the viewed unit is the trend's
emphasised line; the kiosk monitor draws one small panel per desk."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import plotly.graph_objects as go
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from survey_app.admin import accounts
from survey_app.models import Role
from survey_app.reporting.dashboard import charts, charts_ranking
from survey_app.reporting.dashboard.ranking import ranking_page
from tests.helpers.demo_paths import client_for

pytestmark = pytest.mark.demo


def figure_of(html: str, chart_id: str) -> dict:
    found = re.search(
        rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', html, re.S
    )
    assert found, f"no {chart_id} on the page"
    return json.loads(found.group(1))


@pytest.mark.parametrize(
    ("query", "n"),
    [("unit=NA-HM&wave=HM-2018-12", 48), ("unit=QNG&group=department&wave=QN-2022", 90)],
)
def test_equal_n_gives_a_caterpillar_coloured_by_the_adjusted_flags(
    app: Flask, client: FlaskClient, query: str, n: int
) -> None:
    analyst = accounts.create_user("rank_analyst", "rank-analyst-password", Role.ANALYST)
    html = client_for(app, analyst).get(f"/dashboard/ranking?{query}").get_data(as_text=True)
    assert 'id="funnel-chart"' not in html
    figure = figure_of(html, "caterpillar-chart")
    args = dict(part.split("=") for part in query.split("&"))
    with app.test_request_context(), force_locale("vi"):
        page = ranking_page(analyst, args["unit"], args["wave"], args.get("group"), None, "vi")
    assert page.result is not None
    rows = page.result.rows
    assert {row.figure.n for row in rows} == {n}
    points = [t for t in figure["data"] if t.get("mode") == "markers"]
    shown = {name: trace for trace in points for name in trace["y"]}
    assert len(shown) == len(rows)
    grey = charts_ranking.FLAG_COLOURS[""]
    for row in rows:
        trace = shown[row.unit.name("vi")]
        i = trace["y"].index(row.unit.name("vi"))
        assert trace["x"][i] == pytest.approx(row.figure.value)
        assert trace["x"][i] + trace["error_x"]["array"][i] == pytest.approx(row.figure.ci_high)
        assert trace["x"][i] - trace["error_x"]["arrayminus"][i] == pytest.approx(row.figure.ci_low)
        coloured = trace["marker"]["color"] != grey
        assert coloured == (row.p_adjusted < 0.05), row.unit.code
    order = figure["layout"]["yaxis"]["categoryarray"]
    values = {row.unit.name("vi"): row.figure.value for row in rows}
    assert [values[name] for name in order] == sorted(values.values())


def test_units_of_unequal_n_keep_the_funnel(app: Flask, client: FlaskClient) -> None:
    analyst = accounts.create_user("rank_analyst", "rank-analyst-password", Role.ANALYST)
    with app.test_request_context(), force_locale("vi"):
        page = ranking_page(analyst, "NA-HM", "HM-2018-12", None, None, "vi")
        assert page.result is not None and charts_ranking.ranking_chart_kind(page) == "caterpillar"
        rows = list(page.result.rows)
        rows[0] = replace(rows[0], figure=replace(rows[0].figure, n=2 * rows[0].figure.n))
        unequal = replace(page, result=replace(page.result, rows=tuple(rows)))
        kind, figure = charts_ranking.ranking_chart(unequal, "vi")
    assert kind == "funnel" and "Giới hạn (95%)" in json.loads(figure).__repr__()


def test_the_unit_being_viewed_is_the_emphasised_trend_line(
    app: Flask, client: FlaskClient
) -> None:
    leader = accounts.create_user("trend_leader", "trend-leader-password", Role.LEADER, "NA-HM")
    html = client_for(app, leader).get("/dashboard/?units=HM-QT").get_data(as_text=True)
    lines = [t for t in figure_of(html, "trend-chart")["data"] if t.get("mode") == "lines+markers"]
    assert [t["name"] for t in lines] == ["Phường Quỳnh Thiện", "Thị xã Hoàng Mai"]  # on top
    ward, town = lines
    assert town["line"]["width"] > ward["line"]["width"]
    assert "dash" not in town["line"] or town["line"]["dash"] == "solid"
    assert town["line"]["color"] == charts.EMPHASIS_COLOUR != ward["line"]["color"]


def test_the_kiosk_monitor_draws_one_panel_per_desk(app: Flask, client: FlaskClient) -> None:
    leader = accounts.create_user("kiosk_leader", "kiosk-leader-password", Role.LEADER, "NA-HM")
    html = client_for(app, leader).get("/dashboard/kiosk").get_data(as_text=True)
    desks = re.findall(r'<tr data-desk="([^"]+)"', html)
    assert len(desks) >= 5
    for chart in ("volume-chart", "rate-chart"):
        figure = figure_of(html, chart)
        per_desk = [t for t in figure["data"] if t.get("showlegend") is False]
        assert len(per_desk) == len(desks)  # every desk has a response in the demo
        axes = [(t.get("xaxis", "x"), t.get("yaxis", "y")) for t in per_desk]
        assert len(set(axes)) == len(desks)  # one panel each
        titles = [a["text"] for a in figure["layout"]["annotations"]]
        assert titles == [t["name"] for t in per_desk]
        for x, y in axes:  # each panel's axes are laid out, anchored to each other
            x_axis = figure["layout"]["xaxis" + x[1:]]
            y_axis = figure["layout"]["yaxis" + y[1:]]
            assert (x_axis["anchor"], y_axis["anchor"]) == (y, x)
        # Built as plain dicts (charts_kiosk): plotly's own validation accepts every
        # property and changes nothing.
        assert json.loads(go.Figure(figure).to_json()) == figure
