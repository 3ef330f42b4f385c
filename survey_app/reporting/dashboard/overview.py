"""The overview page: headline figures, the trend chart's series and the latest changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from analysis.indices import Difference
from survey_app.collection.scoring import IndexRequestError
from survey_app.models import Unit, User, Wave, WaveKind
from survey_app.reporting import visibility
from survey_app.reporting.comparisons import changes, trends
from survey_app.reporting.dashboard.figures import (
    IndexLine,
    TrendPoint,
    figure_cells,
    figure_headers,
    figure_of,
    index_lines,
    safe_compute,
)
from survey_app.reporting.dashboard.scope import (
    ScopeError,
    WaveInfo,
    breadcrumbs,
    children,
    focus_unit,
    scope_tops,
    series_of,
    top_of,
    unit_in_scope,
    waves_of,
)
from survey_app.reporting.indices.figures import (
    DomainKey,
    IndexResult,
    cannot_compute_message,
)
from survey_app.reporting.tables import Table


@dataclass(frozen=True)
class Headline:
    """The latest wave of one kind: the overall index and each aspect."""

    wave: Wave
    lines: tuple[IndexLine, ...]
    reason: str | None = None  # why there is no figure ("Cannot be computed: ...")


@dataclass(frozen=True)
class TrendSeries:
    unit: Unit
    points: tuple[TrendPoint, ...]
    reference: bool = False


@dataclass(frozen=True)
class ChangeLine:
    """A unit's change between two waves (:class:`changes.Change`), with the waves."""

    change: changes.Change
    before: Wave
    after: Wave

    @property
    def unit(self) -> Unit:
        return self.change.unit

    @property
    def difference(self) -> Difference:
        return self.change.difference

    @property
    def significant(self) -> bool:
        return self.change.significant

    def sentence(self) -> str:
        return self.change.sentence()


@dataclass(frozen=True)
class Overview:
    unit: Unit
    reference: Unit
    tops: tuple[Unit, ...]
    crumbs: tuple[Unit, ...]
    headlines: tuple[Headline, ...]
    trend_kind: WaveKind | None
    trend_waves: tuple[Wave, ...]
    series: tuple[TrendSeries, ...]
    choices: tuple[Unit, ...]  # units that can be added to the trend chart
    selected: tuple[str, ...]
    trend_sentence: str | None
    changes: tuple[ChangeLine, ...]
    focus_change: ChangeLine | None
    trend_reason: str | None = None  # why the trend and changes cannot be computed

    def table(self, lang: str) -> Table:
        headers = (_("Unit"), _("Wave"), *figure_headers())
        rows = [
            (s.unit.name(lang), p.wave.name(lang), *figure_cells(p.figure))
            for s in self.series
            for p in s.points
        ]
        return Table(
            f"trend-{self.unit.code}",
            _("Trend of the overall index"),
            headers,
            tuple(rows),
            frozenset({2, 3, 4}),
        )


def overview(
    user: User,
    unit_code: str | None,
    selected_codes: Sequence[str],
    kind: str | None,
    lang: str,
) -> Overview:
    """The overview: headline figures, trend chart series and significant changes."""
    unit = focus_unit(user, unit_code)
    reference = top_of(user, unit)
    selected = [unit_in_scope(user, code) for code in dict.fromkeys(selected_codes)]
    own = waves_of(unit)
    trend_kind = _trend_kind(own, kind)
    waves = series_of(own, trend_kind) if trend_kind else []
    shown = list({u.id: u for u in [reference, unit, *selected]}.values())
    series: list[TrendSeries] = []
    changes: list[ChangeLine] = []
    focus_change = None
    trend_sentence = None
    computed: dict[int, IndexResult] = {}  # wave id -> a result holding the unit's figures
    trend_reason = None
    try:
        if waves:
            trend_sentence, focus_change = _overview_trend(
                user, unit, reference, waves, shown, series, changes, computed
            )
    except IndexRequestError as error:
        trend_reason = cannot_compute_message(error)
    headlines = []
    for wave_kind in (WaveKind.FIELD_SURVEY, WaveKind.CONTINUOUS_FEEDBACK):
        latest = series_of(own, wave_kind)
        if not latest:
            continue
        wave = latest[-1]
        try:
            found = computed.get(wave.id) or safe_compute([wave], [unit])
        except IndexRequestError as error:
            headlines.append(Headline(wave, (), cannot_compute_message(error)))
            continue
        if found is not None:
            found = visibility.for_viewer(found, user, small_area=True)
            lines = index_lines(found, DomainKey(unit.id, wave.id), lang)
            headlines.append(Headline(wave, tuple(lines)))
    return Overview(
        unit,
        reference,
        tuple(scope_tops(user)),
        tuple(breadcrumbs(user, unit)),
        tuple(headlines),
        trend_kind,
        tuple(waves),
        tuple(series),
        tuple(children(unit)),
        tuple(u.code for u in selected),
        trend_sentence,
        tuple(changes),
        focus_change,
        trend_reason,
    )


