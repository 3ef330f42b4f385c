"""``flask`` commands, grouped by topic. Each command calls a service function.

``flask db upgrade`` comes from Flask-Migrate.

Messages meant for people (reports, warnings, refusals, click's own usage lines and
refusals, the help texts) are in Vietnamese unless the user chooses English: every
command takes ``--lang vi|en``, and the ``SURVEY_LANG``
environment variable (``vi``, ``en`` or a locale name such as ``en_US.UTF-8``) sets the
default. What scripts read stays the same in both languages: files (CSV, XLSX, YAML),
the token of ``desks token`` and the tab-separated rows of ``waves list``. English
output is what it was before the choice existed, so scripts written against it keep
working; Vietnamese output writes numbers and dates the Vietnamese way.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import click
from flask import Flask, current_app
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from survey_app import demo, formatting, partitions
from survey_app.admin import accounts, units
from survey_app.cli_i18n import (
    N_,
    ReadFile,
    SurveyGroup,
    cli_language,
    speak_on_flask_command_line,
)
from survey_app.collection import desks, questionnaires, waves
from survey_app.extensions import LANGUAGES, db
from survey_app.models import Wave
from survey_app.reporting import export, figure_store
from survey_app.weighting import schemes
from survey_app.weighting.errors import SchemeError, WeightingInputError
from survey_app.weighting.sample import load_sample
from survey_app.weighting.spec import WeightingSpec
from survey_app.weighting.targets import read_targets


def register(app: Flask) -> None:
    speak_on_flask_command_line(app.cli)
    for group in (
        questionnaires_group,
        units_group,
        users_group,
        desks_group,
        waves_group,
        weights_group,
        export_group,
        demo_group,
        alerts_group,
        digest_group,
        figures_group,
        partitions_group,
    ):
        for command in (group, *group.commands.values()):
            # The groups are module-level: a second app (tests) must not add it again.
            if not any(param.name == "lang" for param in command.params):
                command.params.append(_language_option())
        app.cli.add_command(group)


def _choose_language(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # A group's --lang (flask waves --lang en create ...) holds for its command too
    # (click shares ctx.meta down the line); the command's own --lang wins.
    if value:
        ctx.meta["survey_app.lang"] = value
    ctx.with_resource(force_locale(cli_language(value or ctx.meta.get("survey_app.lang"))))


def _language_option() -> click.Option:
    # Eager: the language is set before the other options are read, so their
    # refusals are in it too. (Click's own messages chose it earlier: SurveyGroup.)
    return click.Option(
        ["--lang"],
        type=click.Choice(LANGUAGES),
        is_eager=True,
        expose_value=False,
        callback=_choose_language,
        help=N_("Language of the messages: vi (default) or en; default from SURVEY_LANG."),
    )


def _english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def _count(value: int) -> str:
    """A count: 44.606 in Vietnamese; in English as before (44606)."""
    return str(value) if _english() else formatting.number(value)


def _day(value: date) -> str:
    """A date: 02/12/2026 in Vietnamese; in English as before (2026-12-02)."""
    return value.isoformat() if _english() else formatting.day(value)


class CliError(click.ClickException):
    """A refusal in the chosen language, headed "Lỗi:" or "Error:"."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.head = _("Error")

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"{self.head}: {self.format_message()}", file=file, err=file is None)


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
    from survey_app.collection import audio

    folder = Path(directory or current_app.config["QUESTIONNAIRE_DIR"])
    try:
        outcome = questionnaires.load_folder(folder)
        outcome += audio.build_folder(folder).lines()
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


@click.group("units", cls=SurveyGroup, help=N_("Administrative units."))
def units_group() -> None:
    pass


@units_group.command(
    "import", help=N_("Import units from a CSV file: code,name_vi,name_en,kind,parent_code.")
)
@click.argument("file", type=ReadFile("r", encoding="utf-8-sig"))
def units_import(file: click.utils.LazyFile) -> None:
    try:
        created, updated = units.import_units(units.read_units_csv(file.read()))
    except units.UnitImportError as error:
        for problem in error.errors:
            click.echo(str(problem), err=True)
        raise CliError(_("nothing was imported")) from error
    click.echo(
        _(
            "%(created)s units created, %(updated)s updated",
            created=_count(created),
            updated=_count(updated),
        )
    )


