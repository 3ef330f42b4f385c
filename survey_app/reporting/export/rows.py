"""The rows of a wave's microdata export: its variables (items, design columns) and
the data frame of the responses within the user's scope."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, select

from survey_app.access import scope_prefix
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.collection.waves.design import stratum_psus
from survey_app.extensions import db
from survey_app.models import (
    Desk,
    Procedure,
    ProcedureField,
    Response,
    ResponseWeight,
    Unit,
    User,
    Wave,
    WeightingScheme,
)
from survey_app.reporting.tables import CSV_MIMETYPE, XLSX_MIMETYPE
from survey_app.weighting import scheme_commands

FORMATS = {
    "csv": CSV_MIMETYPE,
    "xlsx": XLSX_MIMETYPE,
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
    definition: spec.Questionnaire | None = None
    lang: str = "en"
    weighting: dict[str, Any] | None = None  # scheme_commands.weighting_spec of the scheme


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


def design_variables(scheme: str | None, lang: str, *, fpc: bool = False) -> list[Variable]:
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
    ]
    if fpc:
        variables.append(Variable("fpc", _("PSUs in the stratum's population (fpc)"), NUMERIC))
    variables += [
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


def microdata(wave: Wave, user: User | None, lang: str) -> Microdata:
    """The wave's responses within the user's scope (every response without a user:
    the command line), as a typed data frame."""
    definition = questionnaires.parsed(wave.questionnaire)
    fpc = stratum_psus(wave)
    scheme = db.session.scalar(
        select(WeightingScheme).where(WeightingScheme.wave_id == wave.id, WeightingScheme.is_active)
    )
    by_field = scheme_commands.uses_procedure_field(scheme)
    query = (
        select(Response, Unit.code, Desk.code, ResponseWeight.weight, ProcedureField.code)
        .join(Unit, Unit.id == Response.unit_id)
        .outerjoin(Desk, Desk.id == Response.desk_id)
        .outerjoin(Procedure, Procedure.id == Response.procedure_id)
        .outerjoin(ProcedureField, ProcedureField.id == Procedure.field_id)
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
    prefix = scope_prefix(user) if user is not None else None
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    rows = []
    for response, unit_code, desk_code, weight, field_code in db.session.execute(
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
        }
        if fpc:
            row["fpc"] = fpc.get(response.stratum) if response.stratum is not None else None
        row["design_weight"] = response.design_weight
        if scheme is not None:
            row["scheme_weight"] = weight
        if by_field:
            row[scheme_commands.PROCEDURE_FIELD] = field_code
        row["flagged"] = int(bool(response.flagged))
        row["flag_reason"] = response.flag_reason
        row.update(item_values(definition, response.answers))
        rows.append(row)
    variables = (
        *design_variables(scheme.name if scheme else None, lang, fpc=bool(fpc)),
        *(
            [Variable(scheme_commands.PROCEDURE_FIELD, _("Procedure field"), STRING, {}, "nominal")]
            if by_field
            else []
        ),
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
    weighting = scheme_commands.weighting_spec(scheme, definition) if scheme is not None else None
    return Microdata(
        wave, frame, variables, scheme.name if scheme else None, definition, lang, weighting
    )


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


def records(data: Microdata) -> list[list[Any]]:
    return [[_cell(v) for v in row] for row in data.frame.itertuples(index=False, name=None)]
