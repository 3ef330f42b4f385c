"""Column helpers shared by the model modules."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Enum, Integer
from sqlalchemy.dialects.postgresql import JSONB

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def UTCDateTime() -> DateTime:  # noqa: N802 - reads like a type in column declarations
    return DateTime(timezone=True)


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum stored as its value, checked by a named CHECK constraint."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
