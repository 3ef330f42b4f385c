"""Uploads are bounded: every reader refuses, cleanly and early, what it cannot hold.

The paper import, the weighting targets and the units CSV all read through
:mod:`survey_app.spreadsheets`. A tiny XLSX that declares a million rows,
too many rows, an over-long cell (beyond csv.field_size_limit too), and control
characters are refused with a 4xx page naming the row and column; nothing is
stored, and the wave's export still works afterwards.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from datetime import datetime

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from survey_app import spreadsheets
from survey_app.models import Role, Unit
from tests.helpers.encodings import OFFICE_ENCODINGS, windows_1258
from tests.helpers.paper_import import (
    CLEAN,
    HEADER,
    login,
    stored,
    text_of,
    upload,
)

LIMITS = spreadsheets.Limits(rows=100, columns=20, cell_chars=50)
ROW = ",X-A,W-1,X-A,X-A-T1,12.5,05/03/2024,,4,5,nu,{comment}"


def workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def patched(xlsx: bytes, dimension: str | None, extra_xml: bytes = b"") -> bytes:
    """The workbook with its sheet's ``<dimension>`` replaced (or removed), and
    ``extra_xml`` put before ``</sheetData>``."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                new = b"" if dimension is None else f'<dimension ref="{dimension}"/>'.encode()
                data = re.sub(rb'<dimension ref="[^"]*" ?/>', new, data)
                data = data.replace(b"</sheetData>", extra_xml + b"</sheetData>")
            target.writestr(info.filename, data)
    return out.getvalue()


def bomb() -> bytes:
    """A few KB declaring 1,048,576 x 16,384 cells. Its one row holds a number cell
    openpyxl cannot parse: reading any row would fail differently than the refusal
    by the declared dimension does."""
    broken_row = b'<row r="2"><c r="A2" t="n"><v>not-a-number</v></c></row>'
    return patched(workbook([["unit_code", "wave_code"]]), "A1:XFD1048576", broken_row)


# ----------------------------------------------------------------------------- the reader


def test_declared_dimension_is_refused_before_any_row_is_read(app: Flask) -> None:
    with force_locale("en"):
        data = bomb()
        assert len(data) < 10_000
        with pytest.raises(spreadsheets.SpreadsheetError) as refused:
            spreadsheets.read_sheet(data, "bomb.xlsx", LIMITS)
        (problem,) = refused.value.problems
        assert "A1:XFD1048576" in problem.message and problem.row is None
        # the broken row is really there: once the dimension is gone, reading reaches it
        without_dimension = patched(data, None)
        with pytest.raises(spreadsheets.SpreadsheetError) as unreadable:
            spreadsheets.read_sheet(without_dimension, "bomb.xlsx", LIMITS)
        assert "readable" in str(unreadable.value)


def test_rows_beyond_the_limit_stop_the_reading(app: Flask) -> None:
    with force_locale("en"):
        rows = [["h"]] + [[i] for i in range(LIMITS.rows + 1)]
        no_dimension = patched(workbook(rows), None)
        with pytest.raises(spreadsheets.SpreadsheetError) as refused:
            spreadsheets.read_sheet(no_dimension, "x.xlsx", LIMITS)
        assert refused.value.problems[0].row == LIMITS.rows + 2
        # blank formatted rows after the data are no reason to refuse
        trailing = "".join(f'<row r="{r}"/>' for r in range(60, 300)).encode()
        assert (
            len(
                spreadsheets.read_sheet(
                    patched(workbook(rows[:50]), None, trailing), "x.xlsx", LIMITS
                )
            )
            == 50
        )
        wide = patched(workbook([["h"] * 21]), None)
        with pytest.raises(spreadsheets.SpreadsheetError, match="20 columns"):
            spreadsheets.read_sheet(wide, "x.xlsx", LIMITS)
        csv_rows = "h\n" + "1\n" * (LIMITS.rows + 1)
        with pytest.raises(spreadsheets.SpreadsheetError):
            spreadsheets.read_sheet(csv_rows.encode(), "x.csv", LIMITS)
        assert (
            len(spreadsheets.read_sheet(("h\n" + "1\n" * LIMITS.rows).encode(), "x.csv", LIMITS))
            == 101
        )


def test_unpacked_size_is_checked_first(app: Flask) -> None:
    with force_locale("en"):
        small = spreadsheets.Limits(rows=10, columns=5, cell_chars=50, unpacked_bytes=1000)
        with pytest.raises(spreadsheets.SpreadsheetError, match="unpacks to more than"):
            spreadsheets.read_sheet(workbook([["a"]]), "x.xlsx", small)


@pytest.mark.parametrize(
    "text",
    ["a\x00b", "a\x01", "\x1b[31m", "a\x7f", "a\x85b", "a\x9f", "a\ud800b", "\ufffe"],
    ids=["NUL", "SOH", "ESC", "DEL", "NEL (C1)", "APC (C1)", "lone surrogate", "U+FFFE"],
)
def test_control_characters_are_refused_with_their_cell(app: Flask, text: str) -> None:
    with pytest.raises(spreadsheets.SpreadsheetError) as refused:
        spreadsheets.read_text(f"a,b\nok,{text}\n", LIMITS)
    (problem,) = refused.value.problems
    assert (problem.row, problem.column, problem.cell) == (2, 2, "B2")
    assert f"U+{ord(re.sub('[a-z]', '', text)[0]):04X}" in problem.message


