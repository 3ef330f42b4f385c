"""A wave's sample for weighting: its responses as arrays, its variables and levels.

Weighting variables
-------------------
A wave's weighting variables are the questionnaire's demographic items
(``demographic: true``, single choice; their option codes are the levels, read from
``responses.answers``), the response's unit (variable ``unit``, levels are unit codes)
and the procedure field of the response's procedure (variable ``procedure_field``,
levels are field codes). A respondent with no value (an unanswered item, no recorded
procedure) is at level ``_missing``. No census counts those, so a margin may leave that
level without a target (blank): its respondents then keep their design-weighted share
and the other levels' targets are scaled to the rest (the checks,
:mod:`survey_app.weighting.checks`); a target given for it is used as given.

:func:`load_sample` reads the wave's rows once (one query); every later step (checks,
preview, save, the published design) works on the :class:`WaveSample`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select

from survey_app.collection import questionnaires
from survey_app.extensions import db
from survey_app.models import Procedure, ProcedureField, Response, Unit, Wave, WaveKind
from survey_app.spreadsheets import RowError

UNIT = "unit"
PROCEDURE_FIELD = "procedure_field"
MISSING = "_missing"


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
        # in no weighting either (reporting/indices/sql.py reads the same rows)
        .where(Response.wave_id == wave.id, Response.flagged.is_(False))
        .order_by(Response.id)
    )
    rows = list(db.session.execute(query))
    n = len(rows)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    weights = np.array([r[2] if r[2] is not None else 1.0 for r in rows], dtype=np.float64)
    if wave.kind == WaveKind.FIELD_SURVEY:  # the rule of reporting.indices.sql._design_keys
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


def unknown_variable(
    sample: WaveSample, name: str, row: int | None, column: str | None
) -> RowError:
    names = ", ".join(v.code for v in sample.variables)
    message = _(
        "Unknown variable “%(name)s”. This wave's weighting variables are: %(names)s.",
        name=name,
        names=names,
    )
    return RowError(row, column, message)


def unknown_level(variable: Variable, code: str, row: int, column: str) -> RowError:
    message = _(
        "Unknown level “%(level)s” of %(name)s. Its levels are: %(levels)s.",
        level=code,
        name=variable.code,
        levels=", ".join(level.code for level in variable.levels),
    )
    return RowError(row, column, message)


def known_variable(sample: WaveSample, name: str) -> Variable:
    variable = sample.variable(name)
    if variable is None:  # only names the checks accepted get here
        raise LookupError(name)
    return variable
