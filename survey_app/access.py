"""Who may see what: roles and unit scopes.

A user's scope is their unit and every unit below it (``Unit.path`` prefix); a user with
no unit (the province administrator) sees everything.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, select

from survey_app.extensions import db
from survey_app.models import Role, Unit, User

P = ParamSpec("P")
R = TypeVar("R")

# Roles that may read the dashboard; an analyst and an admin may do what a leader does.
READERS = (Role.LEADER, Role.ANALYST, Role.ADMIN)


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


def can_see_unit(user: User, unit: Unit) -> bool:
    prefix = scope_prefix(user)
    return prefix is None or unit.path.startswith(prefix)


def overlaps_scope(user: User, unit: Unit) -> bool:
    """Whether something of ``unit`` (a wave, a feedback rule) concerns the user's scope.

    That is, the unit is inside the scope (a commune's own survey) or the scope is
    inside the unit (a district analyst and the province's survey); rows are then
    restricted to the scope.
    """
    prefix = scope_prefix(user)
    return prefix is None or unit.path.startswith(prefix) or prefix.startswith(unit.path)
