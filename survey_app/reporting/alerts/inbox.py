"""What a reader receives: the alerts they follow, acknowledgements and e-mail claims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from survey_app import audit
from survey_app.extensions import db
from survey_app.models import (
    Alert,
    AlertReceipt,
    AlertRule,
    Unit,
    User,
)
from survey_app.models._types import utcnow
from survey_app.reporting.alerts.following import following, readers

RECENT_DAYS = 90  # closed alerts listed in the notification centre


class AlertError(LookupError):
    """An alert that does not exist or is outside the user's scope (404)."""


def recipients(alert: Alert) -> list[User]:
    """Every active reader who follows the alert and may see its unit."""
    return [user for user in readers() if following(user).sees(alert)]


def _recent_seen(user: User) -> ColumnElement[bool]:
    """The alerts of the last :data:`RECENT_DAYS` that the user follows within their
    scope (over ``alerts`` joined with ``units``)."""
    return and_(Alert.opened_at >= utcnow() - timedelta(days=RECENT_DAYS), following(user).seen())


#: The order of the rules among alerts raised at the same moment (one run raises
#: many): the falls of an index first, then the units outside their funnel limits,
#: then what concerns a desk.
RULE_ORDER = (
    AlertRule.INDEX_DROP,
    AlertRule.FUNNEL,
    AlertRule.SILENT_DESK,
    AlertRule.RATE_ANOMALY,
    AlertRule.BURST,
)


def visible_alerts(user: User, *, open_only: bool = False) -> list[Alert]:
    """The alerts the user follows within their scope, newest first; those raised at
    the same moment by :data:`RULE_ORDER`, the largest fall first."""
    rule_rank = case({rule: rank for rank, rule in enumerate(RULE_ORDER)}, value=Alert.rule)
    query = (
        select(Alert)
        .join(Unit, Unit.id == Alert.unit_id)
        .options(contains_eager(Alert.unit))  # the join's unit, not one query per alert
        .where(_recent_seen(user))
        .order_by(
            Alert.opened_at.desc(),
            rule_rank,
            Alert.size.asc().nulls_last(),
            Alert.id.desc(),
        )
    )
    if open_only:
        query = query.where(Alert.closed_at.is_(None))
    return list(db.session.scalars(query))


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
    """How many of :func:`visible_alerts` the user has not acknowledged (the bell of
    every page: one count, whatever the number of alerts)."""
    acknowledged = exists().where(
        AlertReceipt.alert_id == Alert.id,
        AlertReceipt.user_id == user.id,
        AlertReceipt.acknowledged_at.is_not(None),
    )
    query = (
        select(func.count())
        .select_from(Alert)
        .join(Unit, Unit.id == Alert.unit_id)
        .where(_recent_seen(user), ~acknowledged)
    )
    return int(db.session.scalar(query) or 0)


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
