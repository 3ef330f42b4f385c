"""The desk rules, each from the desk's own history: ``silent_desk`` (silent for
longer than its rhythm makes likely), ``rate_anomaly`` (yesterday's count against the
same weekday of the weeks before) and ``burst`` (burst-flagged responses not reviewed
yet)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from analysis import alerts as stats
from survey_app.extensions import db
from survey_app.models import (
    AlertRule,
    Channel,
    Desk,
    Response,
)
from survey_app.reporting.alerts.common import Finding, RunReport, local, start_of
from survey_app.reporting.alerts.following import Following, followed_units

HISTORY_WEEKS = 8
# A desk's rhythm needs each weekday-hour seen at least twice; a weekday's usual count
# at least three times.
MIN_SILENCE_WEEKS = 2
MIN_RATE_WEEKS = 3
SILENCE_THRESHOLD = 0.001
RATE_THRESHOLD = 0.001
FEEDBACK_CHANNELS = (Channel.KIOSK, Channel.PHONE)  # what desks' own rhythm is learned from


def _followed_desks(followings: Sequence[Following], rule: AlertRule) -> list[Desk]:
    unit_ids = [u.id for u in followed_units(followings, rule)]
    if not unit_ids:
        return []
    return list(
        db.session.scalars(
            select(Desk).where(Desk.active.is_(True), Desk.unit_id.in_(unit_ids)).order_by(Desk.id)
        )
    )


def _desk_history(
    desk_ids: Iterable[int], since: datetime, until: datetime
) -> dict[int, list[datetime]]:
    times: dict[int, list[datetime]] = defaultdict(list)
    ids = list(desk_ids)
    if not ids:
        return times
    query = select(Response.desk_id, Response.submitted_at).where(
        Response.desk_id.in_(ids),
        Response.channel.in_(FEEDBACK_CHANNELS),
        Response.submitted_at >= since,
        Response.submitted_at < until,
    )
    for desk_id, moment in db.session.execute(query):
        times[desk_id].append(local(moment))
    return times


def _first_and_last(desk_ids: Sequence[int]) -> tuple[dict[int, datetime], dict[int, datetime]]:
    """Each desk's first and last feedback response (local time)."""
    if not desk_ids:
        return {}, {}
    query = (
        select(Response.desk_id, func.min(Response.submitted_at), func.max(Response.submitted_at))
        .where(Response.desk_id.in_(list(desk_ids)), Response.channel.in_(FEEDBACK_CHANNELS))
        .group_by(Response.desk_id)
    )
    rows = db.session.execute(query).all()
    return {d: local(a) for d, a, _b in rows}, {d: local(b) for d, _a, b in rows}


def desk_findings(
    followings: Sequence[Following], now: datetime, report: RunReport
) -> list[Finding]:
    """Silent desks and rate anomalies, each from the desk's own last 8 weeks."""
    local_now = local(now)
    today = local_now.date()
    findings: list[Finding] = []
    silent_desks = _followed_desks(followings, AlertRule.SILENT_DESK)
    rate_desks = _followed_desks(followings, AlertRule.RATE_ANOMALY)
    ids = sorted({d.id for d in silent_desks} | {d.id for d in rate_desks})
    first, last = _first_and_last(ids)
    since = start_of(today - timedelta(weeks=HISTORY_WEEKS, days=1))
    history = _desk_history(ids, since, now)
    checked_silent = checked_rate = 0
    for desk in silent_desks:
        if desk.id not in first:
            continue
        # the desk's rhythm in the weeks before its silence began
        known = last[desk.id] - first[desk.id]
        if known < timedelta(weeks=MIN_SILENCE_WEEKS):
            continue
        checked_silent += 1
        weeks = min(HISTORY_WEEKS, int(known // timedelta(weeks=1)))
        end = last[desk.id] + timedelta(seconds=1)
        before = _desk_history([desk.id], end - timedelta(weeks=weeks), end)[desk.id]
        activity = stats.hourly_activity(before, end, weeks)
        chance = stats.silence_probability(activity, last[desk.id], local_now)
        if chance < SILENCE_THRESHOLD:
            hours = (local_now - last[desk.id]) / timedelta(hours=1)
            findings.append(
                Finding(
                    AlertRule.SILENT_DESK,
                    f"desk:{desk.id}",
                    desk.unit_id,
                    desk.id,
                    None,
                    {
                        "desk": desk.name,
                        "last": last[desk.id].isoformat(),
                        "hours": round(hours, 1),
                        "chance": chance,
                        "weeks": weeks,
                    },
                )
            )
    yesterday = today - timedelta(days=1)
    for desk in rate_desks:
        if desk.id not in first or (yesterday - first[desk.id].date()).days < 7 * MIN_RATE_WEEKS:
            continue
        checked_rate += 1
        counts: dict[date, int] = defaultdict(int)
        for moment in history[desk.id]:
            counts[moment.date()] += 1
        past = [
            counts[yesterday - timedelta(weeks=k)]
            for k in range(1, HISTORY_WEEKS + 1)
            if yesterday - timedelta(weeks=k) >= first[desk.id].date()
        ]
        check = stats.rate_anomaly(counts[yesterday], past)
        if check.p_value < RATE_THRESHOLD:
            findings.append(
                Finding(
                    AlertRule.RATE_ANOMALY,
                    f"desk:{desk.id}",
                    desk.unit_id,
                    desk.id,
                    None,
                    {
                        "desk": desk.name,
                        "day": yesterday.isoformat(),
                        "count": check.count,
                        "mean": check.mean,
                        "sd": check.sd,
                        "p_value": check.p_value,
                        "weeks": len(past),
                    },
                )
            )
    report.evaluated["silent_desk"] = checked_silent
    report.evaluated["rate_anomaly"] = checked_rate
    return findings


def burst_findings(followings: Sequence[Following], report: RunReport) -> list[Finding]:
    """Desks with burst-flagged responses not reviewed yet (reporting/bursts.py)."""
    from survey_app.reporting.bursts import BURST

    units = {u.id for u in followed_units(followings, AlertRule.BURST)}
    query = (
        select(Response.desk_id, Response.unit_id, func.count(), func.min(Response.submitted_at))
        .where(Response.flagged.is_(True), Response.flag_reason == BURST)
        .group_by(Response.desk_id, Response.unit_id)
    )
    grouped: dict[tuple[int | None, int], list[Any]] = {}
    for desk_id, unit_id, count, first in db.session.execute(query):
        if unit_id in units:
            grouped[(desk_id, unit_id)] = [count, first]
    report.evaluated["burst"] = len(grouped)
    findings = []
    for (desk_id, unit_id), (count, first) in sorted(grouped.items(), key=lambda kv: str(kv[0])):
        subject = f"desk:{desk_id}" if desk_id is not None else f"unit:{unit_id}/no-desk"
        desk = db.session.get(Desk, desk_id) if desk_id is not None else None
        findings.append(
            Finding(
                AlertRule.BURST,
                subject,
                unit_id,
                desk_id,
                None,
                {
                    "desk": desk.name if desk else None,
                    "responses": int(count),
                    "first": local(first).isoformat(),
                },
            )
        )
    return findings
