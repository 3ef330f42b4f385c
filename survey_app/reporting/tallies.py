"""How many responses each unit has in each wave, without counting every response.

The figure store's fold keeps ``figure_counts`` (responses folded per wave x unit and
the last arrival among them, :mod:`survey_app.reporting.figure_store`); the responses
not folded (flagged, outside any wave, or waiting for the next fold) are counted from
their rows through the partial index ``ix_responses_unfolded``. So the collection
table and the lists of waves with data read a few rows per unit and wave, however
many responses there are. With ``FIGURE_STORE`` off every response is counted from
its row, as the store's figures are then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, column, func, select, text

from survey_app.extensions import db
from survey_app.models import FigureCount, Response, Unit
from survey_app.models._types import UTCDateTime
from survey_app.reporting.indices.stored import store_on


@dataclass(frozen=True)
class Tally:
    unit_id: int
    wave_id: int | None
    responses: int
    last_received: datetime


def tallies(prefix: str | None = None, wave_id: int | None = None) -> list[Tally]:
    """Responses per (unit, wave) of the units whose path starts with ``prefix`` (all
    when None), of one wave or of every wave (``wave_id`` None for those outside any)."""
    if not store_on():
        query = select(
            Response.unit_id, Response.wave_id, func.count(), func.max(Response.received_at)
        ).group_by(Response.unit_id, Response.wave_id)
        if prefix is not None:
            query = query.join(Unit, Unit.id == Response.unit_id).where(
                Unit.path.startswith(prefix, autoescape=True)
            )
        if wave_id is not None:
            query = query.where(Response.wave_id == wave_id)
        return [Tally(*row) for row in db.session.execute(query)]
    folded = select(
        FigureCount.unit_id, FigureCount.wave_id, FigureCount.responses, FigureCount.last_received
    )
    if prefix is not None:
        folded = folded.join(Unit, Unit.id == FigureCount.unit_id).where(
            Unit.path.startswith(prefix, autoescape=True)
        )
    if wave_id is not None:
        folded = folded.where(FigureCount.wave_id == wave_id)
    merged: dict[tuple[int, int | None], Tally] = {}
    for row in [*db.session.execute(folded), *_unfolded(prefix, wave_id)]:
        tally = Tally(*row)
        before = merged.get((tally.unit_id, tally.wave_id))
        if before is not None:
            tally = Tally(
                tally.unit_id,
                tally.wave_id,
                before.responses + tally.responses,
                max(before.last_received, tally.last_received),
            )
        merged[(tally.unit_id, tally.wave_id)] = tally
    return list(merged.values())


def _unfolded(prefix: str | None, wave_id: int | None) -> list[tuple]:
    """The responses not folded, per (unit, wave), read through their partial index.

    SQLite's planner prefers ``ix_responses_wave_unit`` (it matches the grouping) and
    then reads every response: the index is named for it (``INDEXED BY``)."""
    hint = " INDEXED BY ix_responses_unfolded" if db.engine.dialect.name == "sqlite" else ""
    where = " AND wave_id = :wave" if wave_id is not None else ""
    query = text(
        "SELECT unit_id, wave_id, count(*) AS responses, max(received_at) AS last_received "
        f"FROM responses{hint} WHERE NOT folded{where} GROUP BY unit_id, wave_id"
    ).columns(
        column("unit_id", Integer),
        column("wave_id", Integer),
        column("responses", Integer),
        column("last_received", UTCDateTime()),
    )
    rows = list(db.session.execute(query, {"wave": wave_id} if wave_id is not None else {}))
    if prefix is None or not rows:
        return rows
    inside = set(
        db.session.scalars(
            select(Unit.id).where(
                Unit.id.in_({row[0] for row in rows}), Unit.path.startswith(prefix, autoescape=True)
            )
        )
    )
    return [row for row in rows if row[0] in inside]
