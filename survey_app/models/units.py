"""The administrative hierarchy, one-stop desks, and administrative procedures (TTHC)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.extensions import db
from survey_app.models._types import UTCDateTime, enum_column, utcnow


class UnitKind(enum.StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"  # district, town (thị xã) or provincial city
    COMMUNE = "commune"  # commune, ward (phường) or township (thị trấn)
    DEPARTMENT = "department"  # provincial department (sở, ban, ngành)


class Unit(db.Model):
    """An administrative unit. ``path`` is the materialised path of ids, e.g. ``/1/4/17/``.

    The path makes "this unit and everything below it" a single indexed prefix
    query, which is what scope checks and roll-ups need.
    """

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, "unit_kind"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True, default="/")

    parent: Mapped[Unit | None] = relationship(remote_side="Unit.id", back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")
    desks: Mapped[list[Desk]] = relationship(back_populates="unit")

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class Desk(db.Model):
    """A one-stop desk or kiosk location belonging to a unit.

    Only a hash of the kiosk device token is stored.
    """

    __tablename__ = "desks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    inactivity_timeout_s: Mapped[int] = mapped_column(Integer, default=60)
    token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    token_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Citizens' settings: ask for the dossier code (one rating per dossier) on the
    # phone, and also on the kiosk with a number pad; read each question aloud by itself.
    dossier_codes: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    dossier_on_kiosk: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    read_aloud_auto: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    unit: Mapped[Unit] = relationship(back_populates="desks")

    def __repr__(self) -> str:
        return f"<Desk {self.code}>"


class ProcedureField(db.Model):
    """A field of administrative procedures (lĩnh vực), e.g. land, civil status."""

    __tablename__ = "procedure_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))

    procedures: Mapped[list[Procedure]] = relationship(back_populates="field")

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


class Procedure(db.Model):
    """An administrative procedure (thủ tục hành chính, TTHC)."""

    __tablename__ = "procedures"
    __table_args__ = (UniqueConstraint("field_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    field_id: Mapped[int] = mapped_column(ForeignKey("procedure_fields.id"), index=True)

    field: Mapped[ProcedureField] = relationship(back_populates="procedures")

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi
