"""The inputs of a fit: the communes of a wave, the previous and the continuous-feedback
waves, the covariates on offer and an analyst's per-commune covariate file."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from survey_app import spreadsheets
from survey_app.extensions import db
from survey_app.models import (
    Channel,
    Response,
    Unit,
    UnitKind,
    Wave,
    WaveKind,
)
from survey_app.numbers import AmbiguousNumberError, NumberError, parse_number
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure
from survey_app.reporting.small_area.results import (
    BUILTIN_COVARIATES,
    COVARIATE_LIMITS,
    COVARIATE_NAME,
    UNIT_COLUMN,
    UPLOAD_PREFIX,
    CovariateOption,
    UploadedCovariates,
)


def communes_of(wave: Wave) -> list[Unit]:
    """The communes under the wave's unit (the unit itself if it is one), by code."""
    unit = wave.unit
    query = (
        select(Unit)
        .where(Unit.kind == UnitKind.COMMUNE, Unit.path.startswith(unit.path, autoescape=True))
        .order_by(Unit.code)
    )
    return list(db.session.scalars(query))


def previous_wave(wave: Wave) -> Wave | None:
    """The latest field wave of the same unit and questionnaire ended before ``wave``."""
    return db.session.scalar(
        select(Wave)
        .where(
            Wave.kind == WaveKind.FIELD_SURVEY,
            Wave.unit_id == wave.unit_id,
            Wave.questionnaire_id == wave.questionnaire_id,
            Wave.end_date < wave.start_date,
        )
        .order_by(Wave.end_date.desc(), Wave.id.desc())
        .limit(1)
    )


def _overlap_days(a: Wave, start: date, end: date) -> int:
    return (min(a.end_date, end) - max(a.start_date, start)).days + 1


def feedback_wave(wave: Wave) -> Wave | None:
    """The continuous-feedback wave overlapping ``wave``'s dates the most, whose unit
    contains the wave's unit or lies inside it (ties: the later one)."""
    candidates = db.session.scalars(
        select(Wave).where(
            Wave.kind == WaveKind.CONTINUOUS_FEEDBACK,
            Wave.start_date <= wave.end_date,
            Wave.end_date >= wave.start_date,
        )
    )
    path = wave.unit.path
    related = [
        w for w in candidates if path.startswith(w.unit.path) or w.unit.path.startswith(path)
    ]
    if not related:
        return None
    return max(
        related, key=lambda w: (_overlap_days(w, wave.start_date, wave.end_date), w.end_date)
    )


def rates(waves: Sequence[Wave], units: Sequence[Unit]) -> dict[int, IndexFigure]:
    """Each unit's overall-rate figure in the single wave of ``waves`` (no figure: absent)."""
    result = compute(list(waves), list(units))
    out = {}
    for unit in units:
        try:
            figure = result.figure(DomainKey(unit.id, waves[0].id))
        except KeyError:
            continue
        if figure.n > 0 and math.isfinite(figure.value):
            out[unit.id] = figure
    return out


def volumes(wave: Wave, communes: Sequence[Unit]) -> dict[int, int]:
    """Kiosk and phone ratings (not flagged) at each commune and the units below it,
    submitted within the wave's dates: the platform's measure of service volume."""
    start = datetime.combine(wave.start_date, time.min, UTC)
    end = datetime.combine(wave.end_date + timedelta(days=1), time.min, UTC)
    rows = db.session.execute(
        select(Unit.path, func.count(Response.id))
        .join(Response, Response.unit_id == Unit.id)
        .where(
            Response.channel.in_([Channel.KIOSK, Channel.PHONE]),
            Response.flagged.is_(False),
            Response.submitted_at >= start,
            Response.submitted_at < end,
        )
        .group_by(Unit.path)
    ).all()
    return {c.id: sum(n for path, n in rows if path.startswith(c.path)) for c in communes}