@click.group("users", cls=SurveyGroup, help=N_("User accounts."))
def users_group() -> None:
    pass


@users_group.command(
    "create", help=N_("Create a user; the password is asked for, or read from standard input.")
)
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in accounts.Role]))
@click.option("--unit", "unit_code", help=N_("Code of the unit the user is scoped to."))
@click.option("--password-stdin", is_flag=True, help=N_("Read the password from standard input."))
def users_create(username: str, role: str, unit_code: str | None, password_stdin: bool) -> None:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            _("Password"), hide_input=True, confirmation_prompt=_("Repeat for confirmation")
        )
    try:
        user = accounts.create_user(username, password, role, unit_code)
    except accounts.AccountError as error:
        raise CliError(str(error)) from error
    click.echo(
        _("user %(name)s created with role %(role)s", name=user.username, role=user.role.value)
    )


@click.group("desks", cls=SurveyGroup, help=N_("One-stop desks and kiosk tokens."))
def desks_group() -> None:
    pass


@desks_group.command("create", help=N_("Create a desk belonging to a unit."))
@click.argument("code")
@click.option("--unit", "unit_code", required=True, help=N_("Code of the unit of the desk."))
@click.option("--name", required=True, help=N_("Name shown to citizens."))
@click.option("--timeout", default=60, show_default=True, help=N_("Kiosk inactivity timeout (s)."))
def desks_create(code: str, unit_code: str, name: str, timeout: int) -> None:
    try:
        desk = desks.create_desk(code, unit_code, name, timeout)
    except desks.DeskError as error:
        raise CliError(str(error)) from error
    click.echo(_("desk %(code)s created", code=desk.code))


@desks_group.command(
    "token", help=N_("Print a new kiosk device token for the desk (only its hash is stored).")
)
@click.argument("code")
def desks_token(code: str) -> None:
    try:
        token = desks.issue_token(code)
    except desks.DeskError as error:
        raise CliError(str(error)) from error
    click.echo(token)


@click.group("waves", cls=SurveyGroup, help=N_("Survey rounds (field waves) and feedback periods."))
def waves_group() -> None:
    pass


def _wave_problems(error: waves.WaveError, what: str) -> click.ClickException:
    for problem in error.problems:
        click.echo(problem, err=True)
    return CliError(what)


@waves_group.command("create", help=N_("Create a field-survey wave with its design."))
@click.argument("code")
@click.option(
    "--questionnaire",
    required=True,
    help=N_("Questionnaire slug (latest version) or SLUG:VERSION, e.g. sipas or sipas:1."),
)
@click.option("--unit", "unit_code", required=True, help=N_("Code of the unit the survey covers."))
@click.option(
    "--start",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help=N_("First day of the wave, YYYY-MM-DD."),
)
@click.option(
    "--end",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help=N_("Last day of the wave, YYYY-MM-DD."),
)
@click.option("--name-vi", required=True, help=N_("Name in Vietnamese."))
@click.option("--name-en", help=N_("Name in English (default: the Vietnamese name)."))
@click.option(
    "--lonely-psu",
    type=click.Choice([rule.value for rule in waves.LonelyPSU]),
    default=waves.LonelyPSU.ADJUST.value,
    show_default=True,
    help=N_("Variance of a stratum with one PSU, as R's survey.lonely.psu."),
)
@click.option("--panel-of", help=N_("Code of the earlier wave whose PSUs are interviewed again."))
@click.option(
    "--frame",
    type=ReadFile("rb"),
    help=N_("Sample frame CSV: stratum,psu[,unit_code][,stratum_psus] (stratum_psus: fpc)."),
)
def waves_create(
    code: str,
    questionnaire: str,
    unit_code: str,
    start: datetime,
    end: datetime,
    name_vi: str,
    name_en: str | None,
    lonely_psu: str,
    panel_of: str | None,
    frame: click.utils.LazyFile | None,
) -> None:
    parsed, frame_problems = waves.read_frame_or_problems(frame.read() if frame else None)
    try:
        wave = waves.create_field_wave(
            code=code,
            name_vi=name_vi,
            name_en=name_en or name_vi,
            questionnaire=questionnaire,
            unit_code=unit_code,
            start=start.date(),
            end=end.date(),
            lonely_psu=lonely_psu,
            panel_of=panel_of,
            frame=parsed,
            frame_problems=frame_problems,
        )
    except waves.WaveError as error:
        raise _wave_problems(error, _("no wave was created")) from error
    for warning in parsed.warnings if parsed is not None else []:
        click.echo(_("warning: %(message)s", message=warning))
    frame_note = (
        _(
            ", frame of %(psus)s PSUs in %(strata)s strata",
            psus=_count(len(parsed.rows)),
            strata=_count(parsed.strata),
        )
        if parsed
        else ""
    )
    panel_note = _(", panel of %(code)s", code=panel_of) if panel_of else ""
    click.echo(
        _(
            "wave %(code)s created: %(start)s to %(end)s, lonely PSU rule %(rule)s",
            code=wave.code,
            start=_day(wave.start_date),
            end=_day(wave.end_date),
            rule=wave.lonely_psu.value,
        )
        + panel_note
        + frame_note
    )


