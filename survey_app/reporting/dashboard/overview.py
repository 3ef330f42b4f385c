"""View models of the leaders' dashboard: what each page shows, within the user's scope.

Every public function takes the user and the codes a request named, resolves them,
refuses anything outside the user's scope (:class:`ScopeError`, which the blueprint turns
into 403 or 404 before any figure is computed) and returns frozen dataclasses that the
templates, the charts (:mod:`survey_app.reporting.dashboard_charts`) and the downloads
(:mod:`survey_app.reporting.tables`) read. The numbers come from
:mod:`survey_app.reporting.indices` and :mod:`survey_app.reporting.comparisons`; nothing
here estimates anything itself, and every query aggregates in SQL.

Scope: a user sees their unit and everything below it; a user without a unit sees every
province. Waves are those with at least one response inside the unit being looked at.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select

from analysis.indices import Difference
from survey_app.access import can_see_unit
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.collection.waves import lonely_rule_text
from survey_app.extensions import db
from survey_app.models import (
    AnswerValue,
    Channel,
    Desk,
    ProcedureField,
    Questionnaire,
    QuestionnaireItem,
    Response,
    Unit,
    UnitKind,
    User,
    Wave,
    WaveKind,
)
from survey_app.reporting import comparisons, indices
from survey_app.reporting.indices import DomainKey, IndexFigure, IndexRequestError, IndexResult
from survey_app.reporting.tables import Table

KIND_ORDER = (UnitKind.PROVINCE, UnitKind.DEPARTMENT, UnitKind.DISTRICT, UnitKind.COMMUNE)
MONITOR_DAYS = 30
ROLLING_DAYS = 7
STOPPED_AFTER_DAYS = 3


class ScopeError(LookupError):
    """A unit or wave the user may not see (403) or that does not exist (404)."""

    def __init__(self, status: int, what: str) -> None:
        super().__init__(what)
        self.status = status


# ----------------------------------------------------------------------------- scope


def _unit_sort_key(unit: Unit) -> tuple[int, str]:
    return (KIND_ORDER.index(unit.kind), unit.name_vi)


def scope_tops(user: User) -> list[Unit]:
    """The units at the top of the user's scope: their own unit, or every province."""
    if user.unit_id is not None:
        unit = db.session.get(Unit, user.unit_id)
        return [unit] if unit is not None else []
    return sorted(
        db.session.scalars(select(Unit).where(Unit.parent_id.is_(None))), key=_unit_sort_key
    )


def unit_in_scope(user: User, code: str) -> Unit:
    """The unit with ``code``; 404 when there is none, 403 when it is not the user's."""
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise ScopeError(404, f"unit {code}")
    if not can_see_unit(user, unit):
        raise ScopeError(403, f"unit {code}")
    return unit


def focus_unit(user: User, code: str | None) -> Unit:
    """The unit a page is about: the one named, else the top of the user's scope."""
    if code:
        return unit_in_scope(user, code)
    tops = scope_tops(user)
    if not tops:
        raise ScopeError(404, "no unit in scope")
    return tops[0]


def top_of(user: User, unit: Unit) -> Unit:
    """The top of the user's scope above (or at) ``unit``: the reference line."""
    if user.unit_id is not None:
        return db.session.get(Unit, user.unit_id) or unit
    root_id = int(unit.path.strip("/").split("/")[0])
    return db.session.get(Unit, root_id) or unit


def breadcrumbs(user: User, unit: Unit) -> list[Unit]:
    """The chain of units from the top of the user's scope down to ``unit``."""
    ids = [int(part) for part in unit.path.strip("/").split("/")]
    found = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    return [found[i] for i in ids if i in found and can_see_unit(user, found[i])]


def children(unit: Unit) -> list[Unit]:
    return sorted(
        db.session.scalars(select(Unit).where(Unit.parent_id == unit.id)), key=_unit_sort_key
    )


@dataclass(frozen=True)
class WaveInfo:
    wave: Wave
    responses: int  # responses stored for the unit and everything below it

    @property
    def code(self) -> str:
        return self.wave.code


