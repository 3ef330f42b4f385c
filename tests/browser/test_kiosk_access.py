"""The citizens' forms for everyone (issue 17), in headless Chromium.

At 1024×768, 800×1280 and 390×844, in Vietnamese and English: the question count never
changes on any branch, the review step comes before sending, offline the tablet says
the answers are kept on it; the read-aloud button plays the question's audio with the
network cut; larger text (200 %) leaves nothing outside the screen or clipped; a
keyboard alone completes the survey with the focus always on a visible control; axe-core
finds no serious or critical violation in either display mode.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from survey_app.collection import read_aloud
from tests.helpers.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    assert_accessible,
    foreign_fonts,
    responses,
    seed_desk,
)

pytestmark = pytest.mark.browser

VIEWPORTS = {"1024x768": (1024, 768), "800x1280": (800, 1280), "390x844": (390, 844)}

TEXTS = {
    "vi": {
        "mood": "Ông/Bà hài lòng ở mức nào với việc giải quyết thủ tục hôm nay?",
        "low": "Không hài lòng",
        "high": "Rất hài lòng",
        "problem": "Phải chờ lâu",
        "positive": "Giải quyết nhanh",
        "next": "Tiếp",
        "skip": "Bỏ qua",
        "review": "Xin Ông/Bà kiểm tra lại câu trả lời",
        "send": "Gửi câu trả lời",
        "change": "Sửa câu trả lời",
        "thanks": "Cảm ơn Ông/Bà!",
        "saved": "Câu trả lời của Ông/Bà đã được lưu trên máy tính bảng này. Câu trả lời sẽ "
        "được gửi tự động ngay khi có kết nối trở lại.",
        "count": "Câu {n}/{total}",
        "larger": "Chữ to",
        "contrast": "Tương phản cao",
        "listen": "Nghe đọc",
    },
    "en": {
        "mood": "How satisfied are you with how your procedure was handled today?",
        "low": "Dissatisfied",
        "high": "Very satisfied",
        "problem": "Long wait",
        "positive": "Quick service",
        "next": "Next",
        "skip": "Skip",
        "review": "Please check your answers",
        "send": "Send my answers",
        "change": "Change answers",
        "thanks": "Thank you!",
        "saved": "Your answers are saved on this tablet. They will be sent automatically "
        "as soon as the connection is back.",
        "count": "Question {n} of {total}",
        "larger": "Larger text",
        "contrast": "High contrast",
        "listen": "Listen",
    },
}


def make_tablet(browser: Browser, size: str) -> tuple[BrowserContext, Page]:
    width, height = VIEWPORTS[size]
    small = width < 600
    context = browser.new_context(
        locale="vi-VN",
        viewport={"width": width, "height": height},
        is_mobile=small,
        has_touch=small,
    )
    return context, context.new_page()


def tap(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


@contextlib.contextmanager
def kiosk_tablet(browser: Browser, size: str, server: Any, app: Flask, lang: str) -> Iterator[Page]:
    """Desk Q-C with a token, its kiosk open in ``lang`` on a tablet of ``size``."""
    context, page = make_tablet(browser, size)
    try:
        token = seed_desk(app, token=True)
        open_kiosk(page, server, token, lang)
        yield page
    finally:
        context.close()


def open_kiosk(page: Page, server: Any, token: str | None, lang: str, query: str = "") -> None:
    fragment = f"#token={token}" if token else ""
    page.goto(f"{server.url}/kiosk/Q-C?thanks=60{query}{fragment}")
    expect(page.locator("#kiosk")).to_have_attribute("data-state", "survey")
    if lang == "en":  # each citizen starts in Vietnamese and may switch
        page.get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")


def progress(page: Page) -> str:
    return page.locator("#k-progress").inner_text()


def walk(page: Page, lang: str, mood: str, reason: str) -> list[str]:
    """One survey to the review screen; the counts shown on the way."""
    words = TEXTS[lang]
    seen = [progress(page)]
    tap(page, words[mood])
    expect(page.locator("#k-question")).not_to_have_text(words["mood"])
    seen.append(progress(page))
    tap(page, words[reason])
    tap(page, words["next"])
    for face in ("high", "low", None):
        seen.append(progress(page))
        if face is None:
            tap(page, words["skip"])
        else:
            before = progress(page)
            tap(page, words[face])
            if before != f"{words['count'].format(n=5, total=5)}":
                expect(page.locator("#k-progress")).not_to_have_text(before)
    expect(page.get_by_role("heading", name=words["review"])).to_be_visible()
    return seen


@pytest.mark.same_on_every_database("size", "lang")
@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_count_never_changes_and_the_review_comes_before_sending(
    live_server: Any, live_app: Flask, browser: Browser, size: str, lang: str
) -> None:
    with kiosk_tablet(browser, size, live_server, live_app, lang) as page:
        words = TEXTS[lang]
        for mood, reason in (("low", "problem"), ("high", "positive")):
            seen = walk(page, lang, mood, reason)
            assert seen == [words["count"].format(n=n, total=5) for n in range(1, 6)], seen
            assert responses(live_app) == [] or mood == "high"
            # The review lists the answers; sending is a separate, deliberate tap.
            review = page.locator("#k-review-list")
            expect(review).to_contain_text(words[reason])
            expect(review).to_contain_text(words[mood])
            if mood == "low":
                tap(page, words["change"])  # back to the last question, nothing sent
                expect(page.locator("#k-progress")).to_have_text(
                    words["count"].format(n=5, total=5)
                )
                tap(page, words["skip"])
            send = page.get_by_role("button", name=words["send"], exact=True)
            expect(send).to_be_enabled()
            send.click()
            expect(page.get_by_role("heading", name=words["thanks"])).to_be_visible()
            expect(page.locator("#kiosk")).to_have_attribute("data-outcome", "sent")
            open_kiosk(page, live_server, None, lang)
        stored = responses(live_app)
        assert [r["answers"]["mood"] for r in stored] == [2, 5]
        assert stored[0]["answers"]["problems"] == ["cho_lau"]
        assert {r["lang"] for r in stored} == {lang}


@pytest.mark.same_on_every_database("lang")
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_offline_the_thanks_screen_says_the_answers_wait_on_the_tablet(
    live_server: Any, live_app: Flask, browser: Browser, lang: str
) -> None:
    context, page = make_tablet(browser, "800x1280")
    try:
        token = seed_desk(live_app, token=True)
        open_kiosk(page, live_server, token, lang)
        expect(page.locator("#kiosk")).to_have_attribute("data-offline", "ready")
        context.set_offline(True)
        words = TEXTS[lang]
        tap(page, words["high"])
        page.locator("#k-send-now").click()
        page.get_by_role("button", name=words["send"], exact=True).click()
        expect(page.locator("#k-thanks-text")).to_have_text(words["saved"])
        assert responses(live_app) == []
        context.set_offline(False)
    finally:
        context.close()


# ---------------------------------------------------------------- read aloud


@pytest.fixture
def audio_browser(browser: Browser) -> Iterator[Browser]:
    """Chromium that may play sound without a gesture (the auto-read mode is tested too)."""
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
    )
    yield chromium
    chromium.close()


def build_audio(app: Flask) -> None:
    with app.app_context():
        read_aloud.build_folder(Path(app.config["QUESTIONNAIRE_DIR"]))


def played(page: Page) -> bool:
    """The audio element finished, or its clock moved past zero."""
    return page.evaluate(
        "() => { const a = document.querySelector('audio[data-citizen-audio]');"
        " return a.dataset.state === 'ended' || a.currentTime > 0.2; }"
    )


def test_an_offline_kiosk_reads_the_question_aloud(
    live_server: Any, live_app: Flask, audio_browser: Browser
) -> None:
    token = seed_desk(live_app, token=True)
    build_audio(live_app)
    context, page = make_tablet(audio_browser, "1024x768")
    try:
        open_kiosk(page, live_server, token, "vi")
        expect(page.locator("#kiosk")).to_have_attribute("data-offline", "ready", timeout=20000)
        context.set_offline(True)
        page.reload()  # the service worker serves the page and the audio files
        expect(page.locator("#kiosk")).to_have_attribute("data-state", "survey")
        listen = page.get_by_role("button", name=TEXTS["vi"]["listen"])
        expect(listen).to_be_visible()
        listen.click()
        expect(page.locator("#k-audio")).to_have_attribute("data-state", "playing")
        page.wait_for_function(
            "() => { const a = document.getElementById('k-audio');"
            " return a.dataset.state === 'ended' || a.currentTime > 0.2; }",
            timeout=15000,
        )
        assert played(page)
        source = page.evaluate("() => document.getElementById('k-audio').currentSrc")
        assert "/kiosk/audio/" in source
    finally:
        context.close()


def test_the_desk_can_read_each_question_by_itself(
    live_server: Any, live_app: Flask, audio_browser: Browser
) -> None:
    token = seed_desk(live_app, token=True)
    build_audio(live_app)
    from survey_app.extensions import db
    from survey_app.models import Desk

    with live_app.app_context():
        desk = db.session.scalars(db.select(Desk)).one()
        desk.read_aloud_auto = True
        db.session.commit()
        db.session.remove()
    context, page = make_tablet(audio_browser, "800x1280")
    try:
        open_kiosk(page, live_server, token, "vi")
        tap(page, TEXTS["vi"]["high"])
        expect(page.locator("#k-question")).to_have_text("Điều gì khiến Ông/Bà hài lòng?")
        page.wait_for_function(
            "() => { const a = document.getElementById('k-audio');"
            " return a.dataset.state === 'ended' || a.currentTime > 0.2; }",
            timeout=15000,
        )
    finally:
        context.close()


# ---------------------------------------------------------------- larger text, contrast

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const bad = [];
  const page = document.documentElement.scrollWidth;
  if (page > width + 1) bad.push('page ' + page);
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    if (el.closest('[hidden]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const name = el.tagName + '.' + el.className;
    if (r.right > width + 1 || r.left < -1) bad.push(name + ' ' + r.left + '-' + r.right);
    const control = el.matches('button, a, label, h1, h2, p, dt, dd, span, legend');
    if (control && (el.scrollWidth > el.clientWidth + 1) && style.overflow !== 'visible')
      bad.push('clipped ' + name);
  }
  return bad;
}"""


