"""Administration within the administrator's unit scope: units, desks, users,
questionnaires and the audit log.

Every function takes the acting administrator. An administrator without a unit manages
everything; one with a unit manages that unit and what lies below it, and whatever lies
outside is answered as if it did not exist (:class:`OutOfScopeError`, a 404 in the views).
Each change is recorded in the audit log and committed here; messages in
:class:`AdminError` are in the user's language.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from survey_app import access, audit
from survey_app.admin import accounts, units
from survey_app.admin.units import UnitImportError
from survey_app.collection import desks, questionnaires
from survey_app.collection import questionnaire as spec
from survey_app.extensions import db
from survey_app.models import (
    AuditLog,
    Desk,
    Questionnaire,
    QuestionnaireItem,
    Response,
    Role,
    Unit,
    UnitKind,
    User,
)
from survey_app.spreadsheets import RowError

AUDIT_PAGE_SIZE = 50
KIND_ORDER = {
    UnitKind.PROVINCE: 0,
    UnitKind.DEPARTMENT: 1,
    UnitKind.DISTRICT: 2,
    UnitKind.COMMUNE: 3,
}


class AdminError(ValueError):
    """A change was refused; the message (translated) says why."""


class OutOfScopeError(LookupError):
    """The object does not exist or lies outside the administrator's scope."""


# --------------------------------------------------------------------------- units


@dataclass(frozen=True)
class TreeRow:
    """A unit in a depth-first listing of the hierarchy."""

    unit: Unit
    depth: int


def unit_tree(actor: User) -> list[TreeRow]:
    """The units in scope, depth first, siblings by kind then code."""
    visible = access.visible_units(actor)
    ids = {unit.id for unit in visible}
    children: dict[int | None, list[Unit]] = {}
    for unit in visible:
        parent = unit.parent_id if unit.parent_id in ids else None
        children.setdefault(parent, []).append(unit)
    for siblings in children.values():
        siblings.sort(key=lambda u: (KIND_ORDER.get(u.kind, 9), u.code))
    rows: list[TreeRow] = []
    stack = [(unit, 0) for unit in reversed(children.get(None, []))]
    while stack:
        unit, depth = stack.pop()
        rows.append(TreeRow(unit, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(unit.id, [])))
    return rows


def get_unit(actor: User, code: str) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None or not access.can_see_unit(actor, unit):
        raise OutOfScopeError(code)
    return unit


def _parent_for(actor: User, parent_code: str) -> Unit | None:
    if not parent_code:
        if actor.unit_id is not None:
            raise AdminError(_("Choose a parent unit within your scope."))
        return None
    try:
        return get_unit(actor, parent_code)
    except OutOfScopeError:
        raise AdminError(_("The parent unit is not within your scope.")) from None


def _check_unit_fields(code: str, name_vi: str, name_en: str, kind: str) -> UnitKind:
    if not code or len(code) > 32:
        raise AdminError(_("The code must be 1 to 32 characters."))
    if not name_vi.strip() or not name_en.strip():
        raise AdminError(_("Both names are required."))
    try:
        return UnitKind(kind)
    except ValueError:
        raise AdminError(_("Unknown kind of unit.")) from None


def create_unit(
    actor: User, code: str, name_vi: str, name_en: str, kind: str, parent_code: str
) -> Unit:
    """Create a unit under ``parent_code`` (which must be in scope) and commit."""
    code = code.strip()
    unit_kind = _check_unit_fields(code, name_vi, name_en, kind)
    if db.session.scalar(select(Unit).where(Unit.code == code)) is not None:
        raise AdminError(_("A unit with this code already exists."))
    parent = _parent_for(actor, parent_code)
    unit = Unit(
        code=code,
        name_vi=name_vi.strip(),
        name_en=name_en.strip(),
        kind=unit_kind,
        parent_id=parent.id if parent else None,
        path="/",
    )
    db.session.add(unit)
    db.session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    audit.record(
        "unit.create",
        target=f"unit:{code}",
        details={"kind": unit_kind.value, "parent": parent_code or None},
    )
    db.session.commit()
    return unit