def waves_of(unit: Unit) -> list[WaveInfo]:
    """Waves with responses inside ``unit`` (and below), oldest first; one GROUP BY."""
    query = (
        select(Response.wave_id, func.count())
        .join(Unit, Unit.id == Response.unit_id)
        .where(Response.wave_id.is_not(None), Unit.path.startswith(unit.path, autoescape=True))
        .group_by(Response.wave_id)
    )
    counts = dict(db.session.execute(query).all())
    waves = db.session.scalars(select(Wave).where(Wave.id.in_(list(counts))))
    infos = [WaveInfo(w, int(counts[w.id])) for w in waves]
    return sorted(infos, key=lambda i: (i.wave.start_date, i.wave.code))


def wave_in(infos: Sequence[WaveInfo], code: str) -> Wave:
    for info in infos:
        if info.wave.code == code:
            return info.wave
    raise ScopeError(404, f"wave {code}")


def series_of(infos: Sequence[WaveInfo], kind: WaveKind, slug: str | None = None) -> list[Wave]:
    """Waves of one kind and one questionnaire (the latest wave's unless ``slug``)."""
    waves = [i.wave for i in infos if i.wave.kind == kind]
    if not waves:
        return []
    slug = slug or waves[-1].questionnaire.slug
    return [w for w in waves if w.questionnaire.slug == slug]


# ----------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class IndexLine:
    """One index (overall or an aspect) as a rate and as a mean score."""

    code: str  # "overall" or "aspect:<code>"
    label: str
    rate: IndexFigure | None
    score: IndexFigure | None


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
    """:func:`indices.compute` for a page.

    An empty selection gives a result without figures. A selection whose figures cannot
    be computed (e.g. a stratum with a single PSU under the rule 'fail') raises
    :class:`IndexRequestError`: the overview shows its reason in place of the figure,
    other pages answer 422 with it (:func:`survey_app.errors.handle_cannot_compute`).
    Nothing is caught here, so no figure disappears without a reason.
    """
    return indices.compute(waves, units, **options)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- formats


