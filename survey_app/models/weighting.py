"""Weighting schemes: a named, versioned set of weights for the responses of a wave."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.extensions import db
from survey_app.models._types import BigId, JSONType, UTCDateTime, partial_index, utcnow
from survey_app.models.collection import Wave


class WeightingScheme(db.Model):
    """Weights set by a survey team for one wave; at most one scheme per wave is active."""

    __tablename__ = "weighting_schemes"
    __table_args__ = (
        UniqueConstraint("wave_id", "name", "version"),
        partial_index(
            "uq_weighting_schemes_active_wave", "wave_id", where="is_active", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer, default=1)
    method: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    wave: Mapped[Wave] = relationship()


class ResponseWeight(db.Model):
    """The weight of one response under one scheme."""

    __tablename__ = "response_weights"
    __table_args__ = (CheckConstraint("weight > 0", name="weight_positive"),)

    scheme_id: Mapped[int] = mapped_column(
        ForeignKey("weighting_schemes.id", ondelete="CASCADE"), primary_key=True
    )
    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[float] = mapped_column(Float)
