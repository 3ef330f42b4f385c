"""``flask weights apply``: a weighting scheme from a targets file."""

from __future__ import annotations

from pathlib import Path

import click
from flask_babel import gettext as _

from survey_app.cli.common import CliError, count_text, speaking_english
from survey_app.cli.language import N_, SurveyGroup
from survey_app.collection.waves.lookups import get_wave
from survey_app.weighting import schemes
from survey_app.weighting.errors import SchemeError, WeightingInputError
from survey_app.weighting.sample import load_sample
from survey_app.weighting.spec import WeightingSpec
from survey_app.weighting.targets import read_targets


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
    return text if speaking_english() else text.replace(".", ",")


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
    wave = get_wave(wave_code)
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
            n=count_text(sample.n),
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
    click.echo(_("trimmed: %(n)s", n=count_text(report["n_trimmed"])))
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
    between = ", " if speaking_english() else "; "
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
                n=count_text(figure["n"]),
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
