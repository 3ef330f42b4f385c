"""Weighting schemes of a wave: the survey team's console behind ``/analyst/weights``.

A scheme is a named, versioned set of weights for every response of one wave, made by
adjusting the design weights (post-stratification, raking or calibration, optionally
followed by trimming) with :mod:`analysis.weighting`. At most one scheme per wave is
active; :func:`survey_app.reporting.indices.compute` uses it and names it on every
figure.

Weighting variables
-------------------
A wave's weighting variables are the questionnaire's demographic items
(``demographic: true``, single choice; their option codes are the levels, read from
``responses.answers``), the response's unit (variable ``unit``, levels are unit codes)
and the procedure field of the response's procedure (variable ``procedure_field``,
levels are field codes). A respondent with no value (an unanswered item, no recorded
procedure) is at level ``_missing``. No census counts those, so a margin may leave that
level without a target (blank): its respondents then keep their design-weighted share
and the other levels' targets are scaled to the rest (:func:`_keep_no_answer`); a
target given for it is used as given.

Flow
----
:func:`load_sample` reads the wave's rows once; :func:`read_targets` turns an upload into
:class:`TargetRows` (or row errors); :func:`preview` checks them against the wave, runs
the method and returns the weights, diagnostics, margins table, histogram and the
headline index (unweighted, design-weighted, active scheme, new weights) without
writing anything; :func:`save_scheme` does the same and stores the scheme, its weights
and an audit entry in one transaction; :func:`activate` and :func:`deactivate` switch
the wave's active scheme, also audited.

Published = previewed
---------------------
A published figure of a wave with an active scheme has R's standard error for the
weighted design (``postStratify``/``rake``/``calibrate``, then ``svymean``), not the
one of fixed weights: :func:`published_design` re-runs the stored scheme on the wave's
rows (deterministic, milliseconds) to recover the variance adjustment R keeps in
``design$postStrata``, checks that it gives back the stored weights, and
:func:`survey_app.reporting.indices.compute` residualizes the respondents' scores with
it. The preview's rows use the same adjustment, so preview and publication agree.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl.utils import get_column_letter
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from analysis.design import Design
from analysis.indices import IndexEstimate, estimate_on_design
from analysis.weighting import (
    WeightingReport,
    WeightingResult,
    calibrate,
    poststratify,
    rake,
    trim_weights,
    weight_diagnostics,
)
from survey_app import access, audit, formatting
from survey_app.collection import questionnaires, scoring
from survey_app.extensions import db
from survey_app.i18n import current_lang
from survey_app.models import (
    AuditLog,
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
from survey_app.models._types import utcnow
from survey_app.numbers import AmbiguousNumberError, NumberError, parse_number
from survey_app.spreadsheets import RowError
from survey_app.weighting.target_files import (
    INFO_COLUMNS,
    LONG_COLUMNS,
    TARGET,
    FileFormatError,
    Table,
    read_table,
)

UNIT = "unit"
PROCEDURE_FIELD = "procedure_field"
MISSING = "_missing"
METHODS: dict[str, Any] = {
    "poststratify": _l("Post-stratification"),
    "rake": _l("Raking"),
    "calibrate-linear": _l("Linear calibration (GREG)"),
    "calibrate-raking": _l("Raking calibration"),
}
TOTAL_RTOL = 1e-6  # margins whose totals differ by more are refused (as analysis.weighting)
MAX_TEMPLATE_CELLS = 5000
MAX_LISTED = 20
SYSTEM_ACTOR = "system"  # the audit log's actor of the command line


# ------------------------------------------------------------------ errors


class WeightingInputError(ValueError):
    """The targets or options were refused; ``errors`` lists every problem."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors))


class SchemeError(ValueError):
    """A scheme cannot be found, named or activated; the message says why."""


# ------------------------------------------------------------------ the wave's rows


@dataclass(frozen=True)
class Level:
    code: str
    label_vi: str
    label_en: str
    respondents: int

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_vi


@dataclass(frozen=True)
class Variable:
    code: str
    label_vi: str
    label_en: str
    levels: tuple[Level, ...]

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_vi

    def level(self, code: str) -> Level | None:
        for level in self.levels:
            if level.code == code:
                return level
        return None


@dataclass(frozen=True, eq=False)
class WaveSample:
    """The wave's responses as arrays, in ascending id order.

    Attributes
    ----------
    values : mapping of str to ndarray
        The level code of every response for each weighting variable.
    strata, psu : ndarray
        The design columns the index service uses for this kind of wave.
    """

    wave: Wave
    response_ids: np.ndarray
    variables: tuple[Variable, ...]
    values: Mapping[str, np.ndarray]
    design_weights: np.ndarray
    strata: np.ndarray
    psu: np.ndarray

    @property
    def n(self) -> int:
        return int(self.response_ids.size)

    def variable(self, code: str) -> Variable | None:
        for variable in self.variables:
            if variable.code == code:
                return variable
        return None


def _levels(
    values: np.ndarray, declared: Sequence[tuple[str, str, str]], missing: tuple[str, str]
) -> tuple[Level, ...]:
    """Declared levels (with their counts), then undeclared codes found in the data."""
    counts = pd.Series(values).value_counts().to_dict()
    levels = [Level(code, vi, en, int(counts.pop(code, 0))) for code, vi, en in declared]
    for code in sorted(c for c in counts if c != MISSING):
        levels.append(Level(code, code, code, int(counts[code])))
    if MISSING in counts:
        levels.append(Level(MISSING, missing[0], missing[1], int(counts[MISSING])))
    return tuple(levels)


def load_sample(wave: Wave) -> WaveSample:
    """Read every response of ``wave`` (one query) into a :class:`WaveSample`."""
    query = (
        select(
            Response.id,
            Response.answers,
            Response.design_weight,
            Response.stratum,
            Response.psu,
            Response.desk_id,
            Response.unit_id,
            Response.submitted_at,
            Unit.code,
            ProcedureField.code,
        )
        .join(Unit, Unit.id == Response.unit_id)
        .outerjoin(Procedure, Procedure.id == Response.procedure_id)
        .outerjoin(ProcedureField, ProcedureField.id == Procedure.field_id)
        # flagged responses (bursts not yet reviewed, or excluded) are in no figure, so
        # in no weighting either (reporting/indices.py reads the same rows)
        .where(Response.wave_id == wave.id, Response.flagged.is_(False))
        .order_by(Response.id)
    )
    rows = list(db.session.execute(query))
    n = len(rows)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    weights = np.array([r[2] if r[2] is not None else 1.0 for r in rows], dtype=np.float64)
    if wave.kind == WaveKind.FIELD_SURVEY:  # the rule of reporting.indices._design_keys
        strata = np.array([str(r[3]) for r in rows], dtype=object)
        psu = np.array([r[4] if r[4] is not None else str(r[0]) for r in rows], dtype=object)
    else:
        strata = np.array([str(r[5] if r[5] is not None else -r[6]) for r in rows], dtype=object)
        psu = np.array([_utc_date(r[7]) for r in rows], dtype=object)

    values: dict[str, np.ndarray] = {}
    variables: list[Variable] = []
    unit_codes = np.array([r[8] for r in rows], dtype=object)
    units = {
        u.code: u for u in db.session.scalars(select(Unit).where(Unit.code.in_(set(unit_codes))))
    }
    ordered = sorted(units.values(), key=lambda u: (u.path.count("/"), u.name_vi))
    values[UNIT] = unit_codes
    variables.append(
        Variable(
            UNIT,
            "Đơn vị",
            "Unit",
            _levels(unit_codes, [(u.code, u.name_vi, u.name_en) for u in ordered], ("", "")),
        )
    )
    fields = np.array([r[9] if r[9] is not None else MISSING for r in rows], dtype=object)
    all_fields = db.session.scalars(select(ProcedureField).order_by(ProcedureField.code))
    values[PROCEDURE_FIELD] = fields
    variables.append(
        Variable(
            PROCEDURE_FIELD,
            "Lĩnh vực thủ tục",
            "Procedure field",
            _levels(
                fields,
                [(f.code, f.name_vi, f.name_en) for f in all_fields],
                ("Không ghi nhận thủ tục", "No procedure recorded"),
            ),
        )
    )
    definition = questionnaires.parsed(wave.questionnaire)
    for item in definition.demographic_items:
        if item.code in values:  # a built-in variable keeps its name
            continue
        answers = np.empty(n, dtype=object)
        for i, r in enumerate(rows):
            value = (r[1] or {}).get(item.code)
            answers[i] = str(value) if value is not None and value != "" else MISSING
        values[item.code] = answers
        variables.append(
            Variable(
                item.code,
                item.label.get("vi"),
                item.label.get("en"),
                _levels(
                    answers,
                    [(o.code, o.label.get("vi"), o.label.get("en")) for o in item.options],
                    ("Không trả lời", "No answer"),
                ),
            )
        )
    return WaveSample(wave, ids, tuple(variables), values, weights, strata, psu)


def _utc_date(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


# ------------------------------------------------------------------ targets


@dataclass(frozen=True)
class TargetRow:
    row: int
    labels: tuple[str, ...]  # long: (variable, level); cells: one level per variable
    target: float


@dataclass(frozen=True)
class TargetRows:
    """Targets as read from a file, before they are checked against a wave.

    ``layout`` is ``"long"`` (``variable, level, target``) or ``"cells"`` (one column
    per variable in ``variables``, then ``target``).
    """

    layout: str
    variables: tuple[str, ...]
    rows: tuple[TargetRow, ...]
    refused: tuple[RowError, ...] = ()  # rows that could not be read, with the reason
    refused_labels: tuple[tuple[str, ...], ...] = ()

    @cached_property
    def _named(self) -> frozenset[tuple[str, ...]]:
        return frozenset(r.labels for r in self.rows) | frozenset(self.refused_labels)

    def names(self, labels: tuple[str, ...]) -> bool:
        """Whether some row, read or refused, names this level or cell."""
        return labels in self._named

    def to_json(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "variables": list(self.variables),
            "rows": [[*r.labels, r.target] for r in self.rows],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TargetRows:
        """Rebuild from :meth:`to_json` (row numbers count from 2, as in the file)."""
        try:
            layout = str(data["layout"])
            variables = tuple(str(v) for v in data.get("variables", []))
            width = 2 if layout == "long" else len(variables)
            if layout not in ("long", "cells"):
                raise ValueError(layout)
            rows = tuple(
                TargetRow(i, tuple(str(x) for x in r[:width]), float(r[width]))
                for i, r in enumerate(data["rows"], start=2)
                if len(r) == width + 1
            )
        except (KeyError, TypeError, ValueError, IndexError):
            raise WeightingInputError(
                [RowError(None, None, _("The form data is damaged."))]
            ) from None
        return cls(layout, variables, rows)


def _number(text: str) -> float | str:
    """The target ``text`` means (Vietnamese or English separators), or why not."""
    try:
        return parse_number(text)
    except AmbiguousNumberError as error:
        return str(error)
    except NumberError:
        return _("The target “%(value)s” is not a number.", value=text)


def read_targets(data: bytes, filename: str) -> TargetRows:
    """Read an uploaded targets file (CSV or XLSX) into :class:`TargetRows`.

    Raises
    ------
    WeightingInputError
        A malformed file (row errors: unreadable file, missing columns, empty labels,
        targets that are not numbers or are negative, no rows).
    """
    try:
        table = read_table(data, filename)
    except FileFormatError as exc:
        raise WeightingInputError(
            [
                RowError(p.row, get_column_letter(p.column) if p.column else None, p.message)
                for p in exc.problems
            ]
        ) from None
    return _targets_from_table(table)


def _targets_from_table(table: Table) -> TargetRows:
    errors: list[RowError] = []
    target_at = table.column(TARGET)
    if target_at is None:
        raise WeightingInputError([RowError(1, TARGET, _("The file has no “target” column."))])
    if table.is_long:
        layout = "long"
        label_at = [table.column("variable"), table.column("level")]
        variables: tuple[str, ...] = ()
    else:
        if table.column("variable") is not None or table.column("level") is not None:
            missing = [c for c in LONG_COLUMNS if table.column(c) is None]
            raise WeightingInputError(
                [
                    RowError(1, c, _("The file has no “%(column)s” column.", column=c))
                    for c in missing
                ]
            )
        layout = "cells"
        skip = {TARGET, *INFO_COLUMNS}
        label_at = [i for i, h in enumerate(table.header) if h.lower() not in skip]
        variables = tuple(table.header[i] for i in label_at)
        if not variables:
            raise WeightingInputError(
                [
                    RowError(
                        1,
                        None,
                        _(
                            "The file needs the columns variable, level and target, or one "
                            "column per variable and a target column."
                        ),
                    )
                ]
            )
        for i, name in enumerate(table.header):
            if i in label_at and name == "":
                errors.append(RowError(1, None, _("A column has no name.")))
    if errors:
        raise WeightingInputError(errors)
    rows: list[TargetRow] = []
    refused: list[tuple[str, ...]] = []
    names = ("variable", "level") if layout == "long" else variables
    for number, cells in table.rows:
        labels = tuple(cells[i] for i in label_at)
        text = cells[target_at]
        if layout == "long" and labels[1:] == (MISSING,) and not text.strip():
            continue  # "no answer" left blank: its respondents keep their share (check)
        target = _number(text)
        found = len(errors)
        for name, label in zip(names, labels, strict=True):
            if label == "" and not (layout == "long" and name == "level"):
                errors.append(RowError(number, name, _("This cell is empty.")))
        if isinstance(target, str):
            errors.append(RowError(number, TARGET, target))
        elif target < 0:
            errors.append(
                RowError(number, TARGET, _("The target %(value)s is negative.", value=text))
            )
        if len(errors) > found:
            refused.append(labels)
        else:
            rows.append(TargetRow(number, labels, target))
    if not rows and not errors:
        raise WeightingInputError([RowError(None, None, _("The file has no rows of targets."))])
    return TargetRows(layout, variables, tuple(rows), tuple(errors), tuple(refused))


@dataclass(frozen=True)
class WeightingSpec:
    """Everything a scheme is computed from: method, options and targets."""

    method: str
    targets: TargetRows
    max_iter: int = 10
    epsilon: float = 1.0
    bounds: tuple[float, float] | None = None
    trim_lower: float | None = None
    trim_upper: float | None = None
    strict: bool = False
    filename: str = ""

    @property
    def trims(self) -> bool:
        return self.trim_lower is not None or self.trim_upper is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "base": "design weights",
            "targets": self.targets.to_json(),
            "max_iter": self.max_iter if self.method == "rake" else None,
            "epsilon": self.epsilon if self.method == "rake" else None,
            "bounds": list(self.bounds) if self.bounds else None,
            "trim": (
                {"lower": self.trim_lower, "upper": self.trim_upper, "strict": self.strict}
                if self.trims
                else None
            ),
            "file": self.filename,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WeightingSpec:
        try:
            trim = data.get("trim") or {}
            bounds = data.get("bounds")
            return cls(
                method=str(data["method"]),
                targets=TargetRows.from_json(data["targets"]),
                max_iter=int(data.get("max_iter") or 10),
                epsilon=float(data.get("epsilon") or 1.0),
                bounds=(float(bounds[0]), float(bounds[1])) if bounds else None,
                trim_lower=None if trim.get("lower") is None else float(trim["lower"]),
                trim_upper=None if trim.get("upper") is None else float(trim["upper"]),
                strict=bool(trim.get("strict")),
                filename=str(data.get("file") or ""),
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise WeightingInputError(
                [RowError(None, None, _("The form data is damaged."))]
            ) from None


# ------------------------------------------------------------------ checking targets


@dataclass(frozen=True)
class _Checked:
    """Targets in the form :mod:`analysis.weighting` takes."""

    variables: tuple[str, ...]
    margins: dict[str, dict[str, float]] = field(default_factory=dict)  # long layout
    cells: dict[Any, float] = field(default_factory=dict)  # cells layout
    notes: tuple[str, ...] = ()  # what the check did on its own (e.g. "no answer" kept)


def _unknown_variable(
    sample: WaveSample, name: str, row: int | None, column: str | None
) -> RowError:
    names = ", ".join(v.code for v in sample.variables)
    message = _(
        "Unknown variable “%(name)s”. This wave's weighting variables are: %(names)s.",
        name=name,
        names=names,
    )
    return RowError(row, column, message)


def _unknown_level(variable: Variable, code: str, row: int, column: str) -> RowError:
    message = _(
        "Unknown level “%(level)s” of %(name)s. Its levels are: %(levels)s.",
        level=code,
        name=variable.code,
        levels=", ".join(level.code for level in variable.levels),
    )
    return RowError(row, column, message)


def _check_long(sample: WaveSample, targets: TargetRows, errors: list[RowError]) -> _Checked:
    margins: dict[str, dict[str, float]] = {}
    seen: dict[tuple[str, str], int] = {}
    for row in targets.rows:
        name, code = row.labels
        variable = sample.variable(name)
        if variable is None:
            errors.append(_unknown_variable(sample, name, row.row, "variable"))
            continue
        margins.setdefault(name, {})
        if code == "":
            errors.append(
                RowError(
                    row.row,
                    "level",
                    _("The level is empty: every row needs a level of %(name)s.", name=name),
                )
            )
            continue
        level = variable.level(code)
        if level is None:
            errors.append(_unknown_level(variable, code, row.row, "level"))
        elif (name, code) in seen:
            errors.append(
                RowError(
                    row.row,
                    "level",
                    _(
                        "%(name)s = %(level)s is already on row %(row)s.",
                        name=name,
                        level=code,
                        row=seen[(name, code)],
                    ),
                )
            )
        elif row.target > 0 and level.respondents == 0:
            errors.append(
                RowError(
                    row.row,
                    "level",
                    _(
                        "No respondent has %(name)s = %(level)s, so its target cannot be met: "
                        "set it to 0 or merge it with another level.",
                        name=name,
                        level=code,
                    ),
                )
            )
        elif row.target == 0 and level.respondents > 0:
            errors.append(
                RowError(
                    row.row,
                    TARGET,
                    _(
                        "%(count)s respondents have %(name)s = %(level)s but its target is 0.",
                        count=level.respondents,
                        name=name,
                        level=code,
                    ),
                )
            )
        else:
            seen[(name, code)] = row.row
            margins[name][code] = row.target
    notes: list[str] = []
    for name in margins:
        for level in _known(sample, name).levels:
            if level.code == MISSING and level.respondents and not targets.names((name, MISSING)):
                notes.append(_keep_no_answer(sample, name, margins[name]))
            elif level.respondents and not targets.names((name, level.code)):
                errors.append(
                    RowError(
                        None,
                        name,
                        _(
                            "%(name)s = %(level)s (%(label)s) has %(count)s respondents but "
                            "no target.",
                            name=name,
                            level=level.code,
                            label=level.label(current_lang()),
                            count=level.respondents,
                        ),
                    )
                )
    return _Checked(tuple(margins), margins=margins, notes=tuple(notes))


def _keep_no_answer(sample: WaveSample, name: str, margin: dict[str, float]) -> str:
    """Give the "no answer" level of ``name`` its design-weighted share of the sample.

    No census counts the people who would not answer, so the analyst gives no target
    for it: those respondents keep their share ``m`` of the design-weighted sample, and
    the other levels' targets (which add up to the whole population) are scaled by
    ``1 - m`` so the margin still adds up to it. Returns the note for the preview.
    """
    w0 = sample.design_weights
    share = float(w0[sample.values[name] == MISSING].sum() / w0.sum())
    total = sum(margin.values())
    for code in margin:
        margin[code] *= 1 - share
    margin[MISSING] = share * total
    return _(
        "%(name)s: the respondents who did not answer keep their share of the design-"
        "weighted sample (%(share)s); the other levels' targets are scaled to the rest.",
        name=name,
        share=formatting.percent(share),
    )


def _known(sample: WaveSample, name: str) -> Variable:
    variable = sample.variable(name)
    if variable is None:  # only names the checks accepted get here
        raise LookupError(name)
    return variable


def _check_cells(sample: WaveSample, targets: TargetRows, errors: list[RowError]) -> _Checked:
    variables: list[Variable] = []
    for name in targets.variables:
        variable = sample.variable(name)
        if variable is None:
            errors.append(_unknown_variable(sample, name, 1, name))
        elif variable in variables:
            errors.append(RowError(1, name, _("The column %(name)s appears twice.", name=name)))
        else:
            variables.append(variable)
    if errors:
        return _Checked(targets.variables)
    names = tuple(v.code for v in variables)
    frame = pd.DataFrame({name: sample.values[name] for name in names})
    counts = frame.value_counts().to_dict() if sample.n else {}
    cells: dict[Any, float] = {}
    seen: dict[tuple[str, ...], int] = {}
    for row in targets.rows:
        unknown = False
        for variable, code in zip(variables, row.labels, strict=True):
            if variable.level(code) is None:
                unknown = True
                errors.append(_unknown_level(variable, code, row.row, variable.code))
        if unknown:
            continue
        cell = _describe_cell(names, row.labels)
        count = int(counts.get(row.labels, 0))
        if row.labels in seen:
            errors.append(
                RowError(
                    row.row,
                    None,
                    _(
                        "The cell %(cell)s is already on row %(row)s.",
                        cell=cell,
                        row=seen[row.labels],
                    ),
                )
            )
        elif row.target > 0 and count == 0:
            errors.append(
                RowError(
                    row.row,
                    None,
                    _(
                        "No respondent is in the cell %(cell)s, so its target cannot be met: "
                        "set it to 0 or merge cells.",
                        cell=cell,
                    ),
                )
            )
        elif row.target == 0 and count > 0:
            errors.append(
                RowError(
                    row.row,
                    TARGET,
                    _(
                        "%(count)s respondents are in the cell %(cell)s but its target is 0.",
                        count=count,
                        cell=cell,
                    ),
                )
            )
        else:
            seen[row.labels] = row.row
            cells[row.labels if len(names) > 1 else row.labels[0]] = row.target
    uncovered = [(labels, n) for labels, n in counts.items() if not targets.names(labels)]
    for labels, n in sorted(uncovered)[:MAX_LISTED]:
        errors.append(
            RowError(
                None,
                None,
                _(
                    "The cell %(cell)s has %(count)s respondents but no target.",
                    cell=_describe_cell(names, labels),
                    count=n,
                ),
            )
        )
    if len(uncovered) > MAX_LISTED:
        errors.append(
            RowError(
                None,
                None,
                _(
                    "… and %(count)s more cells without a target.",
                    count=len(uncovered) - MAX_LISTED,
                ),
            )
        )
    return _Checked(names, cells=cells)


def _describe_cell(names: Sequence[str], labels: Sequence[str]) -> str:
    return ", ".join(f"{n} = {v}" for n, v in zip(names, labels, strict=True))


def _check_totals(checked: _Checked, errors: list[RowError]) -> None:
    totals = {name: sum(m.values()) for name, m in checked.margins.items() if m}
    if len(totals) > 1:
        values = np.array(list(totals.values()))
        if np.ptp(values) > TOTAL_RTOL * np.abs(values).max():
            listing = "; ".join(
                f"{name}: {formatting.number(total)}" for name, total in totals.items()
            )
            errors.append(
                RowError(
                    None,
                    None,
                    _(
                        "The totals of the variables disagree (%(totals)s): every variable "
                        "must add up to the same population.",
                        totals=listing,
                    ),
                )
            )


def check(sample: WaveSample, options: WeightingSpec) -> _Checked:
    """Check the method's options and targets against the wave; raise every problem."""
    method, targets = options.method, options.targets
    errors = list(targets.refused)
    if method not in METHODS:
        raise WeightingInputError(
            [RowError(None, None, _("Unknown method “%(method)s”.", method=method))]
        )
    if sample.n == 0:
        raise WeightingInputError([RowError(None, None, _("This wave has no responses yet."))])
    errors.extend(_check_options(options))
    if targets.layout == "cells":
        if method != "poststratify":
            errors.append(
                RowError(
                    1,
                    None,
                    _(
                        "A table with one column per variable gives post-stratification cells; "
                        "raking and calibration need the columns variable, level, target."
                    ),
                )
            )
            raise WeightingInputError(errors)
        checked = _check_cells(sample, targets, errors)
    else:
        checked = _check_long(sample, targets, errors)
        if method == "rake" and len(checked.margins) < 2:
            errors.append(
                RowError(
                    None,
                    None,
                    _(
                        "Raking needs the margins of two or more variables; "
                        "for one variable choose post-stratification."
                    ),
                )
            )
        if method == "poststratify" and len(checked.margins) > 1:
            errors.append(
                RowError(
                    None,
                    None,
                    _(
                        "Post-stratification on several variables needs the cell table (one "
                        "column per variable): download the cell template."
                    ),
                )
            )
        if method != "poststratify":
            _check_totals(checked, errors)
    if errors:
        errors.sort(key=lambda e: (e.row is None, e.row or 0))
        raise WeightingInputError(errors)
    return checked


def _check_options(options: WeightingSpec) -> list[RowError]:
    errors = []
    if options.method == "rake":
        if options.max_iter < 1:
            errors.append(RowError(None, "max_iter", _("Iterations must be at least 1.")))
        if not options.epsilon > 0:
            errors.append(RowError(None, "epsilon", _("The tolerance must be positive.")))
    if options.bounds is not None and not options.bounds[0] < options.bounds[1]:
        errors.append(
            RowError(None, "bounds", _("The lower bound must be smaller than the upper bound."))
        )
    low, high = options.trim_lower, options.trim_upper
    if low is not None and high is not None and not low < high:
        errors.append(
            RowError(None, "trim", _("The lower bound must be smaller than the upper bound."))
        )
    if (low is not None and low < 0) or (high is not None and high <= 0):
        errors.append(RowError(None, "trim", _("Trimming bounds must be positive.")))
    return errors


# ------------------------------------------------------------------ computing


@dataclass(frozen=True)
class MarginRow:
    variable: Variable
    level: Level
    sample_share: float
    design_share: float
    weighted_share: float
    target_share: float


@dataclass(frozen=True)
class HeadlineRow:
    key: str  # "unweighted", "design", "active", "new"
    label: str
    estimate: IndexEstimate


@dataclass(frozen=True, eq=False)
class Preview:
    """What a scheme would be, before anything is stored."""

    options: WeightingSpec
    weights: np.ndarray
    steps: tuple[WeightingReport, ...]
    report: WeightingReport
    margins: tuple[MarginRow, ...]
    headline: tuple[HeadlineRow, ...]
    headline_note: str
    messages: tuple[str, ...]

    def report_json(self) -> dict[str, Any]:
        return {
            "steps": [s.to_dict() for s in self.steps],
            "final": self.report.to_dict(),
            "headline": {
                row.key: {
                    "value": _finite(row.estimate.value),
                    "se": _finite(row.estimate.se),
                    "ci_low": _finite(row.estimate.ci_low),
                    "ci_high": _finite(row.estimate.ci_high),
                    "n": row.estimate.n,
                    "n_eff": _finite(row.estimate.n_eff),
                }
                for row in self.headline
            },
            "margins": [
                {
                    "variable": m.variable.code,
                    "level": m.level.code,
                    "respondents": m.level.respondents,
                    "sample_share": m.sample_share,
                    "weighted_share": m.weighted_share,
                    "target_share": m.target_share,
                }
                for m in self.margins
            ],
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _weigh(sample: WaveSample, options: WeightingSpec, checked: _Checked) -> list[WeightingResult]:
    """Run the method and the trimming on the design weights (warnings become messages)."""
    data = {name: sample.values[name] for name in checked.variables}
    w0 = sample.design_weights
    steps: list[WeightingResult] = []
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            if options.method == "poststratify":
                by = (
                    checked.variables if options.targets.layout == "cells" else checked.variables[0]
                )
                targets = checked.cells or checked.margins[checked.variables[0]]
                steps.append(poststratify(w0, data, by, targets))
            elif options.method == "rake":
                steps.append(
                    rake(w0, data, checked.margins, maxit=options.max_iter, epsilon=options.epsilon)
                )
            else:
                calfun = options.method.removeprefix("calibrate-")
                steps.append(
                    calibrate(w0, data, checked.margins, calfun=calfun, bounds=options.bounds)
                )
            bad = int((steps[-1].weights <= 0).sum())
            if bad:
                raise WeightingInputError(
                    [
                        RowError(
                            None,
                            None,
                            _(
                                "%(count)s weights came out zero or negative: set bounds on "
                                "the calibration factors (for example 0.3 to 3) or use raking "
                                "calibration.",
                                count=bad,
                            ),
                        )
                    ]
                )
            if options.trims:
                steps.append(
                    trim_weights(
                        steps[-1].weights,
                        lower=-math.inf if options.trim_lower is None else options.trim_lower,
                        upper=math.inf if options.trim_upper is None else options.trim_upper,
                        strict=options.strict,
                    )
                )
        except ValueError as exc:
            if isinstance(exc, WeightingInputError):
                raise
            raise WeightingInputError(
                [RowError(None, None, _("The weights could not be computed: %(error)s", error=exc))]
            ) from None
    return steps


def _final_report(
    sample: WaveSample, checked: _Checked, steps: Sequence[WeightingResult]
) -> WeightingReport:
    """Diagnostics of the final weights: the method's convergence and iterations, the
    largest relative margin error of the final (possibly trimmed) weights, the trimmed
    count and every warning on the way."""
    method = steps[0].report
    weights = np.asarray(steps[-1].weights)
    return weight_diagnostics(
        weights,
        method=method.method + ("+trim" if len(steps) > 1 else ""),
        converged=all(s.report.converged for s in steps),
        iterations=method.iterations,
        max_margin_error=_margin_error(sample, checked, weights),
        n_trimmed=sum(s.report.n_trimmed for s in steps),
        messages=[m for s in steps for m in s.report.messages],
    )


def _margin_error(sample: WaveSample, checked: _Checked, weights: np.ndarray) -> float:
    """Largest ``|sum of weights in a level or cell - target| / target`` over the targets."""
    errors = [0.0]
    if checked.cells:
        names = list(checked.variables)
        frame = pd.DataFrame({n: sample.values[n] for n in names})
        frame["w"] = weights
        sums = frame.groupby(names, sort=False)["w"].sum().to_dict()
        achieved = {k if isinstance(k, tuple) else (k,): v for k, v in sums.items()}
        for key, target in checked.cells.items():
            got = float(achieved.get(key if isinstance(key, tuple) else (key,), 0.0))
            errors.append(abs(got - target) / target if target else abs(got))
    for name, targets in checked.margins.items():
        codes = sample.values[name]
        for code, target in targets.items():
            got = float(weights[codes == code].sum())
            errors.append(abs(got - target) / target if target else abs(got))
    return max(errors)


def _margins(sample: WaveSample, checked: _Checked, weights: np.ndarray) -> tuple[MarginRow, ...]:
    rows = []
    w0 = sample.design_weights
    for position, name in enumerate(checked.variables):
        variable = _known(sample, name)
        if checked.cells:
            targets: dict[str, float] = {}
            for key, value in checked.cells.items():
                code = key[position] if isinstance(key, tuple) else key
                targets[code] = targets.get(code, 0.0) + value
        else:
            targets = checked.margins[name]
        total = sum(targets.values())
        codes = sample.values[name]
        for level in variable.levels:
            if not level.respondents and level.code not in targets:
                continue
            inside = codes == level.code
            rows.append(
                MarginRow(
                    variable,
                    level,
                    level.respondents / sample.n,
                    float(w0[inside].sum() / w0.sum()),
                    float(weights[inside].sum() / weights.sum()),
                    targets.get(level.code, 0.0) / total if total else math.nan,
                )
            )
    return tuple(rows)


def _headline(
    sample: WaveSample, steps: Sequence[WeightingResult]
) -> tuple[tuple[HeadlineRow, ...], str]:
    """The overall index (rate) under each set of weights, with design-based CIs."""
    try:
        formulas, values = scoring.respondent_values([sample.wave], sample.response_ids)
    except scoring.IndexRequestError:
        return (), _("The questionnaire defines no index.")
    try:
        base = Design.from_arrays(
            np.ones(sample.n), strata=sample.strata, ids=sample.psu, nest=True
        )
    except ValueError as exc:
        return (), _("The index cannot be estimated on this wave's design: %(error)s", error=exc)
    formula = formulas[0]
    designs: list[tuple[str, str, Design]] = [
        ("unweighted", _("Unweighted"), base),
        ("design", _("Design weights"), base.with_weights(sample.design_weights)),
    ]
    active = active_schemes([sample.wave.id]).get(sample.wave.id)
    if active is not None:
        label = _("Active scheme: %(name)s v%(version)s", name=active.name, version=active.version)
        try:
            published = published_design(sample.wave, active, sample)  # rows read once
        except SchemeError as exc:
            return (), str(exc)
        # the published figure's design: stored weights and the scheme's adjustments
        current = base.with_weights(published.weights)
        for adjustment in published.adjustments:
            current = current.with_weights(published.weights, adjustment)
        designs.append(("active", label, current))
    adjusted = base.with_weights(sample.design_weights)
    for step in steps:
        adjusted = adjusted.with_weights(step.weights, step.adjustment)
    designs.append(("new", _("New weights"), adjusted))
    rows = tuple(
        HeadlineRow(key, label, estimate_on_design(design, values, formula))
        for key, label, design in designs
    )
    return rows, ""


def preview(sample: WaveSample, options: WeightingSpec) -> Preview:
    """Check, weight and summarise; nothing is written to the database.

    Raises
    ------
    WeightingInputError
        Every problem with the targets or options, by row where there is one.
    """
    checked = check(sample, options)
    steps = _weigh(sample, options, checked)
    weights = np.asarray(steps[-1].weights)
    report = _final_report(sample, checked, steps)
    headline, note = _headline(sample, steps)
    return Preview(
        options=options,
        weights=weights,
        steps=tuple(s.report for s in steps),
        report=report,
        margins=_margins(sample, checked, weights),
        headline=headline,
        headline_note=note,
        messages=(*checked.notes, *report.messages, *_implausible(sample, weights)),
    )


def _implausible(sample: WaveSample, weights: np.ndarray) -> list[str]:
    """Warnings for weights no population can give (targets in the wrong unit)."""
    if not sample.n:
        return []
    out = []
    mean = float(np.mean(weights))
    if mean < 1:
        out.append(
            _(
                "The new weights average %(mean)s: each respondent would stand for less than "
                "one person. Check the targets' unit and separators (36.800 is thirty-six "
                "thousand eight hundred; 36,8 is thirty-six point eight).",
                mean=formatting.number(mean, 3),
            )
        )
    design = float(np.sum(sample.design_weights))
    ratio = float(np.sum(weights)) / design if design > 0 else math.nan
    if math.isfinite(ratio) and not 0.1 <= ratio <= 10:
        out.append(
            _(
                "The targets add up to %(ratio)s times the design weights' total: check "
                "that they count the same population.",
                ratio=formatting.number(ratio, 3),
            )
        )
    return out


def histogram(result: Preview, sample: WaveSample) -> dict[str, Any]:
    """The Plotly figure of the new and the design weights (overlaid histograms)."""
    return {
        "data": [
            {
                "type": "histogram",
                "x": [round(float(w), 6) for w in result.weights],
                "name": _("New weights"),
                "opacity": 0.75,
                "marker": {"color": "#0b5c8a"},
            },
            {
                "type": "histogram",
                "x": [round(float(w), 6) for w in sample.design_weights],
                "name": _("Design weights"),
                "opacity": 0.45,
                "marker": {"color": "#c7711e"},
            },
        ],
        "layout": {
            "barmode": "overlay",
            "xaxis": {"title": {"text": _("Weight")}},
            "yaxis": {"title": {"text": _("Respondents")}},
            "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
            "legend": {"orientation": "h", "y": -0.25},
            "height": 360,
        },
        "config": {"displaylogo": False, "responsive": True},
    }


# ------------------------------------------------------------------ schemes


def save_scheme(
    sample: WaveSample, options: WeightingSpec, name: str, user: User | None
) -> WeightingScheme:
    """Store a new version of scheme ``name`` with a weight for every response.

    The version is the previous largest version of that name in the wave plus one.
    The scheme, its weights and the audit entry are committed together. ``user`` is
    None for the command line (``flask weights apply``): the actor is ``system``.

    Raises
    ------
    WeightingInputError
        As :func:`preview` (nothing is stored).
    SchemeError
        An empty or too long name, or a concurrent save of the same version.
    """
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise SchemeError(_("The scheme needs a name of 1 to 120 characters."))
    result = preview(sample, options)
    wave = sample.wave
    latest = db.session.scalar(
        select(func.max(WeightingScheme.version)).where(
            WeightingScheme.wave_id == wave.id, WeightingScheme.name == name
        )
    )
    scheme = WeightingScheme(
        wave_id=wave.id,
        name=name,
        version=(latest or 0) + 1,
        method=options.method,
        params=options.to_json(),
        report=result.report_json(),
        is_active=False,
        created_by_id=user.id if user is not None else None,
    )
    try:
        db.session.add(scheme)
        db.session.flush()
        db.session.execute(
            insert(ResponseWeight),
            [
                {"scheme_id": scheme.id, "response_id": int(i), "weight": float(w)}
                for i, w in zip(sample.response_ids, result.weights, strict=True)
            ],
        )
        audit.record(
            "weighting.create",
            user=user,
            username=SYSTEM_ACTOR if user is None else None,
            target=f"wave:{wave.code}",
            details={
                "scheme_id": scheme.id,
                "name": name,
                "version": scheme.version,
                "method": options.method,
                "responses": sample.n,
                "deff": result.report.deff_weighting,
                "file": options.filename,
            },
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SchemeError(
            _("Another scheme named “%(name)s” was saved at the same moment; try again.", name=name)
        ) from None
    return scheme


def get_scheme(wave: Wave, scheme_id: int) -> WeightingScheme:
    scheme = db.session.get(WeightingScheme, scheme_id)
    if scheme is None or scheme.wave_id != wave.id:
        raise SchemeError(_("This wave has no such scheme."))
    return scheme


def activate(wave: Wave, scheme_id: int, user: User | None) -> WeightingScheme:
    """Make a scheme the wave's active one; the previous one is deactivated in the
    same transaction (the database allows one active scheme per wave). ``user`` is
    None for the command line: the actor is ``system``."""
    scheme = get_scheme(wave, scheme_id)
    if scheme.is_active:
        return scheme
    previous = active_schemes([wave.id]).get(wave.id)
    try:
        db.session.execute(
            update(WeightingScheme)
            .where(WeightingScheme.wave_id == wave.id, WeightingScheme.is_active)
            .values(is_active=False)
        )
        scheme.is_active = True
        scheme.activated_at = utcnow()
        db.session.flush()
        audit.record(
            "weighting.activate",
            user=user,
            username=SYSTEM_ACTOR if user is None else None,
            target=f"wave:{wave.code}",
            details={
                "scheme_id": scheme.id,
                "name": scheme.name,
                "version": scheme.version,
                "previous": (
                    {"scheme_id": previous.id, "name": previous.name, "version": previous.version}
                    if previous is not None
                    else None
                ),
            },
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SchemeError(
            _("Another scheme was activated at the same moment; reload the page.")
        ) from None
    return scheme


def deactivate(wave: Wave, user: User) -> WeightingScheme | None:
    """Go back to the design weights: no scheme of the wave stays active."""
    previous = active_schemes([wave.id]).get(wave.id)
    if previous is None:
        return None
    previous.is_active = False
    audit.record(
        "weighting.deactivate",
        user=user,
        target=f"wave:{wave.code}",
        details={"scheme_id": previous.id, "name": previous.name, "version": previous.version},
    )
    db.session.commit()
    return previous


@dataclass(frozen=True)
class SchemeRow:
    scheme: WeightingScheme
    created_by: str | None


def list_schemes(wave: Wave) -> list[SchemeRow]:
    query = (
        select(WeightingScheme, User.username)
        .outerjoin(User, User.id == WeightingScheme.created_by_id)
        .where(WeightingScheme.wave_id == wave.id)
        .order_by(WeightingScheme.created_at.desc(), WeightingScheme.id.desc())
    )
    return [SchemeRow(scheme, username) for scheme, username in db.session.execute(query)]


def history(wave: Wave, limit: int = 20) -> list[AuditLog]:
    """The wave's latest scheme changes from the audit log (who, when, what)."""
    return list(
        db.session.scalars(
            select(AuditLog)
            .where(AuditLog.action.startswith("weighting."), AuditLog.target == f"wave:{wave.code}")
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .limit(limit)
        )
    )


# ------------------------------------------------------------------ publication


def active_schemes(wave_ids: Iterable[int]) -> dict[int, WeightingScheme]:
    schemes = db.session.scalars(
        select(WeightingScheme).where(
            WeightingScheme.wave_id.in_(list(wave_ids)), WeightingScheme.is_active
        )
    )
    return {scheme.wave_id: scheme for scheme in schemes}


@dataclass(frozen=True, eq=False)
class PublishedDesign:
    """What the published figures of a wave with an active scheme need.

    Attributes
    ----------
    response_ids : ndarray
        The weighted respondents, ascending (the rows of every adjustment's arrays).
    strata, psu : ndarray
        Their stratum and PSU, by the rule of :func:`load_sample`.
    weights : ndarray
        The scheme's stored weights.
    adjustments : tuple
        The variance adjustments of the scheme's steps, in order (trimming adds none).
    """

    response_ids: np.ndarray
    strata: np.ndarray
    psu: np.ndarray
    weights: np.ndarray
    adjustments: tuple[Any, ...]


#: Largest relative difference between re-run and stored weights taken as the same.
_SAME_WEIGHTS = 1e-9


def published_design(
    wave: Wave, scheme: WeightingScheme, sample: WaveSample | None = None
) -> PublishedDesign:
    """Re-run ``scheme`` on the wave's rows (``sample``, read when not given); its
    weights and variance adjustments.

    Raises
    ------
    SchemeError
        The wave's responses changed since the scheme was saved (a response added or
        deleted, a burst kept or excluded, an answer that moved a respondent between
        levels): its weights no longer describe the sample, and no figure of the wave
        is published until the survey team saves and activates it again.
    """
    sample = sample if sample is not None else load_sample(wave)
    stored = dict(
        db.session.execute(
            select(ResponseWeight.response_id, ResponseWeight.weight).where(
                ResponseWeight.scheme_id == scheme.id
            )
        ).all()
    )
    stale = SchemeError(
        _(
            "The responses of wave %(wave)s changed after its weighting scheme "
            "“%(name)s” v%(version)s was saved, so its weights no longer fit the sample. "
            "Save the scheme again and activate the new version.",
            wave=wave.code,
            name=scheme.name,
            version=scheme.version,
        )
    )
    if set(stored) != set(sample.response_ids.tolist()):
        raise stale
    try:
        options = WeightingSpec.from_json(scheme.params)
        steps = _weigh(sample, options, check(sample, options))
    except WeightingInputError:
        raise stale from None
    weights = np.asarray(steps[-1].weights, dtype=np.float64)
    kept = np.array([stored[int(i)] for i in sample.response_ids], dtype=np.float64)
    if sample.n and np.max(np.abs(weights - kept) / np.abs(kept)) > _SAME_WEIGHTS:
        raise stale
    return PublishedDesign(
        sample.response_ids,
        sample.strata,
        sample.psu,
        kept,
        tuple(step.adjustment for step in steps if step.adjustment is not None),
    )


# ------------------------------------------------------------------ waves


@dataclass(frozen=True)
class WaveRow:
    wave: Wave
    responses: int
    active: WeightingScheme | None


def waves_in_scope(user: User) -> list[WaveRow]:
    """The waves whose unit lies within the user's scope, newest first."""
    query = select(Wave).join(Unit, Unit.id == Wave.unit_id).order_by(Wave.start_date.desc())
    prefix = access.scope_prefix(user)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    waves = list(db.session.scalars(query))
    ids = [w.id for w in waves]
    counts = dict(
        db.session.execute(
            select(Response.wave_id, func.count())
            .where(Response.wave_id.in_(ids))
            .group_by(Response.wave_id)
        ).all()
    )
    active = active_schemes(ids)
    return [WaveRow(w, int(counts.get(w.id, 0)), active.get(w.id)) for w in waves]


# ------------------------------------------------------------------ templates


def template_rows(
    sample: WaveSample, layout: str, names: Sequence[str], lang: str
) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a targets template listing the wave's variables and levels.

    ``layout`` ``"long"`` lists every level of ``names`` (all variables when empty);
    ``"cells"`` lists every cell of the cross-classification of ``names``.

    Raises
    ------
    WeightingInputError
        Unknown variables, no variable for the cell layout, or too many cells.
    """
    unknown = [n for n in names if sample.variable(n) is None]
    if unknown:
        raise WeightingInputError([_unknown_variable(sample, n, None, None) for n in unknown])
    chosen = [v for v in sample.variables if v.code in names] if names else list(sample.variables)
    if layout == "long":
        header = [*LONG_COLUMNS[:2], "label", "respondents", TARGET]
        rows = [
            [v.code, level.code, level.label(lang), level.respondents, None]
            for v in chosen
            for level in v.levels
        ]
        return header, rows
    if not names:
        raise WeightingInputError(
            [RowError(None, None, _("Choose the variables whose cells you want to target."))]
        )
    size = math.prod(len(v.levels) for v in chosen)
    if size > MAX_TEMPLATE_CELLS:
        raise WeightingInputError(
            [
                RowError(
                    None, None, _("Too many cells (%(count)s): choose fewer variables.", count=size)
                )
            ]
        )
    frame = pd.DataFrame({v.code: sample.values[v.code] for v in chosen})
    counts = frame.value_counts().to_dict() if sample.n else {}
    header = [*(v.code for v in chosen), "respondents", TARGET]
    rows = []
    for combination in itertools.product(*(v.levels for v in chosen)):
        codes = tuple(level.code for level in combination)
        rows.append([*codes, int(counts.get(codes, 0)), None])
    return header, rows
