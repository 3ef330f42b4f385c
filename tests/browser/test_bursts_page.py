"""An analyst reviews the demo's burst of identical answers in Vietnamese and English and
keeps it (headless Chromium, CSRF on): the page then shows it as kept and the audit log
holds the decision."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import AuditLog, Response, Role

pytestmark = [pytest.mark.browser, pytest.mark.demo]

PASSWORD = "correct-horse-battery"


def test_analyst_keeps_a_burst(live_server: Any, live_app: Flask, page: Page) -> None:
    with live_app.app_context():
        accounts.create_user("hm_analyst", PASSWORD, Role.ANALYST, "NA-HM")
        db.session.remove()
    page.goto(live_server.url + "/auth/login")
    page.get_by_label("Tên đăng nhập").fill("hm_analyst")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Phiếu dồn dập cần xem xét").click()
    expect(page.get_by_role("heading", name="Phiếu giống hệt nhau gửi dồn dập")).to_be_visible()
    row = page.locator("tr.burst")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Phường Quỳnh Dị")
    expect(row).to_contain_text("Chờ xem xét (chưa tính)")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Bursts of identical answers")).to_be_visible()
    expect(row).to_contain_text("Waiting for review (not counted)")
    row.get_by_role("button", name="Keep").click()
    expect(page.get_by_text("Responses kept: 8. They now count in the figures.")).to_be_visible()
    expect(page.locator("tr.burst")).to_contain_text("Kept (counted)")
    expect(page.locator("tr.burst").get_by_role("button", name="Keep")).to_have_count(0)

    with live_app.app_context():
        kept = db.session.scalars(select(Response).where(Response.flag_reason.like("burst%")))
        assert {(r.flagged, r.flag_reason) for r in kept} == {(False, "burst-kept")}
        actions = db.session.scalars(select(AuditLog.action).where(AuditLog.user_id.is_not(None)))
        assert "burst.keep" in set(actions)
        db.session.remove()