def covariate_options(
    wave: Wave, uploaded: UploadedCovariates | None = None
) -> list[CovariateOption]:
    """The covariates the console offers for ``wave``, available or not (with why)."""
    options = []
    for key, source, missing in (
        (
            "feedback",
            feedback_wave(wave),
            _("No continuous-feedback wave overlaps this wave's dates."),
        ),
        (
            "previous",
            previous_wave(wave),
            _("No earlier field wave of this unit and questionnaire."),
        ),
    ):
        label = str(BUILTIN_COVARIATES[key])
        if source is None:
            options.append(CovariateOption(key, label, False, missing))
        else:
            options.append(CovariateOption(key, label, True, "", source.code))
    label = str(BUILTIN_COVARIATES["volume"])
    if any(volumes(wave, communes_of(wave)).values()):
        options.append(CovariateOption("volume", label, True, "", wave.code))
    else:
        reason = _("No kiosk or phone rating falls within this wave's dates.")
        options.append(CovariateOption("volume", label, False, reason))
    if uploaded is not None:
        for name in uploaded.values:
            options.append(
                CovariateOption(
                    UPLOAD_PREFIX + name,
                    _("%(name)s (uploaded file)", name=name),
                    True,
                    "",
                    uploaded.filename,
                )
            )
    return options


def _number(value: Any) -> float:
    """A covariate cell: a spreadsheet's own number, or text read by
    :func:`survey_app.numbers.parse_number` (``12.345`` is Vietnamese for 12345).

    Raises :class:`NumberError`, whose message is the reader's (an ambiguous
    ``12,345`` gives both readings).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(float(value)):
            return float(value)
    elif not isinstance(value, bool):
        try:
            return parse_number(str(value))
        except AmbiguousNumberError:
            raise
        except NumberError:
            pass
    raise NumberError(_("Not a number."))


def read_covariate_file(data: bytes, filename: str) -> UploadedCovariates:
    """Per-commune covariates from a CSV or XLSX file.

    The header has ``unit_code`` and one column per covariate (a name of letters,
    digits and ``_``, up to 40 characters); every other cell is a number, written
    either way (:func:`survey_app.numbers.parse_number`). Empty cells are allowed (that
    commune then lacks the covariate). Raises :class:`spreadsheets.SpreadsheetError`
    listing the problems by row and column.
    """
    rows = spreadsheets.read_sheet(data, filename, COVARIATE_LIMITS)
    problem = spreadsheets.Problem
    if not rows or not rows[0]:
        raise spreadsheets.SpreadsheetError([problem(None, None, _("The file is empty."))])
    header = [str(c).strip() if c is not None else "" for c in rows[0]]
    if UNIT_COLUMN not in header:
        raise spreadsheets.SpreadsheetError(
            [problem(1, None, _("The header needs a column named %(name)s.", name=UNIT_COLUMN))]
        )
    problems = []
    columns: dict[int, str] = {}
    for i, name in enumerate(header):
        if name == UNIT_COLUMN:
            continue
        if not COVARIATE_NAME.match(name):
            problems.append(
                problem(
                    1,
                    i + 1,
                    _(
                        "Covariate names use letters, digits and _ (at most 40 characters), "
                        "starting with a letter."
                    ),
                )
            )
        elif name in columns.values():
            problems.append(problem(1, i + 1, _("The column %(name)s repeats.", name=name)))
        else:
            columns[i] = name
    if not columns and not problems:
        problems.append(problem(1, None, _("The file has no covariate column.")))
    code_at = header.index(UNIT_COLUMN)
    values: dict[str, dict[str, float]] = {name: {} for name in columns.values()}
    seen: set[str] = set()
    for r, row in enumerate(rows[1:], start=2):
        cells = list(row) + [None] * (len(header) - len(row))
        if all(c is None or not str(c).strip() for c in cells):
            continue
        code = str(cells[code_at]).strip() if cells[code_at] is not None else ""
        if not code:
            problems.append(problem(r, code_at + 1, _("The unit code is empty.")))
            continue
        if code in seen:
            problems.append(problem(r, code_at + 1, _("The unit %(code)s repeats.", code=code)))
            continue
        seen.add(code)
        for i, name in columns.items():
            cell = cells[i]
            if cell is None or not str(cell).strip():
                continue
            try:
                values[name][code] = _number(cell)
            except NumberError as error:
                problems.append(problem(r, i + 1, str(error)))
    if problems:
        raise spreadsheets.SpreadsheetError(problems[: spreadsheets.MAX_PROBLEMS])
    return UploadedCovariates(filename=filename, values=values)
