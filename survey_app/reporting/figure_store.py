"""The figure store: the sufficient statistics of the published figures, kept up to date.

Every published figure is a smooth function of weighted sums per wave x unit x stratum
x PSU (:mod:`survey_app.reporting.indices`). Instead of summing the answer rows again
for every page, the sums of the responses already counted are kept twice, every
statistic of a row in one vector: per PSU (``figure_cells``,
:class:`survey_app.models.FigureCell`), which the default figures read; and per PSU,
procedure field and channel (``figure_sums``, :class:`survey_app.models.FigureSum`) for
the breakdowns. The
responses folded per wave and unit are counted in ``figure_counts`` (the collection
table and the wave lists, :mod:`survey_app.reporting.tallies`). Each page adds the
responses not folded in yet, read from their rows. So a figure is exact at every moment (a response
counts from the moment it is stored), and the rows read per page stay few.

The responses not folded yet are those in ``figure_queue`` (:class:`FigureQueue`), where
a trigger puts each response of a wave as it is stored (migration 0014). Folding
(:func:`refresh`, ``flask --app survey_app figures refresh``, run by the scheduler
every minute, or resident with ``--every``, :func:`keep_refreshing`) takes a batch of
them, deletes their queue rows, and adds their sums to the store in the same
transaction: each response is in the sums or read from its row, never both, never
neither. A fold never writes a response row. Two folds at once cannot take the same
responses: folds are serialized (PostgreSQL: an advisory lock; SQLite: one writer), and
a fold that finds a response already taken rolls back.

What can change a folded response's share is rebuilt, not patched: a burst decision
that flags a response again, a deletion. :func:`rebuild` empties a wave's sums and
folds all its responses again with one aggregation (``flask figures rebuild [--wave W]``).
:func:`verify` (``flask figures verify [--wave W]``) recomputes every figure of a wave
from the rows alone and compares.

Flagged responses are never folded (they count in no figure; they stay in the queue,
where the tallies count them, marked so that no fold reads them: as they are stored,
when stored flagged, or else by the first fold that meets them); a response whose flag
is cleared (a burst kept) is unmarked (:func:`requeue`) and read from its row until the
next fold. Sums use the design
weight (1 when none): a wave with an active weighting scheme is read from its rows,
whose weights are the scheme's (and whose calibration needs each respondent).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import (
    BigInteger,
    Select,
    Table,
    Update,
    and_,
    any_,
    bindparam,
    case,
    delete,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from survey_app import bulk
from survey_app.collection import scoring
from survey_app.collection.scoring import IndexRequestError
from survey_app.collection.submissions import inbox
from survey_app.extensions import db
from survey_app.models import (
    FigureCell,
    FigureCount,
    FigureQueue,
    FigureStatList,
    FigureSum,
    Response,
    Unit,
    Wave,
)
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import IndexResult
from survey_app.reporting.indices.sql import Filters, aggregate
from survey_app.reporting.indices.stored import (
    answered_key,
    not_queued,
    queue_rows,
    stat_lists,
)

#: Responses folded per transaction on SQLite, whose batch names each id as a parameter.
BATCH = 2000
#: Responses folded per transaction on PostgreSQL, whose batch is one array parameter
#: (:func:`_among`). A transaction writes each desk-day cell and its sums once, however
#: many of its responses it folds, so a pass should be one transaction: with 3,000
#: desks, a fold of 11,000 responses cost 0.233 ms per response in batches of 2,000
#: and 0.116 ms in one (Python and PostgreSQL, in-process on a quiet server).
BATCH_POSTGRESQL = 50_000
#: The advisory lock every fold takes on PostgreSQL (:func:`_lock_folds`).
FOLD_LOCK = 0x46_49_47_53  # "FIGS"
#: Memory for one wave's aggregation during a rebuild (PostgreSQL ``work_mem``).
REBUILD_WORK_MEM = "256MB"
#: Cells (of three key columns) read per query when a fold adds to them (SQLite;
#: PostgreSQL reads them in one).
CELLS_PER_QUERY = 500
#: Relative difference :func:`verify` accepts between the stored and the row figures.
TOLERANCE = 1e-12


def refresh(limit: int | None = None) -> int:
    """Fold the responses not folded yet, batch by batch; returns how many were folded.

    A pass folds the responses stored before it began (ids up to the largest then),
    not those that arrive while it runs: those wait for the next pass. Under a steady
    stream of submissions, a pass that also took each new arrival never ended, and
    after its first batches folded a few responses at a time, each batch paying the
    fixed cost of its queries (measured under ``benchmarks/load_wrk.py``: batches of
    10-25 responses, back to back, for as long as the load lasted).

    On PostgreSQL it first moves the submission inbox into ``responses``
    (:func:`.inbox.move`), so that what it folds includes every acknowledged response.
    """
    inbox.move()
    newest = db.session.scalar(select(func.max(Response.id)))
    if newest is None:  # no response at all
        db.session.rollback()
        return 0
    total = 0
    while limit is None or total < limit:
        folded, met = _fold_batch(newest)
        if met == 0:
            break
        total += folded
    return total


def keep_refreshing(
    every: float, wait: Callable[[float], bool], report: Callable[[int], None]
) -> None:
    """Fold, then again every ``every`` seconds, until ``wait(seconds)`` returns True
    (``flask figures refresh --every``; the command's ``wait`` returns on SIGTERM or
    Ctrl-C, which never interrupt a fold).

    One process that stays, instead of one started by the scheduler per fold: a start
    costs about 4 s of CPU (imports and the app), however few responses it then folds,
    so a fold every 10 s from cron-like starts would keep 40% of a core busy. A fold
    that fails ends the loop with its error (the service manager restarts the process);
    ``report`` gets the count of each fold that folded something. Between folds it
    moves the submission inbox every :data:`.inbox.MOVE_EVERY_S` seconds (PostgreSQL).
    """
    while True:
        started = time.monotonic()
        folded = refresh()
        db.session.remove()  # the next fold starts on a fresh session, as a new process would
        if folded:
            report(folded)
        # Between folds, the submission inbox is moved every MOVE_EVERY_S seconds.
        while (left := every - (time.monotonic() - started)) > inbox.MOVE_EVERY_S:
            if wait(inbox.MOVE_EVERY_S):
                return
            inbox.move()
            db.session.remove()
        if wait(max(0.0, left)):
            return


def pending_query(up_to: int | None = None) -> Select[Any]:
    """The next batch of queued responses a fold has not met flagged (and with an id
    at most ``up_to``, when given: :func:`refresh`), as (id, wave, flagged): the fold
    folds those not flagged and marks the others (migration 0015), so that no later
    fold reads them again."""
    queue = FigureQueue.__table__
    query = (
        select(queue.c.response_id, queue.c.wave_id, Response.flagged)
        .select_from(queue_rows())
        .where(~queue.c.flagged)  # as the partial index says it, so that it is used
        .order_by(queue.c.response_id)
        .limit(BATCH_POSTGRESQL if db.engine.dialect.name == "postgresql" else BATCH)
    )
    return query if up_to is None else query.where(queue.c.response_id <= up_to)


def _fold_batch(up_to: int) -> tuple[int, int]:
    """Fold one batch of the responses with an id at most ``up_to``, and mark its
    flagged ones: (folded, met). ``met`` is the count of queue rows read, 0 when none
    is left, -1 when another fold took some of them first (this batch is rolled back;
    the caller tries again)."""
    _lock_folds()
    if db.engine.dialect.name == "postgresql":
        # A fold's queries are small, but the planner's estimates for `id = ANY(batch)`
        # joined to the answers ran to millions of rows, above the cost at which it
        # compiles the query (JIT: 0.56 s of CPU for a fold of 32,000 responses whose
        # query ran 0.4 s) and starts parallel workers. A background job that shares
        # the cores with the submissions does neither.
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        # Nor does it wait for its commit's WAL flush: a fold is derived data, and a
        # crash before the flush loses the whole transaction (sums and queue rows
        # alike), which the next fold does again. Submissions keep theirs.
        db.session.execute(text("SET LOCAL synchronous_commit = off"))
    met = db.session.execute(pending_query(up_to)).all()
    if not met:
        db.session.rollback()
        return 0, 0
    queue = FigureQueue.__table__
    _set_marks(((response_id, wave_id) for response_id, wave_id, flagged in met if flagged), True)
    rows = [(response_id, wave_id) for response_id, wave_id, flagged in met if not flagged]
    by_wave = _by_wave(rows)
    taken = sum(
        db.session.execute(
            delete(queue).where(queue.c.wave_id == wave_id, _among(queue.c.response_id, ids))
        ).rowcount
        for wave_id, ids in by_wave.items()
    )
    if taken != len(rows):
        db.session.rollback()
        return 0, -1
    if not rows:  # only flagged ones, now marked
        db.session.commit()
        return 0, len(met)
    _count(and_(Response.wave_id.in_(list(by_wave)), _among(Response.id, [r[0] for r in rows])))
    for wave_id, wave_ids in by_wave.items():
        wave = db.session.get(Wave, wave_id)
        if wave is not None:
            sums, keys = _sums(wave, _among(Response.id, wave_ids))
            _add(wave_id, sums, keys)
            _add_cells(wave_id, sums, keys)
    db.session.commit()
    return len(rows), len(met)


def _by_wave(rows: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    """(response, wave) pairs as each wave's response ids."""
    grouped: dict[int, list[int]] = {}
    for response_id, wave_id in rows:
        grouped.setdefault(wave_id, []).append(response_id)
    return grouped


