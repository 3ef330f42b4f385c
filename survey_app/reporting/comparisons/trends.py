"""A unit's trend across three or more waves (slope per year, design-based)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

from flask_babel import gettext as _

from analysis.compare import Trend
from analysis.indices import estimate_trend, points
from survey_app import formatting
from survey_app.collection.scoring import IndexRequestError
from survey_app.models import Unit, Wave
from survey_app.reporting.comparisons.changes import require_answers, waves_share_psus
from survey_app.reporting.comparisons.wording import significance
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure, IndexResult


def decimal_year(day: date) -> float:
    start = date(day.year, 1, 1)
    length = (date(day.year + 1, 1, 1) - start).days
    return day.year + (day - start).days / length


def wave_time(wave: Wave) -> float:
    """The middle of the wave's field period, in decimal years."""
    return (decimal_year(wave.start_date) + decimal_year(wave.end_date)) / 2


@dataclass(frozen=True)
class TrendResult(Trend):
    """A unit's trend: the slope per year in the index's unit (proportion or points)
    with its test (:class:`analysis.compare.Trend`) and the figures it is drawn from."""

    unit: Unit
    waves: tuple[Wave, ...]
    figures: tuple[IndexFigure, ...]

    def sentence(self) -> str:
        kind = self.figures[0].kind
        size = formatting.number(abs(points(self.slope, kind)), 1)
        if kind == "rate":
            text = _("changes by %(size)s percentage points per year", size=size)
        else:
            text = _("changes by %(size)s points per year", size=size)
        direction = _("upward trend") if self.slope > 0 else _("downward trend")
        return f"{direction}: {text}, {significance(self.p_value)}"


def trend(
    unit: Unit, waves: Sequence[Wave], *, code: str = "overall", kind: str = "rate"
) -> TrendResult:
    """Slope per year across three or more waves (design-based, svyglm-style)."""
    if len(waves) < 3:
        raise IndexRequestError(_("A trend needs three or more waves."))
    ordered = sorted(waves, key=lambda w: w.start_date)
    result = compute(ordered, [unit], shared_psus=is_panel(ordered))
    return trend_of(result, unit, ordered, code=code, kind=kind)


def is_panel(ordered: Sequence[Wave]) -> bool:
    """Whether waves (oldest first) are analysed as one joint design: only when every
    wave is declared a panel of the one before."""
    return all(waves_share_psus(a, b) for a, b in itertools.pairwise(ordered))


def trend_of(
    result: IndexResult,
    unit: Unit,
    ordered: Sequence[Wave],
    *,
    code: str = "overall",
    kind: str = "rate",
) -> TrendResult:
    """The trend of :func:`trend` from a result already computed for ``unit`` in the
    waves ``ordered`` (oldest first; as one design when :func:`is_panel`), so a page
    that holds the figures does not query them again. The result holds the figures of
    ``unit`` alone (one domain per wave), as the trend is estimated from its totals."""
    if any(domain.unit_id != unit.id for domain in result.domains):
        raise ValueError(f"the result holds other units than {unit.code}: no trend of {unit.code}")
    require_answers(result, unit, ordered)
    formula = next(f for f in result.formulas if f.code == code and f.kind == kind)
    figures = tuple(result.figure(DomainKey(unit.id, w.id), code, kind) for w in ordered)
    undefined = [w.code for w, f in zip(ordered, figures, strict=True) if math.isnan(f.value)]
    if undefined:
        raise IndexRequestError(
            _(
                "The index of %(unit)s cannot be computed in wave %(waves)s "
                "(no valid answers to its questions).",
                unit=unit.code,
                waves=", ".join(undefined),
            )
        )
    times = [wave_time(next(w for w in ordered if w.id == d.wave_id)) for d in result.domains]
    if len(set(times)) < 2:
        raise IndexRequestError(
            _("A trend needs waves at two or more different times; these waves share one.")
        )
    # The waves' own rule for a stratum with a single PSU, as their figures (not R's
    # default "fail", which answered the overview with a 500).
    estimate = estimate_trend(result.totals, formula, times, lonely_psu=figures[0].lonely_psu)
    return TrendResult(**asdict(estimate), unit=unit, waves=tuple(ordered), figures=figures)
