"""The desk's tablet in headless Chromium: surveys by taps, the inactivity reset,
enrolment, and answers given offline that survive a reload."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from survey_app import static_files
from tests.helpers.browser import assert_accessible, page_errors, responses, seed_desk

pytestmark = pytest.mark.browser

MOOD_VI = "Ông/Bà hài lòng ở mức nào với việc giải quyết thủ tục hôm nay?"
MOOD_EN = "How satisfied are you with how your procedure was handled today?"
SAVED_VI = (
    "Câu trả lời của Ông/Bà đã được lưu trên máy tính bảng này. Câu trả lời sẽ "
    "được gửi tự động ngay khi có kết nối trở lại."
)


@pytest.fixture
def tablet(browser: Browser) -> Iterator[tuple[BrowserContext, Page]]:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1024, "height": 768})
    page = context.new_page()
    errors = page_errors(page)
    yield context, page
    context.close()
    assert [e for e in errors if "net::ERR_INTERNET_DISCONNECTED" not in e] == []


def sent(page: Page) -> None:
    """Wait until the tablet knows its last answers reached the server (stored there)."""
    expect(page.locator("#kiosk")).to_have_attribute("data-outcome", "sent")


def one_more_send_loop(page: Page) -> None:
    """Run the tablet's send loop once more (as coming back online does) and wait until
    it has been through its queue: every loop ends by writing ``data-queued``."""
    page.evaluate(
        """() => new Promise((resolve, reject) => {
            const kiosk = document.getElementById("kiosk");
            const written = new MutationObserver(() => { written.disconnect(); resolve(); });
            written.observe(kiosk, {attributes: true, attributeFilter: ["data-queued"]});
            setTimeout(() => reject(new Error("no send loop within 8 s")), 8000);
            window.dispatchEvent(new Event("online"));
        })"""
    )


def tap(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


#: The thank-you screen's seconds in these tests: long enough for Playwright to see it
#: on a machine busy with the rest of the suite (at 0.3 s a CI run once missed it; the
#: screen had already returned to the first question), short enough to keep tests brisk.
THANKS = "thanks=2"


def open_kiosk(page: Page, server: Any, token: str | None, query: str = THANKS) -> None:
    fragment = f"#token={token}" if token else ""
    page.goto(f"{server.url}/kiosk/Q-C?{query}{fragment}")


def test_full_survey_by_taps_in_vietnamese(
    live_server: Any, live_app: Flask, tablet: tuple[BrowserContext, Page]
) -> None:
    _context, page = tablet
    token = seed_desk(live_app, token=True)
    open_kiosk(page, live_server, token)
    question = page.locator("#k-question")
    expect(question).to_have_text(MOOD_VI)
    assert "#token" not in page.url  # the token left the address bar
    assert page.evaluate("localStorage.getItem('kiosk-token:Q-C')") == token
    expect(page.locator("#k-progress")).to_have_text("Câu 1/5")
    assert_accessible(page)
    tap(page, "Hài lòng")
    expect(question).to_have_text("Điều gì khiến Ông/Bà hài lòng?")
    tap(page, "Giải quyết nhanh")
    tap(page, "Tiếp")
    expect(question).to_have_text("Thời gian chờ đến lượt")
    tap(page, "Rất hài lòng")
    expect(question).to_have_text("Thái độ phục vụ của công chức")
    tap(page, "Hài lòng")
    expect(question).to_have_text("Sự rõ ràng của hướng dẫn về thủ tục, hồ sơ")
    expect(page.locator("#k-progress")).to_have_text("Câu 5/5")
    tap(page, "Bình thường")
    # The last face leads to the review step, never straight to sending.
    expect(page.get_by_role("heading", name="Xin Ông/Bà kiểm tra lại câu trả lời")).to_be_visible()
    assert responses(live_app) == []
    tap(page, "Gửi câu trả lời")
    expect(page.get_by_role("heading", name="Cảm ơn Ông/Bà!")).to_be_visible()
    sent(page)
    [stored] = responses(live_app)
    assert stored["channel"] == "kiosk" and stored["lang"] == "vi"
    assert stored["answers"] == {
        "mood": 4, "positives": ["nhanh"], "fu_wait": 5, "fu_staff": 4, "fu_guidance": 3,
    }  # fmt: skip
    # The thank-you screen returns to the start by itself, with nothing selected.
    expect(question).to_have_text(MOOD_VI)
    expect(page.locator("[aria-pressed=true]")).to_have_count(0)


def test_full_survey_in_english_then_back_to_vietnamese(
    live_server: Any, live_app: Flask, tablet: tuple[BrowserContext, Page]
) -> None:
    _context, page = tablet
    token = seed_desk(live_app, token=True)
    open_kiosk(page, live_server, token)
    expect(page.locator("#k-question")).to_have_text(MOOD_VI)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#k-question")).to_have_text(MOOD_EN)
    tap(page, "Very dissatisfied")
    expect(page.locator("#k-question")).to_have_text("What were you not satisfied with?")
    tap(page, "Long wait")
    tap(page, "Unfriendly staff")
    tap(page, "Review and send")
    tap(page, "Send my answers")
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    sent(page)
    [stored] = responses(live_app)
    assert stored["lang"] == "en"
    assert stored["answers"] == {"mood": 1, "problems": ["cho_lau", "thai_do"]}
    # The next citizen starts in Vietnamese.
    expect(page.locator("#k-question")).to_have_text(MOOD_VI)
    expect(page.locator("html")).to_have_attribute("lang", "vi")


def test_without_a_valid_token_the_kiosk_says_it_is_not_ready(
    live_server: Any, live_app: Flask, tablet: tuple[BrowserContext, Page]
) -> None:
    _context, page = tablet
    seed_desk(live_app, token=True)
    open_kiosk(page, live_server, None)
    enrol = page.locator("#kiosk-not-ready")
    expect(enrol).to_be_visible()
    expect(enrol).to_contain_text("Máy đánh giá này chưa sẵn sàng")
    expect(enrol).to_contain_text("This kiosk is not ready yet")
    expect(enrol).not_to_contain_text("flask")
    expect(page.locator("#kiosk-survey")).to_be_hidden()
    assert_accessible(page)
    open_kiosk(page, live_server, "not-the-token")
    expect(enrol).to_be_visible()
    expect(page.get_by_role("button", name="Hài lòng", exact=True)).to_have_count(0)
    assert responses(live_app) == []


def test_inactivity_discards_a_half_filled_form(
    live_server: Any, live_app: Flask, tablet: tuple[BrowserContext, Page]
) -> None:
    _context, page = tablet
    token = seed_desk(live_app, token=True)
    open_kiosk(page, live_server, token, query="idle=1.5")
    tap(page, "Rất hài lòng")
    expect(page.locator("#k-question")).to_have_text("Điều gì khiến Ông/Bà hài lòng?")
    tap(page, "Giải quyết nhanh")
    # Nobody touches the screen: back to the start, answers gone, nothing sent.
    expect(page.locator("#k-question")).to_have_text(MOOD_VI, timeout=5000)
    expect(page.locator("[aria-pressed=true]")).to_have_count(0)
    expect(page.locator("#k-back")).to_be_hidden()
    assert responses(live_app) == []


def test_offline_answers_survive_a_reload_and_are_sent_once(
    live_server: Any, live_app: Flask, tablet: tuple[BrowserContext, Page]
) -> None:
    context, page = tablet
    token = seed_desk(live_app, token=True)
    open_kiosk(page, live_server, token, query=f"{THANKS}&retry=1")
    expect(page.locator("#kiosk")).to_have_attribute("data-offline", "ready")
    expect(page.locator("#k-question")).to_have_text(MOOD_VI)
    context.set_offline(True)
    for face in ("Rất hài lòng", "Không hài lòng"):
        tap(page, face)
        tap(page, "Xem lại và gửi")
        tap(page, "Gửi câu trả lời")
        expect(page.get_by_role("heading", name="Cảm ơn Ông/Bà!")).to_be_visible()
        # Offline, the tablet says where the answers are: kept here, sent later.
        expect(page.locator("#k-thanks-text")).to_have_text(SAVED_VI)
        expect(page.locator("#k-question")).to_have_text(MOOD_VI)
    badge = page.locator("#k-queue")
    expect(badge).to_have_text("Chờ gửi: 2")
    page.reload()  # still offline: the service worker serves the page
    expect(page.locator("#k-question")).to_have_text(MOOD_VI)
    expect(badge).to_have_text("Chờ gửi: 2")
    assert responses(live_app) == []
    context.set_offline(False)
    expect(badge).to_be_hidden()  # both sent (a refused one would be counted there)
    one_more_send_loop(page)  # nothing is sent twice
    stored = responses(live_app)
    assert sorted(r["answers"]["mood"] for r in stored) == [2, 5]
    assert len({r["id"] for r in stored}) == 2


def cached_copies(page: Page, path: str) -> list[str]:
    """The addresses the kiosk's cache holds for the static file ``path``."""
    return page.evaluate(
        """(path) => caches.open("kiosk-v1").then(cache => cache.keys())
            .then(keys => keys.map(key => key.url)
                              .filter(url => new URL(url).pathname === path))""",
        path,
    )