def no_overflow(page: Page) -> None:
    assert page.evaluate(OVERFLOW) == []


@pytest.mark.same_on_every_database("size", "lang")
@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_larger_text_at_200_percent_leaves_nothing_outside(
    live_server: Any, live_app: Flask, browser: Browser, size: str, lang: str
) -> None:
    with kiosk_tablet(browser, size, live_server, live_app, lang) as page:
        words = TEXTS[lang]
        larger = page.get_by_role("button", name=words["larger"])
        larger.click()
        expect(larger).to_have_attribute("aria-pressed", "true")
        assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "36px"
        no_overflow(page)
        tap(page, words["low"])
        expect(page.locator("#k-question")).not_to_have_text(words["mood"])
        no_overflow(page)
        page.locator("#k-send-now").click()
        expect(page.get_by_role("heading", name=words["review"])).to_be_visible()
        no_overflow(page)
        # The mode persists: a reload (the next citizen's page) keeps it.
        page.reload()
        expect(page.locator("html")).to_have_class("display-large")
        expect(page.locator("#kiosk")).to_have_attribute("data-state", "survey")
        no_overflow(page)
        # The phone form too.
        page.goto(f"{live_server.url}/s/Q-C?lang={lang}")
        expect(page.locator("html")).to_have_class("display-large")
        no_overflow(page)


