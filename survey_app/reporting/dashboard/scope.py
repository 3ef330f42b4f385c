"""Which units and waves a dashboard page may show: the user's scope.

A user sees their unit and everything below it; a user without a unit sees every
province. Waves are those with at least one response inside the unit being looked at.
A unit or wave outside the scope, or that does not exist, raises :class:`ScopeError`,
which the blueprint turns into 403 or 404 before any figure is computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from survey_app.access import can_see_unit
from survey_app.extensions import db
from survey_app.models import Unit, UnitKind, User, Wave, WaveKind
from survey_app.reporting.tallies import tallies

KIND_ORDER = (UnitKind.PROVINCE, UnitKind.DEPARTMENT, UnitKind.DISTRICT, UnitKind.COMMUNE)


class ScopeError(LookupError):
    """A unit or wave the user may not see (403) or that does not exist (404)."""

    def __init__(self, status: int, what: str) -> None:
        super().__init__(what)
        self.status = status


def unit_sort_key(unit: Unit) -> tuple[int, str]:
    return (KIND_ORDER.index(unit.kind), unit.name_vi)


def scope_tops(user: User) -> list[Unit]:
    """The units at the top of the user's scope: their own unit, or every province."""
    if user.unit_id is not None:
        unit = db.session.get(Unit, user.unit_id)
        return [unit] if unit is not None else []
    return sorted(
        db.session.scalars(select(Unit).where(Unit.parent_id.is_(None))), key=unit_sort_key
    )


def unit_in_scope(user: User, code: str) -> Unit:
    """The unit with ``code``; 404 when there is none, 403 when it is not the user's."""
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise ScopeError(404, f"unit {code}")
    if not can_see_unit(user, unit):
        raise ScopeError(403, f"unit {code}")
    return unit


def focus_unit(user: User, code: str | None) -> Unit:
    """The unit a page is about: the one named, else the top of the user's scope."""
    if code:
        return unit_in_scope(user, code)
    tops = scope_tops(user)
    if not tops:
        raise ScopeError(404, "no unit in scope")
    return tops[0]


def top_of(user: User, unit: Unit) -> Unit:
    """The top of the user's scope above (or at) ``unit``: the reference line."""
    if user.unit_id is not None:
        return db.session.get(Unit, user.unit_id) or unit
    root_id = int(unit.path.strip("/").split("/")[0])
    return db.session.get(Unit, root_id) or unit


def breadcrumbs(user: User, unit: Unit) -> list[Unit]:
    """The chain of units from the top of the user's scope down to ``unit``."""
    ids = [int(part) for part in unit.path.strip("/").split("/")]
    found = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    return [found[i] for i in ids if i in found and can_see_unit(user, found[i])]


def children(unit: Unit) -> list[Unit]:
    return sorted(
        db.session.scalars(select(Unit).where(Unit.parent_id == unit.id)), key=unit_sort_key
    )


@dataclass(frozen=True)
class WaveInfo:
    wave: Wave
    responses: int  # responses stored for the unit and everything below it

    @property
    def code(self) -> str:
        return self.wave.code


def waves_of(unit: Unit) -> list[WaveInfo]:
    """Waves with responses inside ``unit`` (and below), oldest first."""
    counts: dict[int, int] = {}
    for tally in tallies(unit.path):
        if tally.wave_id is not None:
            counts[tally.wave_id] = counts.get(tally.wave_id, 0) + tally.responses
    waves = db.session.scalars(select(Wave).where(Wave.id.in_(list(counts))))
    infos = [WaveInfo(w, int(counts[w.id])) for w in waves]
    return sorted(infos, key=lambda i: (i.wave.start_date, i.wave.code))


def wave_in(infos: Sequence[WaveInfo], code: str) -> Wave:
    for info in infos:
        if info.wave.code == code:
            return info.wave
    raise ScopeError(404, f"wave {code}")


def series_of(infos: Sequence[WaveInfo], kind: WaveKind, slug: str | None = None) -> list[Wave]:
    """Waves of one kind and one questionnaire (the latest wave's unless ``slug``)."""
    waves = [i.wave for i in infos if i.wave.kind == kind]
    if not waves:
        return []
    slug = slug or waves[-1].questionnaire.slug
    return [w for w in waves if w.questionnaire.slug == slug]
