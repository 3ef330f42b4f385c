"""Feedback periods: continuous kiosk and phone answers grouped into months or quarters.

A unit's *feedback series* says whether its periods are months or quarters
(:func:`set_feedback_series`, audited); the period wave is created the first time an
answer falls into it (:func:`ensure_feedback_period`), so no answer is ever stored
without a period. Without a series anywhere above the desk, a monthly series of the
top unit of the desk's hierarchy is created.
"""

from __future__ import annotations

import calendar
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from survey_app import audit
from survey_app.access import overlaps_scope
from survey_app.collection import questionnaires as questionnaire_service
from survey_app.collection.waves.errors import WaveError
from survey_app.collection.waves.lookups import find_unit
from survey_app.extensions import db
from survey_app.models import (
    FeedbackPeriod,
    FeedbackSeries,
    Questionnaire,
    Unit,
    User,
    Wave,
    WaveKind,
    WaveStatus,
)


def set_feedback_series(
    unit_code: str,
    questionnaire_slug: str,
    period: str,
    user: User | None = None,
) -> FeedbackSeries:
    """Group a unit's continuous feedback into months or quarters; audited.

    Periods that already exist keep their dates; the rule applies to periods created
    from now on.
    """
    problems = []
    if period not in {p.value for p in FeedbackPeriod}:
        problems.append(_("The period must be month or quarter."))
    unit = None
    try:
        unit = find_unit(unit_code, user)
    except WaveError as error:
        problems.extend(error.problems)
    if questionnaire_service.latest(questionnaire_slug) is None:
        problems.append(_("No questionnaire %(name)s is loaded.", name=questionnaire_slug))
    if problems or unit is None:
        raise WaveError(problems)
    series = db.session.scalar(
        select(FeedbackSeries).where(
            FeedbackSeries.unit_id == unit.id,
            FeedbackSeries.questionnaire_slug == questionnaire_slug,
        )
    )
    if series is None:
        series = FeedbackSeries(unit_id=unit.id, questionnaire_slug=questionnaire_slug)
        db.session.add(series)
    series.period = FeedbackPeriod(period)
    audit.record(
        "feedback.series",
        user=user,
        target=unit.code,
        details={"questionnaire": questionnaire_slug, "period": period},
    )
    db.session.commit()
    return series


def list_series(user: User | None = None) -> list[FeedbackSeries]:
    rows = db.session.scalars(select(FeedbackSeries).order_by(FeedbackSeries.id))
    return [row for row in rows if user is None or overlaps_scope(user, row.unit)]


def period_bounds(period: FeedbackPeriod, day: date) -> tuple[date, date, str]:
    """First and last day of the period containing ``day``, and its label (2026-12, 2026Q4)."""
    if period == FeedbackPeriod.QUARTER:
        quarter = (day.month - 1) // 3
        first = date(day.year, 3 * quarter + 1, 1)
        last_month = 3 * quarter + 3
        last = date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
        return first, last, f"{day.year}Q{quarter + 1}"
    first = date(day.year, day.month, 1)
    last = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    return first, last, f"{day.year}-{day.month:02d}"


def _series_for(unit: Unit, slug: str) -> FeedbackSeries:
    """The series of the nearest unit at or above ``unit``; a monthly one at the top if none."""
    ancestor_ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    found = db.session.execute(
        select(FeedbackSeries, func.length(Unit.path))
        .join(Unit, Unit.id == FeedbackSeries.unit_id)
        .where(
            FeedbackSeries.unit_id.in_(ancestor_ids or [unit.id]),
            FeedbackSeries.questionnaire_slug == slug,
        )
        .order_by(func.length(Unit.path).desc())
        .limit(1)
    ).first()
    if found is not None:
        return found[0]
    top = ancestor_ids[0] if ancestor_ids else unit.id
    series = FeedbackSeries(unit_id=top, questionnaire_slug=slug, period=FeedbackPeriod.MONTH)
    db.session.add(series)
    audit.record(
        "feedback.series",
        username=audit.SYSTEM_ACTOR,
        target=db.session.get(Unit, top).code,  # type: ignore[union-attr]
        details={"questionnaire": slug, "period": FeedbackPeriod.MONTH.value, "automatic": True},
    )
    db.session.flush()
    return series


def _period_names(series: FeedbackSeries, first: date, label: str) -> tuple[str, str]:
    unit = series.unit
    if series.period == FeedbackPeriod.QUARTER:
        quarter = label[-1]
        vi = f"Phản hồi thường xuyên, {unit.name_vi}, quý {quarter}/{first.year}"
        en = f"Continuous feedback, {unit.name_en}, Q{quarter} {first.year}"
    else:
        vi = f"Phản hồi thường xuyên, {unit.name_vi}, tháng {first.month}/{first.year}"
        en = f"Continuous feedback, {unit.name_en}, {first:%B %Y}"
    return vi[:200], en[:200]


def _open_period(unit: Unit, questionnaire: Questionnaire, day: date) -> int:
    series = _series_for(unit, questionnaire.slug)
    first, last, label = period_bounds(series.period, day)
    code = f"FB{series.id}-{questionnaire.id}-{label}"
    existing = db.session.scalar(select(Wave.id).where(Wave.code == code))
    if existing is None:
        name_vi, name_en = _period_names(series, first, label)
        wave = Wave(
            code=code,
            name_vi=name_vi,
            name_en=name_en,
            kind=WaveKind.CONTINUOUS_FEEDBACK,
            questionnaire_id=questionnaire.id,
            unit_id=series.unit_id,
            start_date=first,
            end_date=last,
            status=WaveStatus.OPEN,
            lonely_psu=series.lonely_psu,
            series_id=series.id,
        )
        db.session.add(wave)
        db.session.flush()
        existing = wave.id
    db.session.commit()
    return existing


def ensure_feedback_period(unit_id: int, questionnaire_id: int, day: date) -> int:
    """The id of the feedback period wave for an answer at ``unit_id`` on ``day``.

    Creates the series (monthly, at the top unit) and the period wave when they do
    not exist yet, and commits them at once so that every worker sees the same
    period; two workers creating the same period at once meet on the unique wave
    code, and the loser reads the winner's row.
    """
    unit = db.session.get(Unit, unit_id)
    questionnaire = db.session.get(Questionnaire, questionnaire_id)
    if unit is None or questionnaire is None:
        raise LookupError("unknown unit or questionnaire")
    for _attempt in range(3):
        try:
            return _open_period(unit, questionnaire, day)
        except IntegrityError:  # another worker created the series or the period first
            db.session.rollback()
    raise RuntimeError(f"could not create the feedback period for unit {unit_id} on {day}")
