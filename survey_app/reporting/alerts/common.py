"""What every alert rule shares: a finding, the report of a run, the local day.

A rule's evaluation returns :class:`Finding` objects (a condition that holds now);
:mod:`.episodes` stores them. Days and hours are the desks' local time
(``BABEL_DEFAULT_TIMEZONE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from survey_app.models import (
    Alert,
    AlertRule,
)


@dataclass(frozen=True)
class Finding:
    """A condition that holds now."""

    rule: AlertRule
    subject: str
    unit_id: int
    desk_id: int | None = None
    size: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunReport:
    opened: list[Alert] = field(default_factory=list)
    kept: int = 0
    closed: int = 0
    evaluated: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Rules with a figure that could not be computed: their open episodes stay open
    # (the condition is unknown, not ended).
    unsure: set[AlertRule] = field(default_factory=set)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh"))


def local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone())


def start_of(day: date) -> datetime:
    """The UTC instant at which a local day starts."""
    return datetime.combine(day, time(0), tzinfo=_zone()).astimezone(UTC)
