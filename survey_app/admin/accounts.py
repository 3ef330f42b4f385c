"""Accounts: creating users, checking passwords, recording logins, ending sessions.

A session names the user *and* the user's ``session_version`` (``User.get_id``).
Logout, a password change or reset and deactivation raise the version, so every
session cookie issued before (a copy included) is refused from the next request on
(:func:`user_for_session`, Flask-Login's user loader).
"""

from __future__ import annotations

from functools import cache

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from survey_app import audit
from survey_app.extensions import db
from survey_app.models import Role, Unit, User
from survey_app.models._types import utcnow

# scrypt is werkzeug's default: a memory-hard, modern key-derivation function.
PASSWORD_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 10


@cache
def _dummy_hash(method: str) -> str:
    """A hash of a password nobody has, checked against when the user name is unknown
    or inactive, so that such a login costs as much time as a wrong password.

    Made by ``method`` (the one passwords are hashed with) at the first such login in a
    process, which therefore takes one hash longer than the others: made at import, it
    cost every process that imports the app, every command line and every worker's
    start included, about 90 ms.
    """
    return generate_password_hash("not-a-real-password", method=method)


class AccountError(ValueError):
    """A user could not be created; the message says why."""


def create_user(
    username: str, password: str, role: Role | str, unit_code: str | None = None
) -> User:
    """Create a user with a role and an optional unit scope, and commit."""
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError(_("user name must be 1 to 64 characters"))
    password_hash = hash_password(password)
    try:
        role = Role(role)
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise AccountError(
            _("unknown role %(role)s; valid roles: %(valid)s", role=repr(role), valid=valid)
        ) from None
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(_("user %(name)s already exists", name=repr(username)))
    unit_id = None
    if unit_code:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise AccountError(_("unknown unit code %(code)s", code=repr(unit_code)))
        unit_id = unit.id
    user = User(
        username=username,
        password_hash=password_hash,
        role=role,
        unit_id=unit_id,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.create",
        target=f"user:{username}",
        details={"role": role.value, "unit": unit_code},
    )
    db.session.commit()
    return user


def hash_password(password: str) -> str:
    """The scrypt hash of ``password``; refuses one shorter than MIN_PASSWORD_LENGTH."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("The password must be at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )
    return generate_password_hash(password, method=PASSWORD_METHOD)


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, recording success or failure."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        check_password_hash(_dummy_hash(PASSWORD_METHOD), password)
        ok = False
    else:
        ok = check_password_hash(user.password_hash, password)
    if ok and user is not None:
        user.last_login_at = utcnow()
        audit.record("login", user=user)
        db.session.commit()
        return user
    audit.record("login.failed", username=username[:64])
    db.session.commit()
    return None


def end_sessions(user: User) -> None:
    """Raise the user's session version: every session issued so far is refused.

    Does not commit; the caller commits together with the change that ends them.
    """
    user.session_version = (user.session_version or 0) + 1


def user_for_session(session_id: str) -> User | None:
    """The active user a session's ``"<id>:<version>"`` names, if the version still holds."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or (user.session_version or 0) != int(version):
        return None
    return user


def record_logout(user: User) -> None:
    """Log out: the session cookie (and any copy of it) stops working, and commit."""
    end_sessions(user)
    audit.record("logout", user=user)
    db.session.commit()


def change_password(user: User, current: str, new: str) -> bool:
    """Set a new password if ``current`` is right, ending every other session; commit.

    Returns False (and records the failure) when ``current`` is wrong; raises
    :class:`AccountError` when ``new`` is too short. The caller logs the user in again
    with the new session version, so only the session that changed the password stays.
    """
    if not check_password_hash(user.password_hash, current):
        audit.record("password.change_failed", user=user)
        db.session.commit()
        return False
    user.password_hash = hash_password(new)
    end_sessions(user)
    audit.record("password.change", user=user)
    db.session.commit()
    return True