@waves_group.command("close", help=N_("Close a field wave: no more answers are accepted into it."))
@click.argument("code")
def waves_close(code: str) -> None:
    try:
        wave = waves.close_wave(code)
    except waves.WaveError as error:
        raise _wave_problems(error, _("the wave was not closed")) from error
    click.echo(_("wave %(code)s closed", code=wave.code))


@waves_group.command(
    "list",
    help=N_(
        "List the waves: code, kind, status, dates, unit, design and responses.\n\n"
        "One tab-separated row per wave, the same in both languages (scripts read it)."
    ),
)
def waves_list() -> None:
    rows = waves.list_waves()
    if not rows:
        click.echo(_("no waves"))
        return
    for row in rows:
        wave = row.wave
        design = f"lonely={wave.lonely_psu.value}"
        if wave.panel_of is not None:
            design += f" panel_of={wave.panel_of.code}"
        if wave.series_id is not None:
            design += f" period={wave.series.period.value}"
        click.echo(
            f"{wave.code}\t{wave.kind.value}\t{wave.status.value}\t{wave.start_date}"
            f"\t{wave.end_date}\t{wave.unit.code}\t{design}\t{row.responses} responses"
        )


@waves_group.command(
    "periods", help=N_("Set how a unit's continuous feedback is grouped into periods.")
)
@click.argument("unit_code")
@click.option(
    "--questionnaire", "slug", required=True, help=N_("Slug of the kiosk/phone questionnaire.")
)
@click.option(
    "--period",
    required=True,
    type=click.Choice([period.value for period in waves.FeedbackPeriod]),
    help=N_("Group the unit's continuous feedback into months or quarters."),
)
def waves_periods(unit_code: str, slug: str, period: str) -> None:
    try:
        waves.set_feedback_series(unit_code, slug, period)
    except waves.WaveError as error:
        raise _wave_problems(error, _("nothing was changed")) from error
    click.echo(
        _(
            "feedback of %(unit)s (%(slug)s) is grouped by %(period)s",
            unit=unit_code,
            slug=slug,
            period=period,
        )
    )


@click.group(
    "weights",
    cls=SurveyGroup,
    help=N_("Weighting schemes of a wave (the analysts' weighting console)."),
)
def weights_group() -> None:
    pass


#: The command line's method names -> the console's (weighting.spec.METHODS).
CLI_METHODS = {
    "poststratify": "poststratify",
    "rake": "rake",
    "linear": "calibrate-linear",
    "raking": "calibrate-raking",
}