def update_unit(
    actor: User, code: str, name_vi: str, name_en: str, kind: str, parent_code: str
) -> Unit:
    """Rename, re-classify or move a unit within scope, and commit."""
    unit = get_unit(actor, code)
    unit_kind = _check_unit_fields(unit.code, name_vi, name_en, kind)
    current_parent = unit.parent.code if unit.parent else ""
    moved = parent_code != current_parent
    if moved:
        parent = _parent_for(actor, parent_code)
        if parent is not None and parent.path.startswith(unit.path):
            raise AdminError(_("A unit cannot be moved below itself."))
        if actor.unit_id == unit.id:
            raise AdminError(_("You cannot move the unit that is your own scope."))
        unit.parent_id = parent.id if parent else None
    changes = {
        field: new
        for field, old, new in (
            ("name_vi", unit.name_vi, name_vi.strip()),
            ("name_en", unit.name_en, name_en.strip()),
            ("kind", unit.kind.value, unit_kind.value),
            ("parent", current_parent, parent_code),
        )
        if old != new
    }
    unit.name_vi, unit.name_en, unit.kind = name_vi.strip(), name_en.strip(), unit_kind
    db.session.flush()
    if moved:
        units.refresh_paths()
    if changes:
        audit.record("unit.update", target=f"unit:{unit.code}", details=changes)
    db.session.commit()
    return unit


def import_units_csv(actor: User, text: str) -> tuple[int, int]:
    """Import a units CSV (all rows or none) within the administrator's scope.

    Raises :class:`~survey_app.admin.units.UnitImportError` listing every row error,
    including rows that would touch units outside the scope.
    """
    rows = units.read_units_csv(text)
    prefix = access.scope_prefix(actor)
    if prefix is not None:
        outside = _rows_outside_scope(rows, prefix)
        if outside:
            raise UnitImportError(outside)
    return units.import_units(rows)


def _rows_outside_scope(rows: Sequence[dict[str, str]], prefix: str) -> list[RowError]:
    paths: dict[str, str] = {
        code: path for code, path in db.session.execute(select(Unit.code, Unit.path))
    }
    in_file = {row["code"] for row in rows}
    errors: list[RowError] = []
    for number, row in enumerate(rows, start=2):
        path = paths.get(row["code"])
        if path is not None and not path.startswith(prefix):
            errors.append(RowError(number, "code", _("unit outside your scope")))
        parent = row["parent_code"]
        if not parent:
            errors.append(
                RowError(number, "parent_code", _("a parent within your scope is needed"))
            )
        elif parent not in in_file and not paths.get(parent, "").startswith(prefix):
            errors.append(RowError(number, "parent_code", _("unit outside your scope")))
    return errors


def unit_choices(actor: User, lang: str) -> list[tuple[str, str]]:
    """(code, indented label) for every unit in scope, in tree order."""
    return [
        (row.unit.code, "\u2003" * row.depth + f"{row.unit.name(lang)} ({row.unit.code})")
        for row in unit_tree(actor)
    ]


# --------------------------------------------------------------------------- desks


def get_desk(actor: User, code: str) -> Desk:
    desk = db.session.scalar(select(Desk).where(Desk.code == code))
    if desk is None or not access.can_see_unit(actor, desk.unit):
        raise OutOfScopeError(code)
    return desk


def _check_timeout(timeout_s: int) -> None:
    if not 10 <= timeout_s <= 3600:
        raise AdminError(_("The inactivity timeout must be between 10 and 3600 seconds."))


def create_desk(actor: User, code: str, unit_code: str, name: str, timeout_s: int) -> Desk:
    """Create a desk of a unit in scope (commits through ``collection.desks``)."""
    code = code.strip()
    if not code or len(code) > 32:
        raise AdminError(_("The code must be 1 to 32 characters."))
    if db.session.scalar(select(Desk).where(Desk.code == code)) is not None:
        raise AdminError(_("A desk with this code already exists."))
    try:
        get_unit(actor, unit_code)
    except OutOfScopeError:
        raise AdminError(_("The unit is not within your scope.")) from None
    _check_timeout(timeout_s)
    return desks.create_desk(code, unit_code, name, timeout_s)


