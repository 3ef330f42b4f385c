"""Who follows what: each reader's rules and units (by default their whole scope).

Only units and desks that some reader follows are evaluated; a reader sees an alert
only if they follow its rule and unit, may see the unit, and (for a fall of an index)
the fall reaches their own minimum change (:class:`Following`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import ColumnElement, and_, false, func, or_, select

from survey_app.access import READERS, in_scope, scope_prefix
from survey_app.extensions import db
from survey_app.models import (
    Alert,
    AlertRule,
    AlertSubscription,
    Unit,
    User,
)
from survey_app.reporting.alerts.settings import DEFAULT_MIN_CHANGE, preference
from survey_app.reporting.dashboard import scope


@dataclass(frozen=True)
class Following:
    """What one reader follows: rule -> unit paths (each with everything below it);
    ``scope`` is the path prefix of the units they may see (None: all)."""

    user: User
    min_change: float
    roots: dict[AlertRule, tuple[str, ...]]
    scope: str | None

    def follows(self, rule: AlertRule, unit: Unit) -> bool:
        if not in_scope(self.scope, unit.path):
            return False
        return any(unit.path.startswith(path) for path in self.roots.get(rule, ()))

    def sees(self, alert: Alert) -> bool:
        if not self.follows(alert.rule, alert.unit):
            return False
        if alert.rule == AlertRule.INDEX_DROP and alert.size is not None:
            return abs(alert.size) + 1e-9 >= self.min_change
        return True

    def seen(self) -> ColumnElement[bool]:
        """:meth:`sees` in SQL, over ``alerts`` joined with their ``units``, so that a
        reader's alerts are listed and counted by the database, not loaded one by one
        (``tests/web/test_alerts.py`` checks that both say the same)."""
        roots = tuple(sorted((rule.value, paths) for rule, paths in self.roots.items() if paths))
        return _seen(roots, self.scope, self.min_change)


@lru_cache(maxsize=1024)
def _seen(
    roots: tuple[tuple[str, tuple[str, ...]], ...], scope: str | None, min_change: float
) -> ColumnElement[bool]:
    """The clause of :meth:`Following.seen`, built once per distinct following (every
    page's bell asks for it)."""
    if not roots:
        return false()
    followed = [
        and_(
            Alert.rule == AlertRule(rule),
            or_(*(Unit.path.startswith(path, autoescape=True) for path in paths)),
        )
        for rule, paths in roots
    ]
    conditions = [or_(*followed)]
    if scope is not None:
        conditions.append(Unit.path.startswith(scope, autoescape=True))
    conditions.append(
        or_(
            Alert.rule != AlertRule.INDEX_DROP,
            Alert.size.is_(None),
            func.abs(Alert.size) + 1e-9 >= min_change,
        )
    )
    return and_(*conditions)


def following(user: User) -> Following:
    pref = preference(user)
    if not pref.customised:
        tops = scope.scope_tops(user)
        # Asked while ``tops`` holds the user's unit, which the session then has at hand
        # (it keeps no object nothing refers to): one read of the unit, not two.
        prefix = scope_prefix(user)
        roots = dict.fromkeys(AlertRule, tuple(unit.path for unit in tops))
    else:
        prefix = scope_prefix(user)
        chosen: dict[AlertRule, list[str]] = defaultdict(list)
        rows = db.session.scalars(
            select(AlertSubscription).where(AlertSubscription.user_id == user.id)
        )
        for row in rows:
            if in_scope(prefix, row.unit.path):
                chosen[row.rule].append(row.unit.path)
        roots = {rule: tuple(paths) for rule, paths in chosen.items()}
    min_change = pref.min_change if pref.min_change is not None else DEFAULT_MIN_CHANGE
    return Following(user, float(min_change), roots, prefix)


def readers() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_(list(READERS)))
            .order_by(User.id)
        )
    )


def followed_units(followings: Sequence[Following], rule: AlertRule) -> list[Unit]:
    """Every unit some reader follows for ``rule`` (the roots and everything below)."""
    paths = sorted({p for f in followings for p in f.roots.get(rule, ())})
    # keep only the outermost paths
    roots: list[str] = []
    for path in paths:
        if not any(path.startswith(r) for r in roots):
            roots.append(path)
    units: dict[int, Unit] = {}
    for path in roots:
        for unit in db.session.scalars(
            select(Unit).where(Unit.path.startswith(path, autoescape=True))
        ):
            units[unit.id] = unit
    return sorted(units.values(), key=lambda u: u.path)


def min_change(followings: Sequence[Following]) -> float:
    values = [f.min_change for f in followings if f.roots.get(AlertRule.INDEX_DROP)]
    return min(values) if values else DEFAULT_MIN_CHANGE
