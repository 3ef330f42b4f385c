"""Administrators' pages under ``/admin``: units, desks, questionnaires, users and the
audit log. The desk list, posters, QR codes and kiosk enrolment live in
``admin_desks`` (``/admin/desks/``); this blueprint adds creating, editing and
deactivating desks.

Every page is for the admin role; an administrator with a unit scope manages only
within it (``admin.console`` answers anything outside with 404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from survey_app import audit as audit_service
from survey_app import formatting, spreadsheets
from survey_app.access import role_required
from survey_app.admin import console as admin_service
from survey_app.admin.units import LIMITS as UNIT_FILE_LIMITS
from survey_app.admin.units import UnitImportError
from survey_app.forms.base import Form
from survey_app.forms.fields import BoundedIntegerField
from survey_app.forms.passwords import PasswordForm
from survey_app.i18n import current_lang
from survey_app.models import Role, UnitKind, User

bp = Blueprint("admin", __name__, url_prefix="/admin")

MAX_CSV_BYTES = UNIT_FILE_LIMITS.max_bytes or 1024 * 1024
T = TypeVar("T")


def kind_labels() -> dict[str, str]:
    return {
        UnitKind.PROVINCE.value: _("Province"),
        UnitKind.DISTRICT.value: _("District or town"),
        UnitKind.COMMUNE.value: _("Commune or ward"),
        UnitKind.DEPARTMENT.value: _("Department"),
    }


def role_labels() -> dict[str, str]:
    return {
        Role.ADMIN.value: _("Administrator"),
        Role.ANALYST.value: _("Analyst"),
        Role.LEADER.value: _("Leader"),
        Role.KIOSK.value: _("Kiosk device"),
    }


class UnitForm(Form):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name_vi = StringField(_l("Name in Vietnamese"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    parent = SelectField(_l("Parent unit"), validate_choice=True)


class ImportForm(Form):
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired(), FileAllowed(["csv", "txt"], _l("Choose a CSV file."))],
        description=UNIT_FILE_LIMITS.description(),
    )


class DeskForm(Form):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    unit = SelectField(_l("Unit"), validators=[DataRequired()])
    timeout = BoundedIntegerField(
        _l("Inactivity timeout (seconds)"),
        default=60,
        validators=[DataRequired(), NumberRange(min=10, max=3600)],
    )


class UserForm(PasswordForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    unit = SelectField(_l("Unit scope"), validate_choice=True)


class ActionForm(Form):
    """A button that changes something: only its CSRF token is checked."""


class AuditFilterForm(Form):
    class Meta:
        csrf = False

    action = SelectField(_l("Action"), validate_choice=False)
    user = StringField(_l("User name"), validators=[Optional(), Length(max=64)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


def _unit_choices(*, none_label: str | None) -> list[tuple[str, str]]:
    choices = admin_service.unit_choices(current_user, current_lang())
    if none_label is not None and current_user.unit_id is None:
        choices.insert(0, ("", none_label))
    return choices


def _or_404(fetch: Callable[[], T]) -> T:
    """``fetch()``; what lies outside the administrator's scope is not found (404)."""
    try:
        return fetch()
    except admin_service.OutOfScopeError:
        abort(404)


def _attempt(change: Callable[[], T], done: Callable[[T], str], endpoint: str) -> Response | None:
    """Make a change through the service; on success flash ``done(result)`` and redirect
    to ``endpoint``, on refusal flash the reason and return None (the form is shown again).
    """
    try:
        result = change()
    except admin_service.AdminError as error:
        flash(str(error), "error")
        return None
    flash(done(result), "info")
    return redirect(url_for(endpoint))


def _form_page(
    form: Form,
    change: Callable[[], T],
    done: Callable[[T], str],
    endpoint: str,
    template: str,
    **context: Any,
) -> Response | str:
    """A form page: a valid submission is :func:`_attempt`-ed; the page (again, with the
    refusal flashed) is ``template`` rendered with ``form`` and ``context``."""
    if form.validate_on_submit() and (response := _attempt(change, done, endpoint)):
        return response
    return render_template(template, form=form, **context)


def _unit_values(form: UnitForm) -> tuple[str, str, str, str]:
    return (
        form.name_vi.data or "",
        form.name_en.data or "",
        form.kind.data or "",
        form.parent.data or "",
    )


# --------------------------------------------------------------------------- hub


@bp.get("/")
@role_required(Role.ADMIN)
def index() -> str:
    return render_template("admin/index.html")


# --------------------------------------------------------------------------- units


