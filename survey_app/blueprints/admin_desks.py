"""Administrators' desk pages: the list, the A4 poster with the phone QR code, QR
downloads, enrolling a tablet as the desk's kiosk, and the citizens' settings of a desk
(dossier code on the phone and the kiosk, reading questions aloud by themselves)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField

from survey_app import access
from survey_app.admin import qr
from survey_app.collection import desks as desk_service
from survey_app.collection import kiosk as kiosk_service
from survey_app.models import Desk, Role

bp = Blueprint("admin_desks", __name__, url_prefix="/admin/desks")


class CitizenSettingsForm(FlaskForm):
    dossier_codes = BooleanField(_l("Ask for the dossier code on the phone"))
    dossier_on_kiosk = BooleanField(_l("Also ask for it on the kiosk, with a number pad"))
    read_aloud_auto = BooleanField(_l("Read each question aloud automatically on the kiosk"))


def _desk(code: str) -> Desk:
    """The desk, if it is in the administrator's scope (404 otherwise)."""
    try:
        desk = desk_service.get_desk(code)
    except desk_service.DeskError:
        abort(404)
    if not access.can_see_unit(current_user, desk.unit):
        abort(404)
    return desk


def absolute_url(endpoint: str, **values: str) -> str:
    """An address for printing: under PUBLIC_BASE_URL if set, else this request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL", "")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def phone_url(desk: Desk) -> str:
    return absolute_url("phone.survey", desk_code=desk.code)


@bp.get("/")
@access.role_required(Role.ADMIN)
def index() -> str:
    desks = kiosk_service.desks_under(access.scope_prefix(current_user))
    return render_template("admin/desks/index.html", desks=desks, phone_url=phone_url)


def _poster_texts() -> dict[str, str]:
    return {
        "title": _("How satisfied are you with our service today?"),
        "scan": _("Scan the QR code with your phone camera to rate the service."),
        "anonymous": _("Anonymous: no name, no login. It takes under a minute."),
    }


@bp.get("/<code>/poster")
@access.role_required(Role.ADMIN)
def poster(code: str) -> str:
    desk = _desk(code)
    url = phone_url(desk)
    texts = kiosk_service.in_both_languages(_poster_texts)
    return render_template(
        "admin/desks/poster.html",
        desk=desk,
        url=url,
        texts=texts,
        qr_svg=qr.svg(url, title=_("QR code: %(url)s", url=url)),
    )


@bp.get("/<code>/qr.svg")
@access.role_required(Role.ADMIN)
def qr_svg(code: str) -> Response:
    desk = _desk(code)
    return _download(qr.svg(phone_url(desk), size="80mm"), "image/svg+xml", desk, "svg")


@bp.get("/<code>/qr.png")
@access.role_required(Role.ADMIN)
def qr_png(code: str) -> Response:
    desk = _desk(code)
    return _download(qr.png(phone_url(desk), scale=12), "image/png", desk, "png")


def _download(body: str | bytes, mimetype: str, desk: Desk, ext: str) -> Response:
    response = Response(body, mimetype=mimetype)
    disposition = "attachment" if request.args.get("download") else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="qr-{desk.code}.{ext}"'
    return response


@bp.post("/<code>/enrol")
@access.role_required(Role.ADMIN)
def enrol(code: str) -> Response:
    """Issue a new kiosk token and show its enrolment address once, as text and QR.

    The token travels in the fragment (``#token=``), which the browser never sends to
    the server, and the page is marked ``no-store`` so it is not kept in any cache.
    """
    desk = _desk(code)
    token = desk_service.issue_token(desk.code)
    url = absolute_url("kiosk.kiosk", desk_code=desk.code) + "#token=" + token
    html = render_template(
        "admin/desks/enrol.html",
        desk=desk,
        url=url,
        qr_svg=qr.svg(url, title=_("Kiosk enrolment QR code for %(desk)s", desk=desk.name)),
    )
    response = Response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<code>/citizens", methods=["GET", "POST"])
@access.role_required(Role.ADMIN)
def citizens(code: str) -> Response | str | tuple[str, int]:
    """The desk's settings for citizens, and its kiosk enrolment."""
    desk = _desk(code)
    form = CitizenSettingsForm(obj=desk if request.method == "GET" else None)
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("admin/desks/citizens.html", desk=desk, form=form), 400
        changes = kiosk_service.update_citizen_settings(
            desk, {name: getattr(form, name).data for name in kiosk_service.CITIZEN_SETTINGS}
        )
        flash(_("Settings saved.") if changes else _("Nothing changed."), "info")
        return redirect(url_for("admin_desks.citizens", code=desk.code))
    return render_template("admin/desks/citizens.html", desk=desk, form=form)
