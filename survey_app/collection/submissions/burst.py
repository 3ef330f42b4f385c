"""Bursts: a desk that receives ``BURST_COUNT`` identical answer sets within
``BURST_WINDOW_S`` seconds; the response is stored but flagged for the survey team.

This is the whole rule in Python (the general path, and SQLite). The single statement
on PostgreSQL has its common part in SQL (``_burst`` in :mod:`.sql`: every
identical answer set came earlier) and leaves the rest to this one;
``tests/test_submission_sql.py`` checks that the two agree.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import literal, select
from sqlalchemy.dialects.postgresql import JSONB

from survey_app.collection.submissions import sql
from survey_app.collection.submissions.times import MAX_CLOCK_SKEW
from survey_app.extensions import db
from survey_app.models import Response

BURST_FLAG = "burst"


def as_utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes (stored in UTC); PostgreSQL aware ones.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def burst_settings() -> tuple[int, timedelta]:
    """``BURST_COUNT`` and ``BURST_WINDOW_S`` as a count and a window.

    A window of negative length holds no time, so a negative ``BURST_WINDOW_S`` finds
    no burst: it gives a count of 0 (the rule off) and an empty window, in both rules
    alike (PostgreSQL refuses a window frame of negative length).
    """
    count = int(current_app.config.get("BURST_COUNT", 5))
    window = timedelta(seconds=float(current_app.config.get("BURST_WINDOW_S", 120)))
    if window < timedelta(0):
        return 0, timedelta(0)
    return count, window


def is_burst(
    desk_id: int,
    questionnaire_id: int,
    wave_id: int | None,
    answers: dict[str, Any],
    at: datetime,
) -> bool:
    """Whether this answer set completes a burst of identical ones from the desk.

    A burst is ``BURST_COUNT`` identical answer sets to one questionnaire in one wave,
    this one included, whose ``submitted_at`` times fit in a window of
    ``BURST_WINDOW_S`` seconds. (Within one wave: on PostgreSQL each wave is a
    partition, and a check that looked across waves opened every wave's partition at
    every submission.)
    """
    count, window = burst_settings()
    if count <= 0:
        return False
    if count == 1:
        return True
    times = stored_identical_times(desk_id, questionnaire_id, wave_id, answers, at, window)
    return completes_burst(times, at, count, window)


def stored_identical_times(
    desk_id: int,
    questionnaire_id: int,
    wave_id: int | None,
    answers: dict[str, Any],
    at: datetime,
    window: timedelta,
) -> list[datetime]:
    """The submission times (UTC) of the desk's stored answer sets identical to
    ``answers`` (to the questionnaire, in the wave) within ``window`` of ``at``: the
    whole rule's read, for :func:`is_burst` and the inbox's mover."""
    responses = Response.__table__
    query = select(responses.c.answers, responses.c.submitted_at).where(
        responses.c.wave_id == wave_id,  # IS NULL for None
        responses.c.desk_id == desk_id,
        responses.c.questionnaire_id == questionnaire_id,
        # received_at first: it leads the (desk_id, received_at) index.
        responses.c.received_at >= at - window - MAX_CLOCK_SKEW,
        responses.c.submitted_at >= at - window,
        responses.c.submitted_at <= at + window,
    )
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # JSONB equality is equality of content: only the identical sets come back,
        # found by their hash through ix_responses_desk_same_answers (migration 0010).
        # (SQLite compares JSON as text, so there the comparison stays in Python.)
        query = query.where(sql.same_answers(responses.c.answers, literal(answers, JSONB())))
    rows = connection.execute(query).all()
    return [as_utc(when) for stored, when in rows if stored == answers]


def completes_burst(times: list[datetime], at: datetime, count: int, window: timedelta) -> bool:
    """Whether some window ``[start, start + window]`` holds ``at`` and at least
    ``count`` times in all, counting ``at`` and ``times`` (the stored identical answer
    sets' submission times).

    The times in a window are a slice of the sorted list, found by bisection, so the
    cost is one sort whatever the times (counting the times of each candidate window
    one by one costs the square of their number at worst, and a busy desk's "very
    satisfied, nothing else" can have hundreds within a window).
    """
    if len(times) + 1 < count:
        return False
    ordered = sorted([*times, at])
    return any(
        bisect_right(ordered, start + window) - bisect_left(ordered, start) >= count
        for start in ordered
        if start <= at <= start + window
    )
