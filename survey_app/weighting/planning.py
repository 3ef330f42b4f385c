"""The sample-size planner: per-unit sample sizes and margins of error.

The formulas live in :mod:`analysis.planning` (Cochran 1977, sec. 4.4; Kish 1965,
sec. 8.2); this module reads the planner's list of units and applies them row by row.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from analysis.planning import SampleSize, margin_of_error, sample_size
from survey_app import access
from survey_app.extensions import db
from survey_app.models import Unit, User
from survey_app.numbers import AmbiguousNumberError, NumberError, parse_number

MAX_LINES = 500


@dataclass(frozen=True)
class UnitLine:
    line: int
    name: str
    population: int | None
    planned: int | None


@dataclass(frozen=True)
class PlanRow:
    unit: UnitLine
    needed: SampleSize
    margin: float | None  # with the planned interviews

    @property
    def enough(self) -> bool | None:
        if self.unit.planned is None:
            return None
        return self.unit.planned >= self.needed.n


@dataclass(frozen=True)
class Plan:
    margin: float
    p: float
    deff: float
    level: float
    infinite: SampleSize
    rows: tuple[PlanRow, ...]

    @property
    def total_needed(self) -> int:
        return sum(r.needed.n for r in self.rows)

    @property
    def total_planned(self) -> int | None:
        planned = [r.unit.planned for r in self.rows]
        return (
            sum(p for p in planned if p is not None)
            if any(p is not None for p in planned)
            else None
        )


def _whole(text: str) -> int | None:
    """A whole number of at least 0, read by :func:`survey_app.numbers.parse_number`
    (5200, 5.200, 5 200, 1.234.567); ``5,200`` reads as 5200, the one reading of it
    that is whole. None for anything else (``5,2``, ``1.5``, ``-3``)."""
    try:
        value = parse_number(text)
    except AmbiguousNumberError as error:
        value = error.readings[0]
    except NumberError:
        return None
    return int(value) if value >= 0 and value.is_integer() else None


def parse_units(text: str) -> tuple[list[UnitLine], list[str]]:
    """Read ``name, population, planned interviews`` lines (``;`` or tab also separate)."""
    units: list[UnitLine] = []
    errors: list[str] = []
    lines = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if len(lines) > MAX_LINES:
        return [], [_("At most %(max)s units.", max=MAX_LINES)]
    for number, line in lines:
        delimiter = ";" if ";" in line else ("\t" if "\t" in line else ",")
        try:
            cells = [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]
        except csv.Error:  # a value over csv.field_size_limit(), 131,072 characters
            errors.append(
                _("Line %(line)s: %(problem)s.", line=number, problem=_("the line is too long"))
            )
            continue
        cells += [""] * (3 - len(cells))
        name, population_text, planned_text = cells[0], cells[1], cells[2]
        population = _whole(population_text) if population_text else None
        planned = _whole(planned_text) if planned_text else None
        problem = None
        if not name:
            problem = _("the unit has no name")
        elif len(cells) > 3 and any(cells[3:]):
            problem = _("write name, population, planned interviews (three values at most)")
        elif population_text and (population is None or population < 2):
            problem = _("the population “%(value)s” is not a whole number of at least 2",
                        value=population_text)  # fmt: skip
        elif planned_text and (planned is None or planned < 1):
            problem = _("the planned interviews “%(value)s” are not a whole number of at least 1",
                        value=planned_text)  # fmt: skip
        elif population is not None and planned is not None and planned > population:
            problem = _("more interviews are planned than the population holds")
        if problem:
            errors.append(_("Line %(line)s: %(problem)s.", line=number, problem=problem))
        else:
            units.append(UnitLine(number, name, population, planned))
    return units, errors


def plan(margin: float, p: float, deff: float, level: float, units: Sequence[UnitLine]) -> Plan:
    """Needed sample per unit and the margin each planned allocation gives.

    ``margin`` and ``p`` are proportions (0.05 for five points, 0.5 for 50%).
    """
    rows = []
    for unit in units:
        needed = sample_size(margin, p, deff=deff, population=unit.population, level=level)
        achieved = (
            margin_of_error(unit.planned, p, deff=deff, population=unit.population, level=level)
            if unit.planned is not None
            else None
        )
        rows.append(PlanRow(unit, needed, achieved))
    return Plan(margin, p, deff, level, sample_size(margin, p, deff=deff, level=level), tuple(rows))


def parents_in_scope(user: User) -> list[Unit]:
    """Units in the user's scope that have units below them (to prefill the list)."""
    parent_ids = select(Unit.parent_id).where(Unit.parent_id.is_not(None))
    query = access.units_in_scope(user).where(Unit.id.in_(parent_ids)).order_by(Unit.path)
    return list(db.session.scalars(query))


def prefill(user: User, code: str | None, lang: str) -> str:
    """``name, , `` lines for the units directly below ``code`` (default: the user's unit)."""
    parent = None
    if code:
        parent = db.session.scalar(select(Unit).where(Unit.code == code))
        if parent is not None and not access.can_see_unit(user, parent):
            parent = None
    elif user.unit_id is not None:
        parent = db.session.get(Unit, user.unit_id)
    if parent is None:
        return ""
    children = sorted(parent.children, key=lambda u: u.name(lang)) or [parent]
    return "\n".join(f"{u.name(lang)}, , " for u in children)
