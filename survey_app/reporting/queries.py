"""Read queries of the JSON API: indices, changes, trends and rankings within a scope.

Every function takes the calling user, resolves unit and wave codes, refuses what lies
outside the user's scope (as "not found", so the API never confirms that a unit
exists elsewhere) and returns plain JSON-ready dictionaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from survey_app.access import can_see_unit
from survey_app.collection.scoring import IndexRequestError
from survey_app.extensions import db
from survey_app.models import Channel, ProcedureField, Unit, UnitKind, User, Wave
from survey_app.openapi.common import echo
from survey_app.reporting import visibility
from survey_app.reporting.comparisons import changes, rankings, trends
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import IndexFigure, IndexResult


@dataclass
class QueryError(Exception):
    """A request the API answers with a 4xx status and a message."""

    status: int
    error: str
    message: str


#: The values of the enumerated query parameters (survey_app/openapi/indices.py).
KINDS: tuple[str, ...] = ("rate", "score")
BREAKDOWNS: tuple[str, ...] = ("field", "channel")
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
UNIT_KINDS: tuple[str, ...] = tuple(k.value for k in UnitKind)


def check_choice(name: str, value: str | None, choices: Sequence[str]) -> None:
    """Refuse (400) a value of an enumerated parameter that is not one of ``choices``;
    None (the parameter was not sent) passes."""
    if value is None or value in choices:
        return
    raise QueryError(
        400,
        "invalid_parameter",
        _(
            "Unknown value %(value)s for %(name)s; valid: %(valid)s",
            value=echo(value),
            name=name,
            valid=", ".join(choices),
        ),
    )


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def figure_json(figure: IndexFigure, units: dict[int, Unit], waves: dict[int, Wave]) -> dict:
    return {
        "unit": units[figure.domain.unit_id].code,
        "wave": waves[figure.domain.wave_id].code,
        "field": figure.domain.field_id,
        "channel": figure.domain.channel,
        "index": figure.code,
        "kind": figure.kind,
        "value": _number(figure.value),
        "se": _number(figure.se),
        "ci_low": _number(figure.ci_low),
        "ci_high": _number(figure.ci_high),
        "df": _number(figure.df),
        "n": figure.n,
        "n_eff": _number(figure.n_eff),
        "scheme": figure.scheme,
        "inference": figure.inference.value,
        "lonely_psu": figure.lonely_psu,
        "fpc": figure.fpc,
        "reportable": figure.reportable,
    }


def required(name: str, value: str | None) -> str:
    """A parameter that must be given: 400 ``missing_parameter`` naming it, not a 404
    for a unit or wave with an empty code."""
    if not value:
        raise QueryError(400, "missing_parameter", _("Give the parameter %(name)s.", name=name))
    return value


def units_for(user: User, codes: Sequence[str]) -> list[Unit]:
    if not codes:
        raise QueryError(400, "missing_parameter", _("Name at least one unit."))
    found = {u.code: u for u in db.session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    out = []
    for code in codes:
        unit = found.get(code)
        if unit is None or not can_see_unit(user, unit):
            raise QueryError(404, "not_found", _("Unknown unit: %(code)s", code=echo(code)))
        out.append(unit)
    return out


def waves_for(user: User, codes: Sequence[str]) -> list[Wave]:
    if not codes:
        raise QueryError(400, "missing_parameter", _("Name at least one wave."))
    found = {w.code: w for w in db.session.scalars(select(Wave).where(Wave.code.in_(codes)))}
    out = []
    for code in codes:
        wave = found.get(code)
        if wave is None:
            raise QueryError(404, "not_found", _("Unknown wave: %(code)s", code=echo(code)))
        out.append(wave)
    return out


def _field_id(code: str | None) -> int | None:
    if not code:
        return None
    field = db.session.scalar(select(ProcedureField).where(ProcedureField.code == code))
    if field is None:
        raise QueryError(404, "not_found", _("Unknown procedure field: %(code)s", code=echo(code)))
    return field.id


def _check_index(result: IndexResult, index: str | None, kind: str | None) -> None:
    codes = {f.code for f in result.formulas}
    if index is not None and index not in codes:
        raise QueryError(
            400,
            "invalid_parameter",
            _(
                "Unknown index %(index)s; valid: %(valid)s",
                index=echo(index),
                valid=", ".join(sorted(codes)),
            ),
        )
    check_choice("kind", kind, KINDS)


def _compute(waves: list[Wave], units: list[Unit], **options: Any) -> IndexResult:
    try:
        return compute(waves, units, **options)
    except IndexRequestError as error:
        raise QueryError(422, "cannot_compute", str(error)) from error


def index_table(
    user: User,
    unit_codes: Sequence[str],
    wave_codes: Sequence[str],
    *,
    index: str | None = None,
    kind: str | None = None,
    by: Sequence[str] = (),
    field: str | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """Indices for units (each with everything below it) and waves."""
    check_choice("kind", kind, KINDS)
    check_choice("channel", channel or None, CHANNELS)
    for breakdown in by:
        check_choice("by", breakdown, BREAKDOWNS)
    units = units_for(user, unit_codes)
    waves = waves_for(user, wave_codes)
    result = _compute(
        waves,
        units,
        by_field="field" in by,
        by_channel="channel" in by,
        field_id=_field_id(field),
        channel=channel or None,
    )
    _check_index(result, index, kind)
    # small-area estimates stand in for hidden figures of whole communes only
    result = visibility.for_viewer(result, user, small_area=not (field or channel or by))
    unit_map = {u.id: u for u in units}
    wave_map = {w.id: w for w in waves}
    figures = [
        figure_json(f, unit_map, wave_map)
        for f in result.figures
        if (index is None or f.code == index) and (kind is None or f.kind == kind)
    ]
    return {
        "figures": figures,
        "no_data": _no_data(result, units, waves, filtered=bool(field or channel)),
    }


def _no_data(
    result: IndexResult, units: Sequence[Unit], waves: Sequence[Wave], *, filtered: bool
) -> list[dict[str, str]]:
    """The unit and wave pairs asked for that have no figure because the unit has no
    answers in the wave (or none of the procedure field or channel asked for), each with
    the reason: a script reads why a pair is missing instead of an empty list."""
    present = {(domain.unit_id, domain.wave_id) for domain in result.domains}
    missing = []
    for unit in units:
        for wave in waves:
            if (unit.id, wave.id) in present:
                continue
            if filtered:
                message = _(
                    "%(unit)s has no answers in wave %(wave)s for the procedure field or "
                    "channel asked for.",
                    unit=unit.code,
                    wave=wave.code,
                )
            else:
                message = _(
                    "%(unit)s has no answers in wave %(wave)s.", unit=unit.code, wave=wave.code
                )
            missing.append({"unit": unit.code, "wave": wave.code, "message": message})
    return missing


def change(
    user: User,
    unit_code: str,
    before: str,
    after: str,
    *,
    index: str = "overall",
    kind: str = "rate",
) -> dict[str, Any]:
    """The change of one unit's index between two waves."""
    check_choice("kind", kind, KINDS)
    (unit,) = units_for(user, [required("unit", unit_code)])
    first, second = waves_for(user, [required("from", before), required("to", after)])
    try:
        result = changes.change(unit, first, second, code=index, kind=kind)
    except IndexRequestError as error:
        raise QueryError(422, "cannot_compute", str(error)) from error
    except KeyError as error:
        raise QueryError(400, "invalid_parameter", _("Unknown index or kind.")) from error
    units, waves = {unit.id: unit}, {first.id: first, second.id: second}
    diff = result.difference
    before_figure = visibility.visible(result.before, user)
    after_figure = visibility.visible(result.after, user)
    shown = {
        "before": figure_json(before_figure, units, waves),
        "after": figure_json(after_figure, units, waves),
    }
    if math.isnan(before_figure.value) or math.isnan(after_figure.value):
        # A figure hidden by the reporting rule: no difference and no sentence either.
        return {
            **shown,
            "difference": None,
            "significant": None,
            "shared_psus": result.shared_psus,
            "sentence": None,
        }
    return {
        **shown,
        "difference": {
            "value": diff.value,
            "se": diff.se,
            "ci_low": diff.ci_low,
            "ci_high": diff.ci_high,
            "df": diff.df,
            "p_value": diff.p_value,
        },
        "significant": result.significant,
        "shared_psus": result.shared_psus,
        "sentence": result.sentence(),
    }


