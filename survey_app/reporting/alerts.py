"""Alerts for leaders: the rules, their episodes, who sees what.

``run()`` (what ``flask alerts run`` calls, e.g. every 15 minutes) evaluates every rule
on the stored responses and the figures service, then stores the result as episodes:

- a condition that holds and has no open episode opens one (``rule`` x ``subject`` x
  ``episode`` is unique in the database, and at most one episode per rule and subject
  is open, so a repeated or concurrent run can never store it twice);
- a condition that still holds keeps its episode open (``last_seen_at``);
- an open episode whose condition no longer holds is closed.

The statistics are in :mod:`analysis.alerts` (window change, Holm decisions, silence,
rate anomaly, power). Rules:

- ``index_drop``: continuous feedback, the last ``ALERT_WINDOW_DAYS`` whole days against
  the preceding as many (model-based variance: desks as strata, desk-days as clusters,
  unweighted because a rolling window crosses the period waves' weighting); field
  surveys, the overall index between the last two *closed* waves of a questionnaire
  (:func:`survey_app.reporting.dashboard.overview.latest_changes`). All tests of one run (every
  unit and index evaluated) form one Holm family; a fall fires when the adjusted p is
  below ``ALERT_ALPHA`` and it is at least the smallest minimum change any follower
  set (each leader then sees it only if it reaches their own minimum). A window with
  an effective n below ``MIN_EFFECTIVE_N`` is not tested (and not in the family).
- ``funnel``: a unit outside the 99.8% funnel limits of its parent's latest wave
  (:func:`survey_app.reporting.comparisons.ranking`, figures a leader may see).
- ``silent_desk``: see :mod:`analysis.alerts` (up to 8 weeks of the desk's own history
  before the silence, by weekday and hour; at least 2 weeks needed; chance of the
  silence < 0.001).
- ``burst``: a desk has responses flagged as a burst and not reviewed yet.
- ``rate_anomaly``: yesterday's count of a desk against the same weekday of the 8
  weeks before (two-sided p < 0.001, at least 3 weeks of history).

Only units and desks that some reader follows are evaluated.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from analysis import alerts as stats
from analysis.compare import funnel_limits
from analysis.indices import Difference
from survey_app import audit
from survey_app.access import READERS, can_see_unit
from survey_app.collection import scoring
from survey_app.collection.scoring import IndexRequestError
from survey_app.extensions import db
from survey_app.models import (
    Alert,
    AlertPreference,
    AlertReceipt,
    AlertRule,
    AlertSubscription,
    Channel,
    Desk,
    Response,
    Unit,
    User,
    Wave,
    WaveKind,
    WaveStatus,
)
from survey_app.models._types import utcnow
from survey_app.reporting import comparisons
from survey_app.reporting.dashboard import scope
from survey_app.reporting.dashboard.figures import definition_of, index_choices
from survey_app.reporting.dashboard.overview import latest_changes
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey

HISTORY_WEEKS = 8
# A desk's rhythm needs each weekday-hour seen at least twice; a weekday's usual count
# at least three times.
MIN_SILENCE_WEEKS = 2
MIN_RATE_WEEKS = 3
SILENCE_THRESHOLD = 0.001
RATE_THRESHOLD = 0.001
DEFAULT_MIN_CHANGE = 5.0
FEEDBACK_CHANNELS = (Channel.KIOSK, Channel.PHONE)  # what desks' own rhythm is learned from
RECENT_DAYS = 90  # closed alerts listed in the notification centre
# An e-mail address as one plain mailbox (no display name, list or header break).
ADDRESS = re.compile(r"[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,189}")


class AlertError(LookupError):
    """An alert that does not exist or is outside the user's scope (404)."""


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


# ----------------------------------------------------------------------------- following


@dataclass(frozen=True)
class Following:
    """What one reader follows: rule -> unit paths (each with everything below it)."""

    user: User
    min_change: float
    roots: dict[AlertRule, tuple[str, ...]]

    def follows(self, rule: AlertRule, unit: Unit) -> bool:
        if not can_see_unit(self.user, unit):
            return False
        return any(unit.path.startswith(path) for path in self.roots.get(rule, ()))

    def sees(self, alert: Alert) -> bool:
        if not self.follows(alert.rule, alert.unit):
            return False
        if alert.rule == AlertRule.INDEX_DROP and alert.size is not None:
            return abs(alert.size) + 1e-9 >= self.min_change
        return True


