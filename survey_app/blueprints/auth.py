"""Log in, log out and change one's password (Flask-Login), rate-limited, audited.

Password guesses are limited per account (``RATELIMIT_LOGIN``, counted for the user
name tried, whoever tries it) and, more loosely, per client address
(``RATELIMIT_LOGIN_ADDRESS``), so one account's failures do not lock another account
out from the same office network. Counters live in the shared rate-limit storage
(``RATELIMIT_STORAGE_URI``), so every worker counts the same attempts.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from survey_app.admin import accounts
from survey_app.extensions import limiter
from survey_app.forms.base import Form
from survey_app.forms.passwords import PasswordForm
from survey_app.i18n import safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")

#: The limiter scope shared by every form that checks an account's password.
ACCOUNT_SCOPE = "login-account"


class LoginForm(Form):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class ChangePasswordForm(PasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])


def _login_limit() -> str:
    return str(current_app.config["RATELIMIT_LOGIN"])


def _address_limit() -> str:
    return str(current_app.config["RATELIMIT_LOGIN_ADDRESS"])


def _account_key(username: str) -> str:
    """The limiter key of an account: a digest, so any user name makes a short key."""
    digest = hashlib.sha256(username.strip()[:64].encode("utf-8", "replace")).hexdigest()
    return "account:" + digest[:32]


def _tried_account() -> str:
    return _account_key(request.form.get("username", ""))


def _own_account() -> str:
    if current_user.is_authenticated:
        return _account_key(current_user.username)
    return "address:" + get_remote_address()


@bp.route("/login", methods=["GET", "POST"])
@limiter.shared_limit(_login_limit, scope=ACCOUNT_SCOPE, key_func=_tried_account, methods=["POST"])
@limiter.limit(_address_limit, methods=["POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.overview"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("dashboard.overview")))
        flash(_("Wrong user name or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    accounts.record_logout(current_user)
    logout_user()
    return redirect(url_for("main.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.shared_limit(_login_limit, scope=ACCOUNT_SCOPE, key_func=_own_account, methods=["POST"])
def password() -> Response | str:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if accounts.change_password(user, form.current.data or "", form.password.data or ""):
            login_user(user)  # this session carries the new version; every other one ends
            flash(_("Your password was changed. Other sessions have been logged out."), "info")
            return redirect(url_for("dashboard.overview"))
        form.current.errors = [_("The current password is wrong.")]
    return render_template("auth/password.html", form=form)
