"""Desks and their kiosk device tokens (only a hash of a token is stored)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from survey_app import audit, formatting
from survey_app.extensions import db
from survey_app.models import Desk, Unit
from survey_app.models._types import utcnow


class DeskError(ValueError):
    """A desk could not be created or found; the message says why."""


def hash_token(token: str) -> str:
    """SHA-256 of a device token. Tokens are 256-bit random, so no salt is needed."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_desk(code: str, unit_code: str, name: str, timeout_s: int = 60) -> Desk:
    code = code.strip()
    if not code or len(code) > 32:
        raise DeskError(_("desk code must be 1 to 32 characters"))
    if db.session.scalar(select(Desk).where(Desk.code == code)) is not None:
        raise DeskError(_("desk %(code)s already exists", code=repr(code)))
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise DeskError(_("unknown unit code %(code)s", code=repr(unit_code)))
    if not 10 <= timeout_s <= 3600:
        raise DeskError(
            _(
                "inactivity timeout must be between %(lo)s and %(hi)s seconds",
                lo=formatting.number(10),
                hi=formatting.number(3600),
            )
        )
    desk = Desk(
        code=code, unit_id=unit.id, name=name.strip() or code, inactivity_timeout_s=timeout_s
    )
    db.session.add(desk)
    audit.record("desk.create", target=f"desk:{code}", details={"unit": unit_code})
    db.session.commit()
    return desk


def issue_token(desk_code: str) -> str:
    """Give the desk a new kiosk device token (the old one stops working) and return it."""
    desk = get_desk(desk_code)
    token = secrets.token_urlsafe(32)
    desk.token_hash = hash_token(token)
    desk.token_issued_at = utcnow()
    audit.record("desk.token", target=f"desk:{desk_code}")
    db.session.commit()
    return token


def desk_for_token(desk_code: str, token: str) -> Desk | None:
    """The active desk if ``token`` is its current device token, else None."""
    desk = db.session.scalar(select(Desk).where(Desk.code == desk_code))
    if desk is None or not desk.active or desk.token_hash is None:
        return None
    if not hmac.compare_digest(desk.token_hash, hash_token(token)):
        return None
    return desk


def get_desk(desk_code: str) -> Desk:
    desk = db.session.scalar(select(Desk).where(Desk.code == desk_code))
    if desk is None:
        raise DeskError(_("unknown desk code %(code)s", code=repr(desk_code)))
    return desk


def list_active_desks() -> list[Desk]:
    return list(db.session.scalars(select(Desk).where(Desk.active).order_by(Desk.code)))
