"""Installation-wide state kept in the database: settings and shared rate-limit counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.extensions import db
from survey_app.models._types import UTCDateTime, utcnow


class AppSetting(db.Model):
    """A named value that belongs to the data, not to one machine.

    Holds, e.g., the fingerprint of the dossier hash key, so a restore on a machine
    without the right key is noticed instead of silently accepting used dossiers.
    """

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(400))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RateLimitCounter(db.Model):
    """A fixed-window rate-limit counter shared by every worker and server."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