def _trim_bounds(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[float | None, float | None]:
    """``LO,HI``; either side may be left empty (``,3`` trims only from above)."""
    if value is None:
        return None, None
    parts = value.split(",")
    if len(parts) != 2 or not any(p.strip() for p in parts):
        raise click.BadParameter(_("give LO,HI, e.g. 0.3,3 (either side may be empty)"))
    bounds: list[float | None] = []
    for part in parts:
        try:
            bounds.append(float(part) if part.strip() else None)
        except ValueError:
            raise click.BadParameter(_("“%(text)s” is not a number.", text=part.strip())) from None
    return bounds[0], bounds[1]


def _number(value: float | None) -> str:
    """Six significant digits; a decimal comma in Vietnamese."""
    if value is None:
        return _("n/a")
    text = f"{value:.6g}"
    return text if _english() else text.replace(".", ",")


@weights_group.command(
    "apply",
    help=N_(
        "Weight a wave to the targets in a CSV or XLSX file and save the scheme.\n\n"
        "The file has the formats of the console's templates: variable,level,target "
        "(margins) or one column per variable and target (post-stratification cells). The "
        "scheme is saved as cli-METHOD with the next version; --activate makes it the one "
        "every figure of the wave uses. Both steps are audited (actor: system)."
    ),
)
@click.argument("wave_code", metavar="WAVE")
@click.argument("targets_file", metavar="TARGETS.csv", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--method",
    required=True,
    type=click.Choice(list(CLI_METHODS)),
    help=N_("Post-stratification, raking, or linear / raking calibration."),
)
@click.option(
    "--trim",
    callback=_trim_bounds,
    metavar="LO,HI",
    help=N_("Trim the new weights to [LO, HI] (R's trimWeights); either side may be empty."),
)
@click.option("--activate", is_flag=True, help=N_("Make the saved scheme the wave's active one."))
def weights_apply(
    wave_code: str,
    targets_file: str,
    method: str,
    trim: tuple[float | None, float | None],
    activate: bool,
) -> None:
    wave = waves.get_wave(wave_code)
    if wave is None:
        raise CliError(_("no wave %(code)s", code=wave_code))
    path = Path(targets_file)
    sample = load_sample(wave)
    try:
        targets = read_targets(path.read_bytes(), path.name)
        options = WeightingSpec(
            method=CLI_METHODS[method],
            targets=targets,
            trim_lower=trim[0],
            trim_upper=trim[1],
            filename=path.name,
        )
        scheme = schemes.save_scheme(sample, options, f"cli-{method}", None)
    except WeightingInputError as error:
        for problem in error.errors:
            where = ", ".join(
                part
                for part in (
                    _("row %(row)s", row=problem.row) if problem.row is not None else "",
                    _("column %(column)s", column=problem.column) if problem.column else "",
                )
                if part
            )
            click.echo(f"{path.name}: {where + ': ' if where else ''}{problem.message}", err=True)
        raise CliError(_("nothing was saved")) from error
    except SchemeError as error:
        raise CliError(_("%(error)s; nothing was saved", error=error)) from error
    # The diagnostics and headline the scheme was stored with (save_scheme computed them).
    report, headline = scheme.report["final"], scheme.report["headline"]
    click.echo(
        _(
            "wave %(code)s: %(n)s responses, method %(method)s",
            code=wave.code,
            n=_count(sample.n),
            method=report["method"],
        )
    )
    click.echo(_("converged: %(answer)s", answer=_("yes") if report["converged"] else _("no")))
    click.echo(_("iterations: %(n)s", n=report["iterations"]))
    click.echo(_("largest margin error: %(value)s", value=_number(report["max_margin_error"])))
    click.echo(
        _(
            "weight range: %(low)s to %(high)s",
            low=_number(report["weight_min"]),
            high=_number(report["weight_max"]),
        )
    )
    click.echo(_("weight CV: %(value)s", value=_number(report["weight_cv"])))
    click.echo(_("Kish deff: %(value)s", value=_number(report["deff_weighting"])))
    click.echo(_("effective n: %(value)s", value=_number(report["n_eff"])))
    click.echo(_("trimmed: %(n)s", n=_count(report["n_trimmed"])))
    for message in report["messages"]:
        click.echo(_("warning: %(message)s", message=message))
    names = {
        "unweighted": _("unweighted"),
        "design": _("design-weighted"),
        "active": _("active scheme"),
        "new": _("new weights"),
    }
    if headline:
        click.echo(_("overall index (rate, %(level)s CI):", level="95%"))
    # In Vietnamese the bounds are separated by ";" (their decimal sign is the comma).
    between = ", " if _english() else "; "
    for key, figure in headline.items():
        click.echo(
            "  "
            + _(
                "%(name)s: %(value)s [%(low)s%(between)s%(high)s], n = %(n)s, "
                "effective n = %(n_eff)s",
                name=names.get(key, key),
                value=_number(figure["value"]),
                low=_number(figure["ci_low"]),
                between=between,
                high=_number(figure["ci_high"]),
                n=_count(figure["n"]),
                n_eff=_number(figure["n_eff"]),
            )
        )
    click.echo(
        _(
            "scheme %(name)s version %(version)s saved (id %(id)s)",
            name=scheme.name,
            version=scheme.version,
            id=scheme.id,
        )
    )
    if activate:
        try:
            schemes.activate(wave, scheme.id, None)
        except SchemeError as error:
            raise CliError(
                _("%(error)s; the scheme was saved but is not active", error=error)
            ) from error
        click.echo(
            _(
                "scheme %(name)s version %(version)s is now active",
                name=scheme.name,
                version=scheme.version,
            )
        )
    else:
        click.echo(_("not active: pass --activate, or activate it in the weighting console"))


@click.group("export", cls=SurveyGroup, help=N_("Microdata for SPSS, Stata and R."))
def export_group() -> None:
    pass


@export_group.command(
    "wave",
    help=N_(
        "Write a wave's microdata (every response) and its codebook, as the data page "
        "does.\n\n"
        "The codebook states the design and the index rule, and ready R (survey) and "
        "Stata commands that recompute the published overall index from the file."
    ),
)
@click.argument("wave_code", metavar="WAVE")
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(list(export.FORMATS)),
    help=N_("File format."),
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help=N_("File to write; the codebook goes next to it (FILE-codebook.EXT; CSV for sav)."),
)
def export_wave(wave_code: str, fmt: str, out: str) -> None:
    wave = waves.get_wave(wave_code)
    if wave is None:
        raise CliError(_("no wave %(code)s", code=wave_code))
    try:
        # The labels (codebook, SPSS) in the chosen language; the data are the same.
        codebook, rows = export.export_files(wave, fmt, out, "en" if _english() else "vi")
    except OSError as error:
        raise CliError(
            _(
                "cannot write %(file)s: %(reason)s",
                file=error.filename or out,
                reason=error.strerror,
            )
        ) from error
    click.echo(
        _(
            "wrote %(out)s: %(n)s responses of wave %(code)s",
            out=out,
            n=_count(rows),
            code=wave.code,
        )
    )
    click.echo(_("wrote %(file)s: the codebook", file=codebook))


