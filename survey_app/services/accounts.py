"""Accounts: creating users, checking passwords, recording logins."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from survey_app.extensions import db
from survey_app.models import Role, Unit, User
from survey_app.models._types import utcnow
from survey_app.services import audit

# scrypt is werkzeug's default: a memory-hard, modern key-derivation function.
PASSWORD_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 10

# Computed once so that an unknown user name costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=PASSWORD_METHOD)


class AccountError(ValueError):
    """A user could not be created; the message says why."""


def create_user(
    username: str, password: str, role: Role | str, unit_code: str | None = None
) -> User:
    """Create a user with a role and an optional unit scope, and commit."""
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError("user name must be 1 to 64 characters")
    password_hash = hash_password(password)
    try:
        role = Role(role)
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise AccountError(f"unknown role {role!r}; valid roles: {valid}") from None
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    unit_id = None
    if unit_code:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise AccountError(f"unknown unit code {unit_code!r}")
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
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return generate_password_hash(password, method=PASSWORD_METHOD)


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, recording success or failure."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
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


def record_logout(user: User) -> None:
    audit.record("logout", user=user)
    db.session.commit()