def _among(column: ColumnElement[int], ids: Sequence[int]) -> ColumnElement[bool]:
    """``column`` is one of ``ids``: on PostgreSQL one array parameter (``= ANY``), not
    one bind parameter per id, which made each of a batch's five statements 2,000
    parameters long to render, send, parse and plan; elsewhere ``IN``."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(BigInteger)))
    return column.in_(ids)


#: A statistic of :func:`_sums`: unit, stratum, PSU, procedure field (-1: none),
#: channel, statistic, then its ``a, b, c`` (:class:`survey_app.models.FigureSum`).
Stat = tuple[int, str, str, int, str, str, float, float, float]


def _sums(wave: Wave, only: ColumnElement[bool]) -> tuple[list[Stat], list[str]]:
    """The statistics of the responses of one wave matching ``only`` (design weights),
    per cell, procedure field and channel, and the statistics of the wave's answer
    groups (:func:`.indices.stored.answered_key`)."""
    try:
        layout = scoring.waves_layout([wave])
    except IndexRequestError:
        return [], []  # a questionnaire without an index: no figure to keep sums for
    item_rows, respondent_rows, _psus, _items = aggregate(
        layout,
        wave.kind,
        [wave.id],
        [wave.questionnaire_id],
        [],
        Filters(),
        True,
        True,
        [],
        only,
        psus=False,
    )
    keys = [answered_key(layout, g) for g in scoring.answer_groups(layout)]

    def cell(row: Sequence[Any]) -> tuple[int, str, str, int, str]:
        _wave, unit_id, stratum, psu, _rid, field_id, channel = row[:7]
        field = -1 if field_id is None else int(field_id)
        return int(unit_id), str(stratum), str(psu), field, str(getattr(channel, "value", channel))

    out: list[Stat] = []
    for row in item_rows:
        item_id, s, v, p = row[7:]
        out.append((*cell(row), f"i:{item_id}", s or 0.0, v or 0.0, p or 0.0))
    for row in respondent_rows:
        n, w, w2, *answered = row[7:]
        where = cell(row)
        out.append((*where, "r", float(n), w or 0.0, w2 or 0.0))
        for k, key in enumerate(keys):
            an, aw, aww = answered[3 * k : 3 * k + 3]
            if an:
                out.append((*where, key, float(an), aw, aww))
    return out, keys


#: The design keys of the store's two tables of vectors (besides the wave), in the
#: order a :data:`Stat` starts with them.
SUM_KEYS = ("unit_id", "stratum", "psu", "field_id", "channel")
CELL_KEYS = SUM_KEYS[:3]


def _add(wave_id: int, rows: list[Stat], group_keys: list[str], *, fresh: bool = False) -> None:
    """Add ``rows`` (the statistics of one wave) to figure_sums: per PSU, procedure
    field and channel. ``fresh``: the wave holds no sums (a rebuild), none to read."""
    _add_vectors(FigureSum.__table__, SUM_KEYS, wave_id, rows, group_keys, fresh=fresh)


def _count(only: ColumnElement[bool]) -> None:
    """Add the responses matching ``only`` to figure_counts (per wave x unit x channel:
    how many, the first and last submission, the last arrival)."""
    rows = [
        {"wave_id": w, "unit_id": u, "channel": str(getattr(c, "value", c)), "responses": n,
         "first_submitted": first, "last_submitted": last, "last_received": received}
        for w, u, c, n, first, last, received in db.session.execute(
            select(Response.wave_id, Response.unit_id, Response.channel, func.count(),
                   func.min(Response.submitted_at), func.max(Response.submitted_at),
                   func.max(Response.received_at))
            .where(only)
            .group_by(Response.wave_id, Response.unit_id, Response.channel)
        )
    ]  # fmt: skip
    if not rows:
        return
    table = FigureCount.__table__
    statement = bulk.conflict_insert(db.engine.dialect.name, table)
    new = statement.excluded

    def later(name: str) -> ColumnElement:
        return case((new[name] > table.c[name], new[name]), else_=table.c[name])

    statement = statement.on_conflict_do_update(
        index_elements=["wave_id", "unit_id", "channel"],
        set_={
            "responses": table.c.responses + new.responses,
            "first_submitted": case(
                (new.first_submitted < table.c.first_submitted, new.first_submitted),
                else_=table.c.first_submitted,
            ),
            "last_submitted": later("last_submitted"),
            "last_received": later("last_received"),
        },
    )
    db.session.execute(statement, rows)


def _add_cells(
    wave_id: int, rows: list[Stat], group_keys: list[str], *, fresh: bool = False
) -> None:
    """Add ``rows`` (the statistics of one wave) to figure_cells: per PSU, summed over
    procedure field and channel."""
    _add_vectors(FigureCell.__table__, CELL_KEYS, wave_id, rows, group_keys, fresh=fresh)


def _add_vectors(
    table: Table,
    names: Sequence[str],
    wave_id: int,
    rows: list[Stat],
    group_keys: list[str],
    *,
    fresh: bool,
) -> None:
    """Add ``rows`` to the vectors of ``table`` whose design keys are ``names`` (the
    first of a :data:`Stat`'s; the rest is summed over): each row of the table gets
    the sums added to its vector, or is created.

    The vectors a call writes all name the same statistics: every one of ``rows`` or of
    the vectors they add to, and every answer group's (zeros included, so that a reader
    can tell a vector folded under another index rule by its statistics). So the sums
    are one array (vector x statistic x a, b, c), added to in bulk, and a fold makes one
    statistics list per table, not one per vector.

    The vectors are read and written back in the fold's transaction; folds are
    serialized (:func:`_lock_folds`), so no other fold changes them meanwhile. One
    vector per row, not one row per statistic: a fold at 3,000 desks rewrote about
    nine figure_sums rows per desk and day before migration 0016."""
    if not rows:
        return
    width = len(names)
    keys = sorted({row[:width] for row in rows})
    position = {key: k for k, key in enumerate(keys)}
    held = [] if fresh else list(_held(table, names, wave_id, keys))
    lists = stat_lists({found[-2] for found in held})
    stats = sorted(
        {row[5] for row in rows}.union(group_keys, *(lists[i] for i in lists))
    )  # fmt: skip
    column = {name: j for j, name in enumerate(stats)}
    sums = np.zeros((len(keys), len(stats), 3))
    np.add.at(
        sums,
        (
            np.fromiter((position[row[:width]] for row in rows), np.int64, len(rows)),
            np.fromiter((column[row[5]] for row in rows), np.int64, len(rows)),
        ),
        np.array([row[6:] for row in rows], dtype=float).reshape(-1, 3),
    )
    row_ids: dict[int, int] = {}  # vector -> its row
    for stats_id in lists:
        mine = [found for found in held if found[-2] == stats_id]
        at = np.array([position[tuple(found[1:-2])] for found in mine], dtype=np.int64)
        columns = np.array([column[name] for name in lists[stats_id]], dtype=np.int64)
        block = np.frombuffer(b"".join(bytes(found[-1]) for found in mine), dtype="<f8")
        sums[at[:, None], columns[None, :]] += block.reshape(len(mine), len(columns), 3)
        row_ids.update(zip(at.tolist(), (found[0] for found in mine), strict=True))
    stats_id = stat_list_id(stats)
    blobs = sums.astype("<f8", copy=False)
    changed, created = [], []
    for k, key in enumerate(keys):
        blob = blobs[k].tobytes()
        if k in row_ids:
            changed.append({"id": row_ids[k], "stats_id": stats_id, "sums": blob})
        else:
            created.append({"wave_id": wave_id, **dict(zip(names, key, strict=True)),
                            "stats_id": stats_id, "sums": blob})  # fmt: skip
    bulk.update_rows(table, changed, ["stats_id", "sums"])
    bulk.insert_rows(table, created, ["wave_id", *names, "stats_id", "sums"])


def _held(
    table: Table, names: Sequence[str], wave_id: int, keys: list[tuple[Any, ...]]
) -> Iterable[Sequence[Any]]:
    """The stored vectors of ``keys`` (values of the columns ``names``) in one wave:
    id, the keys, statistics list and sums. PostgreSQL gets the keys as one array per
    column joined in one query; SQLite as row values, in chunks (one parameter per
    value)."""
    columns = [table.c.id, *(table.c[name] for name in names), table.c.stats_id, table.c.sums]
    if db.engine.dialect.name == "postgresql":
        wanted = bulk.array_rows(table, names)
        yield from db.session.execute(
            select(*columns)
            .join(wanted, and_(*(table.c[name] == wanted.c[name] for name in names)))
            .where(table.c.wave_id == wave_id),
            {name: [key[k] for key in keys] for k, name in enumerate(names)},
        )
        return
    per_query = CELLS_PER_QUERY * 3 // len(names)
    for start in range(0, len(keys), per_query):
        chunk = keys[start : start + per_query]
        yield from db.session.execute(
            select(*columns).where(
                table.c.wave_id == wave_id,
                tuple_(*(table.c[name] for name in names)).in_(chunk),
            )
        )


def stat_list_id(names: list[str]) -> int:
    """The id of the list ``names`` (created when new; folds are serialized, so no
    other fold creates it meanwhile)."""
    joined = ";".join(names)
    found = db.session.scalar(select(FigureStatList.id).where(FigureStatList.names == joined))
    if found is not None:
        return found
    row = FigureStatList(names=joined)
    db.session.add(row)
    db.session.flush()
    return row.id


def rebuild(wave_ids: Iterable[int] | None = None) -> int:
    """Fold the responses of ``wave_ids`` (None: every wave) again from nothing; returns
    the number of responses folded (with any other wave's pending ones).

    Each wave is one transaction (:func:`_refold`): its sums are deleted and all its
    responses folded with one aggregation, not batch by batch."""
    query = select(Wave.id).order_by(Wave.id)
    if wave_ids is not None:
        query = query.where(Wave.id.in_(list(wave_ids)))
    total = sum(_refold(wave_id) for wave_id in db.session.scalars(query).all())
    # the queue changed by as many rows as the waves hold: fresh statistics, so that
    # pages and folds read the few rows left in it as few (on SQLite too: statistics
    # taken after a load, every response in the queue, misled its planner)
    db.session.execute(text("ANALYZE figure_queue"))
    db.session.commit()
    return total + refresh()


def _refold(wave_id: int) -> int:
    """Empty one wave's sums and fold every response of it that is not flagged, in one
    transaction; returns the number taken from the queue.

    Folds are serialized (:func:`_lock_folds`): on SQLite the first write takes the
    database's one write lock, on PostgreSQL an advisory lock that every fold takes. So
    no other fold commits while this one runs, and the responses summed here are
    exactly the wave's responses not in the queue when the sums are read (one that
    arrives meanwhile comes with its queue row and waits for the next fold)."""
    _lock_folds()
    if db.engine.dialect.name == "postgresql":
        # The statistics may be those of before a load: PostgreSQL would expect a few
        # rows and loop over them; one wave's aggregation is a hash job, given memory.
        db.session.execute(text("SET LOCAL enable_nestloop = off"))
        db.session.execute(text(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'"))
    _empty_sums([wave_id])
    queue = FigureQueue.__table__
    kept = select(Response.id).where(Response.wave_id == wave_id, Response.flagged.is_(False))
    taken = db.session.execute(
        delete(queue).where(queue.c.wave_id == wave_id, queue.c.response_id.in_(kept))
    ).rowcount
    done = and_(Response.wave_id == wave_id, Response.flagged.is_(False), not_queued())
    wave = db.session.get(Wave, wave_id)
    if wave is not None:
        _count(done)
        sums, keys = _sums(wave, done)
        _add(wave_id, sums, keys, fresh=True)  # emptied above
        _add_cells(wave_id, sums, keys, fresh=True)
    db.session.commit()
    return max(int(taken), 0)


def _lock_folds() -> None:
    """Serialize folds in the caller's transaction (PostgreSQL: an advisory lock
    released at commit; SQLite has one writer at a time already)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(FOLD_LOCK)))


