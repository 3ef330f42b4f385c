"""The leaders' dashboard (test client): scope on every route, numbers equal to the
services' figures, downloads, formats in Vietnamese and English, "not enough data"."""

from __future__ import annotations

import csv
import gzip
import html
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import func, select

from analysis.indices import difference
from survey_app import formatting
from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Desk, Response, Role, Unit, Wave
from survey_app.reporting import figure_store
from survey_app.reporting.comparisons import changes, rankings, wording
from survey_app.reporting.dashboard import figures
from survey_app.reporting.dashboard.kiosk import MONITOR_DAYS
from survey_app.reporting.dashboard.overview import latest_changes
from survey_app.reporting.dashboard.scope import children
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey

PASSWORD = "correct-horse-battery"

# Every dashboard page and download, each with a query that names something outside
# the scope of a leader of Hoàng Mai town (NA-HM).
OUTSIDE_SCOPE = [
    "/dashboard/?unit=QNG",
    "/dashboard/?units=QNG-STP",
    "/dashboard/unit/QNG",
    "/dashboard/unit/HM-QT?wave=QN-2022",
    "/dashboard/ranking?unit=QNG",
    "/dashboard/compare?unit_a=QNG-STP",
    "/dashboard/compare?mode=units&unit_a=NA-HM&unit_b=QNG-STP&wave_a=QN-2022",
    "/dashboard/kiosk?unit=QNG",
    "/dashboard/download/overview.csv?unit=QNG",
    "/dashboard/download/unit.csv?unit=QNG",
    "/dashboard/download/unit.xlsx?unit=QNG-BS",
    "/dashboard/download/ranking.csv?unit=QNG",
    "/dashboard/download/compare.xlsx?unit_a=QNG",
    "/dashboard/download/kiosk.csv?unit=QNG",
]
IN_SCOPE = [
    "/dashboard/",
    "/dashboard/unit/NA-HM",
    "/dashboard/ranking",
    "/dashboard/compare",
    "/dashboard/kiosk",
    "/dashboard/download/unit.csv?unit=HM-QT",
]


def text_of(response: Any) -> str:
    """The page's text with entities decoded (``p &lt; 0,001`` reads ``p < 0,001``)."""
    return html.unescape(response.get_data(as_text=True))


def login(client: FlaskClient, role: Role = Role.LEADER, unit: str | None = "NA-HM") -> None:
    name = f"{role.value}_{unit or 'all'}".lower()
    accounts.create_user(name, PASSWORD, role, unit)
    response = client.post("/auth/login", data={"username": name, "password": PASSWORD})
    assert response.status_code == 302


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def wave(code: str) -> Wave:
    return db.session.scalar(select(Wave).where(Wave.code == code))


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # said once
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # spreadsheet programs read UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def plotly_figure(page: str, chart_id: str) -> dict[str, Any]:
    match = re.search(
        rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', page, re.S
    )
    assert match, chart_id
    return json.loads(match.group(1))


# ----------------------------------------------------------------------------- access


