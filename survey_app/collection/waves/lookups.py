"""Finding waves: one by its code, the waves a user may see with their response, stratum
and PSU counts, and a unit by its code within the user's scope."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import String, case, cast, func, select

from survey_app import access
from survey_app.access import can_see_unit, overlaps_scope
from survey_app.collection.waves.errors import WaveError
from survey_app.extensions import db
from survey_app.models import Response, Unit, User, Wave, WaveKind


@dataclass(frozen=True)
class WaveSummary:
    wave: Wave
    responses: int
    strata: int
    psus: int


def get_wave(code: str, user: User | None = None) -> Wave | None:
    """The wave with this code, if the user may see it (any wave without a user)."""
    return access.wave_for(user, code)


def find_unit(code: str, user: User | None) -> Unit:
    """The unit with this code, if the user may see it (any unit without a user)."""
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None or (user is not None and not can_see_unit(user, unit)):
        raise WaveError([_("No unit with code %(code)s in your scope.", code=code)])
    return unit


def _counts(wave_ids: list[int] | None = None) -> dict[int, tuple[int, int, int]]:
    """Responses, strata and PSUs per wave, as the estimators read the design
    (``survey_app.reporting.indices.sql``): a field survey's response without a PSU is a
    PSU of its own (R's ``ids = ~1``), and responses without a stratum are one stratum;
    continuous feedback has a stratum per desk and a PSU per desk and day."""
    feedback = Wave.kind == WaveKind.CONTINUOUS_FEEDBACK
    desk = cast(func.coalesce(Response.desk_id, -Response.unit_id), String)
    stratum = func.coalesce(Response.stratum, "")
    stratum_key = case((feedback, desk), else_=stratum)
    psu_key = case(
        (feedback, desk + "|" + cast(func.date(Response.submitted_at), String)),
        (Response.psu.is_(None), "#" + cast(Response.id, String)),  # no "|": no clash
        else_=stratum + "|" + Response.psu,
    )
    query = (
        select(
            Response.wave_id,
            func.count(),
            func.count(func.distinct(stratum_key)),
            func.count(func.distinct(psu_key)),
        )
        .join(Wave, Wave.id == Response.wave_id)
        .group_by(Response.wave_id)
    )
    if wave_ids is not None:
        query = query.where(Response.wave_id.in_(wave_ids))
    return {wave_id: (n, strata, psus) for wave_id, n, strata, psus in db.session.execute(query)}


def summary(wave: Wave) -> WaveSummary:
    """One wave with its response, stratum and PSU counts."""
    return WaveSummary(wave, *_counts([wave.id]).get(wave.id, (0, 0, 0)))


def visible_waves(user: User | None = None) -> list[Wave]:
    """Every wave the user may see (all without a user), newest first."""
    waves = db.session.scalars(select(Wave).order_by(Wave.start_date.desc(), Wave.code))
    return [wave for wave in waves if user is None or overlaps_scope(user, wave.unit)]


def list_waves(user: User | None = None) -> list[WaveSummary]:
    """Every wave the user may see, newest first, with response and PSU counts."""
    counts = _counts()
    return [WaveSummary(w, *counts.get(w.id, (0, 0, 0))) for w in visible_waves(user)]