def _empty(waves: list[int] | None) -> None:
    """Delete the sums of ``waves`` (None: all) and put their responses back in the
    queue, in the caller's transaction: their figures are then read from the rows."""
    _empty_sums(waves)
    queue = FigureQueue.__table__
    responses = select(Response.wave_id, Response.id).where(
        Response.wave_id.is_not(None), not_queued()
    )
    if waves is not None:
        responses = responses.where(Response.wave_id.in_(waves))
    insert = bulk.conflict_insert(db.engine.dialect.name, queue)
    db.session.execute(
        insert.from_select(["wave_id", "response_id"], responses).on_conflict_do_nothing()
    )


def _empty_sums(waves: list[int] | None) -> None:
    """Delete the sums, cells and counts of ``waves`` (None: all)."""
    for model in (FigureSum, FigureCell, FigureCount):
        statement = delete(model)
        if waves is not None:
            statement = statement.where(model.wave_id.in_(waves))
        db.session.execute(statement)


def requeue(responses: Sequence[tuple[int, int | None]]) -> None:
    """Before a flagged response's flag is cleared (a burst kept): unmark its queue
    row, so that the next fold takes it (a fold that met it flagged marked it, and
    folds read only the rows not marked). ``responses``: (id, wave) pairs; a response
    outside any wave has no queue row.

    Found by the queue's key (wave, response): the marked rows are most of the queue
    where a desk floods it, and none is in the index of rows to fold.

    Called in the caller's transaction; it takes the folds' lock first (PostgreSQL;
    held to the caller's commit), so that no fold marks the response between this and
    its new flag."""
    _lock_folds()
    _set_marks(responses, False)


