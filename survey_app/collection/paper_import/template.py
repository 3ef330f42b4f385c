"""The entry template of a questionnaire's paper forms (CSV, or XLSX with drop-downs).

Row 1 holds the column codes (the importer reads them), row 2 the questions in words
(ignored on import), and data start on row 3 (:data:`FIRST_DATA_ROW`).
"""

from __future__ import annotations

import io
from typing import Any

from flask_babel import gettext as _
from openpyxl.utils import get_column_letter

from survey_app import spreadsheets
from survey_app.access import units_in_scope
from survey_app.collection import questionnaire as spec
from survey_app.collection.waves.lookups import visible_waves
from survey_app.extensions import db
from survey_app.models import Unit, User, Wave

FIXED_COLUMNS = (
    "client_id",
    "unit_code",
    "wave_code",
    "stratum",
    "psu",
    "design_weight",
    "submitted_date",
)

REQUIRED_COLUMNS = ("unit_code", "wave_code", "submitted_date")

FIRST_DATA_ROW = 3

TEMPLATE_ROWS = 2000  # rows of the XLSX template that carry the data validation


def fixed_labels() -> dict[str, str]:
    return {
        "client_id": _("Form number (optional)"),
        "unit_code": _("Unit code"),
        "wave_code": _("Wave code"),
        "stratum": _("Stratum"),
        "psu": _("Primary sampling unit (PSU)"),
        "design_weight": _("Design weight"),
        "submitted_date": _("Interview date (dd/mm/yyyy)"),
    }


def template_columns(definition: spec.Questionnaire, lang: str) -> list[tuple[str, str]]:
    """(code, label in ``lang``) of every column of the entry template."""
    columns = list(fixed_labels().items())
    for item in definition.items:
        label = item.label.get(lang)
        if item.type == "multiple":
            label += " " + _("(codes separated by ;)")
        columns.append((item.code, label))
    return columns


def allowed_codes(item: spec.Item) -> list[Any]:
    if item.type in spec.SCALE_TYPES:
        return list(range(1, (item.scale_size or 5) + 1))
    if item.type == "single":
        return list(item.option_codes)
    return []


def template_csv(definition: spec.Questionnaire, lang: str) -> bytes:
    columns = template_columns(definition, lang)
    return spreadsheets.csv_bytes(
        [[code for code, _label in columns], [label for _code, label in columns]]
    )


def template_xlsx(definition: spec.Questionnaire, user: User, lang: str) -> bytes:
    """The entry template with drop-down lists of the allowed codes of each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = template_columns(definition, lang)
    book = Workbook()
    data = book.active
    data.title = "data"
    spreadsheets.append_row(data, [code for code, _label in columns])
    spreadsheets.append_row(data, [label for _code, label in columns])
    for cell in data[1]:
        cell.font = Font(bold=True)
    for cell in data[2]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(italic=True)
    data.freeze_panes = "A3"
    lists = book.create_sheet("lists")
    lists.sheet_state = "hidden"
    guide = book.create_sheet("codes")
    spreadsheets.append_row(guide, [_("column"), _("question"), _("code"), _("meaning")])
    for cell in guide[1]:
        cell.font = Font(bold=True)

    last = FIRST_DATA_ROW + TEMPLATE_ROWS - 1
    units = [u.code for u in db.session.scalars(units_in_scope(user).order_by(Unit.path))]
    waves = [w.code for w in visible_waves(user) if _uses(w, definition)]
    choices: dict[str, list[Any]] = {"unit_code": units, "wave_code": waves}
    choices.update({item.code: allowed_codes(item) for item in definition.items})
    error_title = _("Not an allowed code")
    for index, (code, _label) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        data.column_dimensions[letter].width = 14 if index > len(FIXED_COLUMNS) else 16
        target = f"{letter}{FIRST_DATA_ROW}:{letter}{last}"
        values = choices.get(code) or []
        if values:
            for row, value in enumerate(values, start=1):
                lists.cell(row=row, column=index, value=spreadsheets.safe_cell(value))
            rule = DataValidation(
                type="list",
                formula1=f"lists!${letter}$1:${letter}${len(values)}",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=error_title,
                error=_("Choose one of the codes in the list (see the sheet 'codes')."),
            )
        elif code == "design_weight":
            rule = DataValidation(
                type="decimal", operator="greaterThan", formula1="0", allow_blank=True
            )
        elif code in definition.items_by_code and definition.item(code).type == "number":
            item = definition.item(code)
            rule = DataValidation(
                type="whole" if item.integer else "decimal",
                operator="between",
                formula1=str(item.min_value),
                formula2=str(item.max_value),
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=error_title,
            )
        else:
            continue
        data.add_data_validation(rule)
        rule.add(target)
    for item in definition.items:
        for position, label in item.value_labels(lang).items():
            code = position if item.type in spec.SCALE_TYPES else item.options[position - 1].code
            spreadsheets.append_row(guide, [item.code, item.label.get(lang), code, label])
    guide.column_dimensions["B"].width = 60
    guide.column_dimensions["D"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _uses(wave: Wave, definition: spec.Questionnaire) -> bool:
    return (
        wave.questionnaire.slug == definition.slug
        and wave.questionnaire.version == definition.version
    )
