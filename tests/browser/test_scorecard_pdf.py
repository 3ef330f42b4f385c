"""A leader opens a unit's scorecard, prints it to PDF and downloads the PDF."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from survey_app.admin import accounts
from survey_app.models import Role
from tests.helpers.browser import assert_accessible

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