def preference(user: User) -> AlertPreference:
    """The user's settings (an unsaved default row when they never changed them)."""
    pref = db.session.get(AlertPreference, user.id)
    if pref is None:
        pref = AlertPreference(
            user_id=user.id,
            min_change=DEFAULT_MIN_CHANGE,
            email=True,
            digest=True,
            customised=False,
        )
    return pref


def _scope_paths(user: User) -> tuple[str, ...]:
    return tuple(unit.path for unit in scope.scope_tops(user))


def following(user: User) -> Following:
    pref = preference(user)
    if not pref.customised:
        roots = {rule: _scope_paths(user) for rule in AlertRule}
    else:
        chosen: dict[AlertRule, list[str]] = defaultdict(list)
        rows = db.session.scalars(
            select(AlertSubscription).where(AlertSubscription.user_id == user.id)
        )
        for row in rows:
            if can_see_unit(user, row.unit):
                chosen[row.rule].append(row.unit.path)
        roots = {rule: tuple(paths) for rule, paths in chosen.items()}
    min_change = pref.min_change if pref.min_change is not None else DEFAULT_MIN_CHANGE
    return Following(user, float(min_change), roots)


def readers() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_(list(READERS)))
            .order_by(User.id)
        )
    )


def _followed_units(followings: Sequence[Following], rule: AlertRule) -> list[Unit]:
    """Every unit some reader follows for ``rule`` (the roots and everything below)."""
    paths = sorted({p for f in followings for p in f.roots.get(rule, ())})
    # keep only the outermost paths
    roots: list[str] = []
    for path in paths:
        if not any(path.startswith(r) for r in roots):
            roots.append(path)
    units: dict[int, Unit] = {}
    for path in roots:
        for unit in db.session.scalars(
            select(Unit).where(Unit.path.startswith(path, autoescape=True))
        ):
            units[unit.id] = unit
    return sorted(units.values(), key=lambda u: u.path)


def _min_change(followings: Sequence[Following]) -> float:
    values = [f.min_change for f in followings if f.roots.get(AlertRule.INDEX_DROP)]
    return min(values) if values else DEFAULT_MIN_CHANGE


# ----------------------------------------------------------------------------- time


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh"))


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone())


def _start_of(day: date) -> datetime:
    """The UTC instant at which a local day starts."""
    return datetime.combine(day, time(0), tzinfo=_zone()).astimezone(UTC)


# ----------------------------------------------------------------------------- index drop


@dataclass(frozen=True)
class _Test:
    unit: Unit
    code: str
    kind: str
    diff: Difference
    details: dict[str, Any]
    subject: str


def _labels(wave: Wave, code: str) -> dict[str, str]:
    """The index's name in both languages, as the questionnaire file gives it."""
    definition = definition_of(wave)
    names = {lang: dict(index_choices(definition, lang)) for lang in ("vi", "en")}
    return {lang: names[lang].get(code, code) for lang in names}


def _figure(value: float, ci_low: float, ci_high: float, n: int, n_eff: float) -> dict[str, Any]:
    return {"value": value, "ci_low": ci_low, "ci_high": ci_high, "n": n, "n_eff": n_eff}


def _diff_details(diff: Difference) -> dict[str, Any]:
    return {
        "value": diff.value,
        "se": diff.se,
        "ci_low": diff.ci_low,
        "ci_high": diff.ci_high,
        "df": diff.df,
        "p_value": diff.p_value,
        "level": diff.level,
    }