@click.group("demo", cls=SurveyGroup, help=N_("The simulated demo province."))
def demo_group() -> None:
    pass


@demo_group.command("seed", help=N_("Load the simulated demo province (idempotent)."))
@click.option("--if-empty", is_flag=True, help=N_("Do nothing if the database has any unit."))
@click.option(
    "--seed", "rng_seed", default=20181231, show_default=True, help=N_("Seed of the simulation.")
)
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False),
    help=N_("Where to write the demo passwords (default: instance/demo-credentials.txt)."),
)
def demo_seed(if_empty: bool, rng_seed: int, credentials: str | None) -> None:
    if if_empty and not demo.database_is_empty():
        click.echo(_("database already has data; demo not seeded"))
        return
    path = Path(credentials or Path(current_app.instance_path) / "demo-credentials.txt")
    summary = demo.seed(rng_seed=rng_seed, credentials_path=path)
    for line in summary:
        click.echo(line)


def _moment(text: str | None) -> datetime | None:
    """An ISO date-time (UTC when no offset is given), or None for now."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            _("not an ISO date-time: %(text)s", text=text), param_hint="--now"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group("alerts", cls=SurveyGroup, help=N_("Alerts for leaders (what the scheduler runs)."))
def alerts_group() -> None:
    pass


@alerts_group.command(
    "run",
    help=N_("Evaluate every rule; open, keep or close episodes and e-mail new ones (idempotent)."),
)
@click.option("--now", "now_text", help=N_("Evaluate as of this ISO date-time (default: now)."))
def alerts_run(now_text: str | None) -> None:
    from survey_app.reporting import digest as digest_service
    from survey_app.reporting.alerts.episodes import run as run_alerts

    report = run_alerts(_moment(now_text))
    sent = digest_service.notify(report.opened)
    evaluated = ", ".join(
        f"{rule} {_count(count)}" for rule, count in sorted(report.evaluated.items())
    )
    click.echo(
        _(
            "alerts: %(opened)s opened, %(kept)s still open, %(closed)s closed; "
            "%(sent)s e-mail(s) sent; evaluated: %(evaluated)s",
            opened=_count(len(report.opened)),
            kept=_count(report.kept),
            closed=_count(report.closed),
            sent=_count(sent),
            evaluated=evaluated or _("nothing"),
        )
    )
    for problem in report.problems:
        click.echo(_("warning: %(message)s", message=problem), err=True)


@click.group("digest", cls=SurveyGroup, help=N_("Weekly e-mail digest for leaders."))
def digest_group() -> None:
    pass


@digest_group.command(
    "send", help=N_("Send this week's digest to every leader with an address (once per week).")
)
@click.option("--dry-run", is_flag=True, help=N_("Show who would receive what; send nothing."))
@click.option("--now", "now_text", help=N_("The week ending at this ISO date-time (default: now)."))
def digest_send(dry_run: bool, now_text: str | None) -> None:
    from survey_app.reporting import digest as digest_service

    if not dry_run and not digest_service.mail_enabled():
        raise CliError(_("MAIL_SERVER is not set: no e-mail can be sent"))
    digests = digest_service.send_digests(_moment(now_text), dry_run=dry_run)
    for item in digests:
        values = {
            "week": item.week,
            "user": item.user.username,
            "address": item.address,
            "alerts": _count(len(item.alerts)),
            "attached": ", ".join(item.attachments) or _("no scorecard"),
        }
        if dry_run:
            line = _(
                "would send %(week)s to %(user)s <%(address)s>: %(alerts)s alert(s), %(attached)s",
                **values,
            )
        else:
            line = _(
                "sent %(week)s to %(user)s <%(address)s>: %(alerts)s alert(s), %(attached)s",
                **values,
            )
        click.echo(line)
    if not digests:
        click.echo(_("no digest due"))


@click.group(
    "figures", cls=SurveyGroup, help=N_("The figure store: sums of the published figures.")
)
def figures_group() -> None:
    pass


def _wave_ids(codes: tuple[str, ...]) -> list[int] | None:
    if not codes:
        return None
    found = {w.code: w.id for w in db.session.scalars(select(Wave).where(Wave.code.in_(codes)))}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise CliError(_("unknown wave: %(codes)s", codes=", ".join(unknown)))
    return [found[c] for c in codes]


@figures_group.command(
    "refresh", help=N_("Fold the responses stored since the last run (what the scheduler runs).")
)
def figures_refresh() -> None:
    click.echo(_("folded %(n)s responses", n=_count(figure_store.refresh())))


@figures_group.command(
    "rebuild", help=N_("Empty the sums (of the waves given, or all) and fold every response again.")
)
@click.option("--wave", "codes", multiple=True, help=N_("Only this wave (repeatable)."))
def figures_rebuild(codes: tuple[str, ...]) -> None:
    click.echo(_("folded %(n)s responses", n=_count(figure_store.rebuild(_wave_ids(codes)))))


@figures_group.command(
    "verify", help=N_("Recompute every figure from the answer rows and compare with the store.")
)
@click.option("--wave", "codes", multiple=True, help=N_("Only this wave (repeatable)."))
def figures_verify(codes: tuple[str, ...]) -> None:
    compared, mismatches = figure_store.verify(_wave_ids(codes))
    for m in mismatches[:50]:
        click.echo(
            f"{m.wave} {m.unit} {m.figure}: "
            + _("store %(stored)s, rows %(rows)s", stored=repr(m.stored), rows=repr(m.rows))
        )
    click.echo(
        _(
            "%(compared)s figures compared, %(n)s differences",
            compared=_count(compared),
            n=_count(len(mismatches)),
        )
    )
    if mismatches:
        raise SystemExit(1)


@click.group(
    "partitions",
    cls=SurveyGroup,
    help=N_("PostgreSQL partitions of responses and answers by wave."),
)
def partitions_group() -> None:
    pass


@partitions_group.command(
    "detach",
    help=N_(
        "Detach a wave's partitions for archiving; they stay as plain tables to dump and "
        'drop (docs/operations.md, "Partitions").'
    ),
)
@click.option("--wave", "code", required=True, help=N_("The wave to detach (its code)."))
def partitions_detach(code: str) -> None:
    (wave_id,) = _wave_ids((code,)) or []
    try:
        names = partitions.detach_wave(db.session.connection(), wave_id)
    except partitions.PartitionError as error:
        db.session.rollback()
        raise CliError(str(error)) from None
    db.session.commit()
    click.echo(_("detached %(tables)s", tables=", ".join(names)))
    archive = f"pg_dump --table={names[0]} --table={names[1]} > wave-{code}.sql"
    click.echo(_("archive: %(command)s", command=archive))
