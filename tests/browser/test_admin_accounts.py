"""An administrator creates a ward leader; the leader sees only the ward; the audit log
shows what happened (headless Chromium, Vietnamese, CSRF on)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.demo]

PASSWORD = "correct-horse-battery"
LEADER_PASSWORD = "ward-leader-secret"


def log_in(page: Page, url: str, username: str, password: str, then: str = "") -> None:
    page.goto(url + "/auth/login" + (f"?next={then}" if then else ""))
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_admin_creates_a_ward_leader_who_sees_only_the_ward(
    live_server: Any, live_app: Flask, page: Page, browser: Browser
) -> None:
    with live_app.app_context():
        accounts.create_user("province_admin", PASSWORD, Role.ADMIN)
        db.session.remove()
    log_in(page, live_server.url, "province_admin", PASSWORD, then="/admin/")
    expect(page.get_by_role("link", name="Quản trị")).to_be_visible()  # the nav link
    page.get_by_role("link", name="Người dùng").first.click()
    page.get_by_role("link", name="Thêm người dùng").click()
    page.get_by_label("Tên đăng nhập").fill("lanh_dao_mai_hung")
    page.get_by_label("Vai trò").select_option("leader")
    page.get_by_label("Phạm vi đơn vị").select_option("HM-MH")
    page.get_by_label("Mật khẩu mới").fill(LEADER_PASSWORD)
    page.get_by_label("Nhập lại mật khẩu").fill(LEADER_PASSWORD)
    page.get_by_role("button", name="Tạo người dùng").click()
    expect(page.get_by_text("Đã tạo người dùng lanh_dao_mai_hung.")).to_be_visible()
    row = page.get_by_role("row", name="lanh_dao_mai_hung")
    expect(row).to_contain_text("Phường Mai Hùng")

    leader_context = browser.new_context(locale="vi-VN")
    leader = leader_context.new_page()
    try:
        log_in(leader, live_server.url, "lanh_dao_mai_hung", LEADER_PASSWORD)
        expect(leader).to_have_url(live_server.url + "/dashboard/")
        content = leader.locator("main")
        expect(content).to_contain_text("Mai Hùng")
        for elsewhere in ("Quỳnh Dị", "Quảng Ngãi", "Bình Sơn"):
            expect(content).not_to_contain_text(elsewhere)
        expect(leader.get_by_role("link", name="Quản trị")).to_have_count(0)
        response = leader.goto(live_server.url + "/admin/users/")
        assert response is not None and response.status == 403
    finally:
        leader_context.close()

    page.get_by_role("link", name="Nhật ký hệ thống").click()
    log = page.locator("table.audit")
    created = log.get_by_role("row").filter(has_text="Tạo tài khoản")  # user.create, in words
    expect(created.first).to_contain_text("province_admin")
    expect(created.first).to_contain_text("lanh_dao_mai_hung")
    page.get_by_label("Tên đăng nhập").fill("lanh_dao_mai_hung")
    page.get_by_label("Thao tác", exact=True).select_option("login")
    page.get_by_role("button", name="Lọc").click()
    expect(log.get_by_role("row")).to_have_count(2)  # the header and the leader's login
    expect(log).to_contain_text("lanh_dao_mai_hung")
