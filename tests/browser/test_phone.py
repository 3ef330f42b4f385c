"""The phone form at a 390×844 phone viewport, with and without JavaScript."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.helpers.browser import assert_accessible, responses, seed_desk

pytestmark = pytest.mark.browser


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def phone(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(
        locale="vi-VN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=request.param,
    )
    page = context.new_page()
    yield page
    context.close()


def fits_the_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_phone_survey_at_390_px(live_server: Any, live_app: Flask, phone: Page) -> None:
    seed_desk(live_app)
    page = phone
    page.goto(live_server.url + "/s/Q-C")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đánh giá nhanh mức độ hài lòng")
    assert fits_the_width(page)
    mood = page.get_by_role("group", name="Ông/Bà hài lòng ở mức nào")
    # Nothing chosen: the required question is asked for, in Vietnamese.
    page.get_by_role("button", name="Tiếp").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(mood).to_contain_text("Vui lòng trả lời câu hỏi này.")
    mood.get_by_text("Hài lòng", exact=True).click()
    page.get_by_role("button", name="Tiếp").click()
    expect(page.get_by_text("Trang 2/3")).to_be_visible()
    page.get_by_text("Giải quyết nhanh").click()
    page.get_by_text("Trả kết quả đúng hẹn").click()
    page.get_by_role("button", name="Tiếp").click()
    expect(page.get_by_text("Trang 3/3")).to_be_visible()
    assert fits_the_width(page)
    page.get_by_role("group", name="Thời gian chờ đến lượt").get_by_text(
        "Rất hài lòng", exact=True
    ).click()
    page.get_by_role("group", name="Thái độ phục vụ của công chức").get_by_text(
        "Bình thường", exact=True
    ).click()
    page.get_by_role("button", name="Gửi").click()
    expect(page.get_by_role("heading", name="Cảm ơn Ông/Bà!")).to_be_visible()
    [stored] = responses(live_app)
    assert stored["channel"] == "phone" and stored["lang"] == "vi"
    assert stored["answers"] == {
        "mood": 4, "positives": ["nhanh", "dung_hen"], "fu_wait": 5, "fu_staff": 3,
    }  # fmt: skip


def test_phone_pages_are_accessible(live_server: Any, live_app: Flask, browser: Browser) -> None:
    seed_desk(live_app)
    context = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(live_server.url + "/s/Q-C?lang=en")
        expect(page.get_by_role("heading", level=1)).to_have_text("Quick satisfaction rating")
        assert_accessible(page)
        page.get_by_role("button", name="Next").click()  # the error state too
        expect(page.get_by_role("alert")).to_be_visible()
        assert_accessible(page)
        page.get_by_text("Very dissatisfied", exact=True).click()
        page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_text("Page 3 of 3")).to_be_visible()
        assert_accessible(page)
    finally:
        context.close()


@pytest.mark.parametrize("scripts", [True, False], ids=["js", "no-js"])
def test_the_reading_tools_are_in_place_before_the_deferred_script_runs(
    live_server: Any, live_app: Flask, browser: Browser, scripts: bool
) -> None:
    """The tools above the form show from the first paint (citizen.js, in <head>), not
    when phone.js runs after parsing: shown then, they pushed the answers down under a
    finger already on its way (a tap began on one place and ended on another). Here
    phone.js never arrives; without JavaScript the tools, which need it, stay hidden."""
    seed_desk(live_app)
    context = browser.new_context(
        locale="vi-VN", viewport={"width": 390, "height": 844}, java_script_enabled=scripts
    )
    page = context.new_page()
    try:
        page.route("**/kiosk/phone.js", lambda route: route.abort())
        page.goto(live_server.url + "/s/Q-C")
        expect(page.get_by_text("Trang 1/3")).to_be_visible()
        larger = page.get_by_role("button", name="Chữ to")
        if scripts:
            expect(larger).to_be_visible()
        else:
            expect(larger).to_be_hidden()
    finally:
        context.close()
