"""Users with a role and a unit scope, and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.extensions import db
from survey_app.models._types import BigId, JSONType, UTCDateTime, enum_column, utcnow
from survey_app.models.units import Unit


class Role(enum.StrEnum):
    ADMIN = "admin"  # users, units, desks, questionnaires
    ANALYST = "analyst"  # waves, weights, import and export
    LEADER = "leader"  # reads indices within their scope
    KIOSK = "kiosk"  # a kiosk device: submits only


class User(UserMixin, db.Model):
    """An account. ``unit_id`` is the scope: the unit and everything below it."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Raised on logout, password change or reset and deactivation: a session cookie
    # carries the version it was issued with and is refused once it no longer matches.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    unit: Mapped[Unit | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: what the session (and remember cookie) holds
        """``"<id>:<session_version>"``: a session ends when the version is raised."""
        return f"{self.id}:{self.session_version or 0}"


class AuditLog(db.Model):
    """Who did what, when: logins, failed logins, scheme changes, imports and exports."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