def trend(
    user: User,
    unit_code: str,
    wave_codes: Sequence[str],
    *,
    index: str = "overall",
    kind: str = "rate",
) -> dict[str, Any]:
    """Slope per year of one unit's index across three or more waves."""
    check_choice("kind", kind, KINDS)
    (unit,) = units_for(user, [required("unit", unit_code)])
    waves = waves_for(user, wave_codes)
    try:
        result = trends.trend(unit, waves, code=index, kind=kind)
    except IndexRequestError as error:
        raise QueryError(422, "cannot_compute", str(error)) from error
    except StopIteration as error:
        raise QueryError(400, "invalid_parameter", _("Unknown index or kind.")) from error
    unit_map, wave_map = {unit.id: unit}, {w.id: w for w in waves}
    figures = [visibility.visible(f, user) for f in result.figures]
    listed = [figure_json(f, unit_map, wave_map) for f in figures]
    if any(math.isnan(f.value) for f in figures):
        # A figure hidden by the reporting rule: no slope and no sentence either.
        return {
            "figures": listed,
            "slope_per_year": None,
            "se": None,
            "ci_low": None,
            "ci_high": None,
            "p_value": None,
            "sentence": None,
        }
    return {
        "figures": listed,
        "slope_per_year": result.slope,
        "se": result.se,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "p_value": result.p_value,
        "sentence": result.sentence(),
    }


