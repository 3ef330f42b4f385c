"""PostgreSQL: moving the submission inbox into ``responses`` (``SUBMISSION_INBOX``).

With ``SUBMISSION_INBOX`` on, a kiosk response on the single-statement path is
acknowledged once its key is claimed in ``response_keys`` and it is written, with its
answer codes, to ``response_inbox`` (:func:`.sql.inbox_statement`, migration 0018):
one row and one commit, durable like any other. :func:`move` takes the inbox's rows
in batches, in the order they arrived, decides each one's burst flag, and inserts the
responses, their figure-store queue rows and their answer rows under the ids they were
acknowledged with, one statement per batch. ``flask figures refresh`` moves the inbox
before it folds, and its resident form (``--every``) moves it every
:data:`MOVE_EVERY_S` seconds between folds, so a response reaches ``responses`` (and
every page, export and figure) about a second after it was acknowledged.

The burst rule is :func:`.burst.is_burst`'s, applied at the move: the identical answer
sets counted for a response are those stored in ``responses`` then and those of its
batch that arrived before it. The common case (enough identical sets in the trailing
window) is read through the same index as the single statement's check
(:func:`.sql.burst_reads`); a response that meets identical sets submitted later than
itself (a kiosk's queue sent late) is decided by the whole rule
(:func:`.burst.completes_burst`).

Movers take an advisory lock (:data:`MOVE_LOCK`) for their transaction, so two never
move the same rows. The inbox is not a place where responses can be lost: a batch is
moved whole or, if its statement fails, left where it was, and the error is raised.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Exists,
    ScalarSelect,
    bindparam,
    case,
    false,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from survey_app.collection.submissions import sql
from survey_app.collection.submissions.burst import (
    BURST_FLAG,
    as_utc,
    burst_settings,
    completes_burst,
    stored_identical_times,
)
from survey_app.collection.submissions.times import MAX_CLOCK_SKEW
from survey_app.extensions import db
from survey_app.models import Response
from survey_app.partitions import RESPONSE_INBOX

#: Rows moved by one statement.
MOVE_BATCH = 5_000
#: Seconds between two moves of the resident ``figures refresh --every``.
MOVE_EVERY_S = 1.0
#: The advisory lock of a move (transaction-level).
MOVE_LOCK = 0x49_4E_42_58  # "INBX"
#: The setting under which ``response_keys_claim`` does not run (migration 0018).
MOVING = "survey.inbox_move"

# The columns a moved response takes from its inbox row (all but its answer codes),
# in the inbox's order.
_COLUMNS = tuple(c.name for c in RESPONSE_INBOX.c if c.name not in ("item_ids", "item_values"))
_LISTED = ", ".join(_COLUMNS)
_MOVE = text(
    f"""WITH flags AS (
  SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:flags AS boolean[])) AS f (id, flagged)
), batch AS (
  DELETE FROM response_inbox AS i USING flags AS f WHERE i.id = f.id
  RETURNING i.*, f.flagged
), stored AS (
  INSERT INTO responses ({_LISTED}, flagged, flag_reason)
  SELECT {_LISTED}, flagged, CASE WHEN flagged THEN :reason END FROM batch
), queued AS (
  INSERT INTO figure_queue (wave_id, response_id, flagged)
  SELECT wave_id, id, flagged FROM batch WHERE wave_id IS NOT NULL
)
INSERT INTO answer_values (response_id, item_id, value, wave_id)
SELECT b.id, coded.item_id, coded.value, b.wave_id
FROM batch AS b CROSS JOIN LATERAL unnest(b.item_ids, b.item_values) AS coded (item_id, value)"""
)


@dataclass(frozen=True)
class Waiting:
    """A row of the inbox as the burst rule reads it."""

    id: int
    group: int  # the same number for the same desk, questionnaire, wave and answers
    at: datetime
    trailing: int  # identical sets stored in [at - window, at], at most count - 1
    later: bool  # an identical set is stored in (at, at + window]


def move() -> int:
    """Move the inbox's rows into ``responses``, batch by batch, each batch in its own
    transaction; returns how many were moved. Rows that arrive meanwhile are moved too,
    until a batch is not full. Nothing to do on SQLite, which has no inbox.

    It commits the session's transaction (each batch is one); call it between units of
    work, as ``figures refresh`` does.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return 0
    total = 0
    while True:
        moved = _move_batch(MOVE_BATCH)
        total += moved
        if moved < MOVE_BATCH:
            return total


