"""The start page in a real browser, in Vietnamese and in English."""

from __future__ import annotations

from urllib.parse import urlsplit

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
    assert any(urlsplit(url).path == "/static/css/app.css" for url in requested)
    base = live_server.url  # type: ignore[attr-defined]
    assert all(url.startswith(base) for url in requested), requested


def test_a_login_form_left_open_too_long_comes_back_saying_why(
    live_server: object, page: Page
) -> None:
    """The browser sends the page it came from (the Referrer-Policy allows it on this
    site), so an expired CSRF token brings the reader back to the form, told why."""
    page.goto(live_server.url + "/auth/login")  # type: ignore[attr-defined]
    page.locator("input[name=csrf_token]").evaluate("input => { input.value = 'expired'; }")
    page.fill("input[name=username]", "someone")
    page.fill("input[name=password]", "a password of some length")
    page.locator("form button[type=submit]").last.click()
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        "Trang này đã mở quá lâu hoặc phiên làm việc đã kết thúc"
    )
