"""Rankings of units in a wave: rank intervals by simulation, each unit against the
overall figure with Holm's adjustment, the previous wave's ranks and the funnel plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from flask_babel import gettext as _

from analysis.compare import Ranking, funnel_limits, holm_adjust, rank_intervals
from analysis.indices import Difference, difference
from survey_app.collection.scoring import IndexRequestError
from survey_app.models import Unit, Wave
from survey_app.reporting.comparisons.wording import SIGNIFICANCE
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure, IndexResult


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
    if not np.isfinite(cov).all():
        # A figure without a standard error (a unit whose sample gives no variance
        # estimate) has no rank interval: say which, rather than draw from nothing.
        finite = np.isfinite(cov).all(axis=1)
        unknown = [u.code for u, ok in zip(units, finite, strict=True) if not ok]
        raise IndexRequestError(
            _(
                "The uncertainty of %(units)s cannot be estimated in wave %(wave)s, "
                "so the units cannot be ranked with rank intervals.",
                units=", ".join(unknown),
                wave=wave.code,
            )
        )
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
