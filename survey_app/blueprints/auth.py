"""Log in and log out (Flask-Login), rate-limited, audited."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from survey_app.extensions import limiter
from survey_app.i18n import safe_next
from survey_app.services import accounts

bp = Blueprint("auth", __name__, url_prefix="/auth")


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def _login_limit() -> str:
    return str(current_app.config["RATELIMIT_LOGIN"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
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
