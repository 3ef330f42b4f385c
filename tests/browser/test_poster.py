"""An administrator prints a desk's poster: one A4 page with the phone QR code."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from survey_app.admin import accounts
from survey_app.models import Role
from tests.helpers.browser import seed_desk

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"


def test_admin_prints_the_desk_poster(live_server: Any, live_app: Flask, page: Page) -> None:
    seed_desk(live_app)
    with live_app.app_context():
        accounts.create_user("admin1", PASSWORD, Role.ADMIN)
    page.goto(live_server.url + "/admin/desks/")
    page.get_by_label("Tên đăng nhập").fill("admin1")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Quầy")).to_be_visible()
    page.get_by_role("link", name="Áp phích").click()
    poster = page.get_by_role("article")
    expect(poster.get_by_role("heading", level=1)).to_have_text(
        "Ông/Bà có hài lòng với sự phục vụ của chúng tôi hôm nay không?"
    )
    expect(poster).to_contain_text("Quét mã QR bằng điện thoại để đánh giá sự phục vụ.")
    expect(poster).to_contain_text("Scan the QR code with your phone camera to rate the service.")
    expect(poster).to_contain_text("Quầy một cửa xã Đông")
    expect(poster).to_contain_text(f"{live_server.url}/s/Q-C")
    qr = poster.get_by_role("img", name=re.compile("QR"))
    box = qr.bounding_box()
    assert box is not None and box["width"] > 250 and abs(box["width"] - box["height"]) < 2
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one A4 sheet