@pytest.mark.same_on_every_database("size", "mode")
@pytest.mark.parametrize(
    ("size", "mode"),
    [(size, mode) for size in VIEWPORTS for mode in ("normal", "contrast")]
    + [("390x844", "large+contrast")],
)
def test_axe_finds_nothing_serious_in_each_display_mode(
    live_server: Any, live_app: Flask, browser: Browser, size: str, mode: str
) -> None:
    with kiosk_tablet(browser, size, live_server, live_app, "vi") as page:
        words = TEXTS["vi"]
        if "contrast" in mode:
            page.get_by_role("button", name=words["contrast"]).click()
            expect(page.locator("html")).to_have_class("display-contrast")
        if "large" in mode:
            page.get_by_role("button", name=words["larger"]).click()
        assert_accessible(page)
        tap(page, words["high"])
        tap(page, words["positive"])
        assert_accessible(page)
        page.locator("#k-send-now").click()
        expect(page.get_by_role("button", name=words["send"])).to_be_enabled()
        assert_accessible(page)
        page.get_by_role("button", name=words["send"]).click()
        expect(page.locator("#kiosk")).to_have_attribute("data-outcome", "sent")
        assert_accessible(page)
        page.goto(f"{live_server.url}/kiosk/Q-C")  # same tablet, token kept
        page.evaluate("() => localStorage.removeItem('kiosk-token:Q-C')")
        page.reload()
        expect(page.locator("#kiosk-not-ready")).to_be_visible()
        assert_accessible(page)
        page.goto(f"{live_server.url}/s/Q-C")
        assert_accessible(page)
        assert foreign_fonts(page) == []  # its fields and buttons in the page's font
        page.goto(f"{live_server.url}/s/")
        if "contrast" in mode:  # the choice holds on the desk list too
            expect(page.locator("html")).to_have_class(re.compile("display-contrast"))
        assert_accessible(page)
        assert foreign_fonts(page) == []  # the search field was in Arial
        # The header's links show their focus there too.
        tab_to(page, "English")


