"""The weighting console in headless Chromium, on the demo province.

An analyst logs in, uploads margins, sees the preview (the Plotly histogram is drawn
from plotly.js served by the app), saves and activates a scheme; a malformed file
shows its row errors and saves nothing. Vietnamese first, then English.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import ResponseWeight, WeightingScheme
from tests.helpers.browser import accessible_where_installed as accessible
from tests.helpers.browser import unknown_traces
from tests.helpers.weights_console import (
    WAVE,
    csv_bytes,
    log_in,
    seed,
    upload,
)

pytestmark = [pytest.mark.browser, pytest.mark.demo]


def stored(app: Flask) -> tuple[list[tuple[str, int, bool]], int]:
    with app.app_context():
        schemes = [
            (s.name, s.version, s.is_active)
            for s in db.session.scalars(select(WeightingScheme).order_by(WeightingScheme.id))
        ]
        weights = db.session.scalar(select(func.count()).select_from(ResponseWeight))
        db.session.remove()
    return schemes, weights


def test_upload_preview_save_and_activate(live_server: Any, live_app: Flask, page: Page) -> None:
    body = seed(live_app)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors = log_in(page, live_server.url)
    page.get_by_role("link", name="Trọng số mẫu").click()
    page.get_by_role("link", name="Khảo sát SIPAS tháng 12/2018").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Khảo sát SIPAS tháng 12/2018")
    # Only the chosen method's options are shown.
    expect(page.locator("#max_iter")).to_be_visible()
    page.locator("#method").select_option("calibrate-linear")
    expect(page.locator("#max_iter")).to_be_hidden()
    expect(page.locator("#bound_lower")).to_be_visible()
    page.locator("#method").select_option("rake")
    upload(page, body)
    page.get_by_role("button", name="Xem trước").click()

    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", name="Xem trước (chưa lưu)")).to_be_visible()
    expect(page.locator('#diagnostics dd[data-key="converged"]')).to_have_text("có")
    expect(page.locator("#margins tbody tr")).to_have_count(3 + 6)  # gender 3, age 6 levels
    expect(page.locator('#headline tr[data-key="new"]')).to_be_visible()
    # The histogram is a Plotly figure whose first trace is the new weights.
    page.wait_for_function(
        "() => { const d = document.getElementById('weights-histogram');"
        " return d && d.data && d.data.length === 2 && d.querySelector('svg.main-svg'); }"
    )
    traces = page.evaluate(
        "() => document.getElementById('weights-histogram').data"
        ".map(t => ({type: t.type, n: t.y.reduce((a, b) => a + b, 0)}))"
    )
    assert traces == [{"type": "bar", "n": 480}, {"type": "bar", "n": 480}]
    assert unknown_traces(page) == []
    assert any("/assets/plotly.min.js" in url for url in requested)
    assert all(url.startswith(live_server.url) for url in requested), requested
    accessible(page)
    assert stored(live_app) == ([], 0)  # a preview stores nothing

    page.locator("#name").fill("Điều tra dân số 2019")
    page.get_by_role("button", name="Lưu phương án").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Đã lưu phương án “Điều tra dân số 2019” phiên bản 1"
    )
    assert stored(live_app) == ([("Điều tra dân số 2019", 1, False)], 480)
    page.get_by_role("button", name="Áp dụng Điều tra dân số 2019 v1").click()
    expect(page.get_by_role("status")).to_contain_text("đang được áp dụng")
    expect(page.locator("#schemes tr.active-scheme")).to_contain_text("Đang áp dụng")
    expect(page.locator("#history")).to_contain_text("Đã áp dụng Điều tra dân số 2019 v1")
    assert stored(live_app) == ([("Điều tra dân số 2019", 1, True)], 480)

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Weighting schemes")).to_be_visible()
    expect(page.locator("#schemes tr.active-scheme")).to_contain_text("Active")
    expect(page.locator("#history")).to_contain_text("Activated Điều tra dân số 2019 v1")
    accessible(page)
    assert errors == []


def test_malformed_file_shows_row_errors_and_saves_nothing(
    live_server: Any, live_app: Flask, page: Page
) -> None:
    seed(live_app)
    errors = log_in(page, live_server.url)
    page.goto(f"{live_server.url}/analyst/weights/{WAVE}/")
    bad = csv_bytes(
        ["variable", "level", "target"],
        [["gender", "nam", "nhiều"], ["gender", "khac", 100], ["shoe_size", "42", 5]],
    )
    upload(page, bad, "bad.csv")
    page.get_by_role("button", name="Xem trước").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Không lưu gì cả")
    rows = page.locator("#row-errors tbody tr")
    # and nu has no target; raking needs 2 margins ("no answer" needs no target)
    expect(rows).to_have_count(5)
    expect(rows.nth(0)).to_contain_text("Giá trị mục tiêu “nhiều” không phải là số.")
    expect(rows.nth(1)).to_contain_text("Biến gender không có mức “khac”.")
    expect(rows.nth(2)).to_contain_text("Biến “shoe_size” không có trong đợt này.")
    expect(rows.locator("td:first-child")).to_have_text(["2", "3", "4", "—", "—"])
    expect(rows.nth(3)).to_contain_text("gender = nu (Nữ) có")
    expect(page.locator("#preview")).to_have_count(0)
    assert stored(live_app) == ([], 0)

    page.get_by_role("link", name="English").click()  # the upload page in English
    upload(page, csv_bytes(["variable", "level", "target"], [["gender", "khac", 100]]))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    first = page.locator("#row-errors tbody tr").first
    expect(first).to_contain_text("Unknown level “khac” of gender")
    expect(first.locator("td").first).to_have_text("2")
    accessible(page)
    assert stored(live_app) == ([], 0)
    assert errors == []


def test_planner_in_both_languages(live_server: Any, live_app: Flask, page: Page) -> None:
    seed(live_app)
    errors = log_in(page, live_server.url)
    page.get_by_role("link", name="Trọng số mẫu").click()
    page.get_by_role("link", name="Tính cỡ mẫu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tính cỡ mẫu")
    expect(page.locator("#units")).to_contain_text("Phường Mai Hùng, , ")
    page.locator("#margin").fill("5")
    page.locator("#proportion").fill("50")
    page.locator("#deff").fill("1")
    page.locator("#units").fill("Phường Mai Hùng, 5200, 48\nXã Quỳnh Liên, 1000, 300")
    page.get_by_role("button", name="Tính").click()
    table = page.locator("#plan-table")
    expect(table.locator('td[data-key="needed"]')).to_have_text(["358", "278"])
    expect(table.locator("tr.short")).to_contain_text("chưa đủ")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sample-size planner")
    expect(page.locator("#plan-table")).to_contain_text("too few")
    accessible(page)
    assert errors == []