def _feedback_tests(units: Sequence[Unit], today: date) -> list[_Test]:
    """Rolling-window tests of every rate index of every followed unit with feedback."""
    days = int(current_app.config["ALERT_WINDOW_DAYS"])
    min_n_eff = float(current_app.config["MIN_EFFECTIVE_N"])
    start, middle, end = today - timedelta(2 * days), today - timedelta(days), today
    query = (
        select(
            Response.id,
            Response.desk_id,
            Response.unit_id,
            Response.wave_id,
            Response.submitted_at,
            Unit.path,
        )
        .join(Wave, Wave.id == Response.wave_id)
        .join(Unit, Unit.id == Response.unit_id)
        .where(
            Wave.kind == WaveKind.CONTINUOUS_FEEDBACK,
            Response.flagged.is_(False),
            Response.submitted_at >= _start_of(start),
            Response.submitted_at < _start_of(end),
        )
        .order_by(Response.id)
    )
    rows = db.session.execute(query).all()
    if not rows:
        return []
    waves = {
        w.id: w for w in db.session.scalars(select(Wave).where(Wave.id.in_({r[3] for r in rows})))
    }
    by_slug: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_slug[waves[row[3]].questionnaire.slug].append(row)
    tests: list[_Test] = []
    for slug, slug_rows in sorted(by_slug.items()):
        slug_waves = sorted(
            {waves[r[3]].id: waves[r[3]] for r in slug_rows}.values(), key=lambda w: w.id
        )
        ids = np.array([r[0] for r in slug_rows], dtype=np.int64)
        formulas, values = scoring.respondent_values(slug_waves, ids)
        local_days = [_local(r[4]).date() for r in slug_rows]
        after = np.array([d >= middle for d in local_days])
        desks = np.array([r[1] if r[1] is not None else -r[2] for r in slug_rows])
        day_labels = np.array([d.isoformat() for d in local_days])
        paths = [r[5] for r in slug_rows]
        for unit in units:
            inside = np.array([p.startswith(unit.path) for p in paths])
            if not inside.any():
                continue
            windows = []
            for mask in (inside & ~after, inside & after):
                windows.append(stats.Window(values[mask], desks[mask], day_labels[mask]))
            if min(w.values.shape[0] for w in windows) < 2:
                continue
            for formula in formulas:
                if formula.kind != "rate":
                    continue
                change = stats.window_change(windows[0], windows[1], formula)
                if min(change.before.n_eff, change.after.n_eff) < min_n_eff or math.isnan(
                    change.difference.p_value
                ):
                    continue
                tests.append(
                    _Test(
                        unit,
                        formula.code,
                        formula.kind,
                        change.difference,
                        {
                            "source": "feedback",
                            "label": _labels(slug_waves[-1], formula.code),
                            "questionnaire": slug,
                            "before_window": [
                                start.isoformat(),
                                (middle - timedelta(1)).isoformat(),
                            ],
                            "after_window": [middle.isoformat(), (end - timedelta(1)).isoformat()],
                            "before": _figure(
                                change.before.value,
                                change.before.ci_low,
                                change.before.ci_high,
                                change.before.n,
                                change.before.n_eff,
                            ),
                            "after": _figure(
                                change.after.value,
                                change.after.ci_low,
                                change.after.ci_high,
                                change.after.n,
                                change.after.n_eff,
                            ),
                        },
                        f"unit:{unit.id}/feedback:{slug}/index:{formula.code}/{formula.kind}",
                    )
                )
    return tests


def _field_tests(units: Sequence[Unit], report: RunReport) -> list[_Test]:
    """The overall index between the last two closed field waves of each questionnaire."""
    pairs: dict[tuple[int, int], list[Unit]] = defaultdict(list)
    wave_by_id: dict[int, Wave] = {}
    for unit in units:
        closed = [
            info.wave
            for info in scope.waves_of(unit)
            if info.wave.kind == WaveKind.FIELD_SURVEY and info.wave.status == WaveStatus.CLOSED
        ]
        by_slug: dict[str, list[Wave]] = defaultdict(list)
        for wave in closed:
            by_slug[wave.questionnaire.slug].append(wave)
        for waves in by_slug.values():
            if len(waves) >= 2:
                before, after = waves[-2], waves[-1]
                wave_by_id[before.id], wave_by_id[after.id] = before, after
                pairs[(before.id, after.id)].append(unit)
    tests: list[_Test] = []
    for (before_id, after_id), pair_units in sorted(pairs.items()):
        before, after = wave_by_id[before_id], wave_by_id[after_id]
        try:
            lines = latest_changes(pair_units, before, after)
        except IndexRequestError as error:
            report.problems.append(f"index_drop {before.code}->{after.code}: {error}")
            report.unsure.add(AlertRule.INDEX_DROP)
            continue
        for line in lines:
            tests.append(
                _Test(
                    line.unit,
                    "overall",
                    "rate",
                    line.difference,
                    {
                        "source": "field",
                        "label": _labels(after, "overall"),
                        "before_wave": before.code,
                        "after_wave": after.code,
                    },
                    f"unit:{line.unit.id}/waves:{before.code}>{after.code}/index:overall/rate",
                )
            )
    return tests


