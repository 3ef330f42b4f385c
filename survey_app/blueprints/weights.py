"""The survey team's weighting console: schemes per wave, upload, preview, save, activate.

Analysts and administrators only, and only for waves whose unit lies within their
scope (another wave is answered 404, as if it did not exist). Views are thin: every
computation and every write happens in :mod:`survey_app.weighting` (sample, targets,
preview, schemes). Every POST carries the CSRF token, which the app-wide
``CSRFProtect`` checks.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from survey_app.access import STAFF, role_required, wave_for
from survey_app.forms.weights import PreviewForm, SaveForm
from survey_app.i18n import current_lang
from survey_app.models import Wave
from survey_app.reporting import tables
from survey_app.reporting.tables import Table
from survey_app.spreadsheets import RowError
from survey_app.weighting import schemes
from survey_app.weighting.errors import SchemeError, WeightingInputError
from survey_app.weighting.preview import Preview, histogram
from survey_app.weighting.preview import preview as preview_scheme
from survey_app.weighting.sample import WaveSample, load_sample
from survey_app.weighting.spec import METHODS, WeightingSpec
from survey_app.weighting.targets import TargetRows, read_targets
from survey_app.weighting.templates import template_rows

bp = Blueprint("weights", __name__, url_prefix="/analyst/weights")


def _wave(code: str) -> Wave:
    return wave_for(current_user, code, to="manage") or abort(404)


@bp.get("/")
@role_required(*STAFF)
def index() -> str:
    return render_template("weights/index.html", rows=schemes.waves_in_scope(current_user))


def _page(
    wave: Wave,
    sample: WaveSample,
    form: PreviewForm | None = None,
    *,
    result: Preview | None = None,
    save_form: SaveForm | None = None,
    errors: list[RowError] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    html = render_template(
        "weights/wave.html",
        wave=wave,
        sample=sample,
        form=form or PreviewForm(formdata=None),
        save_form=save_form,
        schemes=schemes.list_schemes(wave),
        history=schemes.history(wave),
        result=result,
        figure=histogram(result, sample, current_lang()) if result is not None else None,
        errors=errors or [],
        methods=METHODS,
        lang=current_lang(),
    )
    return html, status


@bp.get("/<code>/")
@role_required(*STAFF)
def wave(code: str) -> tuple[str, int]:
    wave = _wave(code)
    return _page(wave, load_sample(wave))


def _spec(form: PreviewForm, targets: TargetRows, filename: str) -> WeightingSpec:
    method = form.method.data or ""
    bounds = None
    if method.startswith("calibrate") and form.bound_lower.data is not None:
        bounds = (form.bound_lower.data, form.bound_upper.data)
    return WeightingSpec(
        method=method,
        targets=targets,
        max_iter=form.max_iter.data or 10,
        epsilon=form.epsilon.data or 1.0,
        bounds=bounds,
        trim_lower=form.trim_lower.data,
        trim_upper=form.trim_upper.data,
        strict=bool(form.strict.data),
        filename=filename,
    )


@bp.post("/<code>/preview")
@role_required(*STAFF)
def preview(code: str) -> tuple[str, int]:
    """Check the upload and show what the scheme would be; nothing is stored."""
    wave = _wave(code)
    sample = load_sample(wave)
    form = PreviewForm()
    if not form.validate_on_submit():
        return _page(wave, sample, form, status=422)
    upload = form.targets.data
    try:
        targets = read_targets(upload.read(), upload.filename or "")
        options = _spec(form, targets, upload.filename or "")
        result = preview_scheme(sample, options)
    except WeightingInputError as exc:
        return _page(wave, sample, form, errors=exc.errors, status=422)
    save_form = SaveForm(formdata=None, spec=json.dumps(options.to_json(), ensure_ascii=False))
    return _page(wave, sample, form, result=result, save_form=save_form)


@bp.post("/<code>/schemes")
@role_required(*STAFF)
def save(code: str) -> BaseResponse | tuple[str, int]:
    """Store the previewed scheme (recomputed from its inputs) as a new version."""
    wave = _wave(code)
    sample = load_sample(wave)
    form = SaveForm()
    try:
        options = WeightingSpec.from_json(json.loads(form.spec.data or ""))
    except (json.JSONDecodeError, WeightingInputError):
        abort(400)
    try:
        if not form.validate_on_submit():
            result = preview_scheme(sample, options)
            return _page(wave, sample, result=result, save_form=form, status=422)
        scheme = schemes.save_scheme(sample, options, form.name.data or "", current_user)
    except WeightingInputError as exc:
        return _page(wave, sample, errors=exc.errors, status=422)
    except SchemeError as exc:
        flash(str(exc), "error")
        result = preview_scheme(sample, options)
        return _page(wave, sample, result=result, save_form=form, status=409)
    flash(
        _(
            "Scheme “%(name)s” version %(version)s saved. It is not active yet.",
            name=scheme.name,
            version=scheme.version,
        ),
        "info",
    )
    return redirect(url_for("weights.wave", code=wave.code))


@bp.post("/<code>/schemes/<int:scheme_id>/activate")
@role_required(*STAFF)
def activate(code: str, scheme_id: int) -> BaseResponse:
    wave = _wave(code)
    try:
        scheme = schemes.activate(wave, scheme_id, current_user)
    except SchemeError as exc:
        flash(str(exc), "error")
    else:
        flash(
            _(
                "Scheme “%(name)s” version %(version)s is now active: every figure of this "
                "wave uses it.",
                name=scheme.name,
                version=scheme.version,
            ),
            "info",
        )
    return redirect(url_for("weights.wave", code=wave.code))


@bp.post("/<code>/deactivate")
@role_required(*STAFF)
def deactivate(code: str) -> BaseResponse:
    wave = _wave(code)
    if schemes.deactivate(wave, current_user) is not None:
        flash(_("No scheme is active: this wave's figures use the design weights."), "info")
    return redirect(url_for("weights.wave", code=wave.code))


@bp.get("/<code>/preview")
@bp.get("/<code>/schemes")
@role_required(*STAFF)
def back_to_wave(code: str) -> BaseResponse:
    """A preview or a refused save is the answer to a POST; asking for it again (the
    language switch does) leads back to the wave's page."""
    return redirect(url_for("weights.wave", code=_wave(code).code, **request.args))


@bp.get("/<code>/template.<fmt>")
@role_required(*STAFF)
def template(code: str, fmt: str) -> Response:
    """A targets template listing the wave's variables and levels, as CSV or XLSX."""
    wave = _wave(code)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    layout = request.args.get("layout", "long")
    if layout not in ("long", "cells"):
        abort(404)
    names = [n for n in request.args.getlist("variables") if n]
    sample = load_sample(wave)
    try:
        header, rows = template_rows(sample, layout, names, current_lang())
    except WeightingInputError as exc:
        abort(Response("\n".join(e.message for e in exc.errors), 400, mimetype="text/plain"))
    table = Table(
        name=f"targets-{wave.code}-{layout}",
        title=_("Targets"),
        headers=tuple(header),
        rows=tuple(tuple(row) for row in rows),
    )
    if fmt == "csv":
        body, mimetype = tables.to_csv(table), tables.CSV_MIMETYPE
    else:
        body, mimetype = tables.to_xlsx(table), tables.XLSX_MIMETYPE
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{table.name}.{fmt}"'
    return response