# ---------------------------------------------------------------- keyboard

FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {ok: false, what: 'body'};
  const r = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  const visible = r.width > 0 && r.height > 0 && style.visibility !== 'hidden'
    && !el.closest('[hidden]');
  const control = el.matches('button, a[href], input, textarea, select')
    || el.id === 'k-thanks-title';
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
    || style.boxShadow !== 'none';
  const what = el.tagName + ' ' + (el.textContent || '').trim().slice(0, 40);
  return {ok: visible && control && ring, what, visible, control, ring};
}"""


def focus_ok(page: Page) -> str:
    state = page.evaluate(FOCUS)
    assert state["ok"], state
    return state["what"]


def tab_to(page: Page, text: str, limit: int = 40) -> None:
    """Tab until the focused control's text contains ``text``; the focus is checked each time."""
    if text in page.evaluate(FOCUS)["what"]:
        return
    for _ in range(limit):
        page.keyboard.press("Tab")
        if text in focus_ok(page):
            return
    raise AssertionError(f"{text!r} not reached with Tab")


@pytest.mark.same_on_every_database("size")
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_keyboard_alone_completes_the_survey(
    live_server: Any, live_app: Flask, browser: Browser, size: str
) -> None:
    with kiosk_tablet(browser, size, live_server, live_app, "vi") as page:
        words = TEXTS["vi"]
        # The title is no way out of the kiosk; "English" shows its focus on the dark header.
        assert page.locator(".site-header .brand").get_attribute("href") is None
        tab_to(page, "English")
        tab_to(page, words["high"])
        page.keyboard.press("Enter")
        expect(page.locator("#k-question")).to_have_text("Điều gì khiến Ông/Bà hài lòng?")
        focus_ok(page)  # on the first reason, not lost to the page
        tab_to(page, words["positive"])
        page.keyboard.press("Space")
        expect(page.get_by_role("button", name=words["positive"])).to_have_attribute(
            "aria-pressed", "true"
        )
        assert words["positive"] in focus_ok(page)  # Space kept the focus on the button
        tab_to(page, words["next"])
        page.keyboard.press("Enter")
        for n in (3, 4, 5):
            expect(page.locator("#k-progress")).to_have_text(f"Câu {n}/5")
            focus_ok(page)
            tab_to(page, "Hài lòng")
            page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name=words["review"])).to_be_visible()
        focus_ok(page)
        send = page.get_by_role("button", name=words["send"])
        expect(send).to_be_enabled()
        tab_to(page, words["send"])
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name=words["thanks"])).to_be_visible()
        focus_ok(page)
        expect(page.locator("#kiosk")).to_have_attribute("data-outcome", "sent")
        [stored] = responses(live_app)
        assert stored["answers"] == {
            "mood": 5, "positives": ["nhanh"], "fu_wait": 4, "fu_staff": 4, "fu_guidance": 4,
        }  # fmt: skip
