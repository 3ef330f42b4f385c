"""Changes between waves, trends and rankings, with the sentences leaders read.

Multiple comparisons: when every unit of a ranking is compared with the overall
figure, the p-values are adjusted by Holm's method, so the chance of flagging any
unit wrongly stays below 5%; the funnel plot's 99.8% limits serve the same purpose
visually (Spiegelhalter 2005). Rank intervals come from simulating the whole table
from the estimates' joint distribution with a fixed seed, so a page shows the same
intervals every time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
from flask_babel import format_decimal
from flask_babel import gettext as _

from analysis.compare import Ranking, Trend, funnel_limits, holm_adjust, rank_intervals
from analysis.indices import Difference, difference, estimate_trend
from survey_app.collection.scoring import IndexRequestError
from survey_app.collection.waves import panel_pair
from survey_app.models import Unit, Wave, WaveKind
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure, IndexResult

SIGNIFICANCE = 0.05


def points(value: float, kind: str) -> float:
    """A value or a difference in the unit it is read in: percentage points for a rate
    (a proportion times 100), points for a mean score."""
    return value * 100 if kind == "rate" else value


def format_p(p_value: float) -> str:
    if p_value < 0.001:
        return "p < " + format_decimal(0.001, format="0.000")
    return "p = " + format_decimal(p_value, format="0.000")


def significance(p_value: float) -> str:
    """Whether a difference or a trend is significant at ``SIGNIFICANCE``, with its p."""
    if p_value < SIGNIFICANCE:
        return _("statistically significant (%(p)s)", p=format_p(p_value))
    return _("not statistically significant (%(p)s)", p=format_p(p_value))


def change_sentence(diff: Difference, kind: str) -> str:
    """A plain-language description: direction, size and significance."""
    size = format_decimal(abs(points(diff.value, kind)), format="0.0")
    if kind == "rate":
        if diff.value > 0:
            text = _("rose by %(size)s percentage points", size=size)
        elif diff.value < 0:
            text = _("fell by %(size)s percentage points", size=size)
        else:
            text = _("did not change")
    elif diff.value > 0:
        text = _("rose by %(size)s points", size=size)
    elif diff.value < 0:
        text = _("fell by %(size)s points", size=size)
    else:
        text = _("did not change")
    return f"{text}, {significance(diff.p_value)}"


def waves_share_psus(first: Wave, second: Wave) -> bool:
    """Whether two field-survey waves are declared a panel (the same PSUs interviewed again).

    Declared by the survey team on the wave (``panel_of``), never inferred from PSU
    labels, which repeat by chance across independently drawn samples. Independent
    waves get a zero covariance; a panel is analysed as one joint design.
    """
    if first.kind != WaveKind.FIELD_SURVEY or second.kind != WaveKind.FIELD_SURVEY:
        return False
    return panel_pair(first, second)


@dataclass(frozen=True)
class Change:
    unit: Unit
    before: IndexFigure
    after: IndexFigure
    difference: Difference
    shared_psus: bool

    @property
    def significant(self) -> bool:
        return self.difference.p_value < SIGNIFICANCE

    def sentence(self) -> str:
        return change_sentence(self.difference, self.after.kind)


def require_answers(result: IndexResult, unit: Unit, waves: Sequence[Wave]) -> None:
    """Refuse (IndexRequestError) a comparison of waves in which the unit has no answers.

    The estimators need a figure in every wave; without this the request would fail
    inside them (a trend of fewer than two distinct times, a figure that is missing).
    """
    present = {domain.wave_id for domain in result.domains if domain.unit_id == unit.id}
    missing = [wave.code for wave in waves if wave.id not in present]
    if missing:
        raise IndexRequestError(
            _(
                "%(unit)s has no answers in wave %(waves)s: nothing to compare there.",
                unit=unit.code,
                waves=", ".join(missing),
            )
        )


def change(
    unit: Unit, before: Wave, after: Wave, *, code: str = "overall", kind: str = "rate"
) -> Change:
    """The change of an index of a unit between two waves, with CI and p-value.

    Independent waves get a zero covariance; waves that share PSUs are analysed as
    one design so the covariance of the two estimates is used.
    """
    shared = waves_share_psus(before, after)
    result = compute([before, after], [unit], shared_psus=shared)
    require_answers(result, unit, [before, after])
    return _change_in(result, unit, before, after, code, kind, shared)


def changes(
    units: Sequence[Unit], before: Wave, after: Wave, *, code: str = "overall", kind: str = "rate"
) -> list[Change]:
    """The change of each unit between two waves: the estimate of :func:`change`, but for
    every unit from one computation instead of one per unit. Units without a response
    in one of the two waves are left out."""
    shared = waves_share_psus(before, after)
    result = compute([before, after], units, shared_psus=shared)
    found = []
    for unit in units:
        try:
            line = _change_in(result, unit, before, after, code, kind, shared)
        except KeyError:  # the unit has no answers in one of the waves
            continue
        if line.before.n and line.after.n:
            found.append(line)
    return found


def _change_in(
    result: IndexResult,
    unit: Unit,
    before: Wave,
    after: Wave,
    code: str,
    kind: str,
    shared: bool,
) -> Change:
    first = result.figure(DomainKey(unit.id, before.id), code, kind)
    second = result.figure(DomainKey(unit.id, after.id), code, kind)
    return Change(unit, first, second, result.difference(second, first), shared)


def units_difference(
    first: Unit, second: Unit, wave: Wave, *, code: str = "overall", kind: str = "rate"
) -> tuple[IndexFigure, IndexFigure, Difference]:
    """Two units' figures in one wave and ``first - second``: both units are domains of
    one computation, so the covariance of the two estimates is used (one unit may
    contain the other)."""
    result = compute([wave], [first, second])
    a = result.figure(DomainKey(first.id, wave.id), code, kind)
    b = result.figure(DomainKey(second.id, wave.id), code, kind)
    return a, b, result.difference(a, b)


def units_sentence(first: str, second: str, diff: Difference, kind: str) -> str:
    """ "A is 3.1 percentage points higher than B, not statistically significant (p = …)"."""
    size = format_decimal(abs(points(diff.value, kind)), format="0.0")
    if diff.value > 0:
        text = _(
            "%(a)s is %(size)s percentage points higher than %(b)s", a=first, b=second, size=size
        )
    elif diff.value < 0:
        text = _(
            "%(a)s is %(size)s percentage points lower than %(b)s", a=first, b=second, size=size
        )
    else:
        text = _("%(a)s and %(b)s are equal", a=first, b=second)
    return f"{text}, {significance(diff.p_value)}."


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
        size = format_decimal(abs(points(self.slope, kind)), format="0.0")
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


@dataclass(frozen=True)
class RankRow:
    unit: Unit
    figure: IndexFigure
    rank: int
    rank_low: int
    rank_high: int
    previous_rank: int | None
    versus_overall: Difference
    p_adjusted: float

    @property
    def rank_change(self) -> int | None:
        """Places gained since the previous wave (positive = moved up)."""
        return None if self.previous_rank is None else self.previous_rank - self.rank

    @property
    def flag(self) -> str:
        """``above``/``below`` the overall figure after Holm's adjustment, else ``""``."""
        if self.p_adjusted >= SIGNIFICANCE:
            return ""
        return "above" if self.versus_overall.value > 0 else "below"


