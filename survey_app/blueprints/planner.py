"""The sample-size planner for survey teams (``/analyst/planner``).

A read-only page: the inputs travel in the query string, so a plan can be bookmarked
and shared. The formulas are :mod:`analysis.planning`'s (Cochran 1977, sec. 4.4;
Kish 1965, sec. 8.2), cited on the page.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from survey_app.access import STAFF, role_required
from survey_app.forms.weights import PlannerForm
from survey_app.i18n import current_lang
from survey_app.weighting import planning

bp = Blueprint("planner", __name__, url_prefix="/analyst/planner")


@bp.get("/")
@role_required(*STAFF)
def planner() -> tuple[str, int]:
    submitted = "margin" in request.args
    form = PlannerForm(formdata=request.args if submitted else None)
    if not submitted:
        form.units.data = planning.prefill(current_user, request.args.get("parent"), current_lang())
    result = None
    unit_errors: list[str] = []
    status = 200
    if submitted and form.validate():
        units, unit_errors = planning.parse_units(form.units.data or "")
        if not unit_errors:
            result = planning.plan(
                form.margin.data / 100,
                form.proportion.data / 100,
                form.deff.data,
                float(form.level.data),
                units,
            )
    if submitted and result is None:
        status = 422
    return (
        render_template(
            "weights/planner.html",
            form=form,
            result=result,
            unit_errors=unit_errors,
            parents=planning.parents_in_scope(current_user),
            lang=current_lang(),
        ),
        status,
    )
