"""How many responses each unit has in each wave, without counting every response.

The figure store's fold keeps ``figure_counts`` (responses folded per wave x unit x
channel, their first and last submission and last arrival,
:mod:`survey_app.reporting.figure_store`); the responses not folded (flagged, outside
any wave, or waiting for the next fold) are counted from their rows, found through
the store's queue (``figure_queue``). So the collection table, the scorecard's
volumes and the lists of waves with data read a few rows per unit and wave, however
many responses there are. With ``FIGURE_STORE`` off every response is counted from its
row, as the store's figures are then.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from survey_app.extensions import db
from survey_app.models import FigureCount, FigureQueue, Response, Unit, Wave
from survey_app.reporting.indices.stored import queue_rows, store_on


@dataclass(frozen=True)
class Tally:
    """Responses of one unit in one wave (None: outside any) by one channel (or all)."""

    unit_id: int
    wave_id: int | None
    channel: str
    responses: int
    flagged: int
    first_submitted: datetime
    last_submitted: datetime
    last_received: datetime

    def plus(self, other: Tally) -> Tally:
        return Tally(
            self.unit_id,
            self.wave_id,
            self.channel if self.channel == other.channel else "",
            self.responses + other.responses,
            self.flagged + other.flagged,
            min(self.first_submitted, other.first_submitted),
            max(self.last_submitted, other.last_submitted),
            max(self.last_received, other.last_received),
        )


def tallies(prefix: str | None = None, wave_id: int | None = None) -> list[Tally]:
    """Responses per (unit, wave, channel) of the units whose path starts with
    ``prefix`` (all when None), of one wave or of every wave."""
    if not store_on():
        columns = _columns(Response.unit_id, Response.wave_id, Response.channel)
        query = select(*columns).group_by(Response.unit_id, Response.wave_id, Response.channel)
        if prefix is not None:
            query = query.join(Unit, Unit.id == Response.unit_id).where(
                Unit.path.startswith(prefix, autoescape=True)
            )
        if wave_id is not None:
            query = query.where(Response.wave_id == wave_id)
        return [_tally(row) for row in db.session.execute(query)]
    table = FigureCount
    folded = select(
        table.unit_id, table.wave_id, table.channel, table.responses, 0,
        table.first_submitted, table.last_submitted, table.last_received,
    )  # fmt: skip
    if prefix is not None:
        folded = folded.join(Unit, Unit.id == table.unit_id).where(
            Unit.path.startswith(prefix, autoescape=True)
        )
    if wave_id is not None:
        folded = folded.where(table.wave_id == wave_id)
    rows = [_tally(row) for row in [*db.session.execute(folded), *_unfolded(prefix, wave_id)]]
    return combine(rows, lambda t: (t.unit_id, t.wave_id, t.channel))


def with_data(units: Sequence[Unit], wave: Wave) -> list[Unit]:
    """The units with at least one response in the wave (themselves or below)."""
    if not units:
        return []
    ids = {t.unit_id for t in tallies(None, wave.id) if t.responses}
    paths = list(db.session.scalars(select(Unit.path).where(Unit.id.in_(ids))))
    return [u for u in units if any(p.startswith(u.path) for p in paths)]


def combine(rows: Iterable[Tally], key: Callable[[Tally], Hashable]) -> list[Tally]:
    """The tallies summed by ``key`` (e.g. per unit and wave over the channels)."""
    merged: dict[Hashable, Tally] = {}
    for tally in rows:
        before = merged.get(key(tally))
        merged[key(tally)] = tally if before is None else before.plus(tally)
    return list(merged.values())


def _columns(unit, wave, channel) -> list:  # type: ignore[no-untyped-def]
    return [
        unit, wave, channel, func.count(),
        func.sum(case((Response.flagged.is_(True), 1), else_=0)),
        func.min(Response.submitted_at), func.max(Response.submitted_at),
        func.max(Response.received_at),
    ]  # fmt: skip


def _tally(row: tuple) -> Tally:
    unit_id, wave_id, channel, responses, flagged, first, last, received = row
    return Tally(
        int(unit_id), wave_id, str(getattr(channel, "value", channel)), int(responses),
        int(flagged or 0), first, last, received,
    )  # fmt: skip


def _unfolded(prefix: str | None, wave_id: int | None) -> list[tuple]:
    """The responses not folded, per (unit, wave, channel): those in the figure store's
    queue (read from it, joined to their rows), and (of every wave) those outside any."""
    queue = FigureQueue.__table__
    group = (Response.unit_id, Response.wave_id, Response.channel)
    waiting = select(*_columns(*group)).select_from(queue_rows()).group_by(*group)
    parts = [waiting.where(queue.c.wave_id == wave_id) if wave_id is not None else waiting]
    if wave_id is None:
        parts.append(select(*_columns(*group)).where(Response.wave_id.is_(None)).group_by(*group))
    rows = [row for part in parts for row in db.session.execute(part)]
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
