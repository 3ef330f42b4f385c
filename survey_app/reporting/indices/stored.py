"""The figure store's sums read back for the estimator.

:mod:`survey_app.reporting.figure_store` keeps each wave's folded responses as sums
per design cell, twice, every statistic of a row in one vector: per PSU
(``figure_cells``) for the default figures, and per PSU, procedure field and channel
(``figure_sums``) for the breakdowns. :func:`stored_cells` returns either as
:class:`.statistics.Cells`. :func:`unfolded_waves` says which waves have responses
not folded yet (in the store's queue, ``figure_queue``: read from their rows), and
:func:`queued` and :func:`not_queued` pick them out.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import and_, exists, literal_column, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Join

from survey_app.collection.scoring import Layout, answer_groups
from survey_app.extensions import db
from survey_app.models import FigureCell, FigureQueue, FigureStatList, FigureSum, Response
from survey_app.reporting.indices.sql import Filters, fetch
from survey_app.reporting.indices.statistics import Cells, count_width, key_columns


def answered_key(layout: Layout, group: tuple[int, ...]) -> str:
    """The figure store's statistic for respondents answering one of a formula's items."""
    return "a:" + ",".join(sorted({layout.columns.items[c // 3] for c in group}))


def store_on() -> bool:
    """Whether figures read the store (``FIGURE_STORE``, on by default)."""
    return bool(current_app.config.get("FIGURE_STORE", True))


def queued(wave_ids: list[int]) -> ColumnElement[bool]:
    """The responses of ``wave_ids`` waiting in the figure store's queue
    (``figure_queue``) and not marked flagged by a fold: ``responses.id IN (SELECT
    ...)``, which SQLite reads as a list of ids to look up and PostgreSQL as a join from
    the queue, so that a wave's folded responses are not read to find its few unfolded
    ones, nor the flagged ones a fold has met (no figure counts them)."""
    queue = FigureQueue.__table__
    return and_(
        Response.wave_id.in_(wave_ids),
        Response.id.in_(
            select(queue.c.response_id).where(queue.c.wave_id.in_(wave_ids), ~queue.c.flagged)
        ),
    )


def not_queued() -> ColumnElement[bool]:
    """The response is not in the figure store's queue: its sums are in the store (or,
    without a wave, it is never folded). ``NOT EXISTS``, which PostgreSQL reads as an
    anti-join and SQLite as a look-up of the queue's key per response."""
    queue = FigureQueue.__table__
    return ~exists(
        select(literal_column("1")).where(
            queue.c.wave_id == Response.wave_id, queue.c.response_id == Response.id
        )
    )


def queue_rows() -> Join:
    """The store's queue joined to the responses it names, the queue first.

    On SQLite the queue's columns are written ``+ 0`` in the join: offered its key to
    look each response up in, SQLite read every response and looked for it in the
    queue (``SCAN responses``), where the queue holds a few rows to look up by id."""
    queue = FigureQueue.__table__
    wave, response = queue.c.wave_id, queue.c.response_id
    if db.engine.dialect.name == "sqlite":
        wave, response = wave + 0, response + 0
    return queue.join(Response, and_(Response.id == response, Response.wave_id == wave))


def unfolded_waves(wave_ids: list[int]) -> set[int]:
    """Those of ``wave_ids`` with a response not folded yet (nor flagged)."""
    if not wave_ids:
        return set()
    queue = FigureQueue.__table__
    return set(
        db.session.scalars(
            select(queue.c.wave_id)
            .select_from(queue_rows())
            .where(queue.c.wave_id.in_(wave_ids), ~queue.c.flagged, Response.flagged.is_(False))
            .distinct()
        )
    )


