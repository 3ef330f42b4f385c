"""A run: every rule evaluated, the findings stored as episodes (:func:`run`).

A condition that holds and has no open episode opens one; one that still holds keeps
its episode open; an open episode whose condition no longer holds is closed, unless
its rule could not be evaluated this run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from survey_app.extensions import db
from survey_app.models import (
    Alert,
    AlertRule,
)
from survey_app.models._types import utcnow
from survey_app.reporting.alerts.common import Finding, RunReport, local
from survey_app.reporting.alerts.desks import burst_findings, desk_findings
from survey_app.reporting.alerts.following import following, readers
from survey_app.reporting.alerts.funnel import funnel_findings
from survey_app.reporting.alerts.index_drop import index_drop_findings


def evaluate(now: datetime, report: RunReport) -> list[Finding]:
    followings = [following(user) for user in readers()]
    today = local(now).date()
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
