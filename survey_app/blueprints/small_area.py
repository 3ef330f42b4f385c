"""The small-area console: Fay–Herriot estimates of the communes' rates in a field wave.

Analysts and administrators only, for field waves within their scope (another wave
is answered 404). The page fits the model the form describes
(:func:`survey_app.reporting.small_area.fitting.estimate`) and shows β with standard errors,
σ²_u, the shrinkage per commune, a residual plot and the direct-versus-small-area
table with CVs; the survey team may switch the figures on for the wave (audited).
Views are thin: every computation and every write is in the service.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from survey_app import spreadsheets
from survey_app.access import STAFF, role_required, wave_for
from survey_app.collection.scoring import IndexRequestError
from survey_app.forms.small_area import METHOD_LABELS, FitForm
from survey_app.i18n import current_lang
from survey_app.models import Wave, WaveKind
from survey_app.reporting.small_area import covariates, fitting, publication, results

bp = Blueprint("small_area", __name__, url_prefix="/analyst/small-area")


def _wave(code: str) -> Wave:
    return wave_for(current_user, code, to="manage", kind=WaveKind.FIELD_SURVEY) or abort(404)


@bp.get("/")
@role_required(*STAFF)
def index() -> str:
    return render_template(
        "small_area/index.html", rows=publication.field_waves_in_scope(current_user)
    )


def _uploaded(form: FitForm) -> results.UploadedCovariates | None:
    """The covariate file of this request, else the one carried from an earlier one."""
    upload = form.covariate_file.data
    if upload is not None and getattr(upload, "filename", ""):
        return covariates.read_covariate_file(upload.read(), upload.filename or "")
    if form.uploaded.data:
        try:
            return results.UploadedCovariates.from_json(json.loads(form.uploaded.data))
        except (ValueError, TypeError, AttributeError):
            abort(400)
    return None


def _defaults(wave: Wave, form: FitForm) -> None:
    """Without a submitted form: the switched-on model, else every available covariate."""
    row = publication.setting(wave)
    if row is not None and row.enabled:
        form.covariates.data = list(row.covariates)
        form.method.data = row.method
        form.smooth.data = row.smooth_variances
        if row.uploaded:
            form.uploaded.data = json.dumps(row.uploaded, ensure_ascii=False)
    else:
        options = covariates.covariate_options(wave)
        form.covariates.data = [o.key for o in options if o.available]


def _read_form(wave: Wave, form: FitForm) -> tuple[results.UploadedCovariates | None, list[str]]:
    """The request's covariate file (or the carried one) and the form's choices set
    from it; problems of the file as messages."""
    try:
        uploaded = _uploaded(form)
    except spreadsheets.SpreadsheetError as exc:
        uploaded, errors = None, [str(p) for p in exc.problems]
    else:
        errors = []
    form.covariates.choices = [
        (o.key, o.label) for o in covariates.covariate_options(wave, uploaded)
    ]
    if uploaded is not None:
        form.uploaded.data = json.dumps(uploaded.to_json(), ensure_ascii=False)
    return uploaded, errors


def _page(
    wave: Wave,
    form: FitForm,
    uploaded: results.UploadedCovariates | None,
    errors: list[str],
    *,
    status: int = 200,
) -> tuple[str, int]:
    """The console page, with the fit of the form's model unless there are errors."""
    result = None
    if not errors and not form.errors:
        try:
            result = fitting.estimate(
                wave,
                covariates=form.covariates.data or [],
                uploaded=uploaded,
                method=form.method.data or "reml",
                smooth_variances=bool(form.smooth.data),
            )
        except (results.SmallAreaError, IndexRequestError) as exc:
            errors = [str(exc)]
    if errors or form.errors:
        status = 422
    lang = current_lang()
    html = render_template(
        "small_area/wave.html",
        wave=wave,
        form=form,
        options=covariates.covariate_options(wave, uploaded),
        result=result,
        figure=fitting.residual_figure(result, lang) if result is not None else None,
        errors=errors,
        setting=publication.setting(wave),
        methods=METHOD_LABELS,
        lang=lang,
    )
    return html, status


@bp.get("/<code>/")
@role_required(*STAFF)
def wave(code: str) -> tuple[str, int]:
    wave = _wave(code)
    form = FitForm(formdata=None)
    _defaults(wave, form)
    uploaded, errors = _read_form(wave, form)
    return _page(wave, form, uploaded, errors)


@bp.post("/<code>/")
@role_required(*STAFF)
def fit(code: str) -> tuple[str, int]:
    """Fit the submitted model (nothing is stored)."""
    wave = _wave(code)
    form = FitForm()
    uploaded, errors = _read_form(wave, form)
    form.validate_on_submit()
    return _page(wave, form, uploaded, errors)


@bp.post("/<code>/switch")
@role_required(*STAFF)
def switch(code: str) -> BaseResponse | tuple[str, int]:
    """Switch the small-area figures on with the submitted model, or off."""
    wave = _wave(code)
    form = FitForm()
    enabled = request.form.get("enabled") == "1"
    uploaded, errors = _read_form(wave, form)
    if not enabled:  # the model stays stored as it was; only the switch changes
        row = publication.setting(wave)
        if row is not None and row.enabled:
            publication.set_switch(
                wave,
                False,
                covariates=list(row.covariates),
                method=row.method,
                smooth_variances=row.smooth_variances,
                uploaded=None,
                user=current_user._get_current_object(),
            )
            flash(_("Small-area estimates are switched off for this wave."), "info")
        return redirect(url_for("small_area.wave", code=wave.code))
    if errors or not form.validate_on_submit():
        return _page(wave, form, uploaded, errors)
    try:
        publication.set_switch(
            wave,
            enabled,
            covariates=form.covariates.data or [],
            method=form.method.data or "reml",
            smooth_variances=bool(form.smooth.data),
            uploaded=uploaded,
            user=current_user._get_current_object(),
        )
    except (results.SmallAreaError, IndexRequestError) as exc:
        return _page(wave, form, uploaded, [str(exc)])
    flash(
        _(
            "Small-area estimates are switched on for this wave with this model: "
            "communes without a reportable direct figure may show the model-based one."
        ),
        "info",
    )
    return redirect(url_for("small_area.wave", code=wave.code))


@bp.get("/<code>/switch")
@role_required(*STAFF)
def back_to_wave(code: str) -> BaseResponse:
    """The switch is a POST; asking for it again (the language switch) leads back."""
    return redirect(url_for("small_area.wave", code=_wave(code).code, **request.args))