def stored_cells(
    wave_ids: list[int],
    layout: Layout,
    item_codes: dict[int, str],
    filters: Filters | None = None,
    by_field: bool = False,
    by_channel: bool = False,
) -> tuple[Cells, list[tuple], set[int]]:
    """The folded sums of ``wave_ids``, the PSUs they hold, and the waves read from them.

    The default figures read the sums per PSU (``figure_cells``); a breakdown by
    procedure field or channel, or a filter on them, reads them per PSU, field and
    channel (``figure_sums``), each row a cell of its own (a cell split over several
    rows is summed by the estimator's roll-up, as the row queries' cells are). The PSUs
    are every PSU of the waves read, whatever the filters (as the row queries count
    them).

    A wave is read from the store unless one of its vectors lacks a statistic this
    layout needs (folded under another version's index rule): then it is read from its
    rows, all of them. A wave without sums has nothing folded and is read from the
    rows it has. The vectors are decoded in bulk: those that name the same statistics
    (usually all) share one ``frombuffer``.
    """
    filters = filters or Filters()
    coarse = not (by_field or by_channel or filters.field_id is not None or filters.channel)
    keys = key_columns(by_field, by_channel)
    width = count_width(layout)
    empty = Cells(
        pd.DataFrame(columns=keys), np.zeros((0, width)), np.zeros((0, layout.columns.width))
    )
    if not wave_ids or not store_on():
        return empty, [], set()
    table = (FigureCell if coarse else FigureSum).__table__
    split = [] if coarse else [table.c.field_id, table.c.channel]
    rows = fetch(
        db.session.connection(),
        select(table.c.wave_id, table.c.unit_id, table.c.stratum, table.c.psu, *split,
               table.c.stats_id, table.c.sums).where(table.c.wave_id.in_(wave_ids)),
        binary=True,
    )  # fmt: skip
    groups = [answered_key(layout, g) for g in answer_groups(layout)]
    needed = set(groups)
    if not rows:
        return empty, [], set(wave_ids)
    # columns at once (one pass in C), then the vectors of each statistics list
    wave, unit, stratum, psu, *rest = zip(*rows, strict=True)
    stats, sums = rest[-2:]
    wave_of = np.fromiter(wave, dtype=np.int64, count=len(rows))
    stats_of = np.fromiter(stats, dtype=np.int64, count=len(rows))
    stats_ids = np.unique(stats_of)
    lists = stat_lists(stats_ids.tolist())
    unusable = {
        int(w)
        for stats_id in stats_ids.tolist()
        if not needed <= set(lists[stats_id])
        for w in np.unique(wave_of[stats_of == stats_id]).tolist()
    }
    kept = ~np.isin(wave_of, list(unusable))
    frame = pd.DataFrame({"wave_id": wave_of, "unit_id": unit, "stratum": stratum, "psu": psu})
    # the PSUs of the waves read, each once, in the order read
    design = frame.loc[kept, ["wave_id", "stratum", "psu"]]
    psus = list(dict.fromkeys(zip(*(design[c].tolist() for c in design), strict=True)))
    if not coarse:
        field_of = np.fromiter(rest[0], dtype=np.int64, count=len(rows))
        channel_of = np.asarray(rest[1], dtype=object)
        if filters.field_id is not None:
            kept &= field_of == filters.field_id
        if filters.channel:
            kept &= channel_of == str(filters.channel)
        if by_field:  # none stored as -1, given back as the row queries give it
            frame["field_id"] = pd.Series(field_of, dtype=object).where(field_of != -1, None)
        if by_channel:
            frame["channel"] = channel_of
    place = np.cumsum(kept) - 1  # a kept row's position among the kept
    n_kept = int(kept.sum())
    counts = np.zeros((n_kept, width))
    values = np.zeros((n_kept, layout.columns.width))
    for stats_id in stats_ids.tolist():
        positions = np.flatnonzero((stats_of == stats_id) & kept)
        if not positions.size:
            continue
        names = lists[stats_id]
        block = np.frombuffer(b"".join([bytes(sums[p]) for p in positions.tolist()]), dtype="<f8")
        block = block.reshape(positions.size, 3 * len(names))
        targets = place[positions]
        for j, name in enumerate(names):
            source = block[:, 3 * j : 3 * j + 3]
            if name == "r":
                counts[targets, 0:3] = source
            elif name in needed:
                k = 3 + 3 * groups.index(name)
                counts[targets, k : k + 3] = source
            elif name.startswith("i:") and int(name[2:]) in item_codes:
                first = layout.columns.column(item_codes[int(name[2:])], "S")
                values[targets, first : first + 3] += source
    frame = frame[kept].reset_index(drop=True)
    frame["rid"] = -1
    read = {w for w in wave_ids if w not in unusable}
    return Cells(frame[keys], counts, values), psus, read


def stat_lists(ids: Iterable[int]) -> dict[int, list[str]]:
    """The statistics each :class:`FigureStatList` names, in order."""
    ids = list(ids)
    if not ids:
        return {}
    query = select(FigureStatList.id, FigureStatList.names).where(FigureStatList.id.in_(ids))
    return {i: names.split(";") for i, names in db.session.execute(query)}
