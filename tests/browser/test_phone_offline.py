"""The phone form keeps an answer it could not send and sends it once when it can.

Chromium at a phone viewport, CSRF on (as in production). The last page's "Send"
fails first (the phone is offline, or the server answers 429); the page says the
answer is NOT recorded yet; when the connection is back it is sent and exactly one
response is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.helpers.browser import responses, seed_desk

pytestmark = pytest.mark.browser

NOT_YET = "CHƯA được ghi nhận"
THANKS = "Cảm ơn Ông/Bà!"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(
        locale="vi-VN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    yield context
    context.close()


def to_the_last_page(page: Page, url: str) -> None:
    page.goto(url + "/s/Q-C")
    page.get_by_role("group", name="Ông/Bà hài lòng ở mức nào").get_by_text(
        "Hài lòng", exact=True
    ).click()
    page.get_by_role("button", name="Tiếp").click()
    page.get_by_text("Giải quyết nhanh").click()
    page.get_by_role("button", name="Tiếp").click()
    expect(page.get_by_text("Trang 3/3")).to_be_visible()
    page.get_by_role("group", name="Thời gian chờ đến lượt").get_by_text(
        "Rất hài lòng", exact=True
    ).click()


EXPECTED = {"mood": 4, "positives": ["nhanh"], "fu_wait": 5}


def sent_offline(live_app: Flask, url: str, context: BrowserContext) -> Page:
    """The desk, a phone at the form's last page, offline, that taps Send: it is told
    the answer is not sent yet."""
    seed_desk(live_app)
    page = context.new_page()
    to_the_last_page(page, url)
    context.set_offline(True)
    page.get_by_role("button", name="Gửi").click()
    expect(page.get_by_role("status")).to_contain_text(NOT_YET)
    return page


def test_offline_send_waits_and_is_sent_once_when_back_online(
    live_server: Any, live_app: Flask, context: BrowserContext
) -> None:
    page = sent_offline(live_app, live_server.url, context)
    page.get_by_role("button", name="Gửi").click(force=True)  # an impatient second tap
    assert responses(live_app) == []
    context.set_offline(False)
    expect(page.get_by_role("heading", name=THANKS)).to_be_visible(timeout=20_000)
    [stored] = responses(live_app)
    assert stored["answers"] == EXPECTED and stored["channel"] == "phone"


def test_a_busy_server_is_retried_and_the_answer_stored_once(
    live_server: Any, live_app: Flask, context: BrowserContext
) -> None:
    seed_desk(live_app)
    page = context.new_page()
    refused: list[str] = []

    def busy_once(route: Route) -> None:
        if route.request.method == "POST" and "step=" not in route.request.url and not refused:
            body = route.request.post_data or ""
            if "step=follow_up" in body:
                refused.append(body)
                route.fulfill(status=429, headers={"Retry-After": "1"}, body="busy")
                return
        route.continue_()

    page.route("**/s/Q-C", busy_once)
    to_the_last_page(page, live_server.url)
    page.get_by_role("button", name="Gửi").click()
    expect(page.get_by_role("heading", name=THANKS)).to_be_visible(timeout=20_000)
    assert len(refused) == 1
    [stored] = responses(live_app)
    assert stored["answers"] == EXPECTED


def test_an_answer_kept_on_the_phone_is_sent_when_the_form_is_opened_again(
    live_server: Any, live_app: Flask, context: BrowserContext
) -> None:
    page = sent_offline(live_app, live_server.url, context)
    page.close()  # the citizen leaves; the answer stays in localStorage
    context.set_offline(False)
    assert responses(live_app) == []
    later = context.new_page()
    later.goto(live_server.url + "/s/Q-C")
    expect(later.get_by_role("heading", name=THANKS)).to_be_visible(timeout=20_000)
    [stored] = responses(live_app)
    assert stored["answers"] == EXPECTED
