"""Survey teams' data pages: paper-form templates and import, microdata export."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from survey_app import formatting
from survey_app.access import STAFF, role_required, wave_for
from survey_app.collection import questionnaires as questionnaire_service
from survey_app.collection.paper_import.cells import LIMITS
from survey_app.collection.paper_import.importing import ImportReport, import_file
from survey_app.collection.paper_import.template import template_csv, template_xlsx
from survey_app.collection.waves.lookups import visible_waves
from survey_app.extensions import db
from survey_app.forms.base import Form
from survey_app.i18n import current_lang
from survey_app.models import Questionnaire, Wave
from survey_app.reporting.export import entry as export_entry
from survey_app.reporting.export.rows import CODEBOOK_FORMATS, FORMATS

bp = Blueprint("data", __name__, url_prefix="/analyst/data")


class ImportForm(Form):
    file = FileField(
        _l("Filled-in entry template (XLSX or CSV)"),
        validators=[
            FileRequired(),
            FileAllowed(["xlsx", "csv"], _l("Upload an XLSX or CSV file.")),
        ],
        description=LIMITS.description(),
    )


def _index_page(form: ImportForm, report: ImportReport | None = None) -> str:
    questionnaires = db.session.scalars(
        select(Questionnaire).order_by(Questionnaire.slug, Questionnaire.version.desc())
    ).all()
    return render_template(
        "data/index.html",
        form=form,
        report=report,
        questionnaires=questionnaires,
        waves=visible_waves(current_user),
    )


@bp.get("/")
@role_required(*STAFF)
def index() -> str:
    return _index_page(ImportForm())


@bp.get("/template/<slug>/v<int:version>.<fmt>")
@role_required(*STAFF)
def template(slug: str, version: int, fmt: str) -> Response:
    row = questionnaire_service.get(slug, version)
    if row is None or fmt not in ("xlsx", "csv"):
        abort(404)
    definition = questionnaire_service.parsed(row)
    lang = current_lang()
    if fmt == "xlsx":
        content = template_xlsx(definition, current_user, lang)
    else:
        content = template_csv(definition, lang)
    return _download(content, FORMATS[fmt], f"{slug}-v{version}-entry.{fmt}")


@bp.post("/import")
@role_required(*STAFF)
def import_paper() -> Response | tuple[str, int]:
    form = ImportForm()
    if not form.validate_on_submit():
        return _index_page(form), 422
    upload = form.file.data
    report = import_file(
        secure_filename(upload.filename or "upload") or "upload",
        upload.read(),
        current_user,
        current_lang(),
    )
    if not report.ok:
        return _index_page(ImportForm(formdata=None), report), 422
    flash(
        _(
            "File imported: %(created)s new, %(already)s already stored.",
            created=formatting.number(report.created),
            already=formatting.number(report.already),
        ),
        "success",
    )
    for warning in report.warnings:
        flash(warning, "warning")
    return redirect(url_for("data.index"))


def _visible_wave(wave_code: str) -> Wave:
    return wave_for(current_user, wave_code) or abort(404)


@bp.get("/export/<wave_code>.<fmt>")
@role_required(*STAFF)
def export_wave(wave_code: str, fmt: str) -> Response:
    if fmt not in FORMATS:
        abort(404)
    content, mimetype, name = export_entry.export(
        _visible_wave(wave_code), current_user, fmt, current_lang()
    )
    return _download(content, mimetype, name)


@bp.get("/export/<wave_code>/codebook.<fmt>")
@role_required(*STAFF)
def export_codebook(wave_code: str, fmt: str) -> Response:
    if fmt not in CODEBOOK_FORMATS:
        abort(404)
    content, mimetype, name = export_entry.export(
        _visible_wave(wave_code), current_user, fmt, current_lang(), codebook=True
    )
    return _download(content, mimetype, name)


def _download(content: bytes, mimetype: str, name: str) -> Response:
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{secure_filename(name)}"'},
    )
