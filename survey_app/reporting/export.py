"""Export of a wave's microdata for SPSS, Stata and R: CSV, XLSX and SPSS ``.sav``.

One row per response of the wave within the user's scope, with the design columns
(stratum, PSU, design weight, the active scheme's weight), the unit, desk, channel and
dates, and every item as a column:

- scale and single-choice items: their numeric code (level, or option position), with
  value labels from the questionnaire in the user's language;
- multiple-choice items: one 0/1 column per option, ``<item>_<option>``; missing when
  the item was not answered;
- number items: the number; text items: the text.

A ``fpc`` column follows the PSU when the wave's sample frame states the number of
PSUs of a stratum (``wave_frame.stratum_psus``): that number for each response's
stratum, empty where it is unknown.

A codebook (variable, label, type, values) goes with every format; the XLSX file
carries it as a second sheet. Below the variables it states the design
(:func:`design_rows`): the wave's dates, whether it is a panel of an earlier wave, its
lonely-PSU rule, the weight of the published figures, the index rule read from the
questionnaire (items per aspect, satisfied levels, how the overall index combines the
aspects), and ready R (``survey``) and Stata commands that recompute the published
overall index from the exported file. Text cells of every format pass through
:mod:`survey_app.spreadsheets`: a stratum, PSU, comment or label that begins
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

from survey_app import audit, spreadsheets
from survey_app.access import scope_prefix
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.collection.waves import stratum_psus
from survey_app.extensions import db
from survey_app.models import (
    Desk,
    LonelyPSU,
    Procedure,
    ProcedureField,
    Response,
    ResponseWeight,
    Unit,
    User,
    Wave,
    WaveKind,
    WeightingScheme,
)
from survey_app.weighting import scheme_commands

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


def codebook_rows(data: Microdata, filename: str | None = None) -> list[list[str]]:
    """The variables, then (after an empty row) the design and index rows of
    :func:`design_rows`; ``filename`` is the data file the R and Stata commands read."""
    rows = [[_("variable"), _("label"), _("type"), _("values")]]
    type_names = {NUMERIC: _("numeric"), STRING: _("text"), DATETIME: _("date and time")}
    for v in data.variables:
        values = "; ".join(f"{code} = {label}" for code, label in v.value_labels.items())
        rows.append([v.name, v.label, type_names[v.type], values])
    rows.append(["", "", "", ""])
    rows += [[key, label, "", text] for key, label, text in design_rows(data, filename)]
    return rows


# ----------------------------------------------------------------------------- design notes

#: R's ``survey.lonely.psu`` rule -> Stata's ``svyset ..., singleunit()`` (Stata has no
#: "remove": a lonely stratum then adds nothing to the variance, as with "certainty").
STATA_SINGLEUNIT = {
    LonelyPSU.FAIL: "missing",
    LonelyPSU.REMOVE: "certainty",
    LonelyPSU.ADJUST: "centered",
    LonelyPSU.AVERAGE: "scaled",
    LonelyPSU.CERTAINTY: "certainty",
}


@dataclass(frozen=True)
class _Total:
    """A respondent-level count the overall index is a ratio of: ``s<k>`` (satisfied
    answers to ``items``) or ``v<k>`` (answers to ``items``)."""

    name: str
    items: tuple[str, ...]
    levels: tuple[int, ...] | None  # None: every answer (a ``v`` column)


def _overall_terms(
    definition: spec.Questionnaire,
) -> tuple[list[_Total], list[tuple[float, str, str]]]:
    """The overall rate as ``sum coef * s/v`` over respondent-level counts, from the
    same formulas the published figures use (:func:`analysis.indices.build_formulas`)."""
    from survey_app.collection.scoring import questionnaire_layout

    layout = questionnaire_layout(definition)
    index = layout.definition
    overall = next(f for f in layout.formulas if f.code == "overall" and f.kind == "rate")
    items = layout.columns.items
    totals: list[_Total] = []
    named: dict[tuple[tuple[str, ...], bool], str] = {}
    terms: list[tuple[float, str, str]] = []

    def name(columns: tuple[int, ...], satisfied: bool) -> str:
        group = tuple(items[c // 3] for c in columns)
        key = (group, satisfied)
        if key not in named:
            position = len({g for g, _s in named} | {group})
            named[key] = f"{'s' if satisfied else 'v'}{position}"
            levels = None
            if satisfied:
                special = index.overall
                levels = tuple(
                    special.satisfied_levels
                    if special.method == "item" and special.satisfied_levels
                    else index.satisfied_levels
                )
            totals.append(_Total(named[key], group, levels))
        return named[key]

    for term in overall.terms:
        terms.append((term.coef, name(term.num, True), name(term.den, False)))
    return totals, terms


def _r_vector(values: tuple[Any, ...]) -> str:
    return "c(" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in values) + ")"


def _coef(value: float) -> str:
    return repr(float(value))  # the shortest text that reads back as the same number


def _index_text(definition: spec.Questionnaire, lang: str) -> list[tuple[str, str, str]]:
    index = definition.index
    if index is None:
        return [("index", _("Satisfaction index"), _("The questionnaire defines no index."))]
    first = next((a.items[0] for a in index.aspects if a.items), None)
    scale = definition.item(first).value_labels(lang) if first else {}
    levels = "; ".join(f"{v} = {scale.get(v, v)}" for v in index.satisfied_levels)
    aspect_rule = {
        "pooled": _("an aspect's index is its satisfied answers over all its answers"),
        "mean_of_items": _("an aspect's index is the mean of its criteria's satisfied shares"),
    }[index.aspect_method]
    rows = [("index_satisfied_levels", _("Satisfied levels of the index criteria"), levels)]
    for aspect in index.aspects:
        rows.append(
            (
                f"index_aspect_{aspect.code}",
                aspect.label.get(lang),
                f"{', '.join(aspect.items)} ({aspect_rule})",
            )
        )
    overall = index.overall
    if overall.method == "mean_of_aspects":
        rule = _("the unweighted mean of the aspect indices")
    elif overall.method == "weighted_mean_of_aspects":
        weights = ", ".join(f"{a.code} = {a.weight:g}" for a in index.aspects)
        rule = _("the weighted mean of the aspect indices (weights %(weights)s)", weights=weights)
    elif overall.method == "pooled_items":
        rule = _("satisfied answers over all answers to all aspect criteria")
    else:
        rule = _(
            "the share of satisfied answers (levels %(levels)s) to item %(item)s",
            levels=", ".join(str(v) for v in overall.satisfied_levels or index.satisfied_levels),
            item=overall.item,
        )
    rows.append(("index_overall", overall.label.get(lang), rule))
    return rows


def design_rows(data: Microdata, filename: str | None = None) -> list[tuple[str, str, str]]:
    """The codebook's rows on the design, the index rule and the commands that
    recompute the published overall index: ``(key, label, text)``.

    The R call is the reference the platform's figures match (``svydesign`` with
    ``nest=TRUE`` and the wave's ``survey.lonely.psu``, the overall index as
    ``svycontrast`` of weighted totals: the same smooth function of totals and the same
    linearisation as :mod:`analysis.indices`); the Stata lines are its translation.
    """
    wave = data.wave
    lang = data.lang
    rows: list[tuple[str, str, str]] = [
        ("wave", _("Wave"), f"{wave.code}: {wave.name_vi if lang == 'vi' else wave.name_en}"),
        (
            "wave_dates",
            _("Field dates"),
            f"{wave.start_date.isoformat()} – {wave.end_date.isoformat()}",
        ),
        (
            "panel_of",
            _("Panel of an earlier wave (its PSUs interviewed again)"),
            wave.panel_of.code if wave.panel_of is not None else _("No"),
        ),
        ("lonely_psu", _("Strata with a single PSU (R: survey.lonely.psu)"), wave.lonely_psu.value),
    ]
    weight = "scheme_weight" if data.scheme is not None else "design_weight"
    rows.append(("weight", _("Weight of the published figures"), weight))
    definition = data.definition
    if definition is None:
        return rows
    rows += _index_text(definition, lang)
    if definition.index is None:
        return rows
    if wave.kind != WaveKind.FIELD_SURVEY:
        rows.append(
            (
                "design",
                _("Design"),
                _(
                    "Continuous feedback: the published figures are model-based (each desk a "
                    "stratum, each day a cluster); no survey design call is given."
                ),
            )
        )
        return rows
    rows += _commands(data, definition, weight, filename or f"{wave.code}.csv")
    return rows


#: How R and Stata read each exported format (``{file}`` is the file's name).
R_READ = {
    "csv": 'x <- read.csv("{file}", fileEncoding = "UTF-8-BOM")',
    "xlsx": 'x <- as.data.frame(readxl::read_excel("{file}", sheet = "data"))',
    "sav": 'x <- as.data.frame(haven::zap_labels(haven::read_sav("{file}")))',
}
STATA_READ = {
    "csv": 'import delimited "{file}", encoding("utf-8") bindquote(strict) stringcols(_all) clear',
    "xlsx": 'import excel "{file}", sheet("data") firstrow allstring clear',
    "sav": 'import spss using "{file}", clear',
}


def _commands(
    data: Microdata, definition: spec.Questionnaire, weight: str, filename: str
) -> list[tuple[str, str, str]]:
    frame = data.frame
    totals, terms = _overall_terms(definition)
    fmt = filename.rsplit(".", 1)[-1].lower()
    fmt = fmt if fmt in R_READ else "csv"

    def missing(column: str) -> bool:
        values = frame[column]
        return bool(values.isna().any() or (values.astype(str) == "").any())

    strata = bool(frame["stratum"].notna().any())
    fpc = "fpc" in frame.columns and not frame["fpc"].isna().any() and len(frame) > 0
    rule = data.wave.lonely_psu
    # R
    r_prepare = [R_READ[fmt].format(file=filename)]
    r_prepare.append("x <- x[x$flagged == 0, ]")
    if strata and missing("stratum"):
        r_prepare.append('x$stratum[is.na(x$stratum) | x$stratum == ""] <- "(none)"')
    if missing("psu"):
        r_prepare.append(
            'i <- is.na(x$psu) | x$psu == ""; x$psu[i] <- paste0("r", x$response_id[i])'
        )
    step = data.weighting
    if step is not None:
        # the weighted design is made from the design weights by the scheme's step
        numeric = {v.name: v.type == NUMERIC for v in data.variables}
        r_prepare += scheme_commands.r_prepare_lines(step, numeric)
        r_prepare.append("x$design_weight[is.na(x$design_weight)] <- 1")
    else:
        r_prepare.append(f"x${weight}[is.na(x${weight})] <- 1")
    for total in totals:
        columns = _r_vector(total.items)
        if total.levels is None:
            r_prepare.append(f"x${total.name} <- rowSums(!is.na(x[{columns}]))")
        else:
            r_prepare.append(
                f"x${total.name} <- rowSums(matrix(as.matrix(x[{columns}]) %in% "
                f"{_r_vector(total.levels)}, nrow(x)))"
            )
    design = ["ids=~psu"]
    if strata:
        design.append("strata=~stratum")
    design.append(f"weights=~{'design_weight' if step is not None else weight}")
    if fpc:
        design.append("fpc=~fpc")
    design += ["data=x", "nest=TRUE"]
    r_design = (
        f'library(survey)\noptions(survey.lonely.psu="{rule.value}")\n'
        f"d <- svydesign({', '.join(design)})"
    )
    expression = " + ".join(f"{_coef(c)} * {s}/{v}" for c, s, v in terms)
    r_index = (
        f"t <- svytotal(~{' + '.join(t.name for t in totals)}, d)\n"
        f"svycontrast(t, quote({expression}))"
    )
    # Stata
    stata_prepare = [STATA_READ[fmt].format(file=filename)]
    numeric = ["response_id", "flagged", "design_weight", weight]
    if "fpc" in frame.columns:
        numeric.append("fpc")
    numeric += sorted({item for t in totals for item in t.items})
    stata_prepare.append(f"destring {' '.join(dict.fromkeys(numeric))}, replace")
    stata_prepare.append("drop if flagged == 1")
    if strata and missing("stratum"):
        stata_prepare.append('replace stratum = "(none)" if stratum == ""')
    if missing("psu"):
        stata_prepare.append('replace psu = "r" + string(response_id) if psu == ""')
    if weight == "scheme_weight" and missing("scheme_weight"):
        stata_prepare.append("replace scheme_weight = design_weight if missing(scheme_weight)")
    stata_prepare.append(f"replace {weight} = 1 if missing({weight})")
    for total in totals:
        items = " ".join(total.items)
        if total.levels is None:
            stata_prepare.append(f"egen {total.name} = rownonmiss({items})")
        else:
            values = " ".join(str(v) for v in total.levels)
            stata_prepare.append(f"egen {total.name} = anycount({items}), values({values})")
    options = []
    if strata:
        options.append("strata(stratum)")
    if fpc:
        options.append("fpc(fpc)")
    options.append(f"singleunit({STATA_SINGLEUNIT[rule]})")
    stata_design = f"svyset psu [pweight={weight}], {' '.join(options)}"
    stata_expression = " + ".join(f"{_coef(c)} * _b[{s}]/_b[{v}]" for c, s, v in terms)
    stata_index = f"svy: total {' '.join(t.name for t in totals)}\nnlcom ({stata_expression})"
    rows = [
        ("r_prepare", _("R: the file and the index counts"), "\n".join(r_prepare)),
        ("r_design", _("R: the survey design"), r_design),
        *(scheme_commands.codebook_rows(step) if step is not None else []),
        ("r_overall_index", _("R: the overall index (rate, 0 to 1)"), r_index),
        ("stata_prepare", _("Stata: the file and the index counts"), "\n".join(stata_prepare)),
        ("stata_design", _("Stata: the survey design"), stata_design),
        ("stata_overall_index", _("Stata: the overall index (rate, 0 to 1)"), stata_index),
    ]
    return rows


def codebook_csv(data: Microdata, filename: str | None = None) -> bytes:
    return spreadsheets.csv_bytes(codebook_rows(data, filename))


def _workbook(data: Microdata | None, codebook: Microdata, filename: str | None = None) -> bytes:
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
    for row in codebook_rows(codebook, filename):
        spreadsheets.append_row(sheet, row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_xlsx(data: Microdata) -> bytes:
    return _workbook(data, data, f"{data.wave.code}.xlsx")


def codebook_xlsx(data: Microdata, filename: str | None = None) -> bytes:
    return _workbook(None, data, filename)


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
        data_file = f"{wave.code}.csv"
        content = codebook_csv(data, data_file) if fmt == "csv" else codebook_xlsx(data, data_file)
        name = f"{wave.code}-codebook.{fmt}"
    else:
        name = f"{wave.code}.{fmt}"
        content = _write(data, fmt, name)
    _audit(data, user, fmt, lang, codebook=codebook)
    return content, FORMATS[fmt], name


def codebook_path(path: str) -> tuple[str, str]:
    """The codebook written next to a data file: ``FILE`` with ``-codebook`` before the
    extension, in the same format (CSV beside an SPSS file); returns (path, format)."""
    stem, dot, extension = path.rpartition(".")
    if not dot or "/" in extension:
        stem, extension = path, ""
    fmt = extension.lower() if extension.lower() in CODEBOOK_FORMATS else "csv"
    return f"{stem}-codebook.{fmt}", fmt


def export_files(wave: Wave, fmt: str, out: str, lang: str = "en") -> tuple[str, int]:
    """Write every response of the wave to ``out`` in ``fmt`` and its codebook next to
    it (:func:`codebook_path`), for the command line (no user: the whole wave, audited
    as ``system``). Returns the codebook's path and the number of rows.

    Raises
    ------
    ValueError
        An unknown format.
    OSError
        A file that cannot be written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    data = microdata(wave, None, lang)
    name = os.path.basename(out)
    book_path, book_fmt = codebook_path(out)
    content = _write(data, fmt, name)
    book = codebook_csv(data, name) if book_fmt == "csv" else codebook_xlsx(data, name)
    with open(out, "wb") as handle:
        handle.write(content)
    with open(book_path, "wb") as handle:
        handle.write(book)
    _audit(data, None, fmt, lang, codebook=False, out=out)
    return book_path, len(data.frame)


def _write(data: Microdata, fmt: str, name: str) -> bytes:
    if fmt == "xlsx":
        return _workbook(data, data, name)
    return {"csv": to_csv, "sav": to_sav}[fmt](data)


def _audit(
    data: Microdata,
    user: User | None,
    fmt: str,
    lang: str,
    *,
    codebook: bool,
    out: str | None = None,
) -> None:
    details: dict[str, Any] = {
        "format": fmt,
        "codebook": codebook,
        "rows": len(data.frame),
        "scope": (scope_prefix(user) if user is not None else None) or "/",
        "lang": lang,
    }
    if out is not None:
        details["file"] = out
    audit.record(
        "data.export",
        user=user,
        username=audit.SYSTEM_ACTOR if user is None else None,
        target=f"wave:{data.wave.code}",
        details=details,
    )
    db.session.commit()
