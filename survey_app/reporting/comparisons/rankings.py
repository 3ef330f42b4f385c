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
from survey_app.reporting.tallies import with_data


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
    # Units left out because they have no answers in the wave.
    no_data: tuple[Unit, ...] = ()


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


def _too_few() -> TooFewToRank:
    return TooFewToRank(_("At least two units with answers in this wave are needed for a ranking."))


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

    Only the units with answers in the wave are ranked; the others are listed in
    ``no_data`` (every page, the scorecard, the funnel alert and the API rank this way).
    With ``reportable_only`` (what a leader sees, :func:`visibility.visible`), units whose
    figure fails the reporting rule are not ranked at all (listed in ``hidden``), so
    the other ranks leave no gap that would place them. Previous ranks are taken among
    the units that have a figure in ``previous_wave`` (meeting the rule with
    ``reportable_only``); a unit without one has no previous rank.

    Raises
    ------
    TooFewToRank
        Fewer than two units to rank; its message is the reader's.
    """
    answered = with_data(units, wave)
    no_data = tuple(u for u in units if u not in answered)
    units = answered
    if len(units) < 2:
        raise _too_few()
    result = compute([wave], [*units, overall_unit])
    hidden: list[Unit] = []
    if reportable_only:
        hidden = [u for u in units if not _reportable(result, u, wave, code, kind)]
        units = [u for u in units if u not in hidden]
        if len(units) < 2:
            raise _too_few()
    figures, values, cov = _ranks(result, units, wave, code, kind)
    if np.isnan(values).any():  # answers, but none valid for this index
        raise _too_few()
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
    previous = (
        {}
        if previous_wave is None
        else _previous_ranks(units, previous_wave, code, kind, reportable_only)
    )
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
    return RankingResult(
        wave, overall_unit, overall, tuple(rows), simulated, funnel, tuple(hidden), no_data
    )


def _previous_ranks(
    units: Sequence[Unit], wave: Wave, code: str, kind: str, reportable_only: bool
) -> dict[int, int]:
    """Ranks in an earlier wave among the units with a figure there (meeting the
    reporting rule with ``reportable_only``), by unit id; ties keep the units' order.
    A unit new since, or without answers then, has none, and the others keep theirs."""
    before_units = with_data(units, wave)
    if not before_units:
        return {}
    before = compute([wave], before_units)
    values: list[tuple[int, float]] = []
    for unit in before_units:
        try:
            figure = before.figure(DomainKey(unit.id, wave.id), code, kind)
        except KeyError:  # answers, but none valid for this index
            continue
        if math.isnan(figure.value) or (reportable_only and not figure.reportable):
            continue
        values.append((unit.id, figure.value))
    order = np.argsort(
        np.argsort(-np.array([v for _id, v in values]), kind="stable"), kind="stable"
    )
    return {unit_id: int(rank) + 1 for (unit_id, _value), rank in zip(values, order, strict=True)}


def _reportable(result: IndexResult, unit: Unit, wave: Wave, code: str, kind: str) -> bool:
    """Whether the unit's figure meets the reporting rule; a unit without any figure
    counts as reportable here, so the ranking still says it has no data."""
    try:
        return result.figure(DomainKey(unit.id, wave.id), code, kind).reportable
    except KeyError:
        return True