def _move_batch(size: int) -> int:
    session = db.session
    session.execute(select(func.pg_advisory_xact_lock(MOVE_LOCK)))
    rows = _waiting(size)
    if not rows:
        session.commit()  # ends the transaction, and with it the lock
        return 0
    flags = burst_flags(rows)
    session.execute(text(f"SET LOCAL {MOVING} = 'on'"))
    session.execute(
        _MOVE.bindparams(
            bindparam("ids", type_=ARRAY(BigInteger())),
            bindparam("flags", type_=ARRAY(Boolean())),
        ),
        {"ids": [row.id for row in rows], "flags": flags, "reason": BURST_FLAG},
    )
    session.commit()  # SET LOCAL ends with the transaction
    return len(rows)


def _waiting(size: int) -> list[Waiting]:
    """The inbox's first ``size`` rows by arrival, with the burst rule's two reads.

    The second read (a later identical set) is made only for a row whose trailing
    window does not already make a burst: its flag is then decided without it. The
    first read is a MATERIALIZED CTE's column, so that it is not made twice.
    """
    count, window = burst_settings()
    waiting, responses = RESPONSE_INBOX.alias("waiting"), Response.__table__
    needed = literal(max(count - 1, 0))
    span = func.make_interval(0, 0, 0, 0, 0, 0, window.total_seconds())
    skew = func.make_interval(0, 0, 0, 0, 0, 0, MAX_CLOCK_SKEW.total_seconds())

    def reads(row: Any) -> tuple[ScalarSelect[Any], Exists]:
        at = row.c.submitted_at
        return sql.burst_reads(
            responses,
            wave_id=row.c.wave_id,
            desk_id=row.c.desk_id,
            questionnaire_id=row.c.questionnaire_id,
            answers=row.c.answers,
            received_since=at - span - skew,
            window=(at - span, at, at + span),
            needed=needed,
        )

    first = select(RESPONSE_INBOX.c.id).order_by(RESPONSE_INBOX.c.id).limit(size).subquery()
    same = (waiting.c.wave_id, waiting.c.desk_id, waiting.c.questionnaire_id, waiting.c.answers)
    group = func.dense_rank().over(order_by=same)
    counted = (
        select(*same, waiting.c.id, waiting.c.submitted_at)
        .add_columns(group.label("group"), reads(waiting)[0].label("trailing"))
        .where(waiting.c.id.in_(select(first.c.id)))
        .cte("counted")
        .prefix_with("MATERIALIZED")
    )
    later = case((counted.c.trailing >= needed, false()), else_=reads(counted)[1])
    query = select(
        counted.c.id, counted.c.group, counted.c.submitted_at, counted.c.trailing, later
    ).order_by(counted.c.id)
    return [
        Waiting(id, group, as_utc(when), int(trailing or 0), bool(later))
        for id, group, when, trailing, later in db.session.execute(query)
    ]


def burst_flags(rows: Sequence[Waiting]) -> list[bool]:
    """Each row's burst flag, in arrival order (see the module's docstring)."""
    count, window = burst_settings()
    if count <= 0:
        return [False] * len(rows)
    if count == 1:
        return [True] * len(rows)
    before: dict[int, list[datetime]] = defaultdict(list)  # the batch's earlier times
    flags = []
    for row in rows:
        times = before[row.group]
        start, end = row.at - window, row.at + window
        in_batch = bisect_right(times, row.at) - bisect_left(times, start)
        flag = row.trailing + in_batch >= count - 1
        later_in_batch = bisect_right(times, end) > bisect_right(times, row.at)
        if not flag and (row.later or later_in_batch):
            near = times[bisect_left(times, start) : bisect_right(times, end)]
            flag = completes_burst([*_stored_near(row, window), *near], row.at, count, window)
        flags.append(flag)
        insort(times, row.at)
    return flags


def _stored_near(row: Waiting, window: timedelta) -> list[datetime]:
    """The submission times of the stored answer sets identical to ``row``'s within
    ``window`` of its time (the whole rule's read, as :func:`.burst.is_burst` makes it)."""
    inbox = RESPONSE_INBOX
    mine = select(
        inbox.c.desk_id, inbox.c.questionnaire_id, inbox.c.wave_id, inbox.c.answers
    ).where(inbox.c.id == row.id)
    desk_id, questionnaire_id, wave_id, answers = db.session.execute(mine).one()
    return stored_identical_times(desk_id, questionnaire_id, wave_id, answers, row.at, window)
