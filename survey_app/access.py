"""Who may see what: roles and unit scopes.

A user's scope is their unit and every unit below it (``Unit.path`` prefix); a user with
no unit (the province administrator) sees everything.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Literal, ParamSpec, TypeVar

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, select

from survey_app.extensions import db
from survey_app.models import Role, Unit, User, Wave, WaveKind

P = ParamSpec("P")
R = TypeVar("R")

# Roles that may read the dashboard; an analyst and an admin may do what a leader does.
READERS = (Role.LEADER, Role.ANALYST, Role.ADMIN)
# The survey team: roles that plan waves, weight, export and review data.
STAFF = (Role.ANALYST, Role.ADMIN)


def role_required(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Log-in required, and the user's role must be one of ``roles`` (else 403)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        # Declared for tests/web/test_access_map.py, which checks every other role is refused.
        wrapped.required_roles = frozenset(roles)  # type: ignore[attr-defined]
        return login_required(wrapped)

    return decorator


def scope_prefix(user: User) -> str | None:
    """The materialised-path prefix of the user's scope, or None for everything."""
    if user.unit_id is None:
        return None
    unit = db.session.get(Unit, user.unit_id)
    return unit.path if unit is not None else "/nothing/"


def units_in_scope(user: User) -> Select[tuple[Unit]]:
    """A query of the units the user may see."""
    query = select(Unit)
    prefix = scope_prefix(user)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    return query


def visible_units(user: User) -> list[Unit]:
    """The units the user may see, by path."""
    return list(db.session.scalars(units_in_scope(user).order_by(Unit.path)))


def can_see_unit(user: User, unit: Unit) -> bool:
    return in_scope(scope_prefix(user), unit.path)


def in_scope(prefix: str | None, path: str) -> bool:
    """Whether the unit of ``path`` lies in the scope of ``prefix`` (:func:`scope_prefix`),
    for callers that hold the prefix already."""
    return prefix is None or path.startswith(prefix)


def overlaps_scope(user: User, unit: Unit) -> bool:
    """Whether something of ``unit`` (a wave, a feedback rule) concerns the user's scope.

    That is, the unit is inside the scope (a commune's own survey) or the scope is
    inside the unit (a district analyst and the province's survey); rows are then
    restricted to the scope.
    """
    prefix = scope_prefix(user)
    return prefix is None or unit.path.startswith(prefix) or prefix.startswith(unit.path)


def can_read_wave(user: User, wave: Wave) -> bool:
    """A wave may be read when it concerns the user's scope (:func:`overlaps_scope`);
    its rows are then restricted to the scope."""
    return overlaps_scope(user, wave.unit)


def can_manage_wave(user: User, wave: Wave) -> bool:
    """A wave's design, weights and models may be changed only by a user whose scope
    holds the wave's whole unit: a commune's analyst cannot re-weight the province's
    survey, which other communes' figures depend on."""
    return can_see_unit(user, wave.unit)


def wave_for(
    user: User | None,
    code: str,
    *,
    to: Literal["read", "manage"] = "read",
    kind: WaveKind | None = None,
) -> Wave | None:
    """The wave with this code if ``user`` may ``read`` or ``manage`` it (and it is of
    ``kind`` when given), else None; any wave when ``user`` is None (the CLI)."""
    wave = db.session.scalar(select(Wave).where(Wave.code == code))
    if wave is None or (kind is not None and wave.kind != kind):
        return None
    if user is None:
        return wave
    allowed = can_read_wave if to == "read" else can_manage_wave
    return wave if allowed(user, wave) else None
