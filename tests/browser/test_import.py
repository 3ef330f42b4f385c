"""An analyst imports paper questionnaires: a file with one bad row, then a clean one."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from survey_app.admin import accounts, units
from survey_app.collection import questionnaires
from survey_app.extensions import db
from survey_app.models import Response, Role, Unit, Wave, WaveKind

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"
HEADER = "client_id,unit_code,wave_code,submitted_date,mood,problems\nlabels,,,,,\n"
GOOD_ROWS = "P-1,C,K-1,05/03/2024,2,cho_lau;thai_do\nP-2,C,K-1,06/03/2024,5,\n"


def seed(app: Flask) -> None:
    with app.app_context():
        units.import_units([{"code": "C", "name_vi": "Xã Đông", "name_en": "East commune",
                             "kind": "commune", "parent_code": ""}])  # fmt: skip
        questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
        unit = db.session.scalar(select(Unit).where(Unit.code == "C"))
        db.session.add(
            Wave(code="K-1", name_vi="Phiếu giấy tháng 3", name_en="Paper, March",
                 kind=WaveKind.CONTINUOUS_FEEDBACK,
                 questionnaire_id=questionnaires.latest("kiosk_quick").id, unit_id=unit.id,
                 start_date=date(2024, 3, 1), end_date=date(2024, 3, 31))
        )  # fmt: skip
        db.session.commit()
        accounts.create_user("ana", PASSWORD, Role.ANALYST)
        db.session.remove()


def stored(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Response)) or 0
        db.session.remove()
    return count


def test_analyst_fixes_a_bad_row_and_imports(
    live_server: Any, live_app: Flask, page: Page, tmp_path: Path
) -> None:
    seed(live_app)
    bad = tmp_path / "phieu.csv"
    bad.write_text(HEADER + GOOD_ROWS + "P-3,C,K-1,07/03/2024,9,\n", encoding="utf-8")
    good = tmp_path / "phieu-da-sua.csv"
    good.write_text(HEADER + GOOD_ROWS + "P-3,C,K-1,07/03/2024,4,\n", encoding="utf-8")

    page.goto(live_server.url + "/auth/login")
    page.get_by_label("Tên đăng nhập").fill("ana")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Nhập và xuất dữ liệu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nhập và xuất dữ liệu")

    page.get_by_label("Mẫu nhập liệu đã điền (XLSX hoặc CSV)").set_input_files(str(bad))
    page.get_by_role("button", name="Kiểm tra và nhập").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Tệp chưa được nhập: có 1 lỗi. Không dữ liệu nào được lưu.")
    error_row = alert.get_by_role("row").nth(1)
    expect(error_row).to_contain_text("5")
    expect(error_row).to_contain_text("mood")
    expect(error_row).to_contain_text("Giá trị nằm ngoài khoảng cho phép. Giá trị cho phép: 1–5.")
    assert stored(live_app) == 0

    page.get_by_label("Mẫu nhập liệu đã điền (XLSX hoặc CSV)").set_input_files(str(good))
    page.get_by_role("button", name="Kiểm tra và nhập").click()
    expect(page.get_by_role("status")).to_have_text(
        "Đã nhập tệp: 3 phiếu mới, 0 phiếu đã có từ trước."
    )
    assert stored(live_app) == 3

    page.get_by_label("Mẫu nhập liệu đã điền (XLSX hoặc CSV)").set_input_files(str(good))
    page.get_by_role("button", name="Kiểm tra và nhập").click()
    expect(page.get_by_role("status")).to_have_text(
        "Đã nhập tệp: 0 phiếu mới, 3 phiếu đã có từ trước."
    )
    assert stored(live_app) == 3
