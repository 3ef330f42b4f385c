"""A leader opens a unit's scorecard, prints it to PDF and downloads the PDF."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from survey_app.admin import accounts
from survey_app.models import Role
from tests.helpers.browser import assert_accessible, overlapping

pytestmark = [pytest.mark.browser, pytest.mark.demo]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def page(browser: Browser) -> Any:
    """A tab that lets axe-core's injected script run under the app's strict CSP."""
    context = browser.new_context(locale="vi-VN", bypass_csp=True, accept_downloads=True)
    yield context.new_page()
    context.close()


def test_leader_prints_and_downloads_the_scorecard(
    live_server: Any, live_app: Flask, page: Page
) -> None:
    with live_app.app_context():
        accounts.create_user("town", PASSWORD, Role.LEADER, "NA-HM")
    page.goto(live_server.url + "/scorecard/HM-QD/HM-2018-12")  # to the login page first
    page.get_by_label("Tên đăng nhập").fill("town")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Phường Quỳnh Dị")
    expect(page.get_by_role("img", name=re.compile("Chỉ số chung theo đợt"))).to_be_visible()
    expect(page.get_by_role("button", name="In")).to_be_visible()
    assert_accessible(page)

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="In")).to_be_hidden()
    printed = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert printed.startswith(b"%PDF-")
    assert len(PdfReader(io.BytesIO(printed)).pages) == 1  # one A4 sheet
    page.emulate_media(media="screen")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tải về PDF").click()
    download = download_info.value
    assert download.suggested_filename == "scorecard-HM-QD-HM-2018-12.pdf"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "Phường Quỳnh Dị" in text and "Phiếu kết quả mức độ hài lòng".upper() in text.upper()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_trend_charts_texts_stay_inside_it_and_apart(
    live_server: Any, live_app: Flask, page: Page, lang: str
) -> None:
    """Every label of the scorecard's trend chart lies inside the chart and clear of
    the others and of the line: the last wave's long name once ran off the right edge
    ("Khảo sát sự hài lòng năm" and no year), and each value sat on the line."""
    with live_app.app_context():
        accounts.create_user("reader", PASSWORD, Role.ANALYST, None)
    page.goto(f"{live_server.url}/auth/login?lang={lang}")
    page.fill("input[name=username]", "reader")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    for path in ("/scorecard/QNG/QN-2022", "/scorecard/NA-HM/HM-2018-12"):
        page.goto(live_server.url + path)
        boxes = page.evaluate(
            """() => {
              const svg = document.querySelector('svg.trend-chart');
              const r = b => ({l: b.left, r: b.right, t: b.top, b: b.bottom});
              return {chart: r(svg.getBoundingClientRect()),
                      line: [...svg.querySelectorAll('polyline')].map(
                        p => [...p.points].map(q => {
                          const m = p.getScreenCTM(), s = svg.createSVGPoint();
                          s.x = q.x; s.y = q.y; const t = s.matrixTransform(m);
                          return [t.x, t.y]; })),
                      texts: [...svg.querySelectorAll('text')].map(
                        t => ({text: t.textContent, ...r(t.getBoundingClientRect())}))};
            }"""
        )
        chart, texts = boxes["chart"], boxes["texts"]
        outside = [
            t["text"]
            for t in texts
            if t["l"] < chart["l"]
            or t["r"] > chart["r"]
            or t["t"] < chart["t"]
            or t["b"] > chart["b"]
        ]
        assert outside == [], (path, outside)
        # A text's box holds the font's whole ascent and descent: a fifth of its height
        # above and below is empty (lines of 11 px text 13 px apart touch, not overlap).
        inked = [{**t, "t": t["t"] + (t["b"] - t["t"]) / 5, "b": t["b"] - (t["b"] - t["t"]) / 5}
                 for t in texts]  # fmt: skip
        assert overlapping(inked) == [], (path, overlapping(inked))
        values = [t for t in texts if t["text"].endswith("%") and t["text"][0].isdigit()]
        values = [t for t in values if t["text"] not in ("0%", "25%", "50%", "75%", "100%")]
        assert values, path
        for points in boxes["line"]:
            for (x1, y1), (x2, y2) in itertools.pairwise(points):
                for t in values:  # the line at the label's middle height, if it spans it
                    for x in (t["l"], (t["l"] + t["r"]) / 2, t["r"]):
                        if x1 <= x <= x2:
                            at = y1 + (y2 - y1) * (x - x1) / (x2 - x1)
                            assert not t["t"] <= at <= t["b"], (path, t["text"], "on the line")