def test_tabs_and_line_breaks_are_text(app: Flask) -> None:
    rows = spreadsheets.read_text('a,b\n"one\ttwo","three\r\nfour"\n', LIMITS)
    assert rows[1] == ["one\ttwo", "three\r\nfour"]


def test_a_cell_written_neutralised_reads_back_as_written(app: Flask) -> None:
    written = spreadsheets.csv_bytes([["a", "b"], ["=1+1", -2.5]])
    assert "'=1+1" in written.decode("utf-8-sig")
    assert spreadsheets.read_sheet(written, "x.csv", LIMITS)[1] == ["=1+1", "-2.5"]


SHEET = "đơn_vị;dân_số;ghi_chú\nPhường Nguyễn Trãi;36.800;Quỳnh, Hội\nXã Ân Hữu;5.200;ổn định\n"


@pytest.mark.parametrize("encode", OFFICE_ENCODINGS.values(), ids=OFFICE_ENCODINGS.keys())
def test_csv_encodings_of_vietnamese_offices_read_alike(app: Flask, encode: Callable) -> None:
    expected = [line.split(";") for line in SHEET.splitlines()]
    assert spreadsheets.read_sheet(encode(SHEET), "don_vi.csv", LIMITS) == expected


def test_windows_1258_is_really_decomposed_and_comes_back_composed() -> None:
    raw = windows_1258("Nguyễn")
    assert raw != "Nguyễn".encode("cp1258", "replace")  # ễ is not one byte in cp1258
    assert spreadsheets.decode_text(raw) == unicodedata.normalize("NFC", "Nguyễn")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_detected(app: Flask, delimiter: str) -> None:
    text = f"a{delimiter}b\n1,5{delimiter}x y\n" if delimiter != "," else "a,b\n15,x y\n"
    rows = spreadsheets.read_text(text, LIMITS)
    assert rows[0] == ["a", "b"] and rows[1][1] == "x y"


def test_binary_data_is_not_taken_for_a_legacy_encoding(app: Flask) -> None:
    with pytest.raises(spreadsheets.SpreadsheetError, match="UTF-8"):
        spreadsheets.read_sheet(b"\x00\x01\x02\xff\xfe" * 20, "x.csv", LIMITS)


def test_safe_cell_keeps_numbers_and_quotes_formula_text() -> None:
    assert spreadsheets.safe_cell(-2) == -2
    assert spreadsheets.safe_cell(-2.5) == -2.5
    assert spreadsheets.safe_cell(None) is None
    assert spreadsheets.safe_cell(datetime(2024, 3, 5)) == datetime(2024, 3, 5)
    for text in ("=1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\uff1d1"):
        assert spreadsheets.safe_cell(text) == "'" + text
    assert spreadsheets.safe_cell("Xã Đông") == "Xã Đông"
    assert spreadsheets.safe_cell("=1\x01\ud800") == "'=1\ufffd\ufffd"
    assert spreadsheets.sheet_title("'=A/B:C'") == "=ABC"


# ----------------------------------------------------------------------------- paper import


@pytest.mark.usefixtures("province")
def test_xlsx_bomb_is_refused_by_the_paper_import(client: FlaskClient) -> None:
    login(client, "ana", Role.ANALYST)
    response = upload(client, bomb(), name="phieu.xlsx", lang="en")
    assert response.status_code == 422
    page = text_of(response)
    assert "The sheet declares 1,048,576 rows and 16,384 columns (A1:XFD1048576)" in page
    assert stored() == 0


@pytest.mark.usefixtures("province")
def test_over_long_csv_cells_are_named(client: FlaskClient) -> None:
    login(client, "ana", Role.ANALYST)
    beyond_csv_limit = CLEAN + ROW.format(comment="x" * 140_000) + "\n"
    response = upload(client, beyond_csv_limit.encode(), lang="en")
    assert response.status_code == 422
    assert "A cell is longer than 5,000 characters" in text_of(response)
    assert re.search(r'<td class="num">5</td>', text_of(response))  # the row
    long_comment = CLEAN + ROW.format(comment="x" * 6000) + "\n"
    response = upload(client, long_comment.encode(), lang="en")
    assert response.status_code == 422
    page = text_of(response)
    assert "The cell holds 6,000 characters; at most 5,000 are allowed." in page
    assert "L5" in page
    assert stored() == 0


@pytest.mark.usefixtures("province")
def test_too_many_rows_are_refused(client: FlaskClient) -> None:
    login(client, "ana", Role.ANALYST)
    data_rows = "".join(ROW.format(comment="") + "\n" for _ in range(10_001))
    response = upload(client, (HEADER + "\nlabels\n" + data_rows).encode(), lang="vi")
    assert response.status_code == 422
    assert "Tệp có hơn 10.000 dòng dữ liệu." in text_of(response)
    assert stored() == 0


