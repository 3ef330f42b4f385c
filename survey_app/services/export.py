"""Export of a wave's microdata for SPSS, Stata and R: CSV, XLSX and SPSS ``.sav``.

One row per response of the wave within the user's scope, with the design columns
(stratum, PSU, design weight, the active scheme's weight), the unit, desk, channel and
dates, and every item as a column:

- scale and single-choice items: their numeric code (level, or option position), with
  value labels from the questionnaire in the user's language;
- multiple-choice items: one 0/1 column per option, ``<item>_<option>``; missing when
  the item was not answered;
- number items: the number; text items: the text.

A codebook (variable, label, type, values) goes with every format; the XLSX file
carries it as a second sheet. Text cells of every format pass through
:mod:`survey_app.services.spreadsheets`: a stratum, PSU, comment or label that begins
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading quote, so no
spreadsheet program runs it as a formula. Exports are recorded in the audit log.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, select

from survey_app import questionnaire as spec
from survey_app.access import overlaps_scope, scope_prefix
from survey_app.extensions import db
from survey_app.models import (
    Desk,
    Response,
    ResponseWeight,
    Unit,
    User,
    Wave,
    WeightingScheme,
)
from survey_app.services import audit, questionnaires, spreadsheets

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
}
CODEBOOK_FORMATS = ("csv", "xlsx")
NUMERIC, STRING, DATETIME = "numeric", "string", "datetime"


@dataclass(frozen=True)
class Variable:
    """One exported column, as the codebook describes it."""

    name: str
    label: str
    type: str  # numeric, string or datetime
    value_labels: dict[int, str] = field(default_factory=dict)
    measure: str = "scale"  # SPSS measurement level: nominal, ordinal or scale


@dataclass(frozen=True)
class Microdata:
    wave: Wave
    frame: pd.DataFrame
    variables: tuple[Variable, ...]
    scheme: str | None


# ----------------------------------------------------------------------------- scope


def can_see_wave(user: User, wave: Wave) -> bool:
    """A wave is visible when it covers part of the user's scope (:func:`overlaps_scope`)."""
    return overlaps_scope(user, wave.unit)


def visible_waves(user: User) -> list[Wave]:
    waves = db.session.scalars(select(Wave).order_by(Wave.start_date.desc(), Wave.code))
    return [wave for wave in waves if can_see_wave(user, wave)]


# ----------------------------------------------------------------------------- data


def _variable_names(item: spec.Item) -> list[tuple[str, spec.Option]]:
    names = []
    for position, option in enumerate(item.options, start=1):
        name = f"{item.code}_{option.code}"
        names.append((name if len(name) <= 64 else f"{item.code}_{position}", option))
    return names


def item_variables(definition: spec.Questionnaire, lang: str) -> list[Variable]:
    """The columns of the questionnaire's items, with labels in ``lang``."""
    yes_no = {0: _("No"), 1: _("Yes")}
    out: list[Variable] = []
    for item in definition.items:
        label = item.label.get(lang)
        if item.type == "multiple":
            out += [
                Variable(name, f"{label}: {option.label.get(lang)}", NUMERIC, yes_no, "nominal")
                for name, option in _variable_names(item)
            ]
        elif item.type in spec.SCALE_TYPES:
            out.append(Variable(item.code, label, NUMERIC, item.value_labels(lang), "ordinal"))
        elif item.type == "single":
            out.append(Variable(item.code, label, NUMERIC, item.value_labels(lang), "nominal"))
        elif item.type == "number":
            out.append(Variable(item.code, label, NUMERIC))
        else:
            out.append(Variable(item.code, label, STRING, measure="nominal"))
    return out


def item_values(definition: spec.Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    """One response's answers as export columns (numeric codes, 0/1 per option)."""
    row: dict[str, Any] = {}
    for item in definition.items:
        value = answers.get(item.code)
        if item.type == "multiple":
            chosen = set(value) if isinstance(value, list) else None
            for name, option in _variable_names(item):
                row[name] = None if chosen is None else int(option.code in chosen)
        elif value is None:
            row[item.code] = None
        elif item.type == "single":
            row[item.code] = item.option_position(value)
        else:
            row[item.code] = value
    return row


def design_variables(scheme: str | None, lang: str) -> list[Variable]:
    del lang  # the labels follow the request's locale through gettext
    no_yes = {0: _("No"), 1: _("Yes")}
    variables = [
        Variable("response_id", _("Response number"), NUMERIC, measure="nominal"),
        Variable("client_id", _("Form identifier"), STRING, measure="nominal"),
        Variable("unit_code", _("Unit code"), STRING, measure="nominal"),
        Variable("desk_code", _("Desk code"), STRING, measure="nominal"),
        Variable("channel", _("Channel"), STRING, measure="nominal"),
        Variable("submitted_at", _("Submitted at (local time)"), DATETIME),
        Variable("received_at", _("Received at (local time)"), DATETIME),
        Variable("stratum", _("Stratum"), STRING, measure="nominal"),
        Variable("psu", _("Primary sampling unit (PSU)"), STRING, measure="nominal"),
        Variable("design_weight", _("Design weight"), NUMERIC),
    ]
    if scheme is not None:
        variables.append(
            Variable(
                "scheme_weight", _("Weight of the active scheme: %(name)s", name=scheme), NUMERIC
            )
        )
    variables += [
        Variable("flagged", _("Flagged for review"), NUMERIC, no_yes, "nominal"),
        Variable("flag_reason", _("Reason for the flag"), STRING, measure="nominal"),
    ]
    return variables


def microdata(wave: Wave, user: User, lang: str) -> Microdata:
    """The wave's responses within the user's scope, as a typed data frame."""
    definition = questionnaires.parsed(wave.questionnaire)
    scheme = db.session.scalar(
        select(WeightingScheme).where(WeightingScheme.wave_id == wave.id, WeightingScheme.is_active)
    )
    query = (
        select(Response, Unit.code, Desk.code, ResponseWeight.weight)
        .join(Unit, Unit.id == Response.unit_id)
        .outerjoin(Desk, Desk.id == Response.desk_id)
        .outerjoin(
            ResponseWeight,
            and_(
                ResponseWeight.response_id == Response.id,
                ResponseWeight.scheme_id == (scheme.id if scheme is not None else -1),
            ),
        )
        .where(Response.wave_id == wave.id)
        .order_by(Response.id)
    )
    prefix = scope_prefix(user)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    rows = []
    for response, unit_code, desk_code, weight in db.session.execute(
        query.execution_options(yield_per=2000)
    ):
        row = {
            "response_id": response.id,
            "client_id": str(response.client_id),
            "unit_code": unit_code,
            "desk_code": desk_code,
            "channel": str(response.channel.value),
            "submitted_at": _local(response.submitted_at, zone),
            "received_at": _local(response.received_at, zone),
            "stratum": response.stratum,
            "psu": response.psu,
            "design_weight": response.design_weight,
        }
        if scheme is not None:
            row["scheme_weight"] = weight
        row["flagged"] = int(bool(response.flagged))
        row["flag_reason"] = response.flag_reason
        row.update(item_values(definition, response.answers))
        rows.append(row)
    variables = (
        *design_variables(scheme.name if scheme else None, lang),
        *item_variables(definition, lang),
    )
    frame = pd.DataFrame(rows, columns=[v.name for v in variables])
    for variable in variables:
        column = frame[variable.name]
        if variable.type == NUMERIC:
            frame[variable.name] = pd.to_numeric(column, errors="coerce").astype("float64")
        elif variable.type == DATETIME:
            frame[variable.name] = pd.to_datetime(column)
        else:
            frame[variable.name] = column.astype(object).where(column.notna(), None)
    return Microdata(wave, frame, variables, scheme.name if scheme else None)


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """Naive local time (SPSS and spreadsheets have no time zones); seconds kept."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


# ----------------------------------------------------------------------------- writers


def _cell(value: Any) -> Any:
    """A frame value as a plain Python value for CSV/XLSX (None for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _records(data: Microdata) -> list[list[Any]]:
    return [[_cell(v) for v in row] for row in data.frame.itertuples(index=False, name=None)]


def to_csv(data: Microdata) -> bytes:
    """UTF-8 with a byte-order mark (Excel opens Vietnamese text correctly); ISO dates."""
    return spreadsheets.csv_bytes(
        [
            [v.name for v in data.variables],
            *(
                [v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in record]
                for record in _records(data)
            ),
        ]
    )


def codebook_rows(data: Microdata) -> list[list[str]]:
    rows = [[_("variable"), _("label"), _("type"), _("values")]]
    type_names = {NUMERIC: _("numeric"), STRING: _("text"), DATETIME: _("date and time")}
    for v in data.variables:
        values = "; ".join(f"{code} = {label}" for code, label in v.value_labels.items())
        rows.append([v.name, v.label, type_names[v.type], values])
    return rows


def codebook_csv(data: Microdata) -> bytes:
    return spreadsheets.csv_bytes(codebook_rows(data))


def _workbook(data: Microdata | None, codebook: Microdata) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    if data is not None:
        sheet.title = "data"
        spreadsheets.append_row(sheet, [v.name for v in data.variables])
        for record in _records(data):
            spreadsheets.append_row(sheet, record)
        for column, variable in enumerate(data.variables, start=1):
            if variable.type == DATETIME:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                    cell.number_format = "yyyy-mm-dd hh:mm:ss"
        sheet.freeze_panes = "A2"
        sheet = book.create_sheet("codebook")
    else:
        sheet.title = "codebook"
    for row in codebook_rows(codebook):
        spreadsheets.append_row(sheet, row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_xlsx(data: Microdata) -> bytes:
    return _workbook(data, data)


def codebook_xlsx(data: Microdata) -> bytes:
    return _workbook(None, data)


def to_sav(data: Microdata) -> bytes:
    """SPSS file with variable labels, value labels and measurement levels (pyreadstat)."""
    import pyreadstat

    frame = data.frame.copy()
    for v in data.variables:
        if v.type == STRING:  # the same neutralised text as in the CSV and XLSX files
            frame[v.name] = frame[v.name].map(
                lambda x: "" if x is None else spreadsheets.safe_text(str(x))
            )
    handle, path = tempfile.mkstemp(suffix=".sav")
    os.close(handle)
    try:
        pyreadstat.write_sav(
            frame,
            path,
            column_labels=[spreadsheets.safe_text(v.label) for v in data.variables],
            variable_value_labels={
                v.name: {
                    float(k): spreadsheets.safe_text(label) for k, label in v.value_labels.items()
                }
                for v in data.variables
                if v.value_labels
            },
            variable_measure={v.name: v.measure for v in data.variables},
        )
        with open(path, "rb") as handle_in:
            return handle_in.read()
    finally:
        os.unlink(path)


# ----------------------------------------------------------------------------- entry point


def export(
    wave: Wave, user: User, fmt: str, lang: str, *, codebook: bool = False
) -> tuple[bytes, str, str]:
    """The wave's microdata (or its codebook) in ``fmt``; returns (content, mimetype, name).

    The export is recorded in the audit log and committed.
    """
    valid = CODEBOOK_FORMATS if codebook else tuple(FORMATS)
    if fmt not in valid:
        raise ValueError(f"unknown format {fmt!r}; valid formats: {', '.join(valid)}")
    data = microdata(wave, user, lang)
    if codebook:
        content = codebook_csv(data) if fmt == "csv" else codebook_xlsx(data)
        name = f"{wave.code}-codebook.{fmt}"
    else:
        writer = {"csv": to_csv, "xlsx": to_xlsx, "sav": to_sav}[fmt]
        content = writer(data)
        name = f"{wave.code}.{fmt}"
    audit.record(
        "data.export",
        user=user,
        target=f"wave:{wave.code}",
        details={
            "format": fmt,
            "codebook": codebook,
            "rows": len(data.frame),
            "scope": scope_prefix(user) or "/",
            "lang": lang,
        },
    )
    db.session.commit()
    return content, FORMATS[fmt], name