def _field_figures(unit: Unit, before_code: str, after_code: str) -> dict[str, Any]:
    """Both waves' overall figures of a unit whose fall fired (for its page)."""
    waves = {
        w.code: w
        for w in db.session.scalars(select(Wave).where(Wave.code.in_([before_code, after_code])))
    }
    before, after = waves[before_code], waves[after_code]
    result = compute(
        [before, after], [unit], shared_psus=comparisons.waves_share_psus(before, after)
    )
    figures = {}
    for name, wave in (("before", before), ("after", after)):
        f = result.figure(DomainKey(unit.id, wave.id))
        figures[name] = _figure(f.value, f.ci_low, f.ci_high, f.n, f.n_eff)
    return figures


def index_drop_findings(
    followings: Sequence[Following], today: date, report: RunReport
) -> list[Finding]:
    units = _followed_units(followings, AlertRule.INDEX_DROP)
    if not units:
        return []
    tests = _feedback_tests(units, today) + _field_tests(units, report)
    report.evaluated["index_drop"] = len(tests)
    alpha = float(current_app.config["ALERT_ALPHA"])
    minimum = _min_change(followings)
    sizes = [stats.points(t.diff.value, t.kind) for t in tests]
    adjusted, fired = stats.drop_decisions(
        sizes, [t.diff.p_value for t in tests], min_change=minimum, alpha=alpha
    )
    findings = []
    for test, size, p_adj, fire in zip(tests, sizes, adjusted, fired, strict=True):
        if not fire:
            continue
        details = dict(test.details)
        if details["source"] == "field":
            details.update(_field_figures(test.unit, details["before_wave"], details["after_wave"]))
        details.update(
            code=test.code,
            kind=test.kind,
            difference=_diff_details(test.diff),
            p_adjusted=float(p_adj),
            family=len(tests),
            alpha=alpha,
            min_change=minimum,
        )
        findings.append(
            Finding(AlertRule.INDEX_DROP, test.subject, test.unit.id, None, size, details)
        )
    return findings


# ----------------------------------------------------------------------------- funnel


def funnel_findings(followings: Sequence[Following], report: RunReport) -> list[Finding]:
    findings: list[Finding] = []
    parents = [u for u in _followed_units(followings, AlertRule.FUNNEL) if u.children]
    checked = 0
    for parent in parents:
        infos = scope.waves_of(parent)
        for kind in (WaveKind.FIELD_SURVEY, WaveKind.CONTINUOUS_FEEDBACK):
            series = scope.series_of(infos, kind)
            if not series:
                continue
            wave = series[-1]
            # as the ranking page: only children with responses in the wave are ranked
            children = scope.with_data(scope.children(parent), wave)
            try:
                ranking = comparisons.ranking(children, wave, parent, reportable_only=True)
            except comparisons.TooFewToRank:
                continue
            except IndexRequestError as error:
                report.problems.append(f"funnel {parent.code} {wave.code}: {error}")
                report.unsure.add(AlertRule.FUNNEL)
                continue
            target = ranking.overall.value
            if not 0 < target < 1:
                continue
            for row in ranking.rows:
                checked += 1
                limits = funnel_limits(target, [row.figure.n_eff])
                low, high = float(limits.lower998[0]), float(limits.upper998[0])
                value = row.figure.value
                if low <= value <= high:
                    continue
                findings.append(
                    Finding(
                        AlertRule.FUNNEL,
                        f"unit:{row.unit.id}/in:{parent.id}/{kind.value}",
                        row.unit.id,
                        None,
                        (value - target) * 100,
                        {
                            "parent": parent.code,
                            "wave": wave.code,
                            "value": value,
                            "ci_low": row.figure.ci_low,
                            "ci_high": row.figure.ci_high,
                            "n_eff": row.figure.n_eff,
                            "target": target,
                            "lower998": low,
                            "upper998": high,
                            "side": "below" if value < low else "above",
                        },
                    )
                )
    report.evaluated["funnel"] = checked
    return findings


# ----------------------------------------------------------------------------- desks


