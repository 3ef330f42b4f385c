"""The figure store's sums read back as the rows the aggregation query returns.

:mod:`survey_app.reporting.figure_store` keeps each wave's folded responses as sums
per design cell; :func:`stored_waves` says which waves can be read from them and
:func:`stored_rows` returns them in the shape of :func:`.sql.aggregate`'s rows.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, or_, select

from survey_app.collection.scoring import Layout, answer_groups
from survey_app.extensions import db
from survey_app.models import FigureSum
from survey_app.reporting.indices.sql import Filters


def answered_key(layout: Layout, group: tuple[int, ...]) -> str:
    """The figure store's statistic for respondents answering one of a formula's items."""
    return "a:" + ",".join(sorted({layout.columns.items[c // 3] for c in group}))


def stored_waves(wave_ids: list[int], layout: Layout) -> list[int]:
    """The waves whose folded responses are read from the figure store.

    All of ``wave_ids`` while ``FIGURE_STORE`` is on, except a wave whose sums lack a
    statistic this layout needs (sums folded under another version's index rule): it
    is read from its rows, all of them.
    """
    if not wave_ids or not current_app.config.get("FIGURE_STORE", True):
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