def _overview_trend(
    user: User,
    unit: Unit,
    reference: Unit,
    waves: Sequence[Wave],
    shown: Sequence[Unit],
    series: list[TrendSeries],
    changes: list[ChangeLine],
    computed: dict[int, IndexResult],
) -> tuple[str | None, ChangeLine | None]:
    """Fill the trend series, the significant changes and the computed results; return
    the trend sentence and the unit's own latest change. Raises IndexRequestError when
    the waves' figures cannot be computed (the overview shows the reason)."""
    trend_sentence = None
    focus_change = None
    found = None
    if waves:
        found = safe_compute(waves, shown)
        if found is not None:
            result = visibility.for_viewer(found, user)
            computed[waves[-1].id] = result
            for u in shown:
                points = tuple(
                    TrendPoint(w, figure_of(result, DomainKey(u.id, w.id))) for w in waves
                )
                series.append(TrendSeries(u, points, reference=u.id == reference.id))
        if len(waves) >= 2:
            pool = list({u.id: u for u in [unit, *children(unit)]}.values())
            lines = latest_changes(pool, waves[-2], waves[-1])
            focus_change = next((c for c in lines if c.unit.id == unit.id), None)
            significant = [c for c in lines if c.significant and c.unit.id != unit.id]
            changes.extend(sorted(significant, key=lambda c: -abs(c.difference.value)))
        if len(waves) >= 3:
            try:
                # the series' figures hold the unit in every wave (shown includes it)
                found_trend = trends.trend(unit, waves, within=found)
            except KeyError:  # the unit has no figure in one of the waves: no trend line
                found_trend = None
            except IndexRequestError:
                # The figures are computed (above); what has no trend is the line through
                # them (waves at one time, an index undefined in one wave): no sentence.
                found_trend = None
            # No sentence for a leader when one of the unit's figures is hidden from them.
            if found_trend is not None and (
                visibility.shows_unreportable(user)
                or all(f.reportable for f in found_trend.figures)
            ):
                trend_sentence = found_trend.sentence()
    return trend_sentence, focus_change


def _trend_kind(infos: Sequence[WaveInfo], requested: str | None) -> WaveKind | None:
    kinds = [
        k for k in (WaveKind.FIELD_SURVEY, WaveKind.CONTINUOUS_FEEDBACK) if series_of(infos, k)
    ]
    if requested:
        try:
            wanted = WaveKind(requested)
        except ValueError:
            raise ScopeError(404, f"kind {requested}") from None
        return wanted if wanted in kinds else None
    return kinds[0] if kinds else None


def latest_changes(units: Sequence[Unit], before: Wave, after: Wave) -> list[ChangeLine]:
    """The change of the overall index of each unit between two waves, with the waves
    (:func:`changes.reportable_changes`: units without answers in one of the waves, or
    whose figures do not meet the reporting rule in either wave, are left out).
    """
    return [
        ChangeLine(change, before, after)
        for change in changes.reportable_changes(units, before, after)
    ]