def _followed_desks(followings: Sequence[Following], rule: AlertRule) -> list[Desk]:
    unit_ids = [u.id for u in _followed_units(followings, rule)]
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
        times[desk_id].append(_local(moment))
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
    return {d: _local(a) for d, a, _b in rows}, {d: _local(b) for d, _a, b in rows}


def desk_findings(
    followings: Sequence[Following], now: datetime, report: RunReport
) -> list[Finding]:
    """Silent desks and rate anomalies, each from the desk's own last 8 weeks."""
    local_now = _local(now)
    today = local_now.date()
    findings: list[Finding] = []
    silent_desks = _followed_desks(followings, AlertRule.SILENT_DESK)
    rate_desks = _followed_desks(followings, AlertRule.RATE_ANOMALY)
    ids = sorted({d.id for d in silent_desks} | {d.id for d in rate_desks})
    first, last = _first_and_last(ids)
    since = _start_of(today - timedelta(weeks=HISTORY_WEEKS, days=1))
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

    units = {u.id for u in _followed_units(followings, AlertRule.BURST)}
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
                    "first": _local(first).isoformat(),
                },
            )
        )
    return findings


# ----------------------------------------------------------------------------- storing


def evaluate(now: datetime, report: RunReport) -> list[Finding]:
    followings = [following(user) for user in readers()]
    today = _local(now).date()
    return [
        *index_drop_findings(followings, today, report),
        *funnel_findings(followings, report),
        *desk_findings(followings, now, report),
        *burst_findings(followings, report),
    ]


def store(findings: Sequence[Finding], now: datetime, report: RunReport) -> None:
    """Open, keep or close episodes; the database refuses a duplicate episode."""
    holding: dict[AlertRule, set[str]] = defaultdict(set)
    for finding in findings:
        holding[finding.rule].add(finding.subject)
        current = db.session.scalar(
            select(Alert).where(
                Alert.rule == finding.rule,
                Alert.subject == finding.subject,
                Alert.closed_at.is_(None),
            )
        )
        if current is not None:
            current.last_seen_at = now
            report.kept += 1
            continue
        episodes = db.session.scalar(
            select(func.coalesce(func.max(Alert.episode), 0)).where(
                Alert.rule == finding.rule, Alert.subject == finding.subject
            )
        )
        alert = Alert(
            rule=finding.rule,
            subject=finding.subject,
            episode=int(episodes or 0) + 1,
            unit_id=finding.unit_id,
            desk_id=finding.desk_id,
            size=finding.size,
            opened_at=now,
            last_seen_at=now,
            details=finding.details,
        )
        try:
            with db.session.begin_nested():
                db.session.add(alert)
        except IntegrityError:
            # Another run stored this episode first (or holds it open): nothing to do.
            report.kept += 1
            continue
        report.opened.append(alert)
    for rule in AlertRule:
        if rule in report.unsure:
            continue
        condition = [Alert.rule == rule, Alert.closed_at.is_(None)]
        if holding[rule]:
            condition.append(Alert.subject.not_in(sorted(holding[rule])))
        result = db.session.execute(
            update(Alert)
            .where(*condition)
            .values(closed_at=now)
            .execution_options(synchronize_session=False)
        )
        report.closed += result.rowcount or 0
    db.session.commit()


def run(now: datetime | None = None) -> RunReport:
    """Evaluate every rule and store the episodes (idempotent)."""
    now = now or utcnow()
    report = RunReport()
    findings = evaluate(now, report)
    store(findings, now, report)
    return report


# ----------------------------------------------------------------------------- reading


def recipients(alert: Alert) -> list[User]:
    """Every active reader who follows the alert and may see its unit."""
    return [user for user in readers() if following(user).sees(alert)]


def visible_alerts(user: User, *, open_only: bool = False) -> list[Alert]:
    """The alerts the user follows within their scope, newest first."""
    mine = following(user)
    query = (
        select(Alert)
        .join(Unit, Unit.id == Alert.unit_id)
        .where(Alert.opened_at >= utcnow() - timedelta(days=RECENT_DAYS))
        .order_by(Alert.opened_at.desc(), Alert.id.desc())
    )
    if open_only:
        query = query.where(Alert.closed_at.is_(None))
    paths = {p for roots in mine.roots.values() for p in roots}
    if not paths:
        return []
    return [alert for alert in db.session.scalars(query) if mine.sees(alert)]


