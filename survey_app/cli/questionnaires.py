"""``flask questionnaires``: loading questionnaire files, XLSForm import and export."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from survey_app.cli.common import CliError
from survey_app.cli.language import N_, SurveyGroup
from survey_app.collection import questionnaires


@click.group("questionnaires", cls=SurveyGroup, help=N_("Questionnaire files."))
def questionnaires_group() -> None:
    pass


@questionnaires_group.command(
    "load",
    help=N_(
        "Validate and load every questionnaire file in the folder, and make its read-aloud audio."
    ),
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True),
    help=N_("Folder of questionnaire files (default: questionnaires/)."),
)
def questionnaires_load(directory: str | None) -> None:
    from survey_app.collection import audio, read_aloud

    folder = Path(directory or current_app.config["QUESTIONNAIRE_DIR"])
    try:
        outcome = questionnaires.load_folder(folder)
        outcome += read_aloud.build_folder(folder).lines()
    except (questionnaires.QuestionnaireLoadError, audio.AudioError) as error:
        raise CliError(str(error)) from error
    for line in outcome:
        click.echo(line)


# pyxform takes most of a second to import: the two XLSForm commands import
# survey_app.collection.xlsform when they run, so that other commands do not pay for it.


@questionnaires_group.command(
    "import-xlsform",
    help=N_("Convert an XLSForm (KoboToolbox/ODK, .xlsx) into a questionnaire file."),
)
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--slug", help=N_("Slug of the questionnaire (default: form_id of the settings sheet).")
)
@click.option(
    "--version",
    type=click.IntRange(1, 1_000_000),
    help=N_("Version (default: version of the settings sheet, if a whole number)."),
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help=N_("Questionnaire file to write, e.g. questionnaires/my_survey.yaml."),
)
@click.option("--force", is_flag=True, help=N_("Overwrite --out if it exists."))
def questionnaires_import_xlsform(
    file: str, slug: str | None, version: int | None, out: str, force: bool
) -> None:
    from survey_app.collection.xlsform.problems import XLSFormError
    from survey_app.collection.xlsform.reading import read_xlsform
    from survey_app.collection.xlsform.writing import dump_yaml

    target = Path(out)
    if target.suffix not in (".yaml", ".yml"):
        raise CliError(_("--out must be a .yaml or .yml file, got %(out)s", out=out))
    if target.exists() and not force:
        raise CliError(_("%(out)s exists; pass --force to overwrite it", out=out))
    try:
        result = read_xlsform(file, slug=slug, version=version)
    except XLSFormError as error:
        for problem in error.problems:
            click.echo(f"{file}: {problem}", err=True)
        n = len(error.problems)
        raise CliError(
            ngettext(
                "nothing was written: %(num)d problem", "nothing was written: %(num)d problems", n
            )
        ) from error
    q = result.questionnaire
    header = (
        f"Imported from the XLSForm {Path(file).name} by `flask questionnaires import-xlsform`.\n"
        "Format: questionnaires/README.md. Never edit it under the same version once\n"
        "responses exist: copy the change into a new version number instead."
    )
    target.write_text(dump_yaml(q, header), encoding="utf-8")
    for line in result.skipped:
        click.echo(_("skipped metadata row: %(row)s", row=line))
    click.echo(
        _(
            "wrote %(out)s: '%(slug)s' version %(version)s, %(sections)s sections, "
            "%(items)s items, %(aspects)s index aspects",
            out=out,
            slug=q.slug,
            version=q.version,
            sections=len(q.sections),
            items=len(q.items),
            aspects=len(q.index.aspects) if q.index else 0,
        )
    )


@questionnaires_group.command(
    "export-xlsform", help=N_("Write a questionnaire file as an XLSForm for KoboToolbox/ODK.")
)
@click.argument("slug")
@click.option("--version", type=int, help=N_("Version to export (default: the highest)."))
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True),
    help=N_("Folder of questionnaire files (default: questionnaires/)."),
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help=N_("XLSForm to write (.xlsx).")
)
def questionnaires_export_xlsform(
    slug: str, version: int | None, directory: str | None, out: str
) -> None:
    from survey_app.collection.questionnaire import QuestionnaireError, load_directory
    from survey_app.collection.xlsform.writing import write_xlsform

    if not out.endswith(".xlsx"):
        raise CliError(_("--out must be an .xlsx file, got %(out)s", out=out))
    folder = Path(directory or current_app.config["QUESTIONNAIRE_DIR"])
    try:
        every = load_directory(folder)
    except QuestionnaireError as error:
        raise CliError(str(error)) from error
    found = [q for q in every if q.slug == slug and version in (None, q.version)]
    if not found:
        wanted = (
            f"'{slug}'"
            if version is None
            else _("'%(slug)s' version %(version)s", slug=slug, version=version)
        )
        there = ", ".join(f"{q.slug} v{q.version}" for q in every) or _("none")
        raise CliError(
            _(
                "no questionnaire %(wanted)s in %(folder)s (found: %(found)s)",
                wanted=wanted,
                folder=folder,
                found=there,
            )
        )
    q = found[-1]  # load_directory sorts by (slug, version)
    write_xlsform(q, out)
    click.echo(
        _(
            "wrote %(out)s: '%(slug)s' version %(version)s from %(source)s",
            out=out,
            slug=q.slug,
            version=q.version,
            source=q.source,
        )
    )
