"""Collection overview: responses per unit and wave within a user's scope.

Counts are aggregated in SQL; no response is loaded into the web process.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from survey_app.access import scope_prefix
from survey_app.extensions import db
from survey_app.models import Response, Unit, User, Wave


@dataclass(frozen=True)
class CollectionRow:
    unit: Unit
    wave: Wave | None
    responses: int
    last_received: object


def collection_table(user: User) -> list[CollectionRow]:
    query = (
        select(Response.unit_id, Response.wave_id, func.count(), func.max(Response.received_at))
        .join(Unit, Unit.id == Response.unit_id)
        .group_by(Response.unit_id, Response.wave_id)
    )
    prefix = scope_prefix(user)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    rows = db.session.execute(query).all()
    units = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_({r[0] for r in rows})))
    }
    waves = {
        w.id: w
        for w in db.session.scalars(
            select(Wave).where(Wave.id.in_({r[1] for r in rows if r[1] is not None}))
        )
    }
    table = [
        CollectionRow(units[unit_id], waves.get(wave_id) if wave_id else None, count, last)
        for unit_id, wave_id, count, last in rows
    ]
    table.sort(key=lambda r: (r.unit.path, r.wave.start_date.isoformat() if r.wave else ""))
    return table