def fmt_pct(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "—"
    return format_percent(value, format="#,##0." + "0" * digits + "%")


def fmt_number(value: float | None, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern)


def fmt_value(figure: IndexFigure) -> str:
    """A figure's value: a percentage for rates, points for mean scores."""
    if figure.kind == "rate":
        return fmt_pct(figure.value)
    return fmt_number(figure.value, 1)


def fmt_ci(figure: IndexFigure) -> str:
    if figure.kind == "rate":
        return f"{fmt_pct(figure.ci_low)} – {fmt_pct(figure.ci_high)}"
    return f"{fmt_number(figure.ci_low, 1)} – {fmt_number(figure.ci_high, 1)}"


def fmt_points(value: float) -> str:
    """A difference of proportions in signed percentage points: "+12,9 điểm phần trăm"."""
    return _("%(value)s percentage points", value=format_decimal(value * 100, format="+0.0;-0.0"))


def fmt_p(p_value: float) -> str:
    return comparisons.format_p(p_value)


def scheme_text(figure: IndexFigure) -> str:
    """The weighting scheme in words (the defaults are translated; named schemes not)."""
    names = {"design weights": _("design weights"), "unweighted": _("unweighted")}
    return names.get(figure.scheme, figure.scheme)


def inference_text(figure: IndexFigure) -> str:
    """How the figure's interval is made, with the design it rests on: for a field
    survey the wave's rule for strata with a single PSU (the survey team's setting)
    and whether the finite population correction applies."""
    if figure.inference == indices.Inference.SMALL_AREA:
        return _("small-area model estimate")
    if figure.inference != indices.Inference.DESIGN:
        return _("model-based")
    text = _(
        "design-based; strata with a single PSU: %(rule)s", rule=lonely_rule_text(figure.lonely_psu)
    )
    if figure.fpc:
        text += "; " + _("finite population correction")
    return text


def not_enough_data() -> str:
    return _("not enough data")


# ----------------------------------------------------------------------------- tables


def _pct_points(value: float) -> float:
    return round(value * 100, 2)


def figure_cells(figure: IndexFigure | None) -> tuple[object, ...]:
    """Value, CI, n, n_eff, scheme, inference and status; blank where not reportable."""
    if figure is None:
        return (None, None, None, 0, None, None, None, _("no responses"))
    scale = _pct_points if figure.kind == "rate" else (lambda v: round(v, 2))
    # A leader's copy of a figure failing the reporting rule has no value (indices.visible);
    # an analyst's keeps it, flagged in the last column.
    shown = not math.isnan(figure.value)
    return (
        scale(figure.value) if shown else None,
        scale(figure.ci_low) if shown else None,
        scale(figure.ci_high) if shown else None,
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


# ----------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class Headline:
    """The latest wave of one kind: the overall index and each aspect."""

    wave: Wave
    lines: tuple[IndexLine, ...]
    reason: str | None = None  # why there is no figure ("Cannot be computed: ...")


@dataclass(frozen=True)
class TrendPoint:
    wave: Wave
    figure: IndexFigure | None


@dataclass(frozen=True)
class TrendSeries:
    unit: Unit
    points: tuple[TrendPoint, ...]
    reference: bool = False


@dataclass(frozen=True)
class ChangeLine:
    unit: Unit
    before: Wave
    after: Wave
    difference: Difference
    kind: str

    @property
    def significant(self) -> bool:
        return self.difference.p_value < comparisons.SIGNIFICANCE

    def sentence(self) -> str:
        return comparisons.change_sentence(self.difference, self.kind)


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
        trend_reason = indices.cannot_compute_message(error)
    headlines = []
    for wave_kind in (WaveKind.FIELD_SURVEY, WaveKind.CONTINUOUS_FEEDBACK):
        latest = series_of(own, wave_kind)
        if not latest:
            continue
        wave = latest[-1]
        try:
            found = computed.get(wave.id) or safe_compute([wave], [unit])
        except IndexRequestError as error:
            headlines.append(Headline(wave, (), indices.cannot_compute_message(error)))
            continue
        if found is not None:
            found = indices.for_viewer(found, user, small_area=True)
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
    if waves:
        result = safe_compute(waves, shown)
        if result is not None:
            result = indices.for_viewer(result, user)
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
                found_trend = comparisons.trend(unit, waves)
            except KeyError:  # the unit has no figure in one of the waves: no trend line
                found_trend = None
            # No sentence for a leader when one of the unit's figures is hidden from them.
            if found_trend is not None and (
                indices.shows_unreportable(user) or all(f.reportable for f in found_trend.figures)
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
    """The change of the overall index of each unit between two waves.

    The same estimate as :func:`comparisons.change` (the waves as one design when they
    share PSUs, the covariance of the two figures, the smaller df), but for every unit
    from one computation instead of one per unit. Units whose figures do not meet the
    reporting rule in either wave are left out.
    """
    result = safe_compute(
        [before, after], units, shared_psus=comparisons.waves_share_psus(before, after)
    )
    if result is None:
        return []
    lines = []
    for unit in units:
        first = figure_of(result, DomainKey(unit.id, before.id))
        second = figure_of(result, DomainKey(unit.id, after.id))
        if first is None or second is None or not (first.reportable and second.reportable):
            continue
        lines.append(ChangeLine(unit, before, after, result.difference(second, first), "rate"))
    return lines


# ----------------------------------------------------------------------------- drill-down


@dataclass(frozen=True)
class ChildRow:
    unit: Unit
    figure: IndexFigure | None
    has_children: bool


@dataclass(frozen=True)
class UnitPage:
    unit: Unit
    crumbs: tuple[Unit, ...]
    waves: tuple[WaveInfo, ...]
    wave: Wave | None
    fields: tuple[ProcedureField, ...]
    field: ProcedureField | None
    channels: tuple[str, ...]
    channel: str | None
    lines: tuple[IndexLine, ...]
    groups: tuple[tuple[UnitKind, tuple[ChildRow, ...]], ...]

    def table(self, lang: str) -> Table:
        headers = (_("Unit"), _("Index"), *figure_headers())
        rows: list[tuple[object, ...]] = []
        for line in self.lines:
            rows.append((self.unit.name(lang), line.label, *figure_cells(line.rate)))
        overall = self.lines[0].label if self.lines else ""
        for _kind, group in self.groups:
            for row in group:
                rows.append((row.unit.name(lang), overall, *figure_cells(row.figure)))
        wave = self.wave.code if self.wave else "none"
        return Table(
            f"{self.unit.code}-{wave}",
            self.unit.name(lang),
            headers,
            tuple(rows),
            frozenset({2, 3, 4}),
        )


def unit_page(
    user: User,
    unit_code: str,
    wave_code: str | None,
    field_code: str | None,
    channel: str | None,
    lang: str,
) -> UnitPage:
    unit = unit_in_scope(user, unit_code)
    infos = waves_of(unit)
    wave = wave_in(infos, wave_code) if wave_code else (infos[-1].wave if infos else None)
    fields = tuple(db.session.scalars(select(ProcedureField).order_by(ProcedureField.code)))
    chosen_field = None
    if field_code:
        chosen_field = next((f for f in fields if f.code == field_code), None)
        if chosen_field is None:
            raise ScopeError(404, f"field {field_code}")
    channels = tuple(c.value for c in Channel)
    if channel and channel not in channels:
        raise ScopeError(404, f"channel {channel}")
    kids = children(unit)
    lines: list[IndexLine] = []
    groups: dict[UnitKind, list[ChildRow]] = defaultdict(list)
    if wave is not None:
        result = safe_compute(
            [wave],
            [unit, *kids],
            field_id=chosen_field.id if chosen_field else None,
            channel=channel or None,
        )
        # a commune's small-area estimate stands in for a hidden figure of the whole
        # commune only, never for one procedure field or channel of it
        whole = chosen_field is None and not channel
        result = indices.for_viewer(result, user, small_area=whole) if result is not None else None
        parents = _units_with_children([k.id for k in kids])
        for kid in kids:
            figure = figure_of(result, DomainKey(kid.id, wave.id)) if result else None
            groups[kid.kind].append(ChildRow(kid, figure, kid.id in parents))
        if result is not None:
            lines = index_lines(result, DomainKey(unit.id, wave.id), lang)
    return UnitPage(
        unit,
        tuple(breadcrumbs(user, unit)),
        tuple(infos),
        wave,
        fields,
        chosen_field,
        channels,
        channel or None,
        tuple(lines),
        tuple(
            (kind, tuple(rows))
            for kind, rows in sorted(groups.items(), key=lambda g: KIND_ORDER.index(g[0]))
        ),
    )


def _units_with_children(ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    query = select(Unit.parent_id).where(Unit.parent_id.in_(list(ids))).distinct()
    return {row for row in db.session.scalars(query)}


# ----------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class RankingPage:
    parent: Unit
    crumbs: tuple[Unit, ...]
    waves: tuple[WaveInfo, ...]
    wave: Wave | None
    previous: Wave | None
    groups: tuple[UnitKind, ...]
    group: UnitKind | None
    index_code: str
    index_label: str
    choices: tuple[tuple[str, str], ...]
    result: comparisons.RankingResult | None
    message: str | None
    highlights: tuple[str, ...] = field(default=())

    def table(self, lang: str) -> Table:
        headers = (
            _("Rank"),
            _("Rank interval (95%)"),
            _("Previous rank"),
            _("Change in rank"),
            _("Unit"),
            *figure_headers(),
            _("Compared with the overall figure (Holm)"),
        )
        rows = []
        if self.result is not None:
            for row in self.result.rows:
                rows.append(
                    (
                        row.rank,
                        f"{row.rank_low}–{row.rank_high}",
                        row.previous_rank,
                        row.rank_change,
                        row.unit.name(lang),
                        *figure_cells(row.figure),
                        flag_text(row.flag),
                    )
                )
        wave = self.wave.code if self.wave else "none"
        group = self.group.value if self.group else "all"
        return Table(
            f"ranking-{self.parent.code}-{group}-{wave}",
            _("Ranking"),
            headers,
            tuple(rows),
            frozenset({5, 6, 7}),
        )


def flag_text(flag: str) -> str:
    if flag == "above":
        return _("above the overall figure")
    if flag == "below":
        return _("below the overall figure")
    return _("not distinguishable from the overall figure")


def ranking_page(
    user: User,
    parent_code: str | None,
    wave_code: str | None,
    group: str | None,
    index_code: str | None,
    lang: str,
) -> RankingPage:
    """Units below ``parent`` (one kind at a time) ranked in a wave, with the funnel plot."""
    parent = focus_unit(user, parent_code)
    kids = children(parent)
    kinds = tuple(k for k in KIND_ORDER if any(u.kind == k for u in kids))
    chosen: UnitKind | None = None
    if group:
        try:
            chosen = UnitKind(group)
        except ValueError:
            raise ScopeError(404, f"group {group}") from None
        if chosen not in kinds:
            raise ScopeError(404, f"group {group}")
    elif kinds:
        chosen = kinds[0]
    units = [u for u in kids if u.kind == chosen]
    infos = waves_of(parent)
    field_waves = [i for i in infos if i.wave.kind == WaveKind.FIELD_SURVEY] or list(infos)
    wave = (
        wave_in(infos, wave_code) if wave_code else (field_waves[-1].wave if field_waves else None)
    )
    choices: list[tuple[str, str]] = []
    code = index_code or "overall"
    label = ""
    previous = None
    result = None
    message = None
    highlights: list[str] = []
    if wave is not None:
        choices = index_choices(definition_of(wave), lang)
        if code not in dict(choices):
            raise ScopeError(404, f"index {code}")
        label = dict(choices)[code]
        same = [
            i.wave
            for i in infos
            if i.wave.kind == wave.kind
            and i.wave.questionnaire.slug == wave.questionnaire.slug
            and i.wave.start_date < wave.start_date
        ]
        previous = same[-1] if same else None
        ranked = with_data(units, wave)
        if len(ranked) < 2:
            message = _("At least two units with answers in this wave are needed for a ranking.")
        else:
            try:
                result = comparisons.ranking(
                    ranked,
                    wave,
                    parent,
                    previous_wave=previous,
                    code=code,
                    reportable_only=not indices.shows_unreportable(user),
                )
            except comparisons.TooFewToRank:
                message = _(
                    "At least two units with answers in this wave are needed for a ranking."
                )
            except IndexRequestError as error:  # e.g. a lonely PSU under the rule 'fail'
                message = indices.cannot_compute_message(error)
        if result is not None:
            overall = indices.visible(result.overall, user)
            # The funnel's limits are centred on the overall value: none when it is hidden.
            funnel = result.funnel if not math.isnan(overall.value) else {}
            result = replace(result, overall=overall, funnel=funnel)
            highlights = _rank_highlights(result, lang)
    return RankingPage(
        parent,
        tuple(breadcrumbs(user, parent)),
        tuple(infos),
        wave,
        previous,
        kinds,
        chosen,
        code,
        label,
        tuple(choices),
        result,
        message,
        tuple(highlights),
    )


def with_data(units: Sequence[Unit], wave: Wave) -> list[Unit]:
    """The units with at least one response in the wave (themselves or below)."""
    if not units:
        return []
    query = (
        select(Unit.path)
        .join(Response, Response.unit_id == Unit.id)
        .where(Response.wave_id == wave.id)
        .distinct()
    )
    paths = list(db.session.scalars(query))
    return [u for u in units if any(p.startswith(u.path) for p in paths)]


def _rank_highlights(result: comparisons.RankingResult, lang: str) -> list[str]:
    """Sentences for the units that moved at least three places (the four best-placed
    risers, then the two best-placed fallers): where they are now, and how sure that is."""
    rows = list(result.rows)
    moved = [r for r in rows if r.rank_change is not None and abs(r.rank_change) >= 3]
    risers = [r for r in moved if (r.rank_change or 0) > 0][:4]
    fallers = [r for r in moved if (r.rank_change or 0) < 0][:2]
    chosen = risers + fallers
    sentences = []
    for row in chosen:
        position = rows.index(row)
        neighbours = [rows[i] for i in (position - 1, position + 1) if 0 <= i < len(rows)]
        overlaps = [
            n for n in neighbours if n.rank_low <= row.rank_high and row.rank_low <= n.rank_high
        ]
        if (row.rank_change or 0) > 0:
            verb = _(
                "rose from rank %(before)s to rank %(after)s",
                before=row.previous_rank,
                after=row.rank,
            )
        else:
            verb = _(
                "fell from rank %(before)s to rank %(after)s",
                before=row.previous_rank,
                after=row.rank,
            )
        interval = _(
            "its 95%% rank interval is %(low)s–%(high)s", low=row.rank_low, high=row.rank_high
        )
        if overlaps:
            verdict = _(
                "it overlaps the intervals of its neighbours, "
                "so its exact place among them is not certain"
            )
        else:
            verdict = _("it does not overlap the intervals of its neighbours")
        sentences.append(f"{row.unit.name(lang)} {verb}; {interval}: {verdict}.")
    return sentences


# ----------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class ComparisonPage:
    mode: str  # "waves" or "units"
    units: tuple[Unit, ...]  # units the user can pick
    waves: tuple[WaveInfo, ...]
    unit_a: Unit | None
    unit_b: Unit | None
    wave_a: Wave | None
    wave_b: Wave | None
    index_code: str
    index_label: str
    choices: tuple[tuple[str, str], ...]
    first: IndexFigure | None
    second: IndexFigure | None
    difference: Difference | None
    sentence: str | None
    message: str | None

    def table(self, lang: str) -> Table:
        headers = (_("Unit"), _("Wave"), *figure_headers())
        rows: list[tuple[object, ...]] = []
        labels = self.labels(lang)
        for (unit_name, wave_name), figure in zip(labels, (self.first, self.second), strict=True):
            rows.append((unit_name, wave_name, *figure_cells(figure)))
        if self.difference is not None and self.first is not None:
            scale = 100 if self.first.kind == "rate" else 1
            rows.append(
                (
                    _("Difference"),
                    "",
                    round(self.difference.value * scale, 2),
                    round(self.difference.ci_low * scale, 2),
                    round(self.difference.ci_high * scale, 2),
                    None,
                    None,
                    None,
                    None,
                    f"p = {self.difference.p_value:.4f}",
                )
            )
        return Table("comparison", _("Comparison"), headers, tuple(rows), frozenset({2, 3, 4}))

    def labels(self, lang: str) -> list[tuple[str, str]]:
        def name(item: Unit | Wave | None) -> str:
            return item.name(lang) if item is not None else ""

        if self.mode == "waves":
            return [(name(self.unit_a), name(self.wave_a)), (name(self.unit_a), name(self.wave_b))]
        return [(name(self.unit_a), name(self.wave_a)), (name(self.unit_b), name(self.wave_a))]


def comparison_page(
    user: User,
    mode: str | None,
    unit_a: str | None,
    unit_b: str | None,
    wave_a: str | None,
    wave_b: str | None,
    index_code: str | None,
    lang: str,
) -> ComparisonPage:
    """Two waves of one unit, or two units in one wave: difference, CI, p and sentence."""
    mode = mode or "waves"
    if mode not in ("waves", "units"):
        raise ScopeError(404, f"mode {mode}")
    top = focus_unit(user, None)
    a = unit_in_scope(user, unit_a) if unit_a else top
    b = unit_in_scope(user, unit_b) if unit_b else None
    pickable = _pickable_units(user)
    infos = waves_of(a) if mode == "waves" else waves_of(_common_ancestor(a, b) if b else a)
    wa = wave_in(infos, wave_a) if wave_a else None
    wb = wave_in(infos, wave_b) if (wave_b and mode == "waves") else None
    code = index_code or "overall"
    first = second = None
    diff = None
    sentence = message = None
    choices: list[tuple[str, str]] = []
    label = ""
    if wa is not None:
        choices = index_choices(definition_of(wa), lang)
        if code not in dict(choices):
            raise ScopeError(404, f"index {code}")
        label = dict(choices)[code]
    try:
        if mode == "waves" and wa is not None and wb is not None:
            if wa.id == wb.id:
                message = _("Choose two different waves.")
            else:
                change = comparisons.change(a, wa, wb, code=code)
                first, second, diff = change.before, change.after, change.difference
                sentence = _(
                    "From %(before)s to %(after)s, %(unit)s %(change)s.",
                    before=wa.name(lang),
                    after=wb.name(lang),
                    unit=a.name(lang),
                    change=change.sentence(),
                )
        elif mode == "units" and b is not None and wa is not None:
            if a.id == b.id:
                message = _("Choose two different units.")
            else:
                first, second, diff = _unit_difference(a, b, wa, code)
                sentence = units_sentence(a.name(lang), b.name(lang), diff, first.kind)
    except IndexRequestError as error:
        message = _("These two cannot be compared: %(reason)s", reason=str(error))
    except KeyError:
        message = _("There are no answers for one of the two.")
    first = indices.visible(first, user) if first is not None else None
    second = indices.visible(second, user) if second is not None else None
    if first is not None and second is not None and not (first.reportable and second.reportable):
        sentence = None
        message = _(
            "One of the two figures does not meet the reporting rule (not enough data), "
            "so no difference is reported."
        )
        diff = None
    return ComparisonPage(
        mode,
        tuple(pickable),
        tuple(infos),
        a,
        b,
        wa,
        wb,
        code,
        label,
        tuple(choices),
        first,
        second,
        diff,
        sentence,
        message,
    )


def _pickable_units(user: User) -> list[Unit]:
    """Units to offer in the pickers: the scope's top units and two levels below."""
    tops = scope_tops(user)
    units = list(tops)
    for top in tops:
        for kid in children(top):
            units.append(kid)
            units.extend(children(kid))
    return units


def _common_ancestor(a: Unit, b: Unit) -> Unit:
    first, second = a.path.strip("/").split("/"), b.path.strip("/").split("/")
    shared = [x for x, y in zip(first, second, strict=False) if x == y]
    if not shared:
        return a
    return db.session.get(Unit, int(shared[-1])) or a


def _unit_difference(
    a: Unit, b: Unit, wave: Wave, code: str
) -> tuple[IndexFigure, IndexFigure, Difference]:
    """Both units as domains of one computation, so their covariance is used."""
    result = indices.compute([wave], [a, b])
    first = result.figure(DomainKey(a.id, wave.id), code, "rate")
    second = result.figure(DomainKey(b.id, wave.id), code, "rate")
    return first, second, result.difference(first, second)


def units_sentence(first: str, second: str, diff: Difference, kind: str) -> str:
    """ "A is 3.1 percentage points higher than B, not statistically significant (p = …)"."""
    points = abs(diff.value * (100 if kind == "rate" else 1))
    size = format_decimal(points, format="0.0")
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
    p = comparisons.format_p(diff.p_value)
    if diff.p_value < comparisons.SIGNIFICANCE:
        verdict = _("statistically significant (%(p)s)", p=p)
    else:
        verdict = _("not statistically significant (%(p)s)", p=p)
    return f"{text}, {verdict}."


# ----------------------------------------------------------------------------- kiosk monitor


@dataclass(frozen=True)
class DeskDay:
    day: date
    responses: int
    flagged: int
    bursts: int
    rolling_satisfied: int  # satisfied answers over the last ROLLING_DAYS days
    rolling_answered: int

    @property
    def rolling_rate(self) -> float | None:
        return self.rolling_satisfied / self.rolling_answered if self.rolling_answered else None


@dataclass(frozen=True)
class DeskRow:
    desk: Desk
    unit: Unit
    days: tuple[DeskDay, ...]
    last_response: datetime | None
    stopped: bool
    min_answers: int

    @property
    def total(self) -> int:
        return sum(d.responses for d in self.days)

    @property
    def bursts(self) -> int:
        return sum(d.bursts for d in self.days)

    @property
    def flagged(self) -> int:
        return sum(d.flagged for d in self.days)

    @property
    def latest(self) -> DeskDay | None:
        return self.days[-1] if self.days else None

    @property
    def latest_rate_reportable(self) -> bool:
        latest = self.latest
        return latest is not None and latest.rolling_answered >= self.min_answers


@dataclass(frozen=True)
class KioskMonitor:
    unit: Unit
    tops: tuple[Unit, ...]
    start: date
    end: date
    desks: tuple[DeskRow, ...]
    min_answers: int

    @property
    def stopped(self) -> tuple[DeskRow, ...]:
        return tuple(d for d in self.desks if d.stopped)

    @property
    def with_bursts(self) -> tuple[DeskRow, ...]:
        return tuple(d for d in self.desks if d.bursts)

    def table(self, lang: str) -> Table:
        headers = (
            _("Desk"),
            _("Unit"),
            _("Responses (%(days)s days)", days=MONITOR_DAYS),
            _("Satisfied, last 7 days (%)"),
            _("Answers, last 7 days"),
            _("Flagged as bursts"),
            _("Last response"),
            _("Status"),
        )
        rows = []
        for row in self.desks:
            latest = row.latest
            rate = latest.rolling_rate if latest else None
            rows.append(
                (
                    row.desk.name,
                    row.unit.name(lang),
                    row.total,
                    _pct_points(rate) if rate is not None and row.latest_rate_reportable else None,
                    latest.rolling_answered if latest else 0,
                    row.bursts,
                    row.last_response.date().isoformat() if row.last_response else None,
                    desk_status(row),
                )
            )
        return Table(
            f"kiosk-{self.unit.code}", _("Kiosk feedback"), headers, tuple(rows), frozenset({3})
        )


def desk_status(row: DeskRow) -> str:
    if row.stopped:
        return _("stopped sending")
    if row.last_response is None:
        return _("never sent")
    return _("sending")


def kiosk_monitor(user: User, unit_code: str | None, today: date | None = None) -> KioskMonitor:
    """Per desk in scope: daily volume, rolling 7-day satisfaction, bursts, silence.

    Two GROUP BY queries (desk x day over the window, and each desk's last response);
    no response row is loaded. The satisfaction rate is the share of the two happiest
    answers to the kiosk questionnaire's overall item, unweighted, without flagged
    answers, over the last seven days.
    """
    unit = focus_unit(user, unit_code)
    today = today or datetime.now(UTC).date()
    start = today - timedelta(days=MONITOR_DAYS - 1)
    window_start = start - timedelta(days=ROLLING_DAYS - 1)
    min_answers = int(current_app.config.get("KIOSK_MONITOR_MIN_ANSWERS", 10))
    desks = list(
        db.session.execute(
            select(Desk, Unit)
            .join(Unit, Unit.id == Desk.unit_id)
            .where(Unit.path.startswith(unit.path, autoescape=True))
            .order_by(Unit.path, Desk.code)
        )
    )
    item_ids, levels = _overall_items()
    in_scope = and_(
        Unit.path.startswith(unit.path, autoescape=True),
        Response.desk_id.is_not(None),
        Response.channel.in_([Channel.KIOSK, Channel.PHONE]),
    )
    day = func.date(Response.submitted_at).label("day")
    counted = and_(AnswerValue.value.is_not(None), Response.flagged.is_(False))
    satisfied = and_(counted, AnswerValue.value.in_(levels or [-1]))
    daily_query = (
        select(
            Response.desk_id,
            day,
            func.count(Response.id),
            func.sum(case((Response.flagged.is_(True), 1), else_=0)),
            func.sum(case((Response.flag_reason == "burst", 1), else_=0)),
            func.sum(case((satisfied, 1), else_=0)),
            func.sum(case((counted, 1), else_=0)),
        )
        .join(Unit, Unit.id == Response.unit_id)
        .outerjoin(
            AnswerValue,
            and_(AnswerValue.response_id == Response.id, AnswerValue.item_id.in_(item_ids or [-1])),
        )
        .where(
            in_scope,
            Response.submitted_at
            >= datetime.combine(window_start, datetime.min.time(), tzinfo=UTC),
        )
        .group_by(Response.desk_id, day)
    )
    daily: dict[int, dict[date, tuple[int, int, int, int, int]]] = defaultdict(dict)
    for desk_id, when, count, flagged, bursts, sat, answered in db.session.execute(daily_query):
        daily[desk_id][_as_date(when)] = (
            int(count),
            int(flagged or 0),
            int(bursts or 0),
            int(sat or 0),
            int(answered or 0),
        )
    last_query = (
        select(Response.desk_id, func.max(Response.submitted_at))
        .join(Unit, Unit.id == Response.unit_id)
        .where(in_scope)
        .group_by(Response.desk_id)
    )
    last = dict(db.session.execute(last_query).all())
    rows = []
    days = [start + timedelta(days=i) for i in range(MONITOR_DAYS)]
    for desk, desk_unit in desks:
        per_day = daily.get(desk.id, {})
        series = []
        for d in days:
            count, flagged, bursts, _sat, _ans = per_day.get(d, (0, 0, 0, 0, 0))
            window = [per_day.get(d - timedelta(days=k)) for k in range(ROLLING_DAYS)]
            sat = sum(w[3] for w in window if w)
            answered = sum(w[4] for w in window if w)
            series.append(DeskDay(d, count, flagged, bursts, sat, answered))
        seen = last.get(desk.id)
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        stopped = seen is not None and seen.date() <= today - timedelta(days=STOPPED_AFTER_DAYS)
        rows.append(DeskRow(desk, desk_unit, tuple(series), seen, stopped, min_answers))
    return KioskMonitor(unit, tuple(scope_tops(user)), start, today, tuple(rows), min_answers)


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _overall_items() -> tuple[list[int], list[int]]:
    """Item ids of the kiosk questionnaire's overall item (every version) and the
    levels that count as satisfied (from the latest version)."""
    slug = current_app.config.get("KIOSK_QUESTIONNAIRE", "kiosk_quick")
    versions = list(
        db.session.scalars(
            select(Questionnaire).where(Questionnaire.slug == slug).order_by(Questionnaire.version)
        )
    )
    if not versions:
        return [], []
    definition = questionnaires.parsed(versions[-1]).index
    if definition is None or definition.overall.item is None:
        return [], []
    levels = list(definition.overall.satisfied_levels or definition.satisfied_levels)
    items = db.session.scalars(
        select(QuestionnaireItem.id).where(
            QuestionnaireItem.questionnaire_id.in_([v.id for v in versions]),
            QuestionnaireItem.code == definition.overall.item,
        )
    )
    return list(items), levels