@dataclass(frozen=True)
class RankingResult:
    wave: Wave
    overall_unit: Unit
    overall: IndexFigure
    rows: tuple[RankRow, ...]
    ranking: Ranking
    funnel: dict[str, list[float]]
    # Units left out because their figure fails the reporting rule (reportable_only).
    hidden: tuple[Unit, ...] = ()


def _ranks(
    result: IndexResult, units: Sequence[Unit], wave: Wave, code: str, kind: str
) -> tuple[list[IndexFigure], np.ndarray, np.ndarray]:
    try:
        figures = [result.figure(DomainKey(u.id, wave.id), code, kind) for u in units]
    except KeyError:
        present = {d.unit_id for d in result.domains}
        missing = ", ".join(u.code for u in units if u.id not in present)
        if not missing:
            raise
        raise IndexRequestError(
            _("No data in wave %(wave)s for %(units)s.", wave=wave.code, units=missing)
        ) from None
    positions = [result.domains.index(f.domain) for f in figures]
    cov = result.covariance(code, kind)
    return figures, np.array([f.value for f in figures]), cov[np.ix_(positions, positions)]


class TooFewToRank(IndexRequestError):  # noqa: N818 (an IndexRequestError, named for what happened)
    """Fewer than two units have a figure to rank (none given, hidden by the reporting
    rule, or without data): a page says so instead of showing a ranking."""


