"""The preview: what a scheme would be, before anything is stored.

:func:`preview` checks the targets against the wave, runs the method and returns the
weights, diagnostics, margins table and the headline index (unweighted, design-weighted,
active scheme, new weights) without writing anything; :func:`histogram` draws the new
and the design weights. The "active scheme" and "new weights" rows use the same
variance adjustment as the published figures (:mod:`survey_app.weighting.published`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask_babel import gettext as _

from analysis.design import Design
from analysis.indices import IndexEstimate, estimate_on_design
from analysis.weighting import WeightingReport, WeightingResult
from survey_app import formatting
from survey_app.collection import scoring
from survey_app.weighting.checks import Checked, check
from survey_app.weighting.compute import final_report, weigh
from survey_app.weighting.errors import SchemeError
from survey_app.weighting.published import active_schemes, published_design
from survey_app.weighting.sample import Level, Variable, WaveSample, known_variable
from survey_app.weighting.spec import WeightingSpec


@dataclass(frozen=True)
class MarginRow:
    variable: Variable
    level: Level
    sample_share: float
    design_share: float
    weighted_share: float
    target_share: float


@dataclass(frozen=True)
class HeadlineRow:
    key: str  # "unweighted", "design", "active", "new"
    label: str
    estimate: IndexEstimate


@dataclass(frozen=True, eq=False)
class Preview:
    """What a scheme would be, before anything is stored."""

    options: WeightingSpec
    weights: np.ndarray
    steps: tuple[WeightingReport, ...]
    report: WeightingReport
    margins: tuple[MarginRow, ...]
    headline: tuple[HeadlineRow, ...]
    headline_note: str
    messages: tuple[str, ...]

    def report_json(self) -> dict[str, Any]:
        return {
            "steps": [s.to_dict() for s in self.steps],
            "final": self.report.to_dict(),
            "headline": {
                row.key: {
                    "value": _finite(row.estimate.value),
                    "se": _finite(row.estimate.se),
                    "ci_low": _finite(row.estimate.ci_low),
                    "ci_high": _finite(row.estimate.ci_high),
                    "n": row.estimate.n,
                    "n_eff": _finite(row.estimate.n_eff),
                }
                for row in self.headline
            },
            "margins": [
                {
                    "variable": m.variable.code,
                    "level": m.level.code,
                    "respondents": m.level.respondents,
                    "sample_share": m.sample_share,
                    "weighted_share": m.weighted_share,
                    "target_share": m.target_share,
                }
                for m in self.margins
            ],
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _margins(sample: WaveSample, checked: Checked, weights: np.ndarray) -> tuple[MarginRow, ...]:
    rows = []
    w0 = sample.design_weights
    for position, name in enumerate(checked.variables):
        variable = known_variable(sample, name)
        if checked.cells:
            targets: dict[str, float] = {}
            for key, value in checked.cells.items():
                code = key[position] if isinstance(key, tuple) else key
                targets[code] = targets.get(code, 0.0) + value
        else:
            targets = checked.margins[name]
        total = sum(targets.values())
        codes = sample.values[name]
        for level in variable.levels:
            if not level.respondents and level.code not in targets:
                continue
            inside = codes == level.code
            rows.append(
                MarginRow(
                    variable,
                    level,
                    level.respondents / sample.n,
                    float(w0[inside].sum() / w0.sum()),
                    float(weights[inside].sum() / weights.sum()),
                    targets.get(level.code, 0.0) / total if total else math.nan,
                )
            )
    return tuple(rows)


def _headline(
    sample: WaveSample, steps: Sequence[WeightingResult]
) -> tuple[tuple[HeadlineRow, ...], str]:
    """The overall index (rate) under each set of weights, with design-based CIs."""
    try:
        formulas, values = scoring.respondent_values([sample.wave], sample.response_ids)
    except scoring.IndexRequestError:
        return (), _("The questionnaire defines no index.")
    try:
        base = Design.from_arrays(
            np.ones(sample.n), strata=sample.strata, ids=sample.psu, nest=True
        )
    except ValueError as exc:
        return (), _("The index cannot be estimated on this wave's design: %(error)s", error=exc)
    formula = formulas[0]
    designs: list[tuple[str, str, Design]] = [
        ("unweighted", _("Unweighted"), base),
        ("design", _("Design weights"), base.with_weights(sample.design_weights)),
    ]
    active = active_schemes([sample.wave.id]).get(sample.wave.id)
    if active is not None:
        label = _("Active scheme: %(name)s v%(version)s", name=active.name, version=active.version)
        try:
            published = published_design(sample.wave, active, sample)  # rows read once
        except SchemeError as exc:
            return (), str(exc)
        # the published figure's design: stored weights and the scheme's adjustments
        current = base.with_weights(published.weights)
        for adjustment in published.adjustments:
            current = current.with_weights(published.weights, adjustment)
        designs.append(("active", label, current))
    adjusted = base.with_weights(sample.design_weights)
    for step in steps:
        adjusted = adjusted.with_weights(step.weights, step.adjustment)
    designs.append(("new", _("New weights"), adjusted))
    rows = tuple(
        HeadlineRow(key, label, estimate_on_design(design, values, formula))
        for key, label, design in designs
    )
    return rows, ""


def preview(sample: WaveSample, options: WeightingSpec) -> Preview:
    """Check, weight and summarise; nothing is written to the database.

    Raises
    ------
    WeightingInputError
        Every problem with the targets or options, by row where there is one.
    """
    checked = check(sample, options)
    steps = weigh(sample, options, checked)
    weights = np.asarray(steps[-1].weights)
    report = final_report(sample, checked, steps)
    headline, note = _headline(sample, steps)
    return Preview(
        options=options,
        weights=weights,
        steps=tuple(s.report for s in steps),
        report=report,
        margins=_margins(sample, checked, weights),
        headline=headline,
        headline_note=note,
        messages=(*checked.notes, *report.messages, *_implausible(sample, weights)),
    )


def _implausible(sample: WaveSample, weights: np.ndarray) -> list[str]:
    """Warnings for weights no population can give (targets in the wrong unit)."""
    if not sample.n:
        return []
    out = []
    mean = float(np.mean(weights))
    if mean < 1:
        out.append(
            _(
                "The new weights average %(mean)s: each respondent would stand for less than "
                "one person. Check the targets' unit and separators (36.800 is thirty-six "
                "thousand eight hundred; 36,8 is thirty-six point eight).",
                mean=formatting.number(mean, 3),
            )
        )
    design = float(np.sum(sample.design_weights))
    ratio = float(np.sum(weights)) / design if design > 0 else math.nan
    if math.isfinite(ratio) and not 0.1 <= ratio <= 10:
        out.append(
            _(
                "The targets add up to %(ratio)s times the design weights' total: check "
                "that they count the same population.",
                ratio=formatting.number(ratio, 3),
            )
        )
    return out


#: At most this many bars in the weights' histogram (numpy's "auto" rule may ask for
#: hundreds on a large wave: bars too thin to see or to point at).
MAX_BINS = 60


def histogram(result: Preview, sample: WaveSample, lang: str) -> dict[str, Any]:
    """The Plotly figure of the new and the design weights: overlaid histograms.

    The bins are counted here, on edges shared by both weights (numpy's "auto" rule, at
    most :data:`MAX_BINS`), and drawn as bars: the charts' plotly.js bundle (the basic
    one) has no histogram trace, and the page carries one count per bin instead of
    every respondent's two weights. Pointing at a bar names its range of weights in
    the reader's numbers."""
    # to 6 decimals, as the weights are shown: the same weights read from a CSV and an
    # XLSX file (their last bits may differ) make the same figure
    new = np.round(np.asarray(result.weights, dtype=np.float64), 6)
    design = np.round(np.asarray(sample.design_weights, dtype=np.float64), 6)
    edges = np.histogram_bin_edges(np.concatenate([new, design]), bins="auto")
    if edges.size - 1 > MAX_BINS:
        edges = np.linspace(edges[0], edges[-1], MAX_BINS + 1)
    widths = np.diff(edges)
    digits = min(6, max(0, 1 - math.floor(math.log10(float(widths.min())))))
    ranges = [
        f"{formatting.number(low, digits)}–{formatting.number(high, digits)}"
        for low, high in itertools.pairwise(edges.tolist())
    ]

    def bars(weights: np.ndarray, name: str, opacity: float, color: str) -> dict[str, Any]:
        return {
            "type": "bar",
            "x": (edges[:-1] + widths / 2).tolist(),
            "y": np.histogram(weights, edges)[0].tolist(),
            "width": widths.tolist(),
            "customdata": ranges,
            "hovertemplate": "%{customdata}: %{y}<extra>%{fullData.name}</extra>",
            "name": name,
            "opacity": opacity,
            "marker": {"color": color},
        }

    return {
        "data": [
            bars(new, _("New weights"), 0.75, "#0b5c8a"),
            bars(design, _("Design weights"), 0.45, "#c7711e"),
        ],
        "layout": {
            "separators": formatting.chart_separators(lang),
            "barmode": "overlay",
            "bargap": 0,
            "xaxis": {"title": {"text": _("Weight")}},
            "yaxis": {"title": {"text": _("Respondents")}},
            "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
            "legend": {"orientation": "h", "y": -0.25},
            "height": 360,
        },
        "config": {"displaylogo": False, "responsive": True},
    }
