"""XLSForm workbooks written in memory for the import tests: a KoboToolbox-style survey
sheet and the same with some cells replaced."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl

from survey_app.collection.questionnaire import LIKERT5_LABELS

Row = Mapping[str, Any]

VI, EN = "label::Vietnamese (vi)", "label::English (en)"

SETTINGS: Row = {
    "form_title": "Khảo sát nhanh",
    "form_id": "kobo_test",
    "version": "2",
    "x_title::Vietnamese (vi)": "Khảo sát nhanh tại Bộ phận Một cửa",
    "x_title::English (en)": "Quick survey at the one-stop desk",
}

SATISFACTION: list[Row] = [
    {"list_name": "sat", "name": str(v), VI: lab.vi, EN: lab.en}
    for v, lab in enumerate(LIKERT5_LABELS, start=1)
]
# Typed on a system that decomposes diacritics (NFD): still the standard scale.
SATISFACTION[4] = {**SATISFACTION[4], VI: unicodedata.normalize("NFD", "Rất hài lòng")}

CHOICES: list[Row] = [
    {"list_name": "field", "name": "dat_dai", VI: "Đất đai", EN: "Land"},
    {"list_name": "field", "name": "ho_tich", VI: "Hộ tịch", EN: "Civil status"},
    *SATISFACTION,
    {"list_name": "reasons", "name": "cho_lau", VI: "Phải chờ lâu", EN: "Long wait"},
    {"list_name": "reasons", "name": "thai_do", VI: "Thái độ chưa tốt", EN: "Unfriendly staff"},
    {"list_name": "reasons", "name": "khac", VI: "Khác", EN: "Other"},
]

KOBO_SURVEY: list[Row] = [
    {"type": "start", "name": "start"},  # row 2
    {"type": "end", "name": "end"},  # row 3
    {"type": "begin_group", "name": "service", VI: "Dịch vụ", EN: "The service"},  # row 4
    {"type": "select_one field", "name": "field", VI: "Lĩnh vực", EN: "Field", "required": "yes"},
    {
        "type": "select_one sat",
        "name": "wait",
        VI: "Thời gian chờ đến lượt",
        EN: "The time you waited",
        "required": "yes",
        "appearance": "likert",
    },
    {
        "type": "select_one sat",
        "name": "staff",
        VI: "Thái độ của công chức",
        EN: "The civil servant's attitude",
        "relevant": "${field} = 'dat_dai'",
    },
    {"type": "end_group"},  # row 8
    {
        "type": "select_multiple reasons",
        "name": "reasons",
        VI: "Điều gì khiến Ông/Bà chưa hài lòng?",
        EN: "What were you not satisfied with?",
        "relevant": "${wait} = '1' or ${wait}='2'",
        "constraint": "count-selected(.) <= 2",
    },
    {
        "type": "integer",
        "name": "trips",
        VI: "Số lần đi lại",
        EN: "Number of visits",
        "relevant": "selected(${reasons}, 'cho_lau') or selected(${reasons}, 'thai_do')",
        "constraint": ". >= 1 and . <= 30",
    },
    {
        "type": "decimal",
        "name": "cost",
        VI: "Chi phí đi lại (nghìn đồng)",
        EN: "Travel cost (thousand dong)",
        "relevant": "(${trips} = 3)",
        "constraint": ". >= 0 and . <= 1000.5",
    },
    {
        "type": "text",
        "name": "comment",
        VI: "Góp ý của Ông/Bà",
        EN: "Your suggestions",
        "hint::Vietnamese (vi)": "Không ghi họ tên.",
        "hint::English (en)": "Do not write names.",
        "constraint": "string-length(.) <= 300",
    },
]


def write_sheet(book: openpyxl.Workbook, title: str, rows: Sequence[Row]) -> None:
    sheet = book.create_sheet(title)
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(c) for c in columns])


def make_xlsform(
    folder: Path,
    survey: Sequence[Row] = KOBO_SURVEY,
    choices: Sequence[Row] = CHOICES,
    settings: Row | None = SETTINGS,
    indices: Sequence[Row] | None = None,
    name: str = "form.xlsx",
) -> Path:
    """Write an XLSForm; row 2 of each sheet is its first row."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    write_sheet(book, "survey", survey)
    if choices:
        write_sheet(book, "choices", choices)
    if settings is not None:
        write_sheet(book, "settings", [settings])
    if indices is not None:
        write_sheet(book, "indices", indices)
    path = folder / name
    book.save(path)
    return path


def replace(rows: Sequence[Row], index: int, **changes: Any) -> list[Row]:
    """Copy of rows with row ``index`` (0-based, so sheet row index + 2) changed."""
    result = [dict(r) for r in rows]
    result[index].update(changes)
    return [{k: v for k, v in r.items() if v is not None} for r in result]
