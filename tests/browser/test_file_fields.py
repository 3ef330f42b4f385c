"""File fields speak the page's language, not the browser's (static/js/files.js).

A browser draws its own "Choose File" / "No file chosen" in its own language: on a
Vietnamese page in an English browser (or the other way round) the upload forms were
half in the wrong language. Here the browser's language is always the other one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Role, Unit

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"
UNITS_CSV = "code,name_vi,name_en,kind,parent_code\nT-1,Xã Thử,Test commune,commune,\n"


def logged_in_admin(browser: Browser, server: Any, app: Flask, **context: Any) -> Page:
    with app.app_context():
        accounts.create_user("root-admin", PASSWORD, Role.ADMIN)
        db.session.remove()
    page = browser.new_context(**context).new_page()
    page.goto(f"{server.url}/auth/login")
    page.fill("input[name=username]", "root-admin")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".site-nav .who")).to_have_text("root-admin")
    return page


def unit_exists(app: Flask, code: str) -> bool:
    with app.app_context():
        found = db.session.scalar(select(Unit).where(Unit.code == code)) is not None
        db.session.remove()
    return found


@pytest.mark.parametrize(
    ("lang", "browser_locale", "choose", "none"),
    [("vi", "en-US", "Chọn tệp", "Chưa chọn tệp nào"),
     ("en", "vi-VN", "Choose a file", "No file chosen")],
)  # fmt: skip
def test_a_file_field_speaks_the_pages_language(
    live_server: Any, live_app: Flask, browser: Browser, tmp_path: Path,
    lang: str, browser_locale: str, choose: str, none: str,
) -> None:  # fmt: skip
    page = logged_in_admin(browser, live_server, live_app, locale=browser_locale)
    try:
        page.goto(f"{live_server.url}/admin/units?lang={lang}")
        field = page.locator("input[type=file]")
        button = page.locator(".file-pick .file-button")
        expect(button).to_have_text(choose)
        expect(page.locator(".file-pick .file-chosen")).to_have_text(none)
        # The field itself lies, transparent, over the button: what is under a tap on
        # the button's centre is the field, which opens the browser's file chooser.
        # (Not by waiting for the "filechooser" event: Playwright subscribes to it without
        # waiting for the browser, and under CI's load the click came first, twice.)
        shown, under = button.bounding_box(), field.bounding_box()
        assert shown and under and shown["height"] >= 44
        assert all(abs(shown[k] - under[k]) < 1 for k in ("x", "y", "width", "height"))
        assert field.evaluate("f => getComputedStyle(f).opacity") == "0"
        centre = [shown["x"] + shown["width"] / 2, shown["y"] + shown["height"] / 2]
        on_top = "([x, y]) => document.elementFromPoint(x, y)?.matches('input[type=file]')"
        assert page.evaluate(on_top, centre)
        chosen = tmp_path / "don-vi.csv"
        chosen.write_text(UNITS_CSV, encoding="utf-8")
        field.set_input_files(str(chosen))
        expect(page.locator(".file-pick .file-chosen")).to_have_text("don-vi.csv")
        # Keyboards reach the field itself; the button shows where the focus is.
        field.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        assert field.evaluate("f => f === document.activeElement")
        assert button.evaluate("b => getComputedStyle(b).outlineStyle") != "none"
        # It is still the form's field: the file is sent and imported.
        page.locator("form:has(input[type=file]) button[type=submit]").click()
        expect(page.locator(".flash")).to_be_visible()
        assert unit_exists(live_app, "T-1")
    finally:
        page.context.close()


def test_without_javascript_the_browsers_own_field_shows(
    live_server: Any, live_app: Flask, browser: Browser
) -> None:
    page = logged_in_admin(browser, live_server, live_app, java_script_enabled=False)
    try:
        page.goto(f"{live_server.url}/admin/units")
        expect(page.locator(".file-pick")).to_have_count(0)
        field = page.locator("input[type=file]")
        expect(field).to_be_visible()
        assert field.evaluate("f => getComputedStyle(f).opacity") == "1"
    finally:
        page.context.close()
