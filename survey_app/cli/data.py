"""``flask export`` (microdata for SPSS, Stata and R) and ``flask demo seed``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask_babel import gettext as _

from survey_app import demo
from survey_app.cli.common import CliError, count_text, speaking_english
from survey_app.cli.language import N_, SurveyGroup
from survey_app.collection.waves.lookups import get_wave
from survey_app.reporting import figure_store
from survey_app.reporting.export import entry as export_entry
from survey_app.reporting.export.rows import FORMATS


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
    type=click.Choice(list(FORMATS)),
    help=N_("File format."),
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help=N_("File to write; the codebook goes next to it (FILE-codebook.EXT; CSV for sav)."),
)
def export_wave(wave_code: str, fmt: str, out: str) -> None:
    wave = get_wave(wave_code)
    if wave is None:
        raise CliError(_("no wave %(code)s", code=wave_code))
    try:
        # The labels (codebook, SPSS) in the chosen language; the data are the same.
        codebook, rows = export_entry.export_files(
            wave, fmt, out, "en" if speaking_english() else "vi"
        )
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
            n=count_text(rows),
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
    # What the scheduler's `figures refresh` would do within a minute (docs/operations.md):
    # the demo starts as a running site is, its responses in the figure store.
    click.echo(_("folded %(n)s responses", n=count_text(figure_store.refresh())))
