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
    unit: Unit,
    waves: Sequence[Wave],
    *,
    code: str = "overall",
    kind: str = "rate",
    within: IndexResult | None = None,
) -> TrendResult:
    """Slope per year across three or more waves (design-based, svyglm-style).

    ``within`` is a page's figures already computed for the unit in every wave, each
    an independent sample (the default ``shared_psus=False``): independent waves are
    estimated from it (:func:`trend_of`), not computed again. Waves declared a panel
    are one joint design, whose covariances such figures do not hold.
    """
    if len(waves) < 3:
        raise IndexRequestError(_("A trend needs three or more waves."))
    ordered = sorted(waves, key=lambda w: w.start_date)
    panel = is_panel(ordered)
    if within is not None and not panel:
        result = within
    else:
        result = compute(ordered, [unit], shared_psus=panel)
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
    that holds the figures does not compute them again. The result may hold other
    units too (the overview's series): the trend is estimated from the totals of the
    unit's domains (:meth:`~analysis.indices.PSUTotals.restricted`), one per wave."""
    mine = [i for i, domain in enumerate(result.domains) if domain.unit_id == unit.id]
    if any(result.domains[i].field_id is not None or result.domains[i].channel for i in mine):
        raise ValueError(f"the result breaks {unit.code} down: no trend of its figure")
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
    times = [wave_time(next(w for w in ordered if w.id == result.domains[i].wave_id)) for i in mine]
    if len(set(times)) < 2:
        raise IndexRequestError(
            _("A trend needs waves at two or more different times; these waves share one.")
        )
    # The waves' own rule for a stratum with a single PSU, as their figures (not R's
    # default "fail", which answered the overview with a 500).
    totals = result.totals
    if len(mine) < len(result.domains):
        totals = totals.restricted(mine)
    estimate = estimate_trend(totals, formula, times, lonely_psu=figures[0].lonely_psu)
    return TrendResult(**asdict(estimate), unit=unit, waves=tuple(ordered), figures=figures)
