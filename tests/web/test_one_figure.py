"""One figure, one interval, everywhere (issue 13): Hoàng Mai town's overall rate in
the three SIPAS waves is the same number wherever it is shown.

The reference is /api/v1/indices. Numbers read from JSON agree to 1e-12; pages agree to
the digits they print (Vietnamese: "78,0%", "75,5% – 80,2%"); the CSV download to its
two decimals of a percentage. Before the waves declared whether they are a panel, the
compare page and /changes pooled independent waves into one design and printed
75,4–80,4% where the overview printed 75,5–80,2%.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import math
from typing import Any

import pytest
from flask.testing import FlaskClient

from survey_app.admin import accounts
from survey_app.models import Role

pytestmark = pytest.mark.demo
PASSWORD = "a-long-test-password"
WAVES = ("HM-2017", "HM-2018-05", "HM-2018-12")
KEYS = ("value", "se", "ci_low", "ci_high", "df", "n", "n_eff")


def login(client: FlaskClient) -> None:
    # An analyst sees every figure (a leader's are masked by the reporting rule).
    accounts.create_user("town_analyst", PASSWORD, Role.ANALYST, "NA-HM")
    response = client.post("/auth/login", data={"username": "town_analyst", "password": PASSWORD})
    assert response.status_code == 302


def get_json(client: FlaskClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, (url, response.get_data(as_text=True))
    return response.get_json()


def reference(client: FlaskClient, unit: str, waves: tuple[str, ...] = WAVES) -> dict:
    query = "&".join(f"wave={w}" for w in waves)
    body = get_json(client, f"/api/v1/indices?unit={unit}&{query}&index=overall&kind=rate")
    return {f["wave"]: f for f in body["figures"]}


def same(figure: dict, expected: dict) -> None:
    for key in KEYS:
        assert figure[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-12), key


def pct(value: float) -> str:
    """A rate as the Vietnamese pages print it: 0.7552 -> "75,5"."""
    return f"{value * 100:.1f}".replace(".", ",")


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.get_data(as_text=True))


def test_town_overall_rate_is_one_figure_everywhere(client: FlaskClient) -> None:
    login(client)
    ref = reference(client, "NA-HM")
    assert set(ref) == set(WAVES)

    # /changes reports the figures before and after; the waves are independent samples,
    # so the difference's SE is sqrt(se1² + se2²).
    for before, after in itertools.pairwise(WAVES):
        change = get_json(client, f"/api/v1/changes?unit=NA-HM&from={before}&to={after}")
        same(change["before"], ref[before])
        same(change["after"], ref[after])
        assert change["shared_psus"] is False
        expected_se = math.hypot(ref[before]["se"], ref[after]["se"])
        assert change["difference"]["se"] == pytest.approx(expected_se, rel=1e-12)
        assert change["difference"]["value"] == pytest.approx(
            ref[after]["value"] - ref[before]["value"], abs=1e-12
        )

    query = "&".join(f"wave={w}" for w in WAVES)
    trend = get_json(client, f"/api/v1/trends?unit=NA-HM&{query}")
    assert [f["wave"] for f in trend["figures"]] == list(WAVES)
    for figure in trend["figures"]:
        same(figure, ref[figure["wave"]])

    # Pages: the digits they print.
    latest = ref["HM-2018-12"]
    overview = page(client, "/dashboard/")
    assert f"{pct(latest['value'])}%" in overview
    assert f"{pct(latest['ci_low'])}% – {pct(latest['ci_high'])}%" in overview
    for code, figure in ref.items():
        scorecard = page(client, f"/scorecard/NA-HM/{code}")
        assert f"{pct(figure['value'])}%" in scorecard
        assert f"{pct(figure['ci_low'])}–{pct(figure['ci_high'])}%" in scorecard
    for before, after in itertools.pairwise(WAVES):
        compare = page(
            client, f"/dashboard/compare?mode=waves&unit_a=NA-HM&wave_a={before}&wave_b={after}"
        )
        for figure in (ref[before], ref[after]):
            assert f"{pct(figure['value'])}%" in compare
            assert f"{pct(figure['ci_low'])}% – {pct(figure['ci_high'])}%" in compare

    # The dashboard's table download: two decimals of a percentage.
    response = client.get("/dashboard/download/overview.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert len(rows) == 1 + len(WAVES)
    for row, code in zip(rows[1:], WAVES, strict=True):
        figure = ref[code]
        assert float(row[2]) == round(figure["value"] * 100, 2)
        assert float(row[3]) == round(figure["ci_low"] * 100, 2)
        assert float(row[4]) == round(figure["ci_high"] * 100, 2)
        assert int(row[5]) == figure["n"]


def test_each_commune_ranks_with_its_own_figure(client: FlaskClient) -> None:
    login(client)
    body = get_json(client, "/api/v1/rankings?parent=NA-HM&wave=HM-2018-12")
    rows = body["rows"]
    assert len(rows) >= 2 and not body["not_ranked"]
    for row in rows:
        same(row, reference(client, row["unit"], ("HM-2018-12",))["HM-2018-12"])
