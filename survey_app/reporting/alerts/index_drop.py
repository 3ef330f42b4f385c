"""The ``index_drop`` rule: a significant fall of an index.

Continuous feedback: the last ``ALERT_WINDOW_DAYS`` whole days against the preceding
as many, every rate index of every followed unit. Field surveys: the overall index
between the last two closed waves of a questionnaire. All tests of one run form one
Holm family (:func:`analysis.alerts.drop_decisions`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import select

from analysis import alerts as stats
from analysis.indices import Difference, IndexValue, points
from survey_app.collection import scoring
from survey_app.collection.scoring import IndexRequestError
from survey_app.extensions import db
from survey_app.models import (
    AlertRule,
    Response,
    Unit,
    Wave,
    WaveKind,
    WaveStatus,
)
from survey_app.reporting.alerts.common import Finding, RunReport, local, start_of
from survey_app.reporting.alerts.following import Following, followed_units, min_change
from survey_app.reporting.comparisons import changes
from survey_app.reporting.dashboard import scope
from survey_app.reporting.dashboard.figures import definition_of, index_choices


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


def _figure(figure: IndexValue) -> dict[str, Any]:
    """The numbers of a window's or a wave's figure the alert keeps (JSON)."""
    return {name: getattr(figure, name) for name in ("value", "ci_low", "ci_high", "n", "n_eff")}


def _diff_details(diff: Difference) -> dict[str, Any]:
    """The difference the alert fired on, every field of it (JSON; read back by
    :func:`survey_app.reporting.alerts.wording.difference`)."""
    return asdict(diff)


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
            Response.submitted_at >= start_of(start),
            Response.submitted_at < start_of(end),
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
        local_days = [local(r[4]).date() for r in slug_rows]
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
                            "before": _figure(change.before),
                            "after": _figure(change.after),
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
            lines = changes.reportable_changes(pair_units, before, after)
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
                        "before": _figure(line.before),
                        "after": _figure(line.after),
                    },
                    f"unit:{line.unit.id}/waves:{before.code}>{after.code}/index:overall/rate",
                )
            )
    return tests


def index_drop_findings(
    followings: Sequence[Following], today: date, report: RunReport
) -> list[Finding]:
    units = followed_units(followings, AlertRule.INDEX_DROP)
    if not units:
        return []
    tests = _feedback_tests(units, today) + _field_tests(units, report)
    report.evaluated["index_drop"] = len(tests)
    alpha = float(current_app.config["ALERT_ALPHA"])
    minimum = min_change(followings)
    sizes = [points(t.diff.value, t.kind) for t in tests]
    adjusted, fired = stats.drop_decisions(
        sizes, [t.diff.p_value for t in tests], min_change=minimum, alpha=alpha
    )
    findings = []
    for test, size, p_adj, fire in zip(tests, sizes, adjusted, fired, strict=True):
        if not fire:
            continue
        details = dict(test.details)
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
