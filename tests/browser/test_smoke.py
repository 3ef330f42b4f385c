"""The start page in a real browser, in Vietnamese and in English."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_home_page_in_vietnamese_then_english(live_server: object, page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server.url + "/")  # type: ignore[attr-defined]
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ông/Bà hài lòng thế nào với dịch vụ hành chính công?"
    )
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "How satisfied are you with our public services?"
    )
    # The choice sticks while browsing.
    page.get_by_role("link", name="Log in").first.click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_role("link", name="Tiếng Việt").click()
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    assert errors == []


def test_stylesheet_is_served_locally(live_server: object, page: Page) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + "/")  # type: ignore[attr-defined]
    assert any(url.endswith("/static/css/app.css") for url in requested)
    base = live_server.url  # type: ignore[attr-defined]
    assert all(url.startswith(base) for url in requested), requested
