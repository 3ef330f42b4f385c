"""The notification centre in Chromium (demo province, CSRF on): the Hoàng Mai leader
sees the bell with the unread count on the dashboard, opens the list, the burst
alert's page, acknowledges it (the count drops, the audit log holds it) and follows
its link to the page behind it, in Vietnamese and English; axe-core finds nothing
serious on the list, the alert page or the settings page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import AlertRule, AuditLog, User
from survey_app.reporting.alerts.episodes import run as run_alerts
from survey_app.reporting.alerts.inbox import visible_alerts
from tests.helpers.browser import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.demo]

PASSWORD = "correct-horse-battery"


def test_leader_reads_acknowledges_and_follows_an_alert(
    live_server: Any, live_app: Flask, page: Page
) -> None:
    with live_app.app_context():
        run_alerts()
        leader = db.session.scalar(select(User).where(User.username == "leader"))
        leader.password_hash = accounts.hash_password(PASSWORD)
        db.session.commit()
        unread = len(visible_alerts(leader))
        db.session.remove()
    assert unread >= 1
    page.goto(live_server.url + "/auth/login")
    page.get_by_label("Tên đăng nhập").fill("leader")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    bell = page.locator("#alert-bell")
    expect(bell).to_be_visible()
    expect(bell.locator(".alert-count")).to_have_text(str(unread))
    expect(bell).to_have_attribute("aria-label", f"Cảnh báo: {unread} chưa đọc")

    bell.click()
    expect(page.get_by_role("heading", name="Cảnh báo", exact=True)).to_be_visible()
    row = page.locator("tr.alert-row", has_text="Quỳnh Dị")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Loạt câu trả lời giống hệt nhau cần xem xét")
    assert_accessible(page)

    row.get_by_role("link").click()
    expect(page.locator("#alert-sentence")).to_contain_text("8 phiếu bị đánh dấu")
    assert_accessible(page)
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_text("Đã xác nhận cảnh báo.")).to_be_visible()
    expect(page.locator("#acknowledged")).to_have_text("Bạn đã xác nhận cảnh báo này.")
    if unread > 1:
        expect(bell.locator(".alert-count")).to_have_text(str(unread - 1))
    else:
        expect(bell.locator(".alert-count")).to_have_count(0)

    page.get_by_role("link", name="English").click()
    expect(page.locator("#acknowledged")).to_have_text("You have acknowledged this alert.")
    expect(page.locator("#alert-sentence")).to_contain_text("8 responses flagged as a burst")
    page.get_by_role("link", name="Open the page behind this alert").click()
    expect(page).to_have_url(re.compile(r"/dashboard/kiosk\?unit=HM-QD"))
    expect(page.locator("#alert-bell")).to_be_visible()

    page.goto(live_server.url + "/alerts/?lang=en")
    expect(page.locator("tr.alert-row", has_text="Quỳnh Dị")).to_have_attribute(
        "data-acknowledged", "yes"
    )
    page.goto(live_server.url + "/alerts/settings")
    expect(page.get_by_role("heading", name="Alert settings")).to_be_visible()
    assert_accessible(page)

    with live_app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "alert.acknowledge"))
        assert entry is not None and entry.username == "leader"
        assert entry.details["rule"] == AlertRule.BURST.value
        db.session.remove()
