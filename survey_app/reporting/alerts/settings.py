"""A reader's alert settings: minimum change, e-mail, digest, followed rules and units.

:func:`preference` reads them (the defaults when the reader never saved any);
:func:`save_settings` checks and stores them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from sqlalchemy import select

from survey_app import audit
from survey_app.access import can_see_unit
from survey_app.extensions import db
from survey_app.models import (
    AlertPreference,
    AlertRule,
    AlertSubscription,
    Unit,
    User,
)
from survey_app.models._types import utcnow

DEFAULT_MIN_CHANGE = 5.0
# An e-mail address as one plain mailbox (no display name, list or header break).
ADDRESS = re.compile(r"[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,189}")


class SettingsError(ValueError):
    """Settings that cannot be saved (a unit outside the scope, a bad minimum)."""


def preference(user: User) -> AlertPreference:
    """The user's settings (an unsaved default row when they never changed them)."""
    pref = db.session.get(AlertPreference, user.id)
    if pref is None:
        pref = AlertPreference(
            user_id=user.id,
            min_change=DEFAULT_MIN_CHANGE,
            email=True,
            digest=True,
            customised=False,
        )
    return pref


def save_settings(
    user: User,
    *,
    min_change: float,
    email: bool,
    digest: bool,
    address: str | None,
    follow_all: bool,
    subscriptions: Iterable[tuple[str, str]],
) -> None:
    """Store the user's alert settings; every unit must lie in their scope."""
    if math.isnan(min_change) or not 0 <= min_change <= 100:
        raise SettingsError("min_change")
    address = (address or "").strip()
    if address and not ADDRESS.fullmatch(address):
        raise SettingsError("address")
    pref = db.session.get(AlertPreference, user.id)
    if pref is None:
        pref = AlertPreference(user_id=user.id)
        db.session.add(pref)
    pref.min_change = float(min_change)
    pref.email = email
    pref.digest = digest
    pref.address = address or None
    pref.customised = not follow_all
    pref.updated_at = utcnow()
    wanted: set[tuple[AlertRule, int]] = set()
    for rule_name, unit_code in subscriptions:
        try:
            rule = AlertRule(rule_name)
        except ValueError:
            raise SettingsError(rule_name) from None
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None or not can_see_unit(user, unit):
            raise SettingsError(unit_code)
        wanted.add((rule, unit.id))
    existing = list(
        db.session.scalars(select(AlertSubscription).where(AlertSubscription.user_id == user.id))
    )
    for row in existing:
        if (row.rule, row.unit_id) not in wanted:
            db.session.delete(row)
    have = {(row.rule, row.unit_id) for row in existing}
    for rule, unit_id in sorted(wanted - have):
        db.session.add(AlertSubscription(user_id=user.id, rule=rule, unit_id=unit_id))
    audit.record(
        "alert.settings",
        user=user,
        details={
            "min_change": pref.min_change,
            "email": email,
            "digest": digest,
            "follow_all": follow_all,
            "subscriptions": len(wanted),
        },
    )
    db.session.commit()


def subscription_pairs(user: User) -> set[tuple[str, str]]:
    rows = db.session.scalars(select(AlertSubscription).where(AlertSubscription.user_id == user.id))
    return {(row.rule.value, row.unit.code) for row in rows}
