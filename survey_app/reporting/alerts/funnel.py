"""The ``funnel`` rule: a unit outside the 99.8% funnel limits of its parent's
latest wave (the ranking a leader sees)."""

from __future__ import annotations

from collections.abc import Sequence

from analysis.compare import funnel_limits
from survey_app.collection.scoring import IndexRequestError
from survey_app.models import (
    AlertRule,
    WaveKind,
)
from survey_app.reporting.alerts.common import Finding, RunReport
from survey_app.reporting.alerts.following import Following, followed_units
from survey_app.reporting.comparisons import rankings
from survey_app.reporting.dashboard import scope


def funnel_findings(followings: Sequence[Following], report: RunReport) -> list[Finding]:
    findings: list[Finding] = []
    parents = [u for u in followed_units(followings, AlertRule.FUNNEL) if u.children]
    checked = 0
    for parent in parents:
        infos = scope.waves_of(parent)
        for kind in (WaveKind.FIELD_SURVEY, WaveKind.CONTINUOUS_FEEDBACK):
            series = scope.series_of(infos, kind)
            if not series:
                continue
            wave = series[-1]
            try:
                ranking = rankings.ranking(
                    scope.children(parent), wave, parent, reportable_only=True
                )
            except rankings.TooFewToRank:
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