def _set_marks(responses: Iterable[tuple[int, int | None]], marked: bool) -> None:
    """Mark (a fold meeting flagged responses) or unmark (a burst kept) the queue rows
    of ``responses``, (id, wave) pairs, one statement per wave (:func:`mark_statement`).
    A response outside any wave has no queue row."""
    in_waves = ((response_id, wave_id) for response_id, wave_id in responses if wave_id is not None)
    for wave_id, ids in _by_wave(in_waves).items():
        db.session.execute(mark_statement(wave_id, ids, marked))


def mark_statement(wave_id: int, response_ids: Sequence[int], marked: bool) -> Update:
    """The ``UPDATE`` that marks (or unmarks) one wave's queue rows of ``response_ids``
    not marked so already, found by the queue's key (wave, response)."""
    queue = FigureQueue.__table__
    return (
        update(queue)
        .where(
            queue.c.wave_id == wave_id,
            _among(queue.c.response_id, response_ids),
            ~queue.c.flagged if marked else queue.c.flagged,
        )
        .values(flagged=marked)
    )


def unfold_responses(response_ids: Sequence[int]) -> None:
    """Before a folded response's flag (or wave) changes: rebuild its waves' sums
    without it.

    Called in the caller's transaction; the sums of those waves are emptied and their
    responses put back in the queue (read from their rows until the next fold). It
    takes the folds' lock first (PostgreSQL; held to the caller's commit), so that no
    fold sums a response between this check, which finds it queued, and its new flag.
    """
    _lock_folds()
    waves = set(
        db.session.scalars(
            select(Response.wave_id).where(
                Response.id.in_(list(response_ids)),
                Response.wave_id.is_not(None),
                not_queued(),
            )
        )
    )
    if waves:
        _empty(list(waves))


