"""Paper-form entry templates, their import, and microdata export (test client).

The fixture builds a small province (a district with two communes), loads the
questionnaire files and opens one SIPAS field-survey wave, so every expected value
below comes from the rows the tests write themselves.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import pyreadstat
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.admin import units
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.collection.paper_import.importing import import_file
from survey_app.collection.paper_import.template import FIXED_COLUMNS
from survey_app.extensions import db
from survey_app.models import AuditLog, Channel, Response, Role, Wave
from tests.helpers.paper_import import CLEAN, login, stored, text_of, upload


def test_xlsx_template_has_codes_labels_and_drop_down_lists(
    client: FlaskClient, province: Wave
) -> None:
    login(client, "ana", Role.ANALYST)
    response = client.get("/analyst/data/template/sipas/v1.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book["data"]
    codes = [cell.value for cell in sheet[1]]
    assert codes[:7] == list(FIXED_COLUMNS)
    definition = spec.Questionnaire.from_dict(questionnaires.latest("sipas").definition)
    assert codes[7:] == list(definition.item_codes)
    labels = dict(zip(codes, [cell.value for cell in sheet[2]], strict=True))
    assert labels["acc1"] == definition.item("acc1").label.vi
    assert labels["unit_code"] == "Mã đơn vị"
    acc1 = codes.index("acc1") + 1
    letter = openpyxl.utils.get_column_letter(acc1)
    rules = {str(rule.sqref): rule for rule in sheet.data_validations.dataValidation}
    rule = rules[f"{letter}3:{letter}2002"]
    assert rule.type == "list"
    column = rule.formula1.split("!")[1].split(":")[0].replace("$", "")[0 : len(letter)]
    allowed = [row[0].value for row in book["lists"][f"{column}1:{column}5"]]
    assert allowed == [1, 2, 3, 4, 5]
    assert book["lists"].sheet_state == "hidden"
    unit_rule = rules["B3:B2002"]
    unit_codes = {row[0].value for row in book["lists"]["B1:B3"]}
    assert unit_rule.type == "list" and unit_codes == {"X", "X-A", "X-B"}
    english = client.get("/analyst/data/template/sipas/v1.xlsx?lang=en")
    sheet = openpyxl.load_workbook(io.BytesIO(english.data))["data"]
    assert sheet.cell(row=2, column=acc1).value == definition.item("acc1").label.en


def test_csv_template_has_a_code_row_and_a_label_row(client: FlaskClient, province: Wave) -> None:
    login(client, "ana", Role.ANALYST)
    response = client.get("/analyst/data/template/kiosk_quick/v1.csv?lang=en")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][7:] == ["mood", "problems", "positives", "fu_wait", "fu_staff", "fu_guidance"]
    assert rows[1][8].startswith("What were you not satisfied with?")
    assert "(codes separated by ;)" in rows[1][8]


def test_clean_file_is_imported_once(client: FlaskClient, province: Wave) -> None:
    login(client, "ana", Role.ANALYST)
    first = upload(client, CLEAN.encode())
    assert first.status_code == 200
    assert "Đã nhập tệp: 2 phiếu mới, 0 phiếu đã có từ trước." in text_of(first)
    rows = db.session.scalars(select(Response).order_by(Response.id)).all()
    assert [r.channel for r in rows] == [Channel.PAPER, Channel.PAPER]
    assert rows[0].answers == {
        "field": "dat_dai", "acc1": 4, "acc2": 5, "gender": "nu", "comment": "Nhanh gọn"
    }  # fmt: skip
    assert rows[1].answers == {"acc1": 2, "gender": "nam"}  # blanks of paper forms are allowed
    assert (rows[0].stratum, rows[0].psu, rows[0].design_weight) == ("X-A", "X-A-T1", 12.5)
    assert rows[1].design_weight == 7.5  # Vietnamese decimal comma
    again = upload(client, CLEAN.encode())
    assert "Đã nhập tệp: 0 phiếu mới, 2 phiếu đã có từ trước." in text_of(again)
    assert stored() == 2
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "data.import")).all()
    assert [entry.details["created"] for entry in audit] == [2, 0]
    assert audit[0].username == "ana" and audit[0].target == "waves:W-1"


def test_a_bad_row_rejects_the_whole_file_with_errors_by_row_and_column(
    app: Flask, client: FlaskClient, province: Wave
) -> None:
    login(client, "ana", Role.ANALYST)
    bad = CLEAN + ",X-Z,W-1,,,-1,31/02/2024,dat_dai,7,5,,\n" + ",X-A,W-1,,,,06/03/2024,,,,ba,\n"
    response = upload(client, bad.encode())
    assert response.status_code == 422
    page = text_of(response)
    assert "Tệp chưa được nhập: có 5 lỗi. Không dữ liệu nào được lưu." in page
    assert "Mã đơn vị X-Z không tồn tại hoặc nằm ngoài phạm vi của bạn." in page
    assert "Trọng số thiết kế phải là số dương." in page
    assert "Hãy ghi ngày theo dạng ngày/tháng/năm (dd/mm/yyyy)." in page
    assert "Giá trị nằm ngoài khoảng cho phép. Giá trị cho phép: 1–5." in page
    assert "Lựa chọn không hợp lệ. Giá trị cho phép: nam, nu." in page
    with app.test_request_context("/?lang=en"):
        report = import_file("bad.csv", bad.encode(), accounts_user("ana"), "en")
    cells = {(i.row, i.column, i.cell) for i in report.issues}
    assert (5, "unit_code", "B5") in cells and (5, "acc1", "I5") in cells
    assert (6, "gender", "K6") in cells
    assert stored() == 0
    rejected = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "data.import.rejected")
    ).all()
    assert rejected and rejected[0].details["problems"] == 5


def accounts_user(name: str):
    from survey_app.models import User

    return db.session.scalar(select(User).where(User.username == name))


def test_header_problems_are_reported_on_row_one(client: FlaskClient, province: Wave) -> None:
    login(client, "ana", Role.ANALYST)
    content = "unit_code,wave_code,submitted_date,acc1,colour\n-\nX-A,W-1,05/03/2024,4,red\n"
    response = upload(client, content.encode(), lang="en")
    assert response.status_code == 422
    assert "The column colour is not a question of this questionnaire." in text_of(response)
    missing = upload(client, b"unit_code,acc1\n-\nX-A,4\n", lang="en")
    assert "The column wave_code is missing." in text_of(missing)
    unreadable = upload(client, b"PK\x03\x04 not a workbook", name="x.xlsx", lang="en")
    assert "The file could not be read" in text_of(unreadable)
    assert stored() == 0


def test_filled_in_xlsx_template_imports(client: FlaskClient, province: Wave) -> None:
    login(client, "ana", Role.ANALYST)
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/analyst/data/template/sipas/v1.xlsx").data)
    )
    sheet = book["data"]
    codes = [cell.value for cell in sheet[1]]
    row = {"client_id": "P-0001", "unit_code": "X-A", "wave_code": "W-1",
           "submitted_date": date(2024, 3, 4), "acc1": 3, "trips": 2, "gave_feedback": "yes",
           "fb1": 5}  # fmt: skip
    for column, code in enumerate(codes, start=1):
        sheet.cell(row=3, column=column, value=row.get(code))
    out = io.BytesIO()
    book.save(out)
    response = upload(client, out.getvalue(), name="phieu.xlsx")
    assert "Đã nhập tệp: 1 phiếu mới" in text_of(response)
    stored_row = db.session.scalar(select(Response))
    assert stored_row.answers == {"trips": 2, "acc1": 3, "gave_feedback": "yes", "fb1": 5}
    # The same form number with other answers, in another file, is a conflict.
    sheet.cell(row=3, column=codes.index("acc1") + 1, value=5)
    changed = io.BytesIO()
    book.save(changed)
    conflict = upload(client, changed.getvalue(), name="phieu2.xlsx", lang="en")
    assert conflict.status_code == 422
    assert "This form was imported before with other answers" in text_of(conflict)


def test_import_respects_the_analysts_scope(client: FlaskClient, province: Wave) -> None:
    login(client, "ana_a", Role.ANALYST, "X-A")
    response = upload(client, CLEAN.encode(), lang="en")
    assert response.status_code == 422
    assert "Unknown unit code X-B, or a unit outside your scope." in text_of(response)
    assert stored() == 0


def test_export_round_trip(client: FlaskClient, province: Wave, tmp_path: Path) -> None:
    login(client, "ana", Role.ANALYST)
    upload(client, CLEAN.encode())
    definition = spec.Questionnaire.from_dict(questionnaires.latest("sipas").definition)
    sav = client.get("/analyst/data/export/W-1.sav")
    assert sav.status_code == 200
    path = tmp_path / "w1.sav"
    path.write_bytes(sav.data)
    frame, meta = pyreadstat.read_sav(str(path))
    assert list(frame["unit_code"]) == ["X-A", "X-B"]
    assert list(frame["acc1"]) == [4.0, 2.0]
    assert frame["acc2"].iloc[0] == 5.0 and frame["acc2"].isna().iloc[1]
    assert list(frame["field"].fillna(0)) == [1.0, 0.0]  # dat_dai is the first option
    assert list(frame["design_weight"]) == [12.5, 7.5]
    assert list(frame["channel"]) == ["paper", "paper"]
    assert list(frame["comment"]) == ["Nhanh gọn", ""]
    labels = meta.column_names_to_labels
    assert labels["acc1"] == definition.item("acc1").label.vi
    assert labels["design_weight"] == "Trọng số thiết kế"
    value_labels = {
        k: {int(c): t for c, t in v.items()} for k, v in meta.variable_value_labels.items()
    }
    assert value_labels["acc1"] == definition.item("acc1").value_labels("vi")
    assert value_labels["gender"] == definition.item("gender").value_labels("vi")

    xlsx = client.get("/analyst/data/export/W-1.xlsx?lang=en")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    sheet = book["data"]
    header = [cell.value for cell in sheet[1]]
    assert header == list(frame.columns)
    first = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert (first["unit_code"], first["acc1"], first["gender"], first["stratum"]) == (
        "X-A",
        4,
        2,
        "X-A",
    )
    assert first["submitted_at"].date() == date(2024, 3, 5)
    codebook = {row[0].value: row for row in book["codebook"].iter_rows(min_row=2)}
    assert codebook["acc1"][1].value == definition.item("acc1").label.en
    assert codebook["acc1"][3].value.startswith("1 = Very dissatisfied; 2 = Dissatisfied")

    exported = client.get("/analyst/data/export/W-1.csv")
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"  # the charset once
    text = exported.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["unit_code"], r["acc1"], r["acc2"]) for r in rows] == [
        ("X-A", "4", "5"),
        ("X-B", "2", ""),
    ]
    book_csv = client.get("/analyst/data/export/W-1/codebook.csv?lang=vi").data.decode("utf-8-sig")
    assert "acc1," in book_csv and "1 = Rất không hài lòng" in book_csv
    exports = db.session.scalars(select(AuditLog).where(AuditLog.action == "data.export")).all()
    assert [e.details["format"] for e in exports] == ["sav", "xlsx", "csv", "csv"]
    assert exports[0].details["rows"] == 2 and exports[0].target == "wave:W-1"


def test_export_is_limited_to_the_scope(
    client: FlaskClient, province: Wave, tmp_path: Path
) -> None:
    login(client, "ana", Role.ANALYST)
    upload(client, CLEAN.encode())
    client.post("/auth/logout")
    login(client, "ana_b", Role.ANALYST, "X-B")
    text = client.get("/analyst/data/export/W-1.csv").data.decode("utf-8-sig")
    assert [r["unit_code"] for r in csv.DictReader(io.StringIO(text))] == ["X-B"]


@pytest.mark.parametrize(
    "path",
    [
        "/analyst/data/",
        "/analyst/data/template/sipas/v1.xlsx",
        "/analyst/data/export/W-1.csv",
        "/analyst/data/export/W-1/codebook.xlsx",
    ],
)
def test_leaders_and_anonymous_users_are_refused(
    client: FlaskClient, province: Wave, path: str
) -> None:
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    login(client, "boss", Role.LEADER)
    assert client.get(path).status_code == 403
    assert upload(client, CLEAN.encode()).status_code == 403


def test_waves_outside_the_scope_are_not_found(client: FlaskClient, province: Wave) -> None:
    units.import_units(
        [{"code": "Y", "name_vi": "Huyện Khác", "name_en": "Other", "kind": "district",
          "parent_code": ""}]
    )  # fmt: skip
    login(client, "ana_y", Role.ANALYST, "Y")
    assert client.get("/analyst/data/export/W-1.sav").status_code == 404
    assert client.get("/analyst/data/export/W-1.pdf").status_code == 404
    assert "W-1" not in text_of(client.get("/analyst/data/"))


def test_nav_links_to_the_data_page_for_analysts(client: FlaskClient, province: Wave) -> None:
    login(client, "ana", Role.ANALYST)
    page = text_of(client.get("/analyst/data/"))
    assert 'href="/analyst/data/"' in page and "Nhập và xuất dữ liệu" in page
    assert 'class="lang-switch"' in page