def test_a_new_version_of_a_static_file_replaces_the_cached_one(
    live_server: Any, live_app: Flask, tablet: tuple[BrowserContext, Page],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Static files are named by their content (``?v=``, survey_app/static_files.py).
    After an upgrade the kiosk must use the new file, not the copy its cache kept (a
    match that ignored the query answered the oldest copy for ever), and offline the
    copy it has."""
    context, page = tablet
    token = seed_desk(live_app, token=True)
    open_kiosk(page, live_server, token)
    expect(page.locator("#kiosk")).to_have_attribute("data-offline", "ready")
    path = "/static/kiosk/kiosk.css"
    (first,) = cached_copies(page, path)
    assert "?v=" in first
    # The upgrade: the same file under a new version (the server ignores the query).
    monkeypatch.setattr(static_files, "version", lambda _folder, _name: "0123456789ab")
    open_kiosk(page, live_server, token, query="thanks=3")  # another address: a new load
    expect(page.locator("#k-question")).to_have_text(MOOD_VI)
    served = page.evaluate(
        "(path) => performance.getEntriesByType('resource')"
        ".map(r => r.name).filter(n => new URL(n).pathname === path)",
        path,
    )
    assert set(served) == {f"{live_server.url}{path}?v=0123456789ab"}
    # The cache keeps the new version only (the worker stores it after answering).
    wanted = [f"{live_server.url}{path}?v=0123456789ab"]
    deadline = time.monotonic() + 10
    while (kept := cached_copies(page, path)) != wanted and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert kept == wanted
    # Offline, the page and its files come from the cache, the new version included.
    context.set_offline(True)
    page.reload()
    expect(page.locator("#k-question")).to_have_text(MOOD_VI)
    laid_out = "() => getComputedStyle(document.querySelector('.kiosk-app')).display"
    assert page.evaluate(laid_out) == "flex"  # kiosk.css (a plain div is a block)
