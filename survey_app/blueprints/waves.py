"""Survey teams' wave pages: create field-survey waves with their design, close them,
and set how continuous feedback is grouped into periods."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileSize
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from survey_app import formatting
from survey_app.access import STAFF, role_required
from survey_app.collection import questionnaires as questionnaire_service
from survey_app.collection.waves.design import LONELY_RULE_TEXTS
from survey_app.collection.waves.errors import WaveError
from survey_app.collection.waves.feedback_periods import list_series, set_feedback_series
from survey_app.collection.waves.field_waves import close_wave, create_field_wave, replace_frame
from survey_app.collection.waves.lookups import get_wave, list_waves, summary, visible_waves
from survey_app.collection.waves.sample_frame import (
    FRAME_MAX_BYTES,
    read_frame,
    read_frame_or_problems,
)
from survey_app.forms.base import Form
from survey_app.models import FeedbackPeriod, Wave

bp = Blueprint("waves", __name__, url_prefix="/analyst/waves")

LONELY_PSU_CHOICES = [SelectChoice(rule.value, text) for rule, text in LONELY_RULE_TEXTS.items()]
PERIOD_CHOICES = [
    SelectChoice(FeedbackPeriod.MONTH.value, _l("Monthly")),
    SelectChoice(FeedbackPeriod.QUARTER.value, _l("Quarterly")),
]


def frame_field() -> FileField:
    return FileField(
        _l("Sample frame (CSV, at most 2 MB and 20,000 rows)"),
        validators=[
            FileAllowed(["csv"], _l("Upload a CSV file.")),
            FileSize(FRAME_MAX_BYTES, message=_l("The file is larger than 2 MB.")),
        ],
    )


class WaveForm(Form):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name_vi = StringField(_l("Name in Vietnamese"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=200)])
    questionnaire = SelectField(_l("Questionnaire"), validators=[DataRequired()])
    unit = StringField(_l("Unit covered (code)"), validators=[DataRequired(), Length(max=32)])
    start = DateField(_l("First day of fieldwork"), validators=[DataRequired()])
    end = DateField(_l("Last day of fieldwork"), validators=[DataRequired()])
    lonely_psu = SelectField(
        _l("A stratum with a single PSU"), choices=LONELY_PSU_CHOICES, default="adjust"
    )
    panel_of = SelectField(_l("Panel of an earlier wave"), validators=[Optional()])
    frame = frame_field()


class FrameForm(Form):
    frame = frame_field()


class SeriesForm(Form):
    unit = StringField(_l("Unit (code)"), validators=[DataRequired(), Length(max=32)])
    questionnaire = SelectField(_l("Questionnaire"), validators=[DataRequired()])
    period = SelectField(_l("Period"), choices=PERIOD_CHOICES)


class CloseForm(Form):
    pass


def _questionnaire_choices() -> list[tuple[str, str]]:
    return [
        (f"{row.slug}:{row.version}", f"{row.slug} v{row.version} — {row.title_vi}")
        for row in questionnaire_service.all_versions()
    ]


def _wave_form(form: WaveForm | None = None) -> WaveForm:
    form = form or WaveForm()
    form.questionnaire.choices = _questionnaire_choices()
    earlier = [wave for wave in visible_waves(current_user) if wave.kind == "field_survey"]
    form.panel_of.choices = [("", _("No: an independent sample"))] + [
        (wave.code, f"{wave.code} — {wave.name_vi}") for wave in earlier
    ]
    return form


def _series_form(form: SeriesForm | None = None) -> SeriesForm:
    form = form or SeriesForm()
    slugs = sorted({row.slug for row in questionnaire_service.all_versions()})
    form.questionnaire.choices = [(slug, slug) for slug in slugs]
    return form


def _index(
    wave_form: WaveForm | None = None,
    series_form: SeriesForm | None = None,
    problems: list[str] | None = None,
) -> str:
    return render_template(
        "waves/index.html",
        rows=list_waves(current_user),
        series=list_series(current_user),
        form=_wave_form(wave_form),
        series_form=_series_form(series_form),
        problems=problems or [],
    )


@bp.get("/")
@role_required(*STAFF)
def index() -> str:
    return _index()


@bp.post("/")
@role_required(*STAFF)
def create() -> Response | tuple[str, int]:
    form = _wave_form()
    if not form.validate_on_submit():
        return _index(wave_form=form), 422
    upload = form.frame.data
    frame, frame_problems = read_frame_or_problems(upload.read() if upload else None)
    try:
        wave = create_field_wave(
            code=form.code.data.strip(),
            name_vi=form.name_vi.data,
            name_en=form.name_en.data or form.name_vi.data,
            questionnaire=form.questionnaire.data,
            unit_code=form.unit.data.strip(),
            start=form.start.data,
            end=form.end.data,
            lonely_psu=form.lonely_psu.data,
            panel_of=form.panel_of.data or None,
            frame=frame,
            frame_problems=frame_problems,
            user=current_user,
        )
    except WaveError as error:
        return _index(wave_form=form, problems=error.problems), 422
    flash(_("Wave %(code)s created.", code=wave.code), "success")
    for warning in frame.warnings if frame is not None else []:
        flash(warning, "warning")
    return redirect(url_for("waves.detail", code=wave.code))


@bp.post("/periods")
@role_required(*STAFF)
def periods() -> Response | tuple[str, int]:
    form = _series_form()
    if not form.validate_on_submit():
        return _index(series_form=form), 422
    try:
        set_feedback_series(
            form.unit.data.strip(), form.questionnaire.data, form.period.data, user=current_user
        )
    except WaveError as error:
        return _index(series_form=form, problems=error.problems), 422
    flash(_("Feedback periods saved."), "success")
    return redirect(url_for("waves.index"))


def _visible(code: str) -> Wave:
    wave = get_wave(code, current_user)
    if wave is None:
        abort(404)
    return wave


def _detail(wave: Wave, problems: list[str] | None = None) -> str:
    return render_template(
        "waves/detail.html",
        wave=wave,
        summary=summary(wave),
        frame_form=FrameForm(),
        close_form=CloseForm(),
        problems=problems or [],
    )


@bp.get("/<code>")
@role_required(*STAFF)
def detail(code: str) -> str:
    return _detail(_visible(code))


@bp.post("/<code>/frame")
@role_required(*STAFF)
def frame(code: str) -> Response | tuple[str, int]:
    wave = _visible(code)
    form = FrameForm()
    if not form.validate_on_submit() or not form.frame.data:
        problems = [str(e) for e in form.frame.errors] or [_("Choose a CSV file.")]
        return _detail(wave, problems), 422
    try:
        parsed = read_frame(form.frame.data.read())
        replace_frame(wave, parsed, user=current_user)
    except WaveError as error:
        return _detail(wave, error.problems), 422
    flash(_("Sample frame saved: %(n)s PSUs.", n=formatting.number(len(parsed.rows))), "success")
    for warning in parsed.warnings:
        flash(warning, "warning")
    return redirect(url_for("waves.detail", code=code))


@bp.post("/<code>/close")
@role_required(*STAFF)
def close(code: str) -> Response | tuple[str, int]:
    wave = _visible(code)
    if not CloseForm().validate_on_submit():
        abort(400)
    try:
        close_wave(wave.code, user=current_user)
    except WaveError as error:
        return _detail(wave, error.problems), 422
    flash(_("Wave %(code)s closed: no more answers are accepted.", code=code), "success")
    return redirect(url_for("waves.detail", code=code))
