"""Times of a submission: ISO 8601 with an offset, in UTC, within sane bounds, and the
local day that decides the wave."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from survey_app.models._types import utcnow

#: How far in the future ``submitted_at`` may be (a tablet's clock may be off).
MAX_CLOCK_SKEW = timedelta(days=1)

#: No response predates the platform: an earlier time is a device whose clock was
#: reset (and arithmetic on times near year 1 would overflow).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def utc_moment(value: Any) -> datetime | str:
    """The UTC moment of an ISO 8601 text with an offset, or the error code."""
    if not isinstance(value, str):
        return "wrong_type"
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return "invalid_datetime"
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return "invalid_datetime"
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        return "invalid_datetime"
    if moment > utcnow() + MAX_CLOCK_SKEW:
        return "in_future"
    if moment < EARLIEST:
        return "too_early"
    return moment


def _local_timezone() -> timezone | ZoneInfo:
    name = str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Ho_Chi_Minh")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=7))


def local_day(moment: datetime) -> date:
    return moment.astimezone(_local_timezone()).date()