def test_anonymous_and_kiosk_users_are_refused_everywhere(client: FlaskClient) -> None:
    paths = [p.split("?")[0] for p in IN_SCOPE] + ["/dashboard/download/kiosk.xlsx"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    login(client, Role.KIOSK, None)
    for path in paths:
        assert client.get(path).status_code == 403, path


def test_empty_platform_shows_an_empty_dashboard(client: FlaskClient) -> None:
    login(client, Role.ADMIN, None)
    assert "Chưa có đơn vị nào" in text_of(client.get("/dashboard/"))
    assert client.get("/dashboard/download/overview.csv").status_code == 404


def test_plotly_is_served_by_the_app_with_cache_headers(client: FlaskClient) -> None:
    import plotly

    response = client.get(f"/assets/plotly.min.js?v={plotly.__version__}")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.cache_control.max_age == 365 * 24 * 3600
    assert response.cache_control.public
    assert b"plotly" in response.get_data()[:2000].lower()
    again = client.get("/assets/plotly.min.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    # A browser that accepts gzip gets the same bundle compressed (a third of the bytes),
    # as another representation: its own ETag, and caches told that it varies.
    plain = response.get_data()
    assert "Content-Encoding" not in response.headers
    packed = client.get("/assets/plotly.min.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain and len(packed.get_data()) < len(plain) / 2
    assert (
        "Accept-Encoding" in packed.headers["Vary"]
        and "Accept-Encoding" in response.headers["Vary"]
    )
    assert packed.headers["ETag"] != response.headers["ETag"]
    assert (
        client.get("/assets/plotly.min.js", headers={"Accept-Encoding": "gzip;q=0"}).get_data()
        == plain
    )


@pytest.mark.demo
def test_a_leader_is_refused_outside_their_scope_on_every_route(client: FlaskClient) -> None:
    login(client)
    for path in OUTSIDE_SCOPE:
        response = client.get(path)
        assert response.status_code in (403, 404), path
        body = text_of(response) if response.mimetype == "text/html" else ""
        assert "Quảng Ngãi" not in body and "Sở Tư pháp" not in body, path
    assert client.get("/dashboard/unit/NO-SUCH-UNIT").status_code == 404
    assert client.get("/dashboard/download/nothing.csv").status_code == 404
    assert client.get("/dashboard/download/kiosk.pdf").status_code == 404
    for path in IN_SCOPE:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data().decode("utf-8-sig")
        assert "Quảng Ngãi" not in body and "Sở Tư pháp" not in body, path


# ----------------------------------------------------------------------------- overview


@pytest.mark.demo
def test_overview_numbers_equal_the_index_service(app: Flask, client: FlaskClient) -> None:
    login(client)
    town = unit("NA-HM")
    waves = [wave(c) for c in ("HM-2017", "HM-2018-05", "HM-2018-12")]
    page = text_of(client.get("/dashboard/?units=HM-QT"))
    with app.test_request_context("/?lang=vi"):
        result = compute(waves, [town])
        latest = result.figure(DomainKey(town.id, waves[-1].id))
        step = changes.change(town, waves[1], waves[2])
        expected = [
            formatting.percent(latest.value),
            formatting.percent(latest.ci_low),
            formatting.percent(latest.ci_high),
            step.sentence(),
        ]
    for text in expected:
        assert text in page
    assert "n = 480" in page and "suy luận theo thiết kế mẫu" in page
    assert "suy luận theo mô hình" in page  # the kiosk feedback card says so
    figure = plotly_figure(page, "trend-chart")
    names = [trace["name"] for trace in figure["data"]]
    assert "Thị xã Hoàng Mai" in names and "Phường Quỳnh Thiện" in names
    line = next(t for t in figure["data"] if t["name"] == "Thị xã Hoàng Mai")
    assert line["y"] == pytest.approx(
        [result.figure(DomainKey(town.id, w.id)).value for w in waves]
    )
    assert figure["layout"]["separators"] == ",."
    assert 'src="/assets/plotly.min.js?v=' in page and "<script>" not in page


@pytest.mark.demo
def test_latest_changes_equal_comparisons_change(app: Flask) -> None:
    town, ward = unit("NA-HM"), unit("HM-QT")
    before, after = wave("HM-2018-05"), wave("HM-2018-12")
    with app.test_request_context("/?lang=vi"):
        app.config["MIN_EFFECTIVE_N"] = 1
        app.config["MAX_CI_HALF_WIDTH"] = 100
        lines = {c.unit.code: c for c in latest_changes([town, ward], before, after)}
        for code in ("NA-HM", "HM-QT"):
            one = changes.change(unit(code), before, after)
            assert lines[code].difference.value == pytest.approx(one.difference.value, abs=1e-12)
            assert lines[code].difference.se == pytest.approx(one.difference.se, rel=1e-9)
            assert lines[code].difference.p_value == pytest.approx(one.difference.p_value)
            assert lines[code].sentence() == one.sentence()


@pytest.mark.demo
def test_trend_download_csv_and_xlsx_hold_the_same_figures(app: Flask, client: FlaskClient) -> None:
    login(client)
    town = unit("NA-HM")
    waves = [wave(c) for c in ("HM-2017", "HM-2018-05", "HM-2018-12")]
    result = compute(waves, [town])
    rows = read_csv(client.get("/dashboard/download/overview.csv"))
    assert rows[0][:4] == ["Đơn vị", "Đợt", "Chỉ số (%)", "Cận dưới KTC 95%"]
    assert [r[1] for r in rows[1:]] == [w.name_vi for w in waves]
    for row, w in zip(rows[1:], waves, strict=True):
        figure = result.figure(DomainKey(town.id, w.id))
        assert float(row[2]) == round(figure.value * 100, 2)
        assert float(row[3]) == round(figure.ci_low * 100, 2)
        assert int(row[5]) == figure.n
    response = client.get("/dashboard/download/overview.xlsx?lang=en")
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = list(sheet.values)
    assert values[0][:3] == ("Unit", "Wave", "Index (%)")
    assert [v[1] for v in values[1:]] == [w.name_en for w in waves]
    assert values[3][2] == round(result.figure(DomainKey(town.id, waves[2].id)).value * 100, 2)


@pytest.mark.demo
def test_formats_follow_the_language(app: Flask, client: FlaskClient) -> None:
    login(client)
    town, latest = unit("NA-HM"), wave("HM-2018-12")
    value = compute([latest], [town]).figure(DomainKey(town.id, latest.id)).value
    points = f"{value * 100:.1f}"
    vi = text_of(client.get("/dashboard/?lang=vi"))
    assert points.replace(".", ",") + "%" in vi and "03/12/2018" in vi
    en = text_of(client.get("/dashboard/?lang=en"))
    assert points + "%" in en and "Dec 3, 2018" in en and "Latest results" in en
    assert plotly_figure(en, "trend-chart")["layout"]["separators"] == ".,"


# ----------------------------------------------------------------------------- drill-down


@pytest.mark.demo
def test_drill_down_with_breadcrumbs_filters_and_not_enough_data(client: FlaskClient) -> None:
    accounts.create_user("ward_leader", PASSWORD, Role.LEADER, "HM-QT")
    login(client)
    page = text_of(client.get("/dashboard/unit/NA-HM?wave=HM-2018-12"))
    assert 'href="/dashboard/unit/HM-QT?wave=HM-2018-12' in page
    ward_page = text_of(client.get("/dashboard/unit/HM-QT?wave=HM-2018-12"))
    assert 'aria-label="Cấp đơn vị"' in ward_page
    assert '<a href="/dashboard/unit/NA-HM">Thị xã Hoàng Mai</a>' in ward_page
    assert "Tỉnh Nghệ An" not in ward_page  # above the leader's scope: not a crumb
    ward, latest = unit("HM-QT"), wave("HM-2018-12")
    figure = compute([latest], [ward]).figure(DomainKey(ward.id, latest.id))
    assert not figure.reportable  # 48 answers in 4 groups: the CI is too wide
    overall_row = re.search(r'<tr class="overall">(.*?)</tr>', ward_page, re.S).group(1)
    satisfied_cell = re.findall(r"<td>(.*?)</td>", overall_row, re.S)[0]
    assert "chưa đủ dữ liệu" in satisfied_cell and "%" not in satisfied_cell
    assert '<td class="num">48</td>' in overall_row  # n is still stated
    rows = read_csv(client.get("/dashboard/download/unit.csv?unit=HM-QT&wave=HM-2018-12"))
    assert rows[1][2] == "" and rows[1][-1] == "chưa đủ dữ liệu" and rows[1][5] == "48"
    field_code = "HT"
    filtered = client.get(f"/dashboard/unit/NA-HM?wave=HM-2018-12&field={field_code}")
    assert filtered.status_code == 200 and "selected>Tư pháp" in text_of(filtered)
    assert client.get("/dashboard/unit/NA-HM?field=nope").status_code == 404
    assert client.get("/dashboard/unit/NA-HM?channel=fax").status_code == 404
    kiosk = text_of(client.get("/dashboard/unit/NA-HM?channel=kiosk"))
    assert "suy luận theo mô hình" in kiosk


@pytest.mark.demo
def test_field_filter_equals_the_service(app: Flask, client: FlaskClient) -> None:
    from survey_app.models import ProcedureField

    login(client)
    town, latest = unit("NA-HM"), wave("HM-2018-12")
    land = db.session.scalar(select(ProcedureField).where(ProcedureField.code == "DD"))
    figure = compute([latest], [town], field_id=land.id).figure(DomainKey(town.id, latest.id))
    rows = read_csv(client.get("/dashboard/download/unit.csv?unit=NA-HM&wave=HM-2018-12&field=DD"))
    assert int(rows[1][5]) == figure.n
    if figure.reportable:
        assert float(rows[1][2]) == round(figure.value * 100, 2)


@pytest.fixture
def strict_rule(app_config: dict[str, Any]) -> None:
    app_config["MIN_EFFECTIVE_N"] = 100000


@pytest.mark.demo
def test_reporting_rule_setting_hides_every_figure(strict_rule: None, client: FlaskClient) -> None:
    login(client)
    page = text_of(client.get("/dashboard/"))
    assert page.count("chưa đủ dữ liệu") >= 6
    assert not re.search(r"<strong class=\"figure\">", page)
    rows = read_csv(client.get("/dashboard/download/overview.csv"))
    assert all(row[2] == "" and row[-1] == "chưa đủ dữ liệu" for row in rows[1:])


# ----------------------------------------------------------------------------- ranking


@pytest.mark.demo
def test_quang_ngai_ranking_page(app: Flask, client: FlaskClient) -> None:
    login(client, unit="QNG")
    page = text_of(client.get("/dashboard/ranking?unit=QNG&group=department&wave=QN-2022"))
    province = unit("QNG")
    departments = [u for u in children(province) if u.kind.value == "department"]
    with app.test_request_context("/?lang=vi"):
        result = rankings.ranking(
            departments, wave("QN-2022"), province, previous_wave=wave("QN-2021")
        )
    labour = next(r for r in result.rows if r.unit.code == "QNG-SLDTBXH")
    row = re.search(r'<tr data-unit="QNG-SLDTBXH">(.*?)</tr>', page, re.S).group(1)
    assert f'<td class="num rank">{labour.rank}</td>' in row
    assert f"{labour.rank_low}–{labour.rank_high}" in row
    assert f"▲ {labour.rank_change}" in row and f"trước là {labour.previous_rank}" in row
    assert "hiệu chỉnh so sánh bội theo phương pháp Holm" in page
    sentence = (
        f"Sở Lao động – Thương binh và Xã hội tăng từ hạng {labour.previous_rank} "
        f"lên hạng {labour.rank}; khoảng thứ hạng 95% là {labour.rank_low}–{labour.rank_high}"
    )
    risers = [r for r in result.rows if (r.rank_change or 0) >= 3][:4]
    assert (sentence in page) == (labour in risers)
    assert 'ul class="highlights"' in page
    # Every department has n = 90: a caterpillar plot, not a funnel (issue 16).
    assert 'id="funnel-chart"' not in page
    caterpillar = plotly_figure(page, "caterpillar-chart")
    points = [t for t in caterpillar["data"] if t.get("mode") == "markers"]
    assert sum(len(t["x"]) for t in points) == len(departments)
    shown = sorted(x for t in points for x in t["x"])
    assert shown == pytest.approx(sorted(r.figure.value for r in result.rows))
    rows = read_csv(client.get("/dashboard/download/ranking.csv?unit=QNG&wave=QN-2022"))
    assert len(rows) == len(departments) + 1
    labour_row = next(r for r in rows if r[4] == "Sở Lao động – Thương binh và Xã hội")
    assert labour_row[:4] == [
        str(labour.rank),
        f"{labour.rank_low}–{labour.rank_high}",
        str(labour.previous_rank),
        str(labour.rank_change),
    ]
    districts = text_of(client.get("/dashboard/ranking?unit=QNG&group=district&wave=QN-2022"))
    assert "Huyện Bình Sơn" in districts and "Sở Tư pháp" not in districts
    assert client.get("/dashboard/ranking?unit=QNG&group=nothing").status_code == 404
    assert client.get("/dashboard/ranking?unit=QNG&index=aspect:nope").status_code == 404


@pytest.mark.demo
def test_a_tables_shared_design_is_stated_once_not_on_every_row(client: FlaskClient) -> None:
    """Every row of the unit page's tables repeated the wave's inference and lonely-PSU
    rule (and the index table its weighting): 18 departments, 18 identical sentences."""
    login(client, unit="QNG")
    page = text_of(client.get("/dashboard/unit/QNG?wave=QN-2022"))
    rule = "suy luận theo thiết kế mẫu; tầng chỉ có một PSU: adjust"
    groups = re.findall(r'<section aria-labelledby="group-', page)
    assert len(groups) == 2  # departments and districts
    # once above the index table, once under each group's table
    assert page.count(rule) == 1 + len(groups)
    assert page.count("Cách suy luận cho mọi đơn vị trên: " + rule) == len(groups)
    assert '<th scope="col">Cách suy luận</th>' not in page
    assert '<th scope="col">Trọng số</th>' not in page
    english = text_of(client.get("/dashboard/unit/QNG?wave=QN-2022&lang=en"))
    assert english.count("Inference for every unit above: design-based") == len(groups)


@pytest.mark.demo
def test_a_unit_new_since_the_previous_wave_is_ranked_without_a_previous_rank(
    app: Flask, client: FlaskClient
) -> None:
    """A department with no answers in the previous wave (new since, or not surveyed)
    made the whole ranking "cannot be computed: no data in wave QN-2021"; it is now
    ranked with no previous rank, and the others keep their ranks among themselves."""
    login(client, role=Role.ADMIN, unit=None)
    province, justice = unit("QNG"), unit("QNG-STP")
    elsewhere = Unit(code="ELSEWHERE", name_vi="Nơi khác", name_en="Elsewhere", kind=justice.kind)
    db.session.add(elsewhere)
    db.session.flush()
    elsewhere.path = f"/{elsewhere.id}/"
    moved = db.session.scalars(
        select(Response.id).where(
            Response.unit_id == justice.id, Response.wave_id == wave("QN-2021").id
        )
    ).all()
    assert moved
    figure_store.unfold_responses(moved)  # as the app does before a folded row changes
    for response in db.session.scalars(select(Response).where(Response.id.in_(moved))):
        response.unit_id = elsewhere.id
    db.session.commit()

    page = text_of(client.get("/dashboard/ranking?unit=QNG&group=department&wave=QN-2022"))
    departments = [u for u in children(province) if u.kind.value == "department"]
    assert "Không tính được" not in page
    assert len(re.findall(r'<tr data-unit="QNG-', page)) == len(departments)
    with app.test_request_context("/?lang=vi"):
        now = rankings.ranking(
            departments, wave("QN-2022"), province, previous_wave=wave("QN-2021")
        )
        before = rankings.ranking(
            [u for u in departments if u != justice], wave("QN-2021"), province
        )
    assert next(r for r in now.rows if r.unit == justice).previous_rank is None
    assert {r.unit.code: r.previous_rank for r in now.rows if r.unit != justice} == {
        r.unit.code: r.rank for r in before.rows
    }
    api = client.get(
        "/api/v1/rankings?parent=QNG&wave=QN-2022&previous=QN-2021&unit_kind=department"
    ).get_json()
    assert next(r for r in api["rows"] if r["unit"] == "QNG-STP")["previous_rank"] is None


@pytest.mark.demo
def test_the_ranking_page_names_the_units_without_answers(client: FlaskClient) -> None:
    login(client, unit="QNG")
    kiosk = db.session.scalars(select(Wave).where(Wave.code.startswith("KIOSK-QNG"))).one()
    page = text_of(client.get(f"/dashboard/ranking?unit=QNG&group=department&wave={kiosk.code}"))
    api = client.get(
        f"/api/v1/rankings?parent=QNG&wave={kiosk.code}&unit_kind=department"
    ).get_json()
    assert api["no_data"]  # most departments have no kiosk
    listed = re.search(r'<p id="no-data" class="muted">([^<]*)</p>', page).group(1)
    assert listed.startswith("Chưa có câu trả lời trong đợt này: ")
    names = [unit(code).name_vi for code in api["no_data"]]  # some hold a comma
    assert all(name in listed for name in names)
    assert len(listed) == len("Chưa có câu trả lời trong đợt này: " + ", ".join(names))


# ----------------------------------------------------------------------------- comparison


@pytest.mark.demo
def test_the_compare_tab_opens_on_the_latest_change(app: Flask, client: FlaskClient) -> None:
    """The tab opened an empty form ("—" for both waves) and showed nothing until the
    leader chose two waves; it now compares the unit's last two field surveys, as the
    overview's latest change does, and another unit chosen without waves gets its own."""
    login(client)
    page = text_of(client.get("/dashboard/compare"))
    with app.test_request_context("/?lang=vi"):
        latest = changes.change(unit("NA-HM"), wave("HM-2018-05"), wave("HM-2018-12"))
        assert latest.sentence() in page
    assert '<option value="HM-2018-05" selected>' in page
    assert '<option value="HM-2018-12" selected>' in page
    ward = text_of(client.get("/dashboard/compare?unit_a=HM-QT&wave_a=&wave_b="))
    assert '<option value="HM-QT" selected>' in ward
    assert '<option value="HM-2018-05" selected>' in ward
    assert '<option value="HM-2018-12" selected>' in ward
    # a ward's figures fail the reporting rule for a leader: said, not a blank page
    assert "không đáp ứng quy tắc công bố" in ward or "chưa đủ dữ liệu" in ward
    # two units in one wave: nothing to default to until the second unit is chosen
    assert "Chênh lệch" not in text_of(client.get("/dashboard/compare?mode=units"))


@pytest.mark.demo
def test_comparison_of_two_waves_and_of_two_units(app: Flask, client: FlaskClient) -> None:
    login(client)
    town = unit("NA-HM")
    page = text_of(
        client.get("/dashboard/compare?mode=waves&unit_a=NA-HM&wave_a=HM-2017&wave_b=HM-2018-05")
    )
    with app.test_request_context("/?lang=vi"):
        step = changes.change(town, wave("HM-2017"), wave("HM-2018-05"))
        assert step.sentence() in page
        assert figures.fmt_points(step.difference.value) in page
        assert figures.fmt_p(step.difference.p_value) in page
    a, b, latest = unit("HM-QT"), unit("HM-MH"), wave("HM-2018-12")
    app.config["MIN_EFFECTIVE_N"] = 1
    app.config["MAX_CI_HALF_WIDTH"] = 100
    page = text_of(
        client.get("/dashboard/compare?mode=units&unit_a=HM-QT&unit_b=HM-MH&wave_a=HM-2018-12")
    )
    result = compute([latest], [a, b])
    cov = result.covariance()
    fa = result.figure(DomainKey(a.id, latest.id))
    fb = result.figure(DomainKey(b.id, latest.id))
    i, j = result.domains.index(fa.domain), result.domains.index(fb.domain)
    diff = difference(fa.value, fb.value, cov[i, i], cov[j, j], cov[i, j], df=min(fa.df, fb.df))
    with app.test_request_context("/?lang=vi"):
        assert figures.fmt_points(diff.value) in page
        assert figures.fmt_p(diff.p_value) in page
        sentence = wording.units_sentence("Phường Quỳnh Thiện", "Phường Mai Hùng", diff, "rate")
        assert sentence in page
    rows = read_csv(
        client.get(
            "/dashboard/download/compare.csv?mode=units&unit_a=HM-QT&unit_b=HM-MH&wave_a=HM-2018-12"
        )
    )
    assert float(rows[-1][2]) == round(diff.value * 100, 2)
    same = text_of(
        client.get("/dashboard/compare?mode=units&unit_a=HM-QT&unit_b=HM-QT&wave_a=HM-2018-12")
    )
    assert "Hãy chọn hai đơn vị khác nhau." in same
    mixed = text_of(
        client.get(
            "/dashboard/compare?mode=waves&unit_a=NA-HM&wave_a=HM-2018-12&wave_b=" + _kiosk_wave()
        )
    )
    assert "Không thể so sánh" in mixed  # field survey and kiosk feedback are never pooled


@pytest.mark.demo
def test_two_figures_with_one_design_state_it_once(app: Flask, client: FlaskClient) -> None:
    """Two wards of one wave share the weighting and the inference: the table drops
    both columns and says them once under it, instead of on both rows."""
    login(client)
    app.config["MIN_EFFECTIVE_N"] = 1
    app.config["MAX_CI_HALF_WIDTH"] = 100
    for lang, header, lead in (
        ("vi", "Cách suy luận", "Cả hai số liệu:"),
        ("en", "Inference", "Both figures:"),
    ):
        page = text_of(
            client.get(
                "/dashboard/compare?mode=units&unit_a=HM-QT&unit_b=HM-MH&wave_a=HM-2018-12"
                f"&lang={lang}"
            )
        )
        table = page[page.index('<table class="data">') : page.index("</table>")]
        assert f'<th scope="col">{header}</th>' not in table
        with force_locale(lang):
            figure = compute([wave("HM-2018-12")], [unit("HM-QT")]).figure(
                DomainKey(unit("HM-QT").id, wave("HM-2018-12").id)
            )
            basis = f"{figures.scheme_text(figure)} · {figures.inference_text(figure)}"
        assert page.count(basis) == 1, lang
        assert f'<p class="basis-line" id="shared-basis">{lead} {basis}</p>' in page


def _kiosk_wave() -> str:
    return db.session.scalar(select(Wave.code).where(Wave.code.like("KIOSK-NA-%")))


# ----------------------------------------------------------------------------- kiosk monitor


@pytest.mark.demo
def test_kiosk_monitor_flags_bursts_and_silent_desks(app: Flask, client: FlaskClient) -> None:
    login(client)
    page = text_of(client.get("/dashboard/kiosk"))
    stopped = re.search(r'id="stopped-alert">(.*?)</div>', page, re.S).group(1)
    assert "Xã Quỳnh Trang" in stopped and "Phường Quỳnh Dị" not in stopped
    bursts = re.search(r'id="burst-alert">(.*?)</div>', page, re.S).group(1)
    assert "Phường Quỳnh Dị" in bursts and "8 phiếu gửi dồn dập" in bursts
    assert "Sở Lao động" not in page  # another province's desks
    start = datetime.now(UTC).date() - timedelta(days=MONITOR_DAYS - 1)
    desk = db.session.scalar(select(Desk).where(Desk.code == "Q-HM-QD"))
    expected = db.session.scalar(
        select(func.count())
        .select_from(Response)
        .where(
            Response.desk_id == desk.id,
            Response.submitted_at >= datetime.combine(start, datetime.min.time(), tzinfo=UTC),
        )
    )
    rows = read_csv(client.get("/dashboard/download/kiosk.csv"))
    row = next(r for r in rows if r[0] == desk.name)
    assert int(row[2]) == expected and row[5] == "8" and row[7] == "đang gửi"
    silent = next(r for r in rows if r[1] == "Xã Quỳnh Trang")
    assert silent[7] == "đã ngừng gửi"
    # what a leader must act on comes first: stopped, then sending, then never sent
    order = {"đã ngừng gửi": 0, "đang gửi": 1, "chưa từng gửi": 2}
    statuses = [order[r[7]] for r in rows[1:]]
    assert statuses == sorted(statuses) and statuses[0] == 0
    volume = plotly_figure(page, "volume-chart")
    assert desk.name in [t["name"] for t in volume["data"]]
    trace = next(t for t in volume["data"] if t["name"] == desk.name)
    assert sum(trace["y"]) == expected


@pytest.mark.demo
def test_an_admin_sees_every_province(client: FlaskClient) -> None:
    login(client, Role.ADMIN, None)
    page = text_of(client.get("/dashboard/"))
    assert '<option value="QNG"' in page and '<option value="NA"' in page
    assert client.get("/dashboard/?unit=QNG").status_code == 200
    assert client.get("/dashboard/kiosk?unit=QNG").status_code == 200
    # Quảng Ngãi's desks that sent come before the many that never did
    qn = read_csv(client.get("/dashboard/download/kiosk.csv?unit=QNG"))
    assert qn[1][7] == "đang gửi" and qn[-1][7] == "chưa từng gửi"
    assert [r[7] for r in qn[1:]].count("chưa từng gửi") > 2
