"""Does the index-drop rule respect uncertainty? Simulated continuous feedback.

Set-up, stated: 20 units watched, each with 2 desks and 80 responses a day in all (40
per desk; a district's one-stop desks at a kiosk response rate of about a third), a
satisfaction rate of 75%, rolling windows of 14 days (the default
``ALERT_WINDOW_DAYS``), Holm's adjustment across the 20 units at alpha = 0.05 and a
minimum change of 5 points: exactly what ``survey_app.reporting.alerts`` runs, through
the same functions (:func:`analysis.alerts.window_change`, :func:`drop_decisions`).

1. No true change (with desk-day random effects, sd 0.15 on the logit scale, which
   the model-based variance must absorb): the share of evaluations raising *any*
   false alert stays at or below the nominal 5% (family-wise), within a one-sided 99%
   binomial margin for the number of simulated evaluations. Without the adjustment
   the same data raise a false alert in far more evaluations (the test can fail).
2. A true fall of 10 points in one unit (the 19 others unchanged): the power
   calculation (:func:`analysis.alerts.days_to_detect`: binomial variance plus the
   spread between desk-days of a window that straddles the fall, Holm's first step
   alpha/20 on Student's t with the window's 26 df, noncentral t, the 5-point minimum)
   predicts 80% power 13 days after the fall begins and 50% power after 10 days; in
   the simulation the alert has fired by then in at least 80% (50%) of the runs,
   within the same binomial margin (measured: 96% and 58%).

All random draws come from one seeded generator, so the test gives the same result on
every run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.alerts import Window, days_to_detect, drop_decisions, window_change
from analysis.indices import AspectSpec, IndexFormula, ItemColumns, build_formulas, points

UNITS = 20
DESKS = 2
PER_DESK_DAY = 40
WINDOW = 14
BASELINE = 0.75
DROP = 0.10
MIN_CHANGE = 5.0
ALPHA = 0.05


def overall_rate() -> IndexFormula:
    formulas = build_formulas([AspectSpec("a", ("q1",))], ItemColumns(("q1",)))
    return next(f for f in formulas if f.code == "overall" and f.kind == "rate")


def simulate_window(rng: np.random.Generator, rates: np.ndarray, day_sd: float = 0.0) -> Window:
    """One window of one unit; ``rates[day]`` is the true rate of each day."""
    days = np.repeat(np.arange(WINDOW), PER_DESK_DAY)
    desk = np.repeat(np.arange(DESKS), days.size)
    day = np.tile(days, DESKS)
    logit = np.log(rates[day] / (1 - rates[day]))
    if day_sd:
        logit = logit + rng.normal(0, day_sd, size=(DESKS, WINDOW))[desk, day]
    satisfied = rng.random(day.size) < 1 / (1 + np.exp(-logit))
    values = np.column_stack([satisfied, np.ones(day.size), satisfied * 100.0])
    return Window(values, desk, day)


def evaluate(
    rng: np.random.Generator, formula: IndexFormula, dropped_days: int, day_sd: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One run over every unit; unit 0 fell ``dropped_days`` days ago (0: no fall).

    Returns the changes in points, the raw p-values and whether each fired.
    """
    changes, p_values = [], []
    for unit in range(UNITS):
        before = np.full(WINDOW, BASELINE)
        after = np.full(WINDOW, BASELINE)
        if unit == 0 and dropped_days:
            after[WINDOW - min(dropped_days, WINDOW) :] = BASELINE - DROP
        change = window_change(
            simulate_window(rng, before, day_sd), simulate_window(rng, after, day_sd), formula
        )
        changes.append(points(change.difference.value, "rate"))
        p_values.append(change.difference.p_value)
    _adjusted, fired = drop_decisions(changes, p_values, min_change=MIN_CHANGE, alpha=ALPHA)
    return np.array(changes), np.array(p_values), fired


def margin(rate: float, runs: int) -> float:
    """One-sided 99% binomial margin of an observed share over ``runs`` runs."""
    return 2.326 * math.sqrt(rate * (1 - rate) / runs)


def test_no_true_change_keeps_false_alerts_at_the_nominal_level() -> None:
    rng = np.random.default_rng(20261202)
    formula = overall_rate()
    runs = 150
    any_alert = any_unadjusted = 0
    raw_rejections = 0
    for _ in range(runs):
        changes, p_values, fired = evaluate(rng, formula, 0, day_sd=0.15)
        any_alert += bool(fired.any())
        unadjusted = (p_values < ALPHA) & (changes <= -MIN_CHANGE)
        any_unadjusted += bool(unadjusted.any())
        raw_rejections += int((p_values < ALPHA).sum())
    family_rate = any_alert / runs
    assert family_rate <= ALPHA + margin(ALPHA, runs), family_rate
    # each single test is valid (the model-based variance absorbs the day effects) ...
    single_rate = raw_rejections / (runs * UNITS)
    assert single_rate <= ALPHA + margin(ALPHA, runs * UNITS), single_rate
    # ... but without Holm, watching 20 units raises false alerts far more often
    assert any_unadjusted / runs > 2 * ALPHA


@pytest.mark.parametrize("power", [0.5, 0.8])
def test_a_true_ten_point_fall_fires_within_the_predicted_days(power: float) -> None:
    predicted = days_to_detect(
        power=power,
        baseline=BASELINE,
        drop=DROP,
        per_day=DESKS * PER_DESK_DAY,
        window_days=WINDOW,
        family=UNITS,
        min_change=MIN_CHANGE,
        alpha=ALPHA,
        df=DESKS * WINDOW - DESKS,
        cluster_size=PER_DESK_DAY,
    )
    assert predicted == {0.5: 10, 0.8: 13}[power]  # the stated prediction
    rng = np.random.default_rng(int(power * 1000))
    formula = overall_rate()
    runs = 100
    fired_by = 0
    false_elsewhere = 0
    for _ in range(runs):
        _changes, _p, fired = evaluate(rng, formula, predicted, day_sd=0.0)
        # evaluated on the predicted day: fired then means fired within the predicted days
        fired_by += bool(fired[0])
        false_elsewhere += bool(fired[1:].any())
    assert fired_by / runs >= power - margin(power, runs), fired_by / runs
    assert false_elsewhere / runs <= ALPHA + margin(ALPHA, runs)


def test_silence_is_measured_against_the_desks_own_weekday_hours() -> None:
    """Hand-computed: over 2 weeks a desk answered on Mondays at 9h and 10h in both
    weeks and at 11h in one: p = (2 + .5)/3, (2 + .5)/3 and (1 + .5)/3; other hours
    .5/3. Silent from Monday 9:20 to 12:10, the whole hours 10h and 11h count."""
    from datetime import datetime, timedelta

    from analysis.alerts import hourly_activity, rate_anomaly, silence_probability

    monday = datetime(2026, 11, 16)  # a Monday
    seen = [monday + timedelta(hours=9, minutes=5), monday + timedelta(hours=10, minutes=40)]
    seen += [t + timedelta(weeks=1) for t in seen] + [monday + timedelta(hours=11)]
    end = monday + timedelta(weeks=2)
    activity = hourly_activity(seen, end, weeks=2)
    assert activity[0, 9] == activity[0, 10] == pytest.approx(2.5 / 3)
    assert activity[0, 11] == pytest.approx(1.5 / 3) and activity[3, 3] == pytest.approx(0.5 / 3)
    last, now = end + timedelta(hours=9, minutes=20), end + timedelta(hours=12, minutes=10)
    chance = silence_probability(activity, last, now)
    assert chance == pytest.approx((1 - 2.5 / 3) * (1 - 1.5 / 3))
    # a night when the desk never answers adds almost nothing: (1 - 0.5/3) an hour
    night = silence_probability(activity, end + timedelta(hours=1), end + timedelta(hours=4))
    assert night == pytest.approx((1 - 0.5 / 3) ** 2)
    # a day's count: z with the variance allowing overdispersion (var 5.5 > mean 2)
    check = rate_anomaly(12, [0, 4, 1, 5, 0])
    assert check.mean == pytest.approx(2.0) and check.sd == pytest.approx(math.sqrt(5.5))
    assert check.z == pytest.approx(10 / math.sqrt(5.5))
    # underdispersed history: the Poisson variance (the mean) is the floor
    assert rate_anomaly(12, [2, 2, 2]).sd == pytest.approx(math.sqrt(2.0))