def ranking(
    units: Sequence[Unit],
    wave: Wave,
    overall_unit: Unit,
    *,
    previous_wave: Wave | None = None,
    code: str = "overall",
    kind: str = "rate",
    seed: int = 20051185,
    reportable_only: bool = False,
) -> RankingResult:
    """Rank units by an index with rank intervals, rank changes and flags.

    ``overall_unit`` is the reference (e.g. the province): each unit is compared with
    it using the joint covariance (a unit is part of the overall figure).

    With ``reportable_only`` (what a leader sees, :func:`visibility.visible`), units whose
    figure fails the reporting rule are not ranked at all (listed in ``hidden``), so
    the other ranks leave no gap that would place them; previous ranks are then taken
    among the units whose previous figure meets the rule.
    """
    if not units:
        raise TooFewToRank("no unit to rank")
    result = compute([wave], [*units, overall_unit])
    hidden: list[Unit] = []
    if reportable_only:
        hidden = [u for u in units if not _reportable(result, u, wave, code, kind)]
        units = [u for u in units if u not in hidden]
        if len(units) < 2:
            raise TooFewToRank("fewer than two units meet the reporting rule")
    figures, values, cov = _ranks(result, units, wave, code, kind)
    if np.isnan(values).any():
        missing = [u.code for u, f in zip(units, figures, strict=True) if math.isnan(f.value)]
        raise TooFewToRank(f"no data for units {', '.join(missing)}")
    overall = result.figure(DomainKey(overall_unit.id, wave.id), code, kind)
    full_cov = result.covariance(code, kind)
    o = result.domains.index(overall.domain)
    simulated = rank_intervals(values, cov, seed=seed)
    differences = []
    for figure in figures:
        u = result.domains.index(figure.domain)
        differences.append(
            difference(
                figure.value,
                overall.value,
                full_cov[u, u],
                full_cov[o, o],
                full_cov[u, o],
                df=figure.df,
            )
        )
    adjusted = holm_adjust([d.p_value for d in differences])
    previous: dict[int, int] = {}
    if previous_wave is not None:
        before = compute([previous_wave], list(units))
        prior, prior_values, _cov = _ranks(before, units, previous_wave, code, kind)
        if reportable_only:
            ok = [i for i, f in enumerate(prior) if f.reportable]
            order = np.argsort(np.argsort(-prior_values[ok], kind="stable"), kind="stable") + 1
            previous = {units[i].id: int(r) for i, r in zip(ok, order, strict=True)}
        elif not np.isnan(prior_values).any():
            order = np.argsort(np.argsort(-prior_values, kind="stable"), kind="stable") + 1
            previous = {u.id: int(r) for u, r in zip(units, order, strict=True)}
    rows = [
        RankRow(
            unit,
            figure,
            int(simulated.rank[i]),
            int(simulated.rank_low[i]),
            int(simulated.rank_high[i]),
            previous.get(unit.id),
            differences[i],
            float(adjusted[i]),
        )
        for i, (unit, figure) in enumerate(zip(units, figures, strict=True))
    ]
    rows.sort(key=lambda row: row.rank)
    funnel: dict[str, list[float]] = {}
    if kind == "rate" and 0 < overall.value < 1:
        largest = max(max(f.n_eff for f in figures) * 1.2, 10.0)
        grid = np.linspace(max(min(f.n_eff for f in figures) * 0.5, 2.0), largest, 60)
        limits = funnel_limits(overall.value, grid)
        funnel = {
            "n_eff": grid.tolist(),
            "lower95": limits.lower95.tolist(),
            "upper95": limits.upper95.tolist(),
            "lower998": limits.lower998.tolist(),
            "upper998": limits.upper998.tolist(),
        }
    return RankingResult(wave, overall_unit, overall, tuple(rows), simulated, funnel, tuple(hidden))


def _reportable(result: IndexResult, unit: Unit, wave: Wave, code: str, kind: str) -> bool:
    """Whether the unit's figure meets the reporting rule; a unit without any figure
    counts as reportable here, so the ranking still says it has no data."""
    try:
        return result.figure(DomainKey(unit.id, wave.id), code, kind).reportable
    except KeyError:
        return True