@bp.get("/units/")
@role_required(Role.ADMIN)
def units() -> str:
    return render_template(
        "admin/units.html",
        rows=admin_service.unit_tree(current_user),
        kinds=kind_labels(),
        form=ImportForm(),
        errors=[],
    )


def _unit_form(form: UnitForm) -> UnitForm:
    form.kind.choices = list(kind_labels().items())
    form.parent.choices = _unit_choices(none_label=_("(none: a top-level unit)"))
    return form


@bp.route("/units/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def unit_new() -> Response | str:
    form = _unit_form(UnitForm(parent=request.args.get("parent", "")))
    return _form_page(
        form,
        lambda: admin_service.create_unit(current_user, form.code.data or "", *_unit_values(form)),
        lambda unit: _("Unit %(code)s created.", code=unit.code),
        "admin.units",
        "admin/unit_form.html",
        unit=None,
    )


@bp.route("/units/<code>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def unit_edit(code: str) -> Response | str:
    unit = _or_404(lambda: admin_service.get_unit(current_user, code))
    form = UnitForm(
        data={
            "code": unit.code,
            "name_vi": unit.name_vi,
            "name_en": unit.name_en,
            "kind": unit.kind.value,
            "parent": unit.parent.code if unit.parent else "",
        }
        if request.method == "GET"
        else None
    )
    _unit_form(form)
    if unit.parent is not None and unit.parent.code not in dict(form.parent.choices):
        # The scope's own unit keeps a parent outside the scope: show it, fixed.
        form.parent.choices = [(unit.parent.code, unit.parent.name(current_lang()))]
    form.code.data = unit.code
    return _form_page(
        form,
        lambda: admin_service.update_unit(current_user, unit.code, *_unit_values(form)),
        lambda saved: _("Unit %(code)s saved.", code=saved.code),
        "admin.units",
        "admin/unit_form.html",
        unit=unit,
    )


def _decode_csv(data: bytes) -> str | None:
    """The file's text, or None if it is too large or not text in an encoding the
    spreadsheet reader knows (:func:`survey_app.spreadsheets.decode_text`)."""
    if len(data) > MAX_CSV_BYTES:
        return None
    try:
        return spreadsheets.decode_text(data)
    except spreadsheets.SpreadsheetError:
        return None


@bp.post("/units/import")
@role_required(Role.ADMIN)
def units_import() -> Response | tuple[str, int]:
    form = ImportForm()
    errors: list[Any] = []
    if form.validate_on_submit():
        text = _decode_csv(form.file.data.read(MAX_CSV_BYTES + 1))
        if text is None:
            flash(
                _("The file must be a CSV file (UTF-8, UTF-16 or Windows-1258) of at most 1 MB."),
                "error",
            )
        else:
            try:
                created, updated = admin_service.import_units_csv(current_user, text)
            except UnitImportError as error:
                errors = error.errors
            else:
                flash(
                    _("Units imported: %(created)s created, %(updated)s updated.",
                      created=formatting.number(created), updated=formatting.number(updated)),
                    "info",
                )  # fmt: skip
                return redirect(url_for("admin.units"))
    html = render_template(
        "admin/units.html",
        rows=admin_service.unit_tree(current_user),
        kinds=kind_labels(),
        form=form,
        errors=errors,
    )
    return html, 422


# --------------------------------------------------------------------------- desks


def _desk_values(form: DeskForm) -> tuple[str, str, int]:
    return form.unit.data or "", form.name.data or "", form.timeout.data or 60


def _desk_form(form: DeskForm) -> DeskForm:
    form.unit.choices = _unit_choices(none_label=None)
    return form


@bp.route("/desks/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def desk_new() -> Response | str:
    form = _desk_form(DeskForm())
    return _form_page(
        form,
        lambda: admin_service.create_desk(current_user, form.code.data or "", *_desk_values(form)),
        lambda desk: _("Desk %(code)s created.", code=desk.code),
        "admin_desks.index",
        "admin/desk_form.html",
        desk=None,
    )


@bp.route("/desks/<code>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def desk_edit(code: str) -> Response | str:
    desk = _or_404(lambda: admin_service.get_desk(current_user, code))
    initial = {
        "code": desk.code,
        "name": desk.name,
        "unit": desk.unit.code,
        "timeout": desk.inactivity_timeout_s,
    }
    form = _desk_form(DeskForm(data=initial if request.method == "GET" else None))
    form.code.data = desk.code
    return _form_page(
        form,
        lambda: admin_service.update_desk(current_user, desk.code, *_desk_values(form)),
        lambda saved: _("Desk %(code)s saved.", code=saved.code),
        "admin_desks.index",
        "admin/desk_form.html",
        desk=desk,
        action=ActionForm(),
    )


@bp.post("/desks/<code>/active")
@role_required(Role.ADMIN)
def desk_active(code: str) -> Response:
    """Deactivate (``active=0``) or reactivate (``active=1``) a desk."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    _or_404(lambda: admin_service.set_desk_active(current_user, code, active))
    if active:
        flash(_("Desk %(code)s reactivated.", code=code), "info")
    else:
        flash(_("Desk %(code)s deactivated.", code=code), "info")
    return redirect(url_for("admin_desks.index"))


# ------------------------------------------------------------------ questionnaires


@bp.get("/questionnaires/")
@role_required(Role.ADMIN)
def questionnaires() -> str:
    return render_template(
        "admin/questionnaires.html",
        rows=admin_service.list_questionnaires(),
        form=ActionForm(),
        problems=[],
    )


@bp.post("/questionnaires/reload")
@role_required(Role.ADMIN)
def questionnaires_reload() -> Response | tuple[str, int]:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        report = admin_service.reload_questionnaires(current_user)
    except admin_service.AdminError as error:
        html = render_template(
            "admin/questionnaires.html",
            rows=admin_service.list_questionnaires(),
            form=form,
            problems=str(error).splitlines(),
        )
        return html, 422
    flash(_("Questionnaire files loaded: %(report)s", report="; ".join(report)), "info")
    return redirect(url_for("admin.questionnaires"))


@bp.get("/questionnaires/<slug>/<int:version>")
@role_required(Role.ADMIN)
def questionnaire(slug: str, version: int) -> str:
    row, definition = _or_404(lambda: admin_service.questionnaire_definition(slug, version))
    return render_template("admin/questionnaire.html", row=row, q=definition)


# --------------------------------------------------------------------------- users


@bp.get("/users/")
@role_required(Role.ADMIN)
def users() -> str:
    return render_template(
        "admin/users.html",
        users=admin_service.list_users(current_user),
        roles=role_labels(),
        form=ActionForm(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def user_new() -> Response | str:
    form = UserForm()
    form.role.choices = list(role_labels().items())
    form.unit.choices = _unit_choices(none_label=_("(every unit: no unit scope)"))
    return _form_page(
        form,
        lambda: admin_service.create_user(
            current_user,
            form.username.data or "",
            form.password.data or "",
            form.role.data or "",
            form.unit.data or "",
        ),
        lambda user: _("User %(name)s created.", name=user.username),
        "admin.users",
        "admin/user_form.html",
    )


def _keep_own_session(changed: User) -> User:
    """A reset ends the account's sessions; an administrator resetting their own
    password keeps this one (logged in again with the new session version)."""
    if changed.id == current_user.id:
        login_user(changed)
    return changed


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def user_password(user_id: int) -> Response | str:
    user = _or_404(lambda: admin_service.get_user(current_user, user_id))
    form = PasswordForm()
    return _form_page(
        form,
        lambda: _keep_own_session(
            admin_service.reset_password(current_user, user.id, form.password.data or "")
        ),
        lambda changed: _("The password of %(name)s was reset.", name=changed.username),
        "admin.users",
        "admin/user_password.html",
        user=user,
    )


@bp.post("/users/<int:user_id>/active")
@role_required(Role.ADMIN)
def user_active(user_id: int) -> Response:
    """Deactivate (``active=0``) or reactivate (``active=1``) an account."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    done = _or_404(
        lambda: _attempt(
            lambda: admin_service.set_user_active(current_user, user_id, active),
            lambda user: (
                _("User %(name)s reactivated.", name=user.username)
                if active
                else _("User %(name)s deactivated.", name=user.username)
            ),
            "admin.users",
        )
    )
    return done or redirect(url_for("admin.users"))


# ----------------------------------------------------------------------- audit log


@bp.get("/audit/")
@role_required(Role.ADMIN)
def audit() -> str:
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("All actions"))] + [
        (action, audit_service.action_label(action)) for action in admin_service.audit_actions()
    ]
    valid = form.validate()
    page = admin_service.audit_log(
        current_user,
        action=form.action.data or "",
        username=form.user.data or "",
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
        page=request.args.get("page", 1, type=int) or 1,
    )
    args = {key: value for key, value in request.args.items() if key not in ("page", "lang")}
    return render_template("admin/audit.html", form=form, page=page, args=args, audit=audit_service)
