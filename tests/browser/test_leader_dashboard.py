"""The leaders' dashboard in headless Chromium: a leader's scope, the Plotly trend chart
drawn from the server's figure, the CSV download, the ranking and comparison pages."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from survey_app.admin import accounts
from survey_app.models import Role
from tests.helpers.browser import page_errors

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"


@pytest.fixture
def desktop(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context(
        locale="vi-VN", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    errors = page_errors(page)
    yield page, errors
    context.close()


def log_in(page: Page, server: Any, app: Flask, username: str, unit: str) -> None:
    with app.app_context():
        accounts.create_user(username, PASSWORD, Role.LEADER, unit)
    page.goto(f"{server.url}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")


def chart_traces(page: Page, chart_id: str) -> list[dict[str, Any]]:
    page.wait_for_selector(f"#{chart_id} .main-svg")
    return page.evaluate(
        f"""() => document.getElementById("{chart_id}").data.map(
            t => ({{name: t.name, y: t.y, fill: t.fill || null}}))"""
    )


@pytest.mark.demo
def test_leader_sees_their_scope_opens_the_trend_and_downloads_the_csv(
    live_server: Any, live_app: Flask, desktop: tuple[Page, list[str]]
) -> None:
    page, errors = desktop
    log_in(page, live_server, live_app, "town_leader", "NA-HM")
    expect(page.locator("h1")).to_have_text("Thị xã Hoàng Mai")
    body = page.locator("main").inner_text()
    assert "Quảng Ngãi" not in body and "Sở Tư pháp" not in body
    assert page.locator("#f-unit").count() == 0  # one unit at the top of the scope
    page.check("input[name=units][value=HM-QT]")
    page.click("#trend-h ~ form button[type=submit]")
    page.wait_for_url("**units=HM-QT**")
    traces = chart_traces(page, "trend-chart")
    names = [t["name"] for t in traces]
    assert names.count("Thị xã Hoàng Mai") == 1 and names.count("Phường Quỳnh Thiện") == 1
    assert len(traces) == 6  # per unit: the CI band's two edges and the estimate line
    assert [t["fill"] for t in traces].count("tonexty") == 2
    town = next(t for t in traces if t["name"] == "Thị xã Hoàng Mai")
    assert len(town["y"]) == 3 and town["y"][0] < town["y"][1] < town["y"][2]
    assert page.locator("#trend-chart .modebar-btn[data-title*='png' i]").count() == 1
    with page.expect_download() as info:
        page.click("#trend-h ~ .downloads a:text('CSV')")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:2] == ["Đơn vị", "Đợt"]
    assert {row[0] for row in rows[1:]} == {"Thị xã Hoàng Mai", "Phường Quỳnh Thiện"}
    refused = page.goto(f"{live_server.url}/dashboard/unit/QNG")
    assert refused is not None and refused.status == 403
    assert "Quảng Ngãi" not in page.locator("main").inner_text()
    errors.remove("Failed to load resource: the server responded with a status of 403 (FORBIDDEN)")
    page.goto(
        f"{live_server.url}/dashboard/compare?mode=waves&unit_a=NA-HM"
        "&wave_a=HM-2018-05&wave_b=HM-2018-12"
    )
    sentence = page.locator("#diff-sentence").inner_text()
    assert "Thị xã Hoàng Mai tăng" in sentence and "có ý nghĩa thống kê" in sentence
    assert errors == []


@pytest.mark.demo
def test_quang_ngai_ranking_and_unit_comparison(
    live_server: Any, live_app: Flask, desktop: tuple[Page, list[str]]
) -> None:
    page, errors = desktop
    log_in(page, live_server, live_app, "province_leader", "QNG")
    page.goto(f"{live_server.url}/dashboard/ranking?unit=QNG&group=department&wave=QN-2022")
    labour = page.locator("tr[data-unit=QNG-SLDTBXH]")
    expect(labour).to_contain_text("Sở Lao động – Thương binh và Xã hội")
    assert "▲" in labour.locator("td").nth(2).inner_text()  # it rose since 2021
    assert "Holm" in page.locator(".explain").inner_text()
    # 18 departments of 90 respondents each: estimates with intervals, not a funnel.
    assert page.locator("#funnel-chart").count() == 0
    traces = chart_traces(page, "caterpillar-chart")
    names = [t["name"] for t in traces]
    assert "không khác biệt rõ so với mức chung" in names
    assert page.locator("#ranking-table tbody tr").count() == 18
    page.goto(f"{live_server.url}/dashboard/compare?mode=units")
    page.select_option("#f-unit-a", "QNG-SLDTBXH")
    page.select_option("#f-unit-b", "QNG-STTTT")
    page.select_option("#f-wave-a", "QN-2022")
    page.click("#compare-form button[type=submit]")
    expect(page.locator("#diff-p")).to_contain_text("p ")
    sentence = page.locator("#diff-sentence").inner_text()
    assert sentence.startswith("Sở Lao động – Thương binh và Xã hội ")
    assert "điểm phần trăm" in sentence and "thống kê" in sentence
    assert errors == []


def axis_ticks(page: Page, chart_id: str, axis: str) -> list[tuple[float, str]]:
    """The (value, label) of each tick plotly.js drew on ``axis`` of the chart."""
    page.wait_for_selector(f"#{chart_id} .main-svg")
    return [
        (tick["x"], tick["text"])
        for tick in page.evaluate(
            f"""() => document.getElementById("{chart_id}")._fullLayout.{axis}._vals
                .map(t => ({{x: t.x, text: t.text}}))"""
        )
    ]


def read_percent(label: str) -> tuple[float, int]:
    """A Vietnamese percentage label ("81,5%") as (value in points, its decimals)."""
    assert label.endswith("%"), label
    number = label[:-1].replace(".", "").replace(",", ".")
    return float(number), len(number.partition(".")[2])


@pytest.mark.demo
def test_percentage_axes_label_every_tick_distinctly_at_any_zoom(
    live_server: Any, live_app: Flask, desktop: tuple[Page, list[str]]
) -> None:
    """An index between 81% and 83% once had ticks half a point apart labelled with no
    decimals: "83%, 82%, 82%, 81%". Each tick's label must be its value, rounded to
    the decimals that tell it from its neighbours, however far the reader zooms."""
    page, errors = desktop
    log_in(page, live_server, live_app, "province_leader", "QNG")
    ranking = "/dashboard/ranking?unit=QNG&group=department&wave=QN-2022"
    decimals_seen: set[int] = set()
    for url, chart, axis in (
        ("/dashboard/", "trend-chart", "yaxis"),
        (ranking, "caterpillar-chart", "xaxis"),
    ):
        page.goto(live_server.url + url)
        for low, high in ((0.0, 1.0), (0.79, 0.84), (0.81, 0.83), (0.815, 0.825), (0.8151, 0.8163)):
            page.evaluate(
                f"""() => Plotly.relayout("{chart}", {{"{axis}.range": [{low}, {high}]}})"""
            )
            ticks = axis_ticks(page, chart, axis)
            assert len(ticks) >= 2, (chart, low, high, ticks)
            labels = [label for _value, label in ticks]
            assert len(set(labels)) == len(labels), (chart, low, high, labels)
            for value, label in ticks:
                shown, decimals = read_percent(label)
                decimals_seen.add(decimals)
                assert abs(shown - 100 * value) <= 0.5 * 10**-decimals + 1e-9, (label, value)
    assert decimals_seen == {0, 1, 2}
    assert errors == []
