"""The small-area console in a browser (headless Chromium, CSRF on), in Vietnamese and
English: the fit with its residual plot (Plotly served by the app), the table of direct
and small-area estimates with the model-based label, switching the figures on (audited),
and axe-core's check of each page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import AuditLog, Role, SmallAreaSetting
from tests.helpers.browser import accessible_where_installed as accessible
from tests.helpers.browser import overlapping, page_errors, unknown_traces

pytestmark = [pytest.mark.browser, pytest.mark.demo]

PASSWORD = "correct-horse-battery"


def residual_ticks(page: Page) -> list[str]:
    """The labels plotly.js drew on the residual plot's vertical axis."""
    return page.evaluate(
        "() => document.getElementById('residual-plot')._fullLayout.yaxis._vals.map(t => t.text)"
    )


def overlapping_labels(page: Page) -> list[tuple[str, str]]:
    """Pairs of communes whose labels, as drawn on the residual plot, overlap."""
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('#residual-plot g.textpoint text')].map(t => {
              const b = t.getBoundingClientRect();
              return {text: t.textContent, l: b.left, r: b.right, t: b.top, b: b.bottom};
            })"""
    )
    return overlapping(boxes) if boxes else [("no labels drawn", "")]


def test_fit_and_switch_on_in_both_languages(live_server: Any, live_app: Flask, page: Page) -> None:
    with live_app.app_context():
        accounts.create_user("hm_analyst", PASSWORD, Role.ANALYST, "NA-HM")
        db.session.remove()
    errors = page_errors(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + "/auth/login")
    page.locator("#username").fill("hm_analyst")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Ước lượng diện hẹp").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ước lượng diện hẹp")
    accessible(page)
    page.get_by_role("link", name="Khảo sát SIPAS tháng 12/2018").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Khảo sát SIPAS tháng 12/2018")
    # the default model: the available covariate (previous wave) is ticked, the
    # feedback one is disabled with its reason
    expect(page.get_by_label("Ước lượng trực tiếp của đợt trước")).to_be_checked()
    expect(
        page.get_by_label("Tỷ lệ hài lòng từ phản hồi thường xuyên", exact=False)
    ).to_be_disabled()
    expect(page.locator("#beta tbody tr")).to_have_count(2)
    expect(page.locator("#communes tbody tr")).to_have_count(10)
    expect(page.locator("#communes")).to_contain_text("ước lượng theo mô hình diện hẹp")
    page.wait_for_function(
        "() => { const d = document.getElementById('residual-plot');"
        " return d && d.data && d.data.length === 2 && d.querySelector('svg.main-svg'); }"
    )
    points = page.evaluate("() => document.getElementById('residual-plot').data[0].y.length")
    assert points == 10
    assert unknown_traces(page) == []
    # plotly.js writes the ticks itself: the reader's decimal sign ("0,5"; it wrote "0.5")
    ticks = residual_ticks(page)
    assert any("," in t for t in ticks) and not any("." in t for t in ticks), ticks
    # each commune's label is placed where it overlaps no other (two of the demo's
    # ten overlapped when all sat above their point)
    assert overlapping_labels(page) == []
    assert any("/assets/plotly.min.js" in url for url in requested)
    assert all(url.startswith(live_server.url) for url in requested), requested
    accessible(page)

    page.locator("#method").select_option("ml")
    page.get_by_role("button", name="Ước lượng mô hình").click()
    expect(page.locator('#diagnostics dd[data-key="method"]')).to_have_text(
        "ML (MSE theo Datta–Lahiri)"
    )
    page.get_by_role("button", name="Bật với mô hình này").click()
    expect(page.get_by_role("status")).to_contain_text("Đã bật ước lượng diện hẹp")
    expect(page.locator("#switch")).to_contain_text("Đang bật")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Regression coefficients")).to_be_visible()
    expect(page.locator("#switch")).to_contain_text("Switched on")
    expect(page.locator('#diagnostics dd[data-key="method"]')).to_have_text(
        "ML (MSE by Datta–Lahiri)"
    )
    expect(page.locator("#communes")).to_contain_text("small-area model estimate")
    page.wait_for_function(
        "() => { const d = document.getElementById('residual-plot');"
        " return d && d.data && d.querySelector('svg.main-svg'); }"
    )
    ticks = residual_ticks(page)
    assert any("." in t for t in ticks) and not any("," in t for t in ticks), ticks
    assert overlapping_labels(page) == []
    accessible(page)
    assert errors == []

    with live_app.app_context():
        row = db.session.scalar(select(SmallAreaSetting))
        assert row is not None and row.enabled and row.method == "ml"
        assert row.covariates == ["previous"]
        actions = list(db.session.scalars(select(AuditLog.action)))
        assert "small_area.enable" in actions
        db.session.remove()
