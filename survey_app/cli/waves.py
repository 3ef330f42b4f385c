"""``flask waves``: field-survey waves and feedback periods."""

from __future__ import annotations

from datetime import datetime

import click
from flask_babel import gettext as _

from survey_app.cli.common import CliError, count_text, day_text
from survey_app.cli.language import N_, ReadFile, SurveyGroup
from survey_app.collection.waves.errors import WaveError
from survey_app.collection.waves.feedback_periods import set_feedback_series
from survey_app.collection.waves.field_waves import close_wave, create_field_wave
from survey_app.collection.waves.lookups import list_waves
from survey_app.collection.waves.sample_frame import read_frame_or_problems
from survey_app.models import FeedbackPeriod, LonelyPSU


@click.group("waves", cls=SurveyGroup, help=N_("Survey rounds (field waves) and feedback periods."))
def waves_group() -> None:
    pass


def _wave_problems(error: WaveError, what: str) -> click.ClickException:
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
    type=click.Choice([rule.value for rule in LonelyPSU]),
    default=LonelyPSU.ADJUST.value,
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
    parsed, frame_problems = read_frame_or_problems(frame.read() if frame else None)
    try:
        wave = create_field_wave(
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
    except WaveError as error:
        raise _wave_problems(error, _("no wave was created")) from error
    for warning in parsed.warnings if parsed is not None else []:
        click.echo(_("warning: %(message)s", message=warning))
    frame_note = (
        _(
            ", frame of %(psus)s PSUs in %(strata)s strata",
            psus=count_text(len(parsed.rows)),
            strata=count_text(parsed.strata),
        )
        if parsed
        else ""
    )
    panel_note = _(", panel of %(code)s", code=panel_of) if panel_of else ""
    click.echo(
        _(
            "wave %(code)s created: %(start)s to %(end)s, lonely PSU rule %(rule)s",
            code=wave.code,
            start=day_text(wave.start_date),
            end=day_text(wave.end_date),
            rule=wave.lonely_psu.value,
        )
        + panel_note
        + frame_note
    )


@waves_group.command("close", help=N_("Close a field wave: no more answers are accepted into it."))
@click.argument("code")
def waves_close(code: str) -> None:
    try:
        wave = close_wave(code)
    except WaveError as error:
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
    rows = list_waves()
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
    type=click.Choice([period.value for period in FeedbackPeriod]),
    help=N_("Group the unit's continuous feedback into months or quarters."),
)
def waves_periods(unit_code: str, slug: str, period: str) -> None:
    try:
        set_feedback_series(unit_code, slug, period)
    except WaveError as error:
        raise _wave_problems(error, _("nothing was changed")) from error
    click.echo(
        _(
            "feedback of %(unit)s (%(slug)s) is grouped by %(period)s",
            unit=unit_code,
            slug=slug,
            period=period,
        )
    )