def acknowledged_ids(user: User, alerts: Sequence[Alert]) -> set[int]:
    if not alerts:
        return set()
    query = select(AlertReceipt.alert_id).where(
        AlertReceipt.user_id == user.id,
        AlertReceipt.acknowledged_at.is_not(None),
        AlertReceipt.alert_id.in_([a.id for a in alerts]),
    )
    return set(db.session.scalars(query))


def unread_count(user: User) -> int:
    alerts = visible_alerts(user)
    return len(alerts) - len(acknowledged_ids(user, alerts))


def get(user: User, alert_id: int) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None or not following(user).sees(alert):
        raise AlertError(alert_id)
    return alert


def _receipt(alert: Alert, user: User) -> AlertReceipt:
    receipt = db.session.scalar(
        select(AlertReceipt).where(
            AlertReceipt.alert_id == alert.id, AlertReceipt.user_id == user.id
        )
    )
    if receipt is None:
        receipt = AlertReceipt(alert_id=alert.id, user_id=user.id)
        db.session.add(receipt)
    return receipt


def acknowledge(user: User, alert_id: int) -> Alert:
    """Mark an alert acknowledged by the user (audited); acknowledging twice is harmless."""
    alert = get(user, alert_id)
    receipt = _receipt(alert, user)
    if receipt.acknowledged_at is None:
        receipt.acknowledged_at = utcnow()
        audit.record(
            "alert.acknowledge",
            user=user,
            target=f"alert:{alert.id}",
            details={"rule": alert.rule.value, "subject": alert.subject, "episode": alert.episode},
        )
    db.session.commit()
    return alert


def claim_email(alert: Alert, user: User) -> bool:
    """Record that the alert is e-mailed to the user; False if it already was.

    The receipt is unique per alert and user, so two runs racing never both send.
    """
    receipt = _receipt(alert, user)
    if receipt.emailed_at is not None:
        return False
    receipt.emailed_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def release_email(alert: Alert, user: User) -> None:
    """Undo :func:`claim_email` after the SMTP server refused the message."""
    receipt = _receipt(alert, user)
    receipt.emailed_at = None
    db.session.commit()


# ----------------------------------------------------------------------------- settings


class SettingsError(ValueError):
    """Settings that cannot be saved (a unit outside the scope, a bad minimum)."""


def save_settings(
    user: User,
    *,
    min_change: float,
    email: bool,
    digest: bool,
    address: str | None,
    follow_all: bool,
    subscriptions: Iterable[tuple[str, str]],
) -> None:
    """Store the user's alert settings; every unit must lie in their scope."""
    if math.isnan(min_change) or not 0 <= min_change <= 100:
        raise SettingsError("min_change")
    address = (address or "").strip()
    if address and not ADDRESS.fullmatch(address):
        raise SettingsError("address")
    pref = db.session.get(AlertPreference, user.id)
    if pref is None:
        pref = AlertPreference(user_id=user.id)
        db.session.add(pref)
    pref.min_change = float(min_change)
    pref.email = email
    pref.digest = digest
    pref.address = address or None
    pref.customised = not follow_all
    pref.updated_at = utcnow()
    wanted: set[tuple[AlertRule, int]] = set()
    for rule_name, unit_code in subscriptions:
        try:
            rule = AlertRule(rule_name)
        except ValueError:
            raise SettingsError(rule_name) from None
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None or not can_see_unit(user, unit):
            raise SettingsError(unit_code)
        wanted.add((rule, unit.id))
    existing = list(
        db.session.scalars(select(AlertSubscription).where(AlertSubscription.user_id == user.id))
    )
    for row in existing:
        if (row.rule, row.unit_id) not in wanted:
            db.session.delete(row)
    have = {(row.rule, row.unit_id) for row in existing}
    for rule, unit_id in sorted(wanted - have):
        db.session.add(AlertSubscription(user_id=user.id, rule=rule, unit_id=unit_id))
    audit.record(
        "alert.settings",
        user=user,
        details={
            "min_change": pref.min_change,
            "email": email,
            "digest": digest,
            "follow_all": follow_all,
            "subscriptions": len(wanted),
        },
    )
    db.session.commit()


def subscription_pairs(user: User) -> set[tuple[str, str]]:
    rows = db.session.scalars(select(AlertSubscription).where(AlertSubscription.user_id == user.id))
    return {(row.rule.value, row.unit.code) for row in rows}
