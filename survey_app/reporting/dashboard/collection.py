"""Collection overview: responses per unit and wave within a user's scope.

Counts come from the figure store's tallies (:mod:`survey_app.reporting.tallies`);
no response is loaded into the web process.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from survey_app.access import scope_prefix
from survey_app.extensions import db
from survey_app.models import Unit, User, Wave
from survey_app.reporting.tallies import combine, tallies


@dataclass(frozen=True)
class CollectionRow:
    unit: Unit
    wave: Wave | None
    responses: int
    last_received: object


def collection_table(user: User) -> list[CollectionRow]:
    rows = combine(tallies(scope_prefix(user)), lambda t: (t.unit_id, t.wave_id))
    unit_ids = {r.unit_id for r in rows}
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
    waves = {
        w.id: w
        for w in db.session.scalars(
            select(Wave).where(Wave.id.in_({r.wave_id for r in rows if r.wave_id is not None}))
        )
    }
    table = [
        CollectionRow(
            units[r.unit_id], waves.get(r.wave_id) if r.wave_id else None, r.responses,
            r.last_received,
        )
        for r in rows
    ]  # fmt: skip
    table.sort(key=lambda r: (r.unit.path, r.wave.start_date.isoformat() if r.wave else ""))
    return table
