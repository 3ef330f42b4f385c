"""The per-wave switch for small-area (Fay–Herriot) commune figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.extensions import db
from survey_app.models._types import JSONType, UTCDateTime, utcnow
from survey_app.models.collection import Wave


class SmallAreaSetting(db.Model):
    """Whether a field wave's commune figures may show small-area estimates, and the
    model the survey team chose for them (method, covariates, uploaded covariate
    values, variance smoothing). One row per wave; every change is audited
    (``small_area.enable`` / ``small_area.disable``)."""

    __tablename__ = "small_area_settings"

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    method: Mapped[str] = mapped_column(String(8), default="reml")
    covariates: Mapped[list[str]] = mapped_column(JSONType, default=list)
    uploaded: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    smooth_variances: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    wave: Mapped[Wave] = relationship()
