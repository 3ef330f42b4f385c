"""The dossier code on the kiosk's number pad, and Back after sending on the phone
(issue 17), in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Desk, Response
from tests.helpers.browser import assert_accessible, responses, seed_desk

pytestmark = pytest.mark.browser


def set_desk(app: Flask, **values: bool) -> None:
    with app.app_context():
        desk = db.session.scalars(select(Desk)).one()
        for name, value in values.items():
            setattr(desk, name, value)
        db.session.commit()
        db.session.remove()


def dossier_hashes(app: Flask) -> list[str | None]:
    with app.app_context():
        hashes = list(db.session.scalars(select(Response.dossier_hash).order_by(Response.id)))
        db.session.remove()
    return hashes


@contextmanager
def enrolled_kiosk(live_server: Any, live_app: Flask, browser: Browser) -> Iterator[Page]:
    """The demo desk's kiosk on a landscape tablet, enrolled with its token."""
    token = seed_desk(live_app, token=True)
    context = browser.new_context(locale="vi-VN", viewport={"width": 1024, "height": 768})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/kiosk/Q-C#token={token}")
        yield page
    finally:
        context.close()


def test_the_kiosk_asks_for_the_dossier_on_a_number_pad(
    live_server: Any, live_app: Flask, browser: Browser
) -> None:
    token = seed_desk(live_app, token=True)
    set_desk(live_app, dossier_on_kiosk=True)
    context = browser.new_context(locale="vi-VN", viewport={"width": 800, "height": 1280})
    page = context.new_page()
    try:
        for attempt in range(2):
            if attempt == 0:
                page.goto(f"{live_server.url}/kiosk/Q-C?thanks=60#token={token}")
            else:
                page.reload()  # the next citizen (the token stays on the tablet)
            expect(page.locator("#kiosk")).to_have_attribute("data-state", "survey")
            page.get_by_role("button", name="Hài lòng", exact=True).click()
            page.get_by_role("button", name="Xem lại và gửi").click()
            pad = page.get_by_role("group", name="Mã hồ sơ (không bắt buộc)")
            expect(pad).to_be_visible()
            for digit in "20245":
                pad.get_by_role("button", name=digit, exact=True).click()
            pad.get_by_role("button", name="Xóa chữ số cuối").click()
            field = page.get_by_role("textbox", name="Mã hồ sơ (không bắt buộc)")
            expect(field).to_have_value("2024")
            if attempt == 0:
                assert_accessible(page)
            send = page.get_by_role("button", name="Gửi câu trả lời")
            expect(send).to_be_enabled()
            send.click()
            text = page.locator("#k-thanks-text")
            if attempt == 0:
                expect(text).to_have_text("Ý kiến của Ông/Bà đã được ghi nhận.")
            else:  # the same dossier again: one rating per dossier
                expect(text).to_contain_text("Mã hồ sơ này đã được đánh giá")
        [stored] = responses(live_app)
        assert stored["answers"] == {"mood": 4}
        [hashed] = dossier_hashes(live_app)
        assert hashed and "2024" not in hashed
    finally:
        context.close()


def test_the_kiosk_does_not_ask_unless_the_desk_says_so(
    live_server: Any, live_app: Flask, browser: Browser
) -> None:
    with enrolled_kiosk(live_server, live_app, browser) as page:
        page.get_by_role("button", name="Rất hài lòng", exact=True).click()
        page.get_by_role("button", name="Xem lại và gửi").click()
        expect(page.locator("#kiosk-review")).to_be_visible()
        expect(page.locator("#k-dossier")).to_be_hidden()


# Press "Review and send" while the chosen face waits its 250 ms to move on, and hold
# the finger there 600 ms; the question must not change under the finger.
PRESS_DURING_THE_WAIT = """
() => new Promise((resolve) => {
  const face = [...document.querySelectorAll("#k-answer button")].find(
    (b) => b.textContent.trim() === "Rất hài lòng");
  const target = document.getElementById("k-send-now");
  face.click(); // shows "Review and send", and starts the wait
  const before = target.getBoundingClientRect();
  target.dispatchEvent(new PointerEvent("pointerdown", {bubbles: true, composed: true}));
  setTimeout(() => {
    const after = target.getBoundingClientRect();
    resolve({
      moved: before.top !== after.top || before.left !== after.left,
      progress: document.getElementById("k-progress").textContent,
    });
  }, 600);
})
"""


def test_a_tap_begun_while_an_answer_waits_to_move_on_lands_where_it_was_aimed(
    live_server: Any, live_app: Flask, browser: Browser
) -> None:
    with enrolled_kiosk(live_server, live_app, browser) as page:
        expect(page.get_by_role("button", name="Rất hài lòng", exact=True)).to_be_visible()
        seen = page.evaluate(PRESS_DURING_THE_WAIT)
        assert seen == {"moved": False, "progress": "Câu 1/5"}, seen
        page.get_by_role("button", name="Xem lại và gửi").click()
        expect(page.locator("#kiosk-review")).to_be_visible()
        expect(page.locator("#k-review-list")).to_contain_text("Rất hài lòng")


def test_back_after_sending_on_the_phone_starts_a_fresh_form(
    live_server: Any, live_app: Flask, browser: Browser
) -> None:
    seed_desk(live_app)
    context = browser.new_context(
        locale="vi-VN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        page.goto(live_server.url + "/s/Q-C")
        expect(page.get_by_text("Trang 1/3")).to_be_visible()
        page.get_by_role("group", name="Ông/Bà hài lòng ở mức nào").get_by_text(
            "Rất hài lòng", exact=True
        ).click()
        page.get_by_role("button", name="Tiếp").click()
        expect(page.get_by_text("Trang 2/3")).to_be_visible()
        page.get_by_role("button", name="Tiếp").click()
        expect(page.get_by_text("Trang 3/3")).to_be_visible()
        page.get_by_role("button", name="Gửi").click()
        expect(page.get_by_role("heading", name="Cảm ơn Ông/Bà!")).to_be_visible()
        expect(page.get_by_role("button", name="Chữ to")).to_be_visible()
        page.go_back()
        # A fresh form on page 1: nothing chosen, no error message.
        expect(page.get_by_text("Trang 1/3")).to_be_visible()
        expect(page.locator("input:checked")).to_have_count(0)
        expect(page.get_by_role("alert")).to_have_count(0)
        page.get_by_role("group", name="Ông/Bà hài lòng ở mức nào").get_by_text(
            "Không hài lòng", exact=True
        ).click()
        page.get_by_role("button", name="Tiếp").click()
        expect(page.get_by_text("Trang 2/3")).to_be_visible()
        assert [r["answers"]["mood"] for r in responses(live_app)] == [5]
    finally:
        context.close()
