"""The figure store's sums read back for the estimator.

:mod:`survey_app.reporting.figure_store` keeps each wave's folded responses as sums
per design cell, twice: per PSU (``figure_cells``, every statistic in one row), which
:func:`stored_cells` returns as :class:`.statistics.Cells` for the default figures;
and per PSU, procedure field, channel and statistic (``figure_sums``) for the
breakdowns, which :func:`stored_waves` and :func:`stored_rows` return in the shape of
:func:`.sql.aggregate`'s rows. :func:`unfolded_waves` says which waves have responses
not folded yet (in the store's queue, ``figure_queue``: read from their rows), and
:func:`queued` and :func:`not_queued` pick them out.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import and_, exists, func, literal_column, or_, select
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


def stored_waves(wave_ids: list[int], layout: Layout) -> list[int]:
    """The waves whose folded responses are read from the figure store.

    All of ``wave_ids`` while ``FIGURE_STORE`` is on, except a wave whose sums lack a
    statistic this layout needs (sums folded under another version's index rule): it
    is read from its rows, all of them.
    """
    if not wave_ids or not store_on():
        return []
    needed = {answered_key(layout, g) for g in answer_groups(layout)}
    # one query: a wave with sums has "r" rows (every folded respondent makes one)
    present: dict[int, set[str]] = {}
    for wave_id, stat in db.session.execute(
        select(FigureSum.wave_id, FigureSum.stat)
        .where(
            FigureSum.wave_id.in_(wave_ids),
            or_(FigureSum.stat == "r", FigureSum.stat.startswith("a:")),
        )
        .distinct()
    ):
        present.setdefault(wave_id, set()).add(stat)
    return [w for w in wave_ids if w not in present or needed <= present[w]]


def stored_rows(
    wave_ids: list[int],
    layout: Layout,
    filters: Filters,
    by_field: bool,
    by_channel: bool,
    item_codes: dict[int, str],
) -> tuple[list, list, list]:
    """The figure store's sums as the rows :func:`aggregate` returns (rid -1)."""
    columns = [FigureSum.wave_id, FigureSum.unit_id, FigureSum.stratum, FigureSum.psu]
    if by_field:
        columns.append(FigureSum.field_id)
    if by_channel:
        columns.append(FigureSum.channel)
    sums = [func.sum(FigureSum.a), func.sum(FigureSum.b), func.sum(FigureSum.c)]
    query = select(*columns, FigureSum.stat, *sums).where(FigureSum.wave_id.in_(wave_ids))
    if filters.field_id is not None:
        query = query.where(FigureSum.field_id == filters.field_id)
    if filters.channel is not None:
        query = query.where(FigureSum.channel == str(filters.channel))
    query = query.group_by(*columns, FigureSum.stat)
    keys = [answered_key(layout, g) for g in answer_groups(layout)]
    width = len(columns)
    respondents: dict[tuple, list[float]] = {}
    item_rows = []
    for row in db.session.execute(query):
        cell = _cell_values(tuple(row[:width]), by_field)
        stat, a, b, c = row[width:]
        if stat == "r":
            respondents.setdefault(cell, [0.0] * (3 + 3 * len(keys)))[0:3] = [a, b, c]
        elif stat.startswith("i:"):
            item_id = int(stat[2:])
            if item_id in item_codes:
                item_rows.append((*cell[:4], -1, *cell[4:], item_id, a, b, c))
        elif stat in keys:
            k = keys.index(stat)
            values = respondents.setdefault(cell, [0.0] * (3 + 3 * len(keys)))
            values[3 + 3 * k : 6 + 3 * k] = [a, b, c]
    respondent_rows = [
        (*cell[:4], -1, *cell[4:], *values) for cell, values in respondents.items() if values[0] > 0
    ]
    # every PSU of the waves, whatever the filters (as the row query counts them)
    psu_rows = [
        tuple(row)
        for row in db.session.execute(
            select(FigureSum.wave_id, FigureSum.stratum, FigureSum.psu)
            .where(FigureSum.wave_id.in_(wave_ids), FigureSum.stat == "r", FigureSum.a > 0)
            .distinct()
        )
    ]
    return item_rows, respondent_rows, psu_rows


def _cell_values(cell: tuple, by_field: bool) -> tuple:
    """Stored design keys back to what the row queries give (none as None)."""
    wave_id, unit_id, stratum, psu, *rest = cell
    if by_field and rest and rest[0] == -1:
        rest[0] = None
    return (wave_id, unit_id, stratum, psu, *rest)


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
    wave_ids: list[int], layout: Layout, item_codes: dict[int, str]
) -> tuple[Cells, list[tuple], set[int]]:
    """The folded sums of ``wave_ids`` per PSU (``figure_cells``), the PSUs they hold,
    and the waves read from them.

    A wave is read from its cells unless one of them lacks a statistic this layout
    needs (folded under another version's index rule): then it is read from its rows,
    all of them. A wave without cells has nothing folded and is read from the rows
    it has. Each cell's vector is decoded in bulk: the cells that name the same
    statistics (usually all) share one ``frombuffer``.
    """
    keys = key_columns(False, False)
    width = count_width(layout)
    empty = Cells(
        pd.DataFrame(columns=keys), np.zeros((0, width)), np.zeros((0, layout.columns.width))
    )
    if not wave_ids or not store_on():
        return empty, [], set()
    table = FigureCell.__table__
    rows = fetch(
        db.session.connection(),
        select(table.c.wave_id, table.c.unit_id, table.c.stratum, table.c.psu,
               table.c.stats_id, table.c.sums).where(table.c.wave_id.in_(wave_ids)),
        binary=True,
    )  # fmt: skip
    groups = [answered_key(layout, g) for g in answer_groups(layout)]
    needed = set(groups)
    if not rows:
        return empty, [], set(wave_ids)
    # columns at once (one pass in C), then the cells of each statistics list
    wave, unit, stratum, psu, stats, sums = zip(*rows, strict=True)
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
    frame = pd.DataFrame(dict(zip(keys[:4], (wave_of, unit, stratum, psu), strict=True)))[
        kept
    ].reset_index(drop=True)
    frame["rid"] = -1
    # the PSUs of the kept cells, each once, in the order read
    design = frame[["wave_id", "stratum", "psu"]]
    psus = list(dict.fromkeys(zip(*(design[c].tolist() for c in design), strict=True)))
    read = {w for w in wave_ids if w not in unusable}
    return Cells(frame, counts, values), psus, read


def stat_lists(ids: Iterable[int]) -> dict[int, list[str]]:
    """The statistics each :class:`FigureStatList` names, in order."""
    ids = list(ids)
    if not ids:
        return {}
    query = select(FigureStatList.id, FigureStatList.names).where(FigureStatList.id.in_(ids))
    return {i: names.split(";") for i, names in db.session.execute(query)}