@dataclass(frozen=True)
class Mismatch:
    wave: str
    unit: str
    figure: str
    stored: float
    rows: float


#: The breakdowns :func:`verify` compares: whole units, and by procedure field and channel.
BREAKDOWNS = ({}, {"by_field": True, "by_channel": True})


def verify(wave_ids: Iterable[int] | None = None) -> tuple[int, list[Mismatch]]:
    """Every figure of the waves (their unit and every unit below it, whole and by
    procedure field and channel), from the store and from the rows alone; returns
    (figures compared, mismatches)."""
    query = select(Wave).order_by(Wave.id)
    if wave_ids is not None:
        query = query.where(Wave.id.in_(list(wave_ids)))
    compared, mismatches = 0, []
    for wave in db.session.scalars(query):
        units = list(db.session.scalars(select(Unit).where(Unit.path.startswith(wave.unit.path))))
        codes = {u.id: u.code for u in units}
        for options in BREAKDOWNS:
            try:
                stored = _figures(wave, units, options)
                rows = _from_rows(wave, units, options)
            except IndexRequestError:
                continue  # no figure to compare (no index, no answers)
            by_key = {(f.domain, f.code, f.kind): f for f in rows.figures}
            for figure in stored.figures:
                other = by_key.pop((figure.domain, figure.code, figure.kind), None)
                name = f"{figure.code}/{figure.kind} {figure.domain}"
                unit = codes[figure.domain.unit_id]
                if other is None:
                    mismatches.append(Mismatch(wave.code, unit, name, figure.value, math.nan))
                    continue
                compared += 1
                for field in ("value", "se", "ci_low", "ci_high", "df", "n", "n_eff"):
                    a, b = float(getattr(figure, field)), float(getattr(other, field))
                    if not _same(a, b):
                        mismatches.append(Mismatch(wave.code, unit, f"{name} {field}", a, b))
            for (domain, code, kind), figure in by_key.items():
                name = f"{code}/{kind} {domain}"
                unit = codes[domain.unit_id]
                mismatches.append(Mismatch(wave.code, unit, name, math.nan, figure.value))
    return compared, mismatches


def _figures(wave: Wave, units: Sequence[Unit], options: dict[str, bool]) -> IndexResult:
    return compute([wave], units, **options)


def _from_rows(wave: Wave, units: Sequence[Unit], options: dict[str, bool]) -> IndexResult:
    """:func:`_figures` with the store switched off: every figure from the answer rows."""
    config = current_app.config
    before = config.get("FIGURE_STORE", True)
    config["FIGURE_STORE"] = False
    try:
        return _figures(wave, units, options)
    finally:
        config["FIGURE_STORE"] = before


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))
