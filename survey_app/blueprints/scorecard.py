"""Unit scorecards: one printable page per unit and wave, and the same page as a PDF."""

from __future__ import annotations

import math

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from analysis.indices import points
from survey_app import formatting
from survey_app.access import READERS, can_see_unit, role_required
from survey_app.extensions import db
from survey_app.i18n import current_lang
from survey_app.models import Unit, Wave
from survey_app.reporting.indices.figures import IndexFigure
from survey_app.reporting.scorecard.card import ScorecardError, available, build
from survey_app.reporting.scorecard.chart import trend_svg
from survey_app.reporting.scorecard.pdf import html_to_pdf

bp = Blueprint("scorecard", __name__, url_prefix="/scorecard")


def figure_value(figure: IndexFigure, value: float | None = None) -> str:
    """A rate as a percentage (77,2%), a score with one decimal (68,4)."""
    return formatting.index_value(figure.value if value is None else value, figure.kind)


def figure_ci(figure: IndexFigure) -> str:
    """The 95% interval, e.g. 72,1–81,3%."""
    if math.isnan(figure.ci_low) or math.isnan(figure.ci_high):
        return "—"
    low, high = figure_value(figure, figure.ci_low), figure_value(figure, figure.ci_high)
    if figure.kind == "rate":
        low = low.rstrip("%").rstrip()
    return f"{low}–{high}"


@bp.context_processor
def scorecard_formats() -> dict[str, object]:
    return {
        "figure_value": figure_value,
        "figure_ci": figure_ci,
        "whole": lambda value: formatting.number(round(value), 0),
        "points": lambda value, kind: formatting.signed(points(value, kind)),
        "channel_names": {
            "kiosk": _("Kiosk"),
            "phone": _("Phone"),
            "field": _("Field interview"),
            "paper": _("Paper form"),
        },
    }


def _unit_and_wave(unit_code: str, wave_code: str) -> tuple[Unit, Wave]:
    """The unit and wave named in the URL; 404 when unknown or outside the user's scope."""
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    wave = db.session.scalar(select(Wave).where(Wave.code == wave_code))
    if unit is None or wave is None or not can_see_unit(current_user, unit):
        abort(404)
    return unit, wave


def _render(unit_code: str, wave_code: str, *, for_pdf: bool) -> str:
    unit, wave = _unit_and_wave(unit_code, wave_code)
    lang = current_lang()
    try:
        card = build(unit, wave, lang, current_user)
    except ScorecardError:
        abort(404)
    return render_template(
        "scorecard/scorecard.html",
        card=card,
        chart=trend_svg(card, lang),
        for_pdf=for_pdf,
    )


@bp.get("/")
@role_required(*READERS)
def index() -> str:
    return render_template("scorecard/index.html", rows=available(current_user))


@bp.get("/<unit_code>/<wave_code>")
@role_required(*READERS)
def show(unit_code: str, wave_code: str) -> str:
    return _render(unit_code, wave_code, for_pdf=False)


@bp.get("/<unit_code>/<wave_code>/scorecard.pdf")
@role_required(*READERS)
def pdf(unit_code: str, wave_code: str) -> Response:
    html = _render(unit_code, wave_code, for_pdf=True)
    document = html_to_pdf(
        html,
        base_url=request.url_root,
        static_folder=str(current_app.static_folder),
        static_url_path=str(current_app.static_url_path),
    )
    filename = secure_filename(f"scorecard-{unit_code}-{wave_code}.pdf")
    return Response(
        document,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
