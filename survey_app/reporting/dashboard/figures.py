"""What every dashboard page shows of a figure: index lines, formats and table cells.

The numbers come from :mod:`survey_app.reporting.indices`; nothing here estimates
anything itself. The templates read the formats through ``views`` (this module).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from analysis.indices import points
from survey_app import formatting
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.collection.scoring import IndexRequestError
from survey_app.collection.waves.design import lonely_rule_text
from survey_app.models import Unit, Wave
from survey_app.reporting.comparisons import wording
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure, IndexResult, Inference


@dataclass(frozen=True)
class IndexLine:
    """One index (overall or an aspect) as a rate and as a mean score."""

    code: str  # "overall" or "aspect:<code>"
    label: str
    rate: IndexFigure | None
    score: IndexFigure | None


@dataclass(frozen=True)
class TrendPoint:
    """A wave and the figure of a unit in it (None: no response there)."""

    wave: Wave
    figure: IndexFigure | None


def index_choices(definition: spec.IndexDefinition, lang: str) -> list[tuple[str, str]]:
    """(code, label) of the overall index and each aspect, in the file's order."""
    return [("overall", definition.overall.label.get(lang))] + [
        (f"aspect:{a.code}", a.label.get(lang)) for a in definition.aspects
    ]


def definition_of(wave: Wave) -> spec.IndexDefinition:
    definition = questionnaires.parsed(wave.questionnaire).index
    if definition is None:
        raise IndexRequestError(
            _("The questionnaire %(slug)s defines no index.", slug=wave.questionnaire.slug)
        )
    return definition


def figure_of(
    result: IndexResult, key: DomainKey, code: str = "overall", kind: str = "rate"
) -> IndexFigure | None:
    """The figure, or None when the domain has no response at all."""
    try:
        figure = result.figure(key, code, kind)
    except KeyError:
        return None
    return None if figure.n == 0 else figure


def index_lines(result: IndexResult, key: DomainKey, lang: str) -> list[IndexLine]:
    return [
        IndexLine(
            code, label, figure_of(result, key, code, "rate"), figure_of(result, key, code, "score")
        )
        for code, label in index_choices(result.definition, lang)
    ]


def safe_compute(
    waves: Sequence[Wave], units: Sequence[Unit], **options: object
) -> IndexResult | None:
    """:func:`compute` for a page.

    An empty selection gives a result without figures. A selection whose figures cannot
    be computed (e.g. a stratum with a single PSU under the rule 'fail') raises
    :class:`IndexRequestError`: the overview shows its reason in place of the figure,
    other pages answer 422 with it (:func:`survey_app.errors.handle_cannot_compute`).
    Nothing is caught here, so no figure disappears without a reason.
    """
    return compute(waves, units, **options)  # type: ignore[arg-type]


def fmt_value(figure: IndexFigure) -> str:
    """A figure's value: a percentage for rates, points for mean scores."""
    return formatting.index_value(figure.value, figure.kind)


def fmt_ci(figure: IndexFigure) -> str:
    return formatting.interval(figure.ci_low, figure.ci_high, figure.kind)


def fmt_points(value: float) -> str:
    """A difference of proportions in signed percentage points: "+12,9 điểm phần trăm"."""
    return _("%(value)s percentage points", value=formatting.signed(points(value, "rate")))


def fmt_p(p_value: float) -> str:
    return wording.format_p(p_value)


def scheme_text(figure: IndexFigure) -> str:
    """The weighting scheme in words (the defaults are translated; named schemes not)."""
    names = {"design weights": _("design weights"), "unweighted": _("unweighted")}
    return names.get(figure.scheme, figure.scheme)


def inference_text(figure: IndexFigure) -> str:
    """How the figure's interval is made, with the design it rests on: for a field
    survey the wave's rule for strata with a single PSU (the survey team's setting)
    and whether the finite population correction applies."""
    if figure.inference == Inference.SMALL_AREA:
        return _("small-area model estimate")
    if figure.inference != Inference.DESIGN:
        return _("model-based")
    text = _(
        "design-based; strata with a single PSU: %(rule)s", rule=lonely_rule_text(figure.lonely_psu)
    )
    if figure.fpc:
        text += "; " + _("finite population correction")
    return text


def common(
    figures: Sequence[IndexFigure | None], describe: Callable[[IndexFigure], str]
) -> str | None:
    """What ``describe`` (:func:`inference_text`, :func:`scheme_text`) says of every
    figure of a table when it says the same of all, else None: a table of one wave's
    figures states its design once, not on every row (the inference still differs per
    row where small-area estimates replace some figures)."""
    texts = {describe(figure) for figure in figures if figure is not None}
    return texts.pop() if len(texts) == 1 else None


def not_enough_data() -> str:
    return _("not enough data")


def cell_points(value: float, kind: str) -> float:
    """A value or a difference in a table cell: its points, two decimals."""
    return round(points(value, kind), 2)


def figure_cells(figure: IndexFigure | None) -> tuple[object, ...]:
    """Value, CI, n, n_eff, scheme, inference and status; blank where not reportable."""
    if figure is None:
        return (None, None, None, 0, None, None, None, _("no responses"))
    # A leader's copy of a figure failing the reporting rule has no value (visibility.visible);
    # an analyst's keeps it, flagged in the last column.
    shown = not math.isnan(figure.value)
    return (
        cell_points(figure.value, figure.kind) if shown else None,
        cell_points(figure.ci_low, figure.kind) if shown else None,
        cell_points(figure.ci_high, figure.kind) if shown else None,
        figure.n,
        round(figure.n_eff, 1),
        scheme_text(figure),
        inference_text(figure),
        "" if figure.reportable else not_enough_data(),
    )


def figure_headers(unit: str = "%") -> tuple[str, ...]:
    return (
        _("Index (%(unit)s)", unit=unit),
        _("95% CI lower"),
        _("95% CI upper"),
        _("n"),
        _("Effective n"),
        _("Weighting"),
        _("Inference"),
        _("Note"),
    )
