"""The burst rule's window arithmetic (``burst.completes_burst``) against its definition.

The definition: some window ``[start, start + window]`` with ``start`` one of the times
holds the new time and at least ``count`` times, the new one included. The rule finds
the times in a window by bisection of the sorted list; the definition counts them one
by one. The SQL twin (a RANGE window frame) is checked against the rule on PostgreSQL in
``tests/test_submission_sql.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from survey_app.collection.submissions.burst import completes_burst

BASE = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)


def by_definition(times: list[datetime], at: datetime, count: int, window: timedelta) -> bool:
    every = [*times, at]
    return any(
        sum(start <= moment <= start + window for moment in every) >= count
        for start in every
        if start <= at <= start + window
    )


# Offsets in seconds on a coarse grid, so that ties and times exactly one window apart
# (the edges of the closed interval) are common.
offsets = st.integers(min_value=-12, max_value=12).map(lambda n: timedelta(seconds=5 * n))


@given(
    times=st.lists(offsets, max_size=12),
    at=offsets,
    count=st.integers(min_value=1, max_value=6),
    window_s=st.sampled_from([0, 5, 10, 30, 60]),
)
def test_the_rule_is_its_definition(
    times: list[timedelta], at: timedelta, count: int, window_s: int
) -> None:
    stored = [BASE + offset for offset in times]
    window = timedelta(seconds=window_s)
    assert completes_burst(stored, BASE + at, count, window) == by_definition(
        stored, BASE + at, count, window
    )


def test_a_busy_desks_many_identical_answer_sets() -> None:
    """20,000 identical answer sets 12 ms apart around the new one (at BASE, itself a
    stored time): a window of 120 s holds at most 10,001 of them and the new one. To
    refuse 10,003 the rule must look at every candidate window; counting each one's
    times one by one would take minutes here."""
    stored = [BASE + timedelta(milliseconds=12 * i) for i in range(-10_000, 10_000)]
    window = timedelta(seconds=120)
    assert completes_burst(stored, BASE, 5, window)
    assert completes_burst(stored, BASE, 10_002, window)
    assert not completes_burst(stored, BASE, 10_003, window)
