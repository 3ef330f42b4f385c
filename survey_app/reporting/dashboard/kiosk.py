"""The kiosk monitor: per desk, daily volume, rolling satisfaction, bursts and silence."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select

from survey_app.collection import questionnaires
from survey_app.extensions import db
from survey_app.models import (
    AnswerValue,
    Channel,
    Desk,
    Questionnaire,
    QuestionnaireItem,
    Response,
    Unit,
    User,
)
from survey_app.reporting.dashboard.figures import cell_points
from survey_app.reporting.dashboard.scope import focus_unit, scope_tops, unit_sort_key
from survey_app.reporting.tables import Table

MONITOR_DAYS = 30
ROLLING_DAYS = 7
STOPPED_AFTER_DAYS = 3


@dataclass(frozen=True)
class DeskDay:
    day: date
    responses: int
    flagged: int
    bursts: int
    rolling_satisfied: int  # satisfied answers over the last ROLLING_DAYS days
    rolling_answered: int

    @property
    def rolling_rate(self) -> float | None:
        return self.rolling_satisfied / self.rolling_answered if self.rolling_answered else None


@dataclass(frozen=True)
class DeskRow:
    desk: Desk
    unit: Unit
    days: tuple[DeskDay, ...]
    last_response: datetime | None
    stopped: bool
    min_answers: int

    @property
    def total(self) -> int:
        return sum(d.responses for d in self.days)

    @property
    def bursts(self) -> int:
        return sum(d.bursts for d in self.days)

    @property
    def flagged(self) -> int:
        return sum(d.flagged for d in self.days)

    @property
    def latest(self) -> DeskDay | None:
        return self.days[-1] if self.days else None

    @property
    def latest_rate_reportable(self) -> bool:
        latest = self.latest
        return latest is not None and latest.rolling_answered >= self.min_answers


@dataclass(frozen=True)
class KioskMonitor:
    unit: Unit
    tops: tuple[Unit, ...]
    start: date
    end: date
    desks: tuple[DeskRow, ...]
    min_answers: int

    @property
    def stopped(self) -> tuple[DeskRow, ...]:
        return tuple(d for d in self.desks if d.stopped)

    @property
    def with_bursts(self) -> tuple[DeskRow, ...]:
        return tuple(d for d in self.desks if d.bursts)

    def table(self, lang: str) -> Table:
        headers = (
            _("Desk"),
            _("Unit"),
            _("Responses (%(days)s days)", days=MONITOR_DAYS),
            _("Satisfied, last 7 days (%)"),
            _("Answers, last 7 days"),
            _("Flagged as bursts"),
            _("Last response"),
            _("Status"),
        )
        rows = []
        for row in self.desks:
            latest = row.latest
            rate = latest.rolling_rate if latest else None
            shown = rate is not None and row.latest_rate_reportable
            rows.append(
                (
                    row.desk.name,
                    row.unit.name(lang),
                    row.total,
                    cell_points(rate, "rate") if shown else None,
                    latest.rolling_answered if latest else 0,
                    row.bursts,
                    row.last_response.date().isoformat() if row.last_response else None,
                    desk_status(row),
                )
            )
        return Table(
            f"kiosk-{self.unit.code}", _("Kiosk feedback"), headers, tuple(rows), frozenset({3})
        )


def desk_status(row: DeskRow) -> str:
    if row.stopped:
        return _("stopped sending")
    if row.last_response is None:
        return _("never sent")
    return _("sending")


def kiosk_monitor(user: User, unit_code: str | None, today: date | None = None) -> KioskMonitor:
    """Per desk in scope: daily volume, rolling 7-day satisfaction, bursts, silence.

    Two GROUP BY queries (desk x day over the window, and each desk's last response);
    no response row is loaded. The satisfaction rate is the share of the two happiest
    answers to the kiosk questionnaire's overall item, unweighted, without flagged
    answers, over the last seven days.
    """
    unit = focus_unit(user, unit_code)
    today = today or datetime.now(UTC).date()
    start = today - timedelta(days=MONITOR_DAYS - 1)
    window_start = start - timedelta(days=ROLLING_DAYS - 1)
    min_answers = int(current_app.config.get("KIOSK_MONITOR_MIN_ANSWERS", 10))
    desks = list(
        db.session.execute(
            select(Desk, Unit)
            .join(Unit, Unit.id == Desk.unit_id)
            .where(Unit.path.startswith(unit.path, autoescape=True))
            .order_by(Unit.path, Desk.code)
        )
    )
    item_ids, levels = _overall_items()
    in_scope = and_(
        Unit.path.startswith(unit.path, autoescape=True),
        Response.desk_id.is_not(None),
        Response.channel.in_([Channel.KIOSK, Channel.PHONE]),
    )
    day = func.date(Response.submitted_at).label("day")
    counted = and_(AnswerValue.value.is_not(None), Response.flagged.is_(False))
    satisfied = and_(counted, AnswerValue.value.in_(levels or [-1]))
    daily_query = (
        select(
            Response.desk_id,
            day,
            func.count(Response.id),
            func.sum(case((Response.flagged.is_(True), 1), else_=0)),
            func.sum(case((Response.flag_reason == "burst", 1), else_=0)),
            func.sum(case((satisfied, 1), else_=0)),
            func.sum(case((counted, 1), else_=0)),
        )
        .join(Unit, Unit.id == Response.unit_id)
        .outerjoin(
            AnswerValue,
            and_(AnswerValue.response_id == Response.id, AnswerValue.item_id.in_(item_ids or [-1])),
        )
        .where(
            in_scope,
            Response.submitted_at
            >= datetime.combine(window_start, datetime.min.time(), tzinfo=UTC),
        )
        .group_by(Response.desk_id, day)
    )
    daily: dict[int, dict[date, tuple[int, int, int, int, int]]] = defaultdict(dict)
    for desk_id, when, count, flagged, bursts, sat, answered in db.session.execute(daily_query):
        daily[desk_id][_as_date(when)] = (
            int(count),
            int(flagged or 0),
            int(bursts or 0),
            int(sat or 0),
            int(answered or 0),
        )
    last_query = (
        select(Response.desk_id, func.max(Response.submitted_at))
        .join(Unit, Unit.id == Response.unit_id)
        .where(in_scope)
        .group_by(Response.desk_id)
    )
    last = dict(db.session.execute(last_query).all())
    rows = []
    days = [start + timedelta(days=i) for i in range(MONITOR_DAYS)]
    for desk, desk_unit in desks:
        per_day = daily.get(desk.id, {})
        series = []
        for d in days:
            count, flagged, bursts, _sat, _ans = per_day.get(d, (0, 0, 0, 0, 0))
            window = [per_day.get(d - timedelta(days=k)) for k in range(ROLLING_DAYS)]
            sat = sum(w[3] for w in window if w)
            answered = sum(w[4] for w in window if w)
            series.append(DeskDay(d, count, flagged, bursts, sat, answered))
        seen = last.get(desk.id)
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        stopped = seen is not None and seen.date() <= today - timedelta(days=STOPPED_AFTER_DAYS)
        rows.append(DeskRow(desk, desk_unit, tuple(series), seen, stopped, min_answers))
    rows.sort(key=_monitor_order)
    return KioskMonitor(unit, tuple(scope_tops(user)), start, today, tuple(rows), min_answers)


def _monitor_order(row: DeskRow) -> tuple[int, tuple[int, str], str]:
    """Desks that stopped sending first (what a leader must act on), then those sending,
    then those that never sent; within each, by unit (as the dashboard lists units)
    and desk code."""
    status = 0 if row.stopped else (2 if row.last_response is None else 1)
    return status, unit_sort_key(row.unit), row.desk.code


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _overall_items() -> tuple[list[int], list[int]]:
    """Item ids of the kiosk questionnaire's overall item (every version) and the
    levels that count as satisfied (from the latest version)."""
    slug = current_app.config.get("KIOSK_QUESTIONNAIRE", "kiosk_quick")
    versions = list(
        db.session.scalars(
            select(Questionnaire).where(Questionnaire.slug == slug).order_by(Questionnaire.version)
        )
    )
    if not versions:
        return [], []
    definition = questionnaires.parsed(versions[-1]).index
    if definition is None or definition.overall.item is None:
        return [], []
    levels = list(definition.overall.satisfied_levels or definition.satisfied_levels)
    items = db.session.scalars(
        select(QuestionnaireItem.id).where(
            QuestionnaireItem.questionnaire_id.in_([v.id for v in versions]),
            QuestionnaireItem.code == definition.overall.item,
        )
    )
    return list(items), levels