def update_desk(actor: User, code: str, unit_code: str, name: str, timeout_s: int) -> Desk:
    """Rename a desk, move it to another unit in scope or change its timeout; commit."""
    desk = get_desk(actor, code)
    try:
        unit = get_unit(actor, unit_code)
    except OutOfScopeError:
        raise AdminError(_("The unit is not within your scope.")) from None
    _check_timeout(timeout_s)
    name = name.strip() or desk.code
    changes = {
        field: new
        for field, old, new in (
            ("name", desk.name, name),
            ("unit", desk.unit.code, unit.code),
            ("timeout_s", desk.inactivity_timeout_s, timeout_s),
        )
        if old != new
    }
    desk.name, desk.unit_id, desk.inactivity_timeout_s = name, unit.id, timeout_s
    if changes:
        audit.record("desk.update", target=f"desk:{desk.code}", details=changes)
    db.session.commit()
    return desk


def set_desk_active(actor: User, code: str, active: bool) -> Desk:
    """Deactivate a desk (its kiosk token and phone form stop working) or reactivate it."""
    desk = get_desk(actor, code)
    if desk.active != active:
        desk.active = active
        audit.record("desk.activate" if active else "desk.deactivate", target=f"desk:{code}")
        db.session.commit()
    return desk


# --------------------------------------------------------------------------- users


def _users_query(actor: User) -> Select[tuple[User]]:
    query = select(User).outerjoin(Unit, User.unit_id == Unit.id)
    prefix = access.scope_prefix(actor)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    return query


def list_users(actor: User) -> list[User]:
    """The accounts the administrator manages (for a scoped one: those within scope)."""
    return list(db.session.scalars(_users_query(actor).order_by(User.username)))


def get_user(actor: User, user_id: int) -> User:
    user = db.session.scalar(_users_query(actor).where(User.id == user_id))
    if user is None:
        raise OutOfScopeError(str(user_id))
    return user


def create_user(actor: User, username: str, password: str, role: str, unit_code: str) -> User:
    """Create an account with a role and a unit scope within the administrator's own."""
    username = username.strip()
    if not username or len(username) > 64:
        raise AdminError(_("The user name must be 1 to 64 characters."))
    if len(password) < accounts.MIN_PASSWORD_LENGTH:
        raise AdminError(
            _("The password must be at least %(n)d characters.", n=accounts.MIN_PASSWORD_LENGTH)
        )
    if role not in {r.value for r in Role}:
        raise AdminError(_("Unknown role."))
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise AdminError(_("This user name is already taken."))
    if unit_code:
        try:
            get_unit(actor, unit_code)
        except OutOfScopeError:
            raise AdminError(_("The unit is not within your scope.")) from None
    elif actor.unit_id is not None:
        raise AdminError(_("Choose a unit within your scope."))
    return accounts.create_user(username, password, role, unit_code or None)


def reset_password(actor: User, user_id: int, password: str) -> User:
    """Give an account in scope a new password (hashed with scrypt) and commit."""
    user = get_user(actor, user_id)
    try:
        user.password_hash = accounts.hash_password(password)
    except accounts.AccountError:
        raise AdminError(
            _("The password must be at least %(n)d characters.", n=accounts.MIN_PASSWORD_LENGTH)
        ) from None
    accounts.end_sessions(user)
    audit.record("user.password_reset", target=f"user:{user.username}")
    db.session.commit()
    return user


def set_user_active(actor: User, user_id: int, active: bool) -> User:
    """Deactivate an account (it can no longer log in) or reactivate it; commit."""
    user = get_user(actor, user_id)
    if user.id == actor.id and not active:
        raise AdminError(_("You cannot deactivate your own account."))
    if user.active != active:
        user.active = active
        if not active:
            accounts.end_sessions(user)
        action = "user.activate" if active else "user.deactivate"
        audit.record(action, target=f"user:{user.username}")
        db.session.commit()
    return user


# ------------------------------------------------------------------ questionnaires


