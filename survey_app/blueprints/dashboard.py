"""The leaders' dashboard: what has been collected within the user's scope."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from survey_app.access import READERS, role_required
from survey_app.services import overview as overview_service

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.get("/")
@role_required(*READERS)
def overview() -> str:
    table = overview_service.collection_table(current_user)
    return render_template("dashboard/overview.html", table=table)