@pytest.mark.usefixtures("province")
def test_control_characters_in_stratum_or_psu_are_refused_then_export_works(
    client: FlaskClient,
) -> None:
    login(client, "ana", Role.ANALYST)
    control = HEADER + "\nlabels\n" + ",X-A,W-1,X-A\x01,X-A-T1,12.5,05/03/2024,,4,5,nu,\n"
    response = upload(client, control.encode(), lang="en")
    assert response.status_code == 422
    page = text_of(response)
    assert "<td>D3</td>" in page and "control character (U+0001)" in page
    breaks = (
        HEADER
        + "\nlabels\n"
        + ',X-B,W-1,X-B,"X-B\tT2",7.5,06/03/2024,,2,,nam,\n'
        + ',X-B,W-1,"X-B\nB",X-B-T2,7.5,06/03/2024,,2,,nam,"Nhanh,\ngọn"\n'
    )
    response = upload(client, breaks.encode(), lang="en")
    assert response.status_code == 422
    page = text_of(response)
    assert page.count("Tabs and line breaks are not allowed in a stratum or PSU code.") == 2
    assert "<td>E3</td>" in page and "<td>D4</td>" in page  # not the comment's line break
    assert stored() == 0
    accepted = upload(client, CLEAN.encode(), lang="en")
    assert accepted.status_code == 200 and stored() == 2
    for fmt in ("csv", "xlsx", "sav"):
        assert client.get(f"/analyst/data/export/W-1.{fmt}").status_code == 200


@pytest.mark.usefixtures("province")
def test_the_import_form_states_the_limits(client: FlaskClient) -> None:
    login(client, "ana", Role.ANALYST)
    english = text_of(client.get("/analyst/data/?lang=en"))
    assert "At most 2 MB, 10,000 data rows, 200 columns and 5,000 characters per cell" in english
    vietnamese = text_of(client.get("/analyst/data/?lang=vi"))
    assert "Tối đa 2 MB, 10.000 dòng dữ liệu, 200 cột và 5.000 ký tự mỗi ô" in vietnamese


# ----------------------------------------------------------------------------- weights, units


def preview(client: FlaskClient, content: bytes, name: str) -> tuple[int, str]:
    response = client.post(
        "/analyst/weights/W-1/preview?lang=en",
        data={"method": "rake", "targets": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )
    return response.status_code, text_of(response)


@pytest.mark.usefixtures("province")
def test_weights_preview_refuses_the_bomb_and_names_bad_cells(client: FlaskClient) -> None:
    login(client, "ana", Role.ANALYST, "X")
    status, page = preview(client, bomb(), "targets.xlsx")
    assert status == 422 and "A1:XFD1048576" in page
    status, page = preview(client, b"variable,level,target\ngender,nu\x02,10\n", "t.csv")
    assert status == 422
    assert re.search(r'<td class="num">2</td><td>B</td><td>[^<]*U\+0002', page)
    status, page = preview(
        client, f"variable,level,target\ngender,{'x' * 140_000},1\n".encode(), "t.csv"
    )
    assert status == 422 and "A cell is longer than 1,000 characters" in page
    wave_page = text_of(client.get("/analyst/weights/W-1/?lang=en"))
    assert "At most 2 MB, 20,000 data rows, 50 columns" in wave_page


@pytest.mark.usefixtures("province")
def test_units_csv_refuses_control_characters_by_row_and_column(client: FlaskClient) -> None:
    login(client, "root", Role.ADMIN)
    content = "code,name_vi,name_en,kind,parent_code\nX-C,Xã\x1bBắc,North,commune,X\n"
    response = client.post(
        "/admin/units/import?lang=en",
        data={"file": (io.BytesIO(content.encode()), "units.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = text_of(response)
    assert "control character (U+001B)" in page and "<code>B</code>" in page
    from sqlalchemy import select

    from survey_app.extensions import db

    assert db.session.scalar(select(Unit).where(Unit.code == "X-C")) is None


@pytest.mark.usefixtures("province")
def test_the_units_form_states_the_limits(client: FlaskClient) -> None:
    login(client, "root", Role.ADMIN)
    english = text_of(client.get("/admin/units/?lang=en"))
    assert "At most 1 MB, 20,000 data rows, 20 columns and 500 characters per cell" in english
    vietnamese = text_of(client.get("/admin/units/?lang=vi"))
    assert "Tối đa 1 MB, 20.000 dòng dữ liệu, 20 cột và 500 ký tự mỗi ô" in vietnamese


def test_planner_line_over_the_csv_field_limit_is_a_line_error(
    app: Flask, client: FlaskClient
) -> None:
    from survey_app.weighting import planning

    with force_locale("en"):
        units, errors = planning.parse_units("A" * 140_000 + ", 100, 10\nB, 100, 10")
    assert [u.name for u in units] == ["B"]
    assert errors == ["Line 1: the line is too long."]
    login(client, "ana", Role.ANALYST)
    response = client.get(
        "/analyst/planner/",
        query_string={"margin": "5", "proportion": "50", "deff": "1.5", "units": "A" * 140_000},
    )
    assert 400 <= response.status_code < 500