@dataclass(frozen=True)
class QuestionnaireRow:
    questionnaire: Questionnaire
    items: int
    responses: int


def list_questionnaires() -> list[QuestionnaireRow]:
    """Every loaded version with its number of items and of responses."""
    items = (
        select(QuestionnaireItem.questionnaire_id, func.count().label("n"))
        .group_by(QuestionnaireItem.questionnaire_id)
        .subquery()
    )
    answered = (
        select(Response.questionnaire_id, func.count().label("n"))
        .group_by(Response.questionnaire_id)
        .subquery()
    )
    query = (
        select(Questionnaire, func.coalesce(items.c.n, 0), func.coalesce(answered.c.n, 0))
        .outerjoin(items, items.c.questionnaire_id == Questionnaire.id)
        .outerjoin(answered, answered.c.questionnaire_id == Questionnaire.id)
        .order_by(Questionnaire.slug, Questionnaire.version.desc())
    )
    return [
        QuestionnaireRow(q, n_items, n_resp) for q, n_items, n_resp in db.session.execute(query)
    ]


def questionnaire_definition(slug: str, version: int) -> tuple[Questionnaire, spec.Questionnaire]:
    row = questionnaires.get(slug, version)
    if row is None:
        raise OutOfScopeError(f"{slug} v{version}")
    return row, spec.Questionnaire.from_dict(row.definition, source=f"db:{slug}")


def reload_questionnaires(actor: User) -> list[str]:
    """Validate and load every file of QUESTIONNAIRE_DIR, all or none.

    Only an administrator without a unit scope may do this: the files are shared by
    every unit. Raises :class:`AdminError` with one line per problem.
    """
    if actor.unit_id is not None:
        raise AdminError(
            _("Only an administrator of every unit (no unit scope) can load questionnaires.")
        )
    from survey_app.collection import audio, read_aloud

    folder = Path(current_app.config["QUESTIONNAIRE_DIR"])
    try:
        report = questionnaires.load_folder(folder)
    except questionnaires.QuestionnaireLoadError as error:
        db.session.rollback()
        cause = error.__cause__
        lines = (
            [str(e) for e in cause.errors]
            if isinstance(cause, spec.QuestionnaireError)
            else [str(error)]
        )
        audit.record("questionnaire.load_failed", details={"errors": lines[:20]})
        db.session.commit()
        raise AdminError("\n".join(lines)) from error
    # The read-aloud audio of new texts, as `flask questionnaires load` makes it; the
    # questionnaires are loaded even if it cannot be made (the report says why).
    try:
        return report + read_aloud.build_folder(folder).lines()
    except audio.AudioError as error:
        return [*report, _("audio: %(error)s", error=error)]


# ----------------------------------------------------------------------- audit log


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditLog]
    page: int
    pages: int
    total: int


def audit_actions() -> list[str]:
    """Every action name that occurs in the log, for the filter."""
    return list(db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))


def _day_start(day: date) -> datetime:
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC"))
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def audit_log(
    actor: User,
    *,
    action: str = "",
    username: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    per_page: int = AUDIT_PAGE_SIZE,
) -> AuditPage:
    """One page of the audit log, newest first, filtered.

    ``action`` matches the action or its group (``login`` also finds ``login.failed``);
    dates are whole local days, both included. A scoped administrator sees the
    entries of the accounts within their scope.
    """
    query = select(AuditLog)
    if action:
        query = query.where(
            or_(
                AuditLog.action == action, AuditLog.action.startswith(action + ".", autoescape=True)
            )
        )
    if username:
        query = query.where(AuditLog.username == username.strip())
    if date_from is not None:
        query = query.where(AuditLog.at >= _day_start(date_from))
    if date_to is not None:
        query = query.where(AuditLog.at < _day_start(date_to + timedelta(days=1)))
    if access.scope_prefix(actor) is not None:
        query = query.where(AuditLog.user_id.in_(_users_query(actor).with_only_columns(User.id)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    entries = db.session.scalars(
        query.order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return AuditPage(list(entries), page, pages, total)
