"""The analysts' review of bursts of identical answers: list, keep or exclude."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from survey_app import formatting
from survey_app.access import STAFF, role_required
from survey_app.reporting import bursts as burst_service

bp = Blueprint("bursts", __name__, url_prefix="/analyst/bursts")


def status_text(status: str) -> str:
    return {
        burst_service.BURST: _("Waiting for review (not counted)"),
        burst_service.KEPT: _("Kept (counted)"),
        burst_service.EXCLUDED: _("Excluded (not counted)"),
    }.get(status, status)


@bp.get("/")
@role_required(*STAFF)
def index() -> str:
    return render_template(
        "bursts/index.html",
        bursts=burst_service.bursts(current_user),
        status_text=status_text,
        pending=burst_service.BURST,
    )


@bp.post("/review")
@role_required(*STAFF)
def review() -> Response:
    decision = request.form.get("decision", "")
    try:
        ids = burst_service.parse_ids(request.form.get("ids", ""))
        count = burst_service.review(current_user, ids, decision)
    except burst_service.ReviewError:
        abort(404)
    if decision == "keep":
        flash(
            _(
                "Responses kept: %(count)s. They now count in the figures.",
                count=formatting.number(count),
            )
        )
    else:
        flash(
            _(
                "Responses excluded: %(count)s. They stay out of the figures.",
                count=formatting.number(count),
            )
        )
    return redirect(url_for("bursts.index"))