def ranking(
    user: User,
    parent_code: str,
    wave_code: str,
    *,
    unit_kind: str | None = None,
    previous: str | None = None,
    index: str = "overall",
    kind: str = "rate",
) -> dict[str, Any]:
    """Rank the units directly under ``parent_code`` (optionally of one kind)."""
    check_choice("kind", kind, KINDS)
    check_choice("unit_kind", unit_kind or None, UNIT_KINDS)
    (parent,) = units_for(user, [required("parent", parent_code)])
    (wave,) = waves_for(user, [required("wave", wave_code)])
    previous_wave = waves_for(user, [previous])[0] if previous else None
    query = select(Unit).where(Unit.parent_id == parent.id).order_by(Unit.code)
    if unit_kind:
        query = query.where(Unit.kind == UnitKind(unit_kind))
    children = list(db.session.scalars(query))
    try:
        result = rankings.ranking(
            children,
            wave,
            parent,
            previous_wave=previous_wave,
            code=index,
            kind=kind,
            reportable_only=not visibility.shows_unreportable(user),
        )
    except IndexRequestError as error:
        raise QueryError(422, "cannot_compute", str(error)) from error
    except KeyError as error:
        raise QueryError(400, "invalid_parameter", _("Unknown index or kind.")) from error
    unit_map = {u.id: u for u in [*children, parent]}
    wave_map = {wave.id: wave}
    overall = visibility.visible(result.overall, user)
    return {
        "overall": figure_json(overall, unit_map, wave_map),
        # Units left unranked because their figure fails the reporting rule (leaders).
        "not_ranked": [u.code for u in result.hidden],
        # Units without answers in the wave: not ranked (as on the ranking page).
        "no_data": [u.code for u in result.no_data],
        "multiple_comparisons": "holm",
        "rank_interval": {
            "level": result.ranking.level,
            "draws": result.ranking.draws,
            "seed": result.ranking.seed,
        },
        "rows": [
            {
                **figure_json(row.figure, unit_map, wave_map),
                "rank": row.rank,
                "rank_low": row.rank_low,
                "rank_high": row.rank_high,
                "previous_rank": row.previous_rank,
                "rank_change": row.rank_change,
                "versus_overall": {
                    "value": row.versus_overall.value,
                    "p_value": row.versus_overall.p_value,
                    "p_adjusted": row.p_adjusted,
                },
                "flag": row.flag or None,
            }
            for row in result.rows
        ],
        "funnel": result.funnel if not math.isnan(overall.value) else {},
    }
