"""Alerts for leaders: episodes raised by the rules, what each leader follows, receipts.

An alert is one *episode* of a condition on one subject (a unit's index, a unit on the
funnel plot, a desk): raised when the condition starts, closed when it ends. The
database enforces that an episode is stored once (``rule``, ``subject``, ``episode``
unique) and that a subject has at most one open episode per rule (a partial unique
index), so repeated or concurrent evaluation can never duplicate an alert.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.extensions import db
from survey_app.models._types import (
    BigId,
    JSONType,
    UTCDateTime,
    enum_column,
    partial_index,
    utcnow,
)
from survey_app.models.accounts import User
from survey_app.models.units import Desk, Unit


class AlertRule(enum.StrEnum):
    INDEX_DROP = "index_drop"  # an index fell significantly against the previous period
    FUNNEL = "funnel"  # a unit outside its funnel-plot limits
    SILENT_DESK = "silent_desk"  # a desk silent longer than it usually goes
    BURST = "burst"  # the burst rule flagged identical answers at a desk
    RATE_ANOMALY = "rate_anomaly"  # a desk's daily count far from its own history


class Alert(db.Model):
    """One episode of a rule's condition on one subject."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule", "subject", "episode"),
        partial_index(
            "uq_alerts_open_subject", "rule", "subject", where="closed_at IS NULL", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule: Mapped[AlertRule] = mapped_column(enum_column(AlertRule, "alert_rule"))
    # What the condition is about, e.g. "unit:12/index:overall/measure:rate" or "desk:4".
    subject: Mapped[str] = mapped_column(String(200))
    episode: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desks.id"))
    # The size of the change in points (negative: a fall), for the leader's minimum.
    size: Mapped[float | None] = mapped_column(Float)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The figures that raised it (value, interval, p, adjusted p, link parameters).
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    unit: Mapped[Unit] = relationship()
    desk: Mapped[Desk | None] = relationship()


class AlertPreference(db.Model):
    """A leader's alert settings. Without a row the defaults apply (everything in scope)."""

    __tablename__ = "alert_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Where alert e-mails and the weekly digest go (accounts have no e-mail otherwise).
    address: Mapped[str | None] = mapped_column(String(254))
    # Smallest fall (in points of the 0-100 index) worth an alert.
    min_change: Mapped[float] = mapped_column(Float, default=5.0, server_default="5")
    email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    digest: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # False: follow every rule in the whole scope; True: only the subscriptions.
    customised: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()


class AlertSubscription(db.Model):
    """A leader follows one rule for one unit (and everything below it)."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "rule", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rule: Mapped[AlertRule] = mapped_column(enum_column(AlertRule, "subscription_rule"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))

    unit: Mapped[Unit] = relationship()


class AlertReceipt(db.Model):
    """What one leader did with one alert: read, acknowledged, e-mailed."""

    __tablename__ = "alert_receipts"
    __table_args__ = (UniqueConstraint("alert_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DigestLog(db.Model):
    """A weekly digest sent to one leader; unique per leader and ISO week."""

    __tablename__ = "digest_log"
    __table_args__ = (UniqueConstraint("user_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    week: Mapped[str] = mapped_column(String(10))  # ISO week, e.g. "2026-W49"
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
