"""Satisfaction indices from the database, aggregated in SQL.

The database returns, per wave x unit x stratum x PSU (and optionally procedure field
and channel), the weighted sums of satisfied answers, valid answers and points of
each index item, plus respondent counts and sums of weights. That table of
sufficient statistics is all :mod:`analysis.indices` needs for estimates, standard
errors and the covariance across domains; no response row is loaded.

Designs
-------
- Field survey waves (probability samples): strata and PSUs as recorded on each
  response (a response without a PSU is its own PSU); design-based inference.
- Continuous feedback waves (self-selected kiosk and phone answers): strata are the
  desks and each desk-day is treated as a cluster (answers given at one desk on one
  day share staff and queue); the intervals are model-based and say so.

Weights: the wave's active weighting scheme when there is one, else the design weight
recorded on the response, else 1 (unweighted).

Flagged responses: a response flagged for review (``responses.flagged``, e.g. a burst
of identical answers from one desk) is left out of every published figure until an
analyst reviews it on the burst review page (:mod:`survey_app.reporting.bursts`).
"Keep" clears the flag and the response counts from then on; "exclude" leaves it
flagged and out. The rule is one condition on the responses the aggregation reads.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import Float, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from analysis.indices import (
    CalibratedRespondents,
    Difference,
    IndexFormula,
    IndexTable,
    IndexValue,
    PSUTotals,
    difference,
    estimate_indices,
)
from analysis.variance import LonelyPSUError
from survey_app.collection import questionnaire as spec
from survey_app.collection.scoring import (
    IndexRequestError,
    Layout,
    answer_groups,
    satisfied_levels,
    waves_layout,
)
from survey_app.collection.waves import stratum_psus
from survey_app.extensions import db
from survey_app.models import (
    AnswerValue,
    Desk,
    FigureSum,
    Procedure,
    QuestionnaireItem,
    Response,
    ResponseWeight,
    Role,
    Unit,
    User,
    Wave,
    WaveKind,
    WeightingScheme,
)
from survey_app.weighting.errors import SchemeError
from survey_app.weighting.published import PublishedDesign, active_schemes, published_design

if TYPE_CHECKING:
    from survey_app.reporting.small_area import SmallAreaResult


class Inference(enum.StrEnum):
    DESIGN = "design-based"
    MODEL = "model-based"
    # a commune's Fay–Herriot small-area estimate, shown where its direct figure is not
    # reportable and the survey team switched small-area figures on for the wave
    SMALL_AREA = "small-area"


def cannot_compute_message(error: Exception) -> str:
    """A figure that cannot be computed, with the reason (shown instead of the figure)."""
    return _("Cannot be computed: %(reason)s", reason=str(error))


@dataclass(frozen=True)
class DomainKey:
    unit_id: int
    wave_id: int
    field_id: int | None = None
    channel: str | None = None


@dataclass(frozen=True)
class IndexFigure(IndexValue):
    """One published figure: an index for one unit and wave (and breakdown).

    The estimate's numbers (:class:`analysis.indices.IndexValue`: code, kind, value,
    SE, interval, df, n, effective n, level) with what publishing adds."""

    domain: DomainKey
    scheme: str
    inference: Inference
    reportable: bool
    # the design the figure rests on, shown with it: the wave's rule for strata with a
    # single PSU, and whether the finite population correction applies (sample frame)
    lonely_psu: str = "adjust"
    fpc: bool = False


@dataclass(frozen=True)
class IndexResult:
    figures: tuple[IndexFigure, ...]
    table: IndexTable = field(repr=False)
    domains: tuple[DomainKey, ...]
    formulas: tuple[IndexFormula, ...]
    definition: spec.IndexDefinition
    totals: PSUTotals = field(repr=False)

    def figure(self, domain: DomainKey, code: str = "overall", kind: str = "rate") -> IndexFigure:
        for fig in self.figures:
            if fig.domain == domain and fig.code == code and fig.kind == kind:
                return fig
        raise KeyError((domain, code, kind))

    def covariance(self, code: str = "overall", kind: str = "rate") -> np.ndarray:
        """Covariance of the figures of one index across :attr:`domains`."""
        return self.table.covariance[(code, kind)]

    def difference(self, a: IndexFigure, b: IndexFigure) -> Difference:
        """``a - b`` for two figures of one index in this result, with the covariance
        of the two estimates (zero when they share no PSU) and the smaller of their df
        (conservative). The one place where two published figures are compared."""
        if (a.code, a.kind) != (b.code, b.kind):
            raise ValueError(f"cannot subtract {b.code}/{b.kind} from {a.code}/{a.kind}")
        cov = self.covariance(a.code, a.kind)
        i, j = self.domains.index(a.domain), self.domains.index(b.domain)
        return difference(a.value, b.value, cov[i, i], cov[j, j], cov[i, j], df=min(a.df, b.df))


def shows_unreportable(viewer: User | None) -> bool:
    """Whether ``viewer`` may see figures that fail the reporting rule (analysts and
    administrators, who check the data; leaders read only publishable figures)."""
    return viewer is not None and viewer.role in (Role.ANALYST, Role.ADMIN)


def visible(figure: IndexFigure, viewer: User | None, *, small_area: bool = False) -> IndexFigure:
    """The figure as ``viewer`` may see it: the reporting rule applied by role.

    A figure that fails the rule (``reportable`` False: effective n below
    ``MIN_EFFECTIVE_N`` or CI half-width above ``MAX_CI_HALF_WIDTH``) reaches a leader
    with its value, standard error, interval and df blanked (NaN), so no page, chart,
    sentence or API answer built from it can show them; n, effective n and the flag
    stay, so the page can say "not enough data". Analysts and administrators get the
    figure unchanged (still flagged). Rankings leave such figures out for leaders
    (:func:`survey_app.reporting.comparisons.ranking`, ``reportable_only``).

    ``small_area``: where a level is shown (tables, the scorecard's headline, the API's
    figures; not changes, trends or ranks, whose covariances are the direct figures'),
    a commune's overall rate that is not reportable is replaced by its small-area
    estimate when the survey team switched them on (:func:`small_area_figure`); the
    reporting rule then applies to that estimate.
    """
    if small_area:
        figure = small_area_figure(figure)
    if figure.reportable or shows_unreportable(viewer):
        return figure
    nan = math.nan
    return replace(figure, value=nan, se=nan, ci_low=nan, ci_high=nan, df=nan)


def for_viewer(
    result: IndexResult, viewer: User | None, *, small_area: bool = False
) -> IndexResult:
    """``result`` with every figure passed through :func:`visible`."""
    if shows_unreportable(viewer) and not small_area:
        return result
    figures = tuple(visible(f, viewer, small_area=small_area) for f in result.figures)
    return replace(result, figures=figures)


def small_area_figure(figure: IndexFigure) -> IndexFigure:
    """``figure``, or its small-area estimate where one replaces it.

    Only a field survey's overall rate of a unit (no breakdown) that fails the
    reporting rule, in a wave whose survey team switched small-area figures on
    (:func:`survey_app.reporting.small_area.published`), and only for a commune the
    model covers. The estimate keeps the figure's n and scheme; its interval comes from
    the model's MSE; it has no design df; ``inference`` says "small-area".

    Raises
    ------
    IndexRequestError
        The wave's switched-on model can no longer be fitted (the reason).
    """
    domain = figure.domain
    if (
        figure.reportable
        or figure.inference != Inference.DESIGN
        or (figure.code, figure.kind) != ("overall", "rate")
        or domain.field_id is not None
        or domain.channel is not None
    ):
        return figure
    fit = _small_area_fit(domain.wave_id)
    if fit is None:
        return figure
    try:
        commune = fit.commune(domain.unit_id)
    except KeyError:
        return figure
    return replace(
        figure,
        value=commune.eblup,
        se=commune.se,
        ci_low=commune.ci_low,
        ci_high=commune.ci_high,
        df=math.nan,
        inference=Inference.SMALL_AREA,
        reportable=bool(commune.reportable),
    )


def _small_area_fit(wave_id: int) -> SmallAreaResult | None:
    """The wave's switched-on small-area fit, once per request."""
    # reporting.small_area estimates from this module's figures: imported when needed
    from survey_app.reporting import small_area

    cache = g.setdefault("small_area_fits", {})
    if wave_id not in cache:
        wave = db.session.get(Wave, wave_id)
        try:
            cache[wave_id] = small_area.published(wave) if wave is not None else None
        except small_area.SmallAreaError as error:
            raise IndexRequestError(str(error)) from error
    return cache[wave_id]


def _weight_expression(scheme_ids: Sequence[int]) -> ColumnElement[float]:
    if scheme_ids:
        return func.coalesce(ResponseWeight.weight, Response.design_weight, literal(1.0))
    return func.coalesce(cast(Response.design_weight, Float), literal(1.0))


def _with_weights(query, scheme_ids: Sequence[int]):
    if not scheme_ids:
        return query
    return query.outerjoin(
        ResponseWeight,
        and_(ResponseWeight.response_id == Response.id, ResponseWeight.scheme_id.in_(scheme_ids)),
    )


@dataclass(frozen=True)
class _DesignKeys:
    """Stratum and PSU columns of the responses matching ``condition`` (None: all)."""

    columns: list[ColumnElement]  # labelled "stratum", "psu"
    group_by: list[ColumnElement]
    condition: ColumnElement[bool] | None = None


def _design_keys(kind: WaveKind, wave_ids: list[int]) -> list[_DesignKeys]:
    """How stratum and PSU are read from the responses; the queries run once per entry.

    Field surveys group by the plain ``stratum`` and ``psu`` columns, so the planner
    can estimate the number of groups (with a computed PSU key PostgreSQL expects one
    group per row and gives up its parallel aggregation). A response recorded without
    a PSU is its own PSU: those are grouped by response id in a second pass, run only
    when such responses exist.
    """
    if kind == WaveKind.FIELD_SURVEY:
        stratum = Response.stratum.label("stratum")
        with_psu = Response.psu.is_not(None)
        keys = [_DesignKeys([stratum, Response.psu.label("psu")], [Response.stratum, Response.psu],
                            with_psu)]  # fmt: skip
        without_psu = db.session.scalar(
            select(exists().where(Response.wave_id.in_(wave_ids), Response.psu.is_(None)))
        )
        if without_psu:
            own = cast(Response.id, db.String).label("psu")
            keys.append(_DesignKeys([stratum, own], [Response.stratum, Response.id],
                                    Response.psu.is_(None)))  # fmt: skip
        return keys
    columns = [
        func.coalesce(Response.desk_id, -Response.unit_id).label("stratum"),
        func.date(Response.submitted_at).label("psu"),
    ]
    return [_DesignKeys(columns, columns)]


def _breakdown_columns(by_field: bool, by_channel: bool) -> list[ColumnElement]:
    columns: list[ColumnElement] = []
    if by_field:
        columns.append(Procedure.field_id.label("field_id"))
    if by_channel:
        columns.append(Response.channel.label("channel"))
    return columns


@dataclass(frozen=True)
class _Filters:
    field_id: int | None = None
    channel: str | None = None

    def apply(self, query, by_field: bool):
        if self.field_id is not None or by_field:
            query = query.outerjoin(Procedure, Procedure.id == Response.procedure_id)
        if self.field_id is not None:
            query = query.where(Procedure.field_id == self.field_id)
        if self.channel is not None:
            query = query.where(Response.channel == self.channel)
        return query


def compute(
    waves: Sequence[Wave],
    units: Sequence[Unit],
    *,
    by_field: bool = False,
    by_channel: bool = False,
    field_id: int | None = None,
    channel: str | None = None,
    shared_psus: bool = False,
    level: float = 0.95,
) -> IndexResult:
    """Indices for every (unit, wave[, field][, channel]) with their uncertainty.

    Parameters
    ----------
    waves
        Waves of one questionnaire (the latest version's index definition is used)
        and one kind: field surveys and continuous feedback are never pooled.
    units
        The units to report; each includes every unit below it (roll-up).
    by_field, by_channel
        Break each unit's figure down by procedure field and by channel.
    field_id, channel
        Restrict to one procedure field or one channel (domain estimation: the rest
        of the wave stays in the design).
    shared_psus
        The waves share PSUs (a panel of communes): strata and PSUs are matched
        across waves, so estimates of different waves get their covariance. By
        default each wave is an independent sample.
    level
        Confidence level.
    """
    if not waves:
        raise IndexRequestError(_("No wave selected."))
    kinds = {wave.kind for wave in waves}
    if len(kinds) > 1:
        raise IndexRequestError(
            _(
                "Field surveys and continuous feedback cannot be analysed together; "
                "choose waves of one kind."
            )
        )
    kind = kinds.pop()
    questionnaire_ids = {wave.questionnaire_id for wave in waves}
    layout = waves_layout(waves)
    wave_ids = [wave.id for wave in waves]
    schemes = active_schemes(wave_ids)
    scheme_ids = [scheme.id for scheme in schemes.values()]
    published = _published_designs(waves, schemes)
    filters = _Filters(field_id, channel)
    # Responses the figure store has folded are read from its sums, the rest from the
    # rows; waves with an active scheme are read from the rows (their weights are the
    # scheme's, and calibration needs each respondent).
    stored = _stored_waves([w for w in wave_ids if w not in schemes], layout)
    only = None
    if stored:
        only = or_(Response.wave_id.not_in(stored), Response.folded.is_(False))
    item_rows, respondent_rows, psu_counts, item_codes = aggregate(
        layout,
        kind,
        wave_ids,
        list(questionnaire_ids),
        scheme_ids,
        filters,
        by_field,
        by_channel,
        list(published),
        only,
    )
    if stored:
        more = _stored_rows(stored, layout, filters, by_field, by_channel, item_codes)
        item_rows += more[0]
        respondent_rows += more[1]
        psu_counts += more[2]
    totals, domains, fpc_waves = _sufficient_statistics(
        item_rows,
        respondent_rows,
        psu_counts,
        item_codes,
        units,
        layout,
        shared_psus,
        by_field,
        by_channel,
        published,
        {wave.id: stratum_psus(wave) for wave in waves if wave.kind == WaveKind.FIELD_SURVEY},
    )
    rule = _lonely_rule(waves)
    try:
        table = estimate_indices(totals, layout.formulas, level=level, lonely_psu=rule)
    except LonelyPSUError as error:
        # Only a wave whose survey team chose "fail" stops here: say where and why.
        # error.stratum is a repr ('1|S2'); the wave prefix is ours, not theirs
        stratum = error.stratum.strip("'\"").split("|", 1)[-1]
        if kind == WaveKind.CONTINUOUS_FEEDBACK and stratum.isdigit():
            desk = db.session.get(Desk, int(stratum))  # feedback strata are desks
            stratum = desk.name if desk is not None else stratum
        raise IndexRequestError(
            _(
                "Stratum %(stratum)s has a single PSU and the wave's rule for that is "
                "'fail': no figure until the design is corrected or the rule changed.",
                stratum=stratum,
            )
        ) from error
    inference = Inference.DESIGN if kind == WaveKind.FIELD_SURVEY else Inference.MODEL
    names = {
        wave.id: f"{schemes[wave.id].name} v{schemes[wave.id].version}"
        if wave.id in schemes
        else ""
        for wave in waves
    }
    min_n_eff = float(current_app.config["MIN_EFFECTIVE_N"])
    max_half = float(current_app.config["MAX_CI_HALF_WIDTH"])
    figures = []
    for estimate in table.estimates:
        domain = domains[estimate.domain]
        half = estimate.half_width_points
        # A plain bool: numpy's comparison results are not JSON (the API answered 500).
        reportable = bool(
            not math.isnan(estimate.value) and estimate.n_eff >= min_n_eff and half <= max_half
        )
        scheme = names[domain.wave_id] or (
            "design weights" if kind == WaveKind.FIELD_SURVEY else "unweighted"
        )
        figures.append(
            IndexFigure(
                **estimate.index_value(),
                domain=domain,
                scheme=scheme,
                inference=inference,
                reportable=reportable,
                lonely_psu=rule,
                fpc=domain.wave_id in fpc_waves,
            )
        )
    return IndexResult(
        tuple(figures), table, tuple(domains), layout.formulas, layout.definition, totals
    )


def answered_key(layout: Layout, group: tuple[int, ...]) -> str:
    """The figure store's statistic for respondents answering one of a formula's items."""
    return "a:" + ",".join(sorted({layout.columns.items[c // 3] for c in group}))


def _stored_waves(wave_ids: list[int], layout: Layout) -> list[int]:
    """The waves whose folded responses are read from the figure store.

    All of ``wave_ids`` while ``FIGURE_STORE`` is on, except a wave whose sums lack a
    statistic this layout needs (sums folded under another version's index rule): it
    is read from its rows, all of them.
    """
    if not wave_ids or not current_app.config.get("FIGURE_STORE", True):
        return []
    needed = {answered_key(layout, g) for g in answer_groups(layout)}
    # one query: a wave with sums has "r" rows (every folded respondent makes one)
    present: dict[int, set[str]] = {}
    for wave_id, stat in db.session.execute(
        select(FigureSum.wave_id, FigureSum.stat)
        .where(
            FigureSum.wave_id.in_(wave_ids),
            or_(FigureSum.stat == "r", FigureSum.stat.startswith("a:")),
        )
        .distinct()
    ):
        present.setdefault(wave_id, set()).add(stat)
    return [w for w in wave_ids if w not in present or needed <= present[w]]


def _stored_rows(
    wave_ids: list[int],
    layout: Layout,
    filters: _Filters,
    by_field: bool,
    by_channel: bool,
    item_codes: dict[int, str],
) -> tuple[list, list, list]:
    """The figure store's sums as the rows :func:`aggregate` returns (rid -1)."""
    columns = [FigureSum.wave_id, FigureSum.unit_id, FigureSum.stratum, FigureSum.psu]
    if by_field:
        columns.append(FigureSum.field_id)
    if by_channel:
        columns.append(FigureSum.channel)
    sums = [func.sum(FigureSum.a), func.sum(FigureSum.b), func.sum(FigureSum.c)]
    query = select(*columns, FigureSum.stat, *sums).where(FigureSum.wave_id.in_(wave_ids))
    if filters.field_id is not None:
        query = query.where(FigureSum.field_id == filters.field_id)
    if filters.channel is not None:
        query = query.where(FigureSum.channel == str(filters.channel))
    query = query.group_by(*columns, FigureSum.stat)
    keys = [answered_key(layout, g) for g in answer_groups(layout)]
    width = len(columns)
    respondents: dict[tuple, list[float]] = {}
    item_rows = []
    for row in db.session.execute(query):
        cell = _cell_values(tuple(row[:width]), by_field)
        stat, a, b, c = row[width:]
        if stat == "r":
            respondents.setdefault(cell, [0.0] * (3 + 3 * len(keys)))[0:3] = [a, b, c]
        elif stat.startswith("i:"):
            item_id = int(stat[2:])
            if item_id in item_codes:
                item_rows.append((*cell[:4], -1, *cell[4:], item_id, a, b, c))
        elif stat in keys:
            k = keys.index(stat)
            values = respondents.setdefault(cell, [0.0] * (3 + 3 * len(keys)))
            values[3 + 3 * k : 6 + 3 * k] = [a, b, c]
    respondent_rows = [
        (*cell[:4], -1, *cell[4:], *values) for cell, values in respondents.items() if values[0] > 0
    ]
    # every PSU of the waves, whatever the filters (as the row query counts them)
    psu_rows = [
        tuple(row)
        for row in db.session.execute(
            select(FigureSum.wave_id, FigureSum.stratum, FigureSum.psu)
            .where(FigureSum.wave_id.in_(wave_ids), FigureSum.stat == "r", FigureSum.a > 0)
            .distinct()
        )
    ]
    return item_rows, respondent_rows, psu_rows


def _cell_values(cell: tuple, by_field: bool) -> tuple:
    """Stored design keys back to what the row queries give (none as None)."""
    wave_id, unit_id, stratum, psu, *rest = cell
    if by_field and rest and rest[0] == -1:
        rest[0] = None
    return (wave_id, unit_id, stratum, psu, *rest)


def _published_designs(
    waves: Sequence[Wave], schemes: dict[int, WeightingScheme]
) -> dict[int, PublishedDesign]:
    """The weighted respondents and variance adjustments of each wave with a scheme."""
    out = {}
    for wave in waves:
        if wave.id in schemes:
            try:
                out[wave.id] = published_design(wave, schemes[wave.id])
            except SchemeError as error:
                raise IndexRequestError(str(error)) from error
    return out


def aggregate(
    layout: Layout,
    kind: WaveKind,
    wave_ids: list[int],
    questionnaire_ids: list[int],
    scheme_ids: list[int],
    filters: _Filters,
    by_field: bool,
    by_channel: bool,
    calibrated_waves: list[int],
    only: ColumnElement[bool] | None = None,
) -> tuple[list, list, list, dict[int, str]]:
    """Run the three GROUP BY queries; return their rows and the item codes by id.

    Responses of ``calibrated_waves`` (waves whose scheme's adjustment enters the
    variance) are grouped one by one (column ``rid``, their id); the others have
    ``rid`` -1 and are summed per PSU. ``only`` restricts the responses read (the
    figure store reads the responses it has not folded yet, and folds by batch)."""
    items = {
        item.id: item.code
        for item in db.session.scalars(
            select(QuestionnaireItem).where(
                QuestionnaireItem.questionnaire_id.in_(questionnaire_ids),
                QuestionnaireItem.code.in_(layout.columns.items),
            )
        )
    }
    weight = _weight_expression(scheme_ids)
    breakdown = _breakdown_columns(by_field, by_channel)
    # Items that share their satisfied levels (or their points) share one condition, so
    # the usual questionnaire (every item alike) costs the database one IN and one
    # simple CASE per answer row, not a condition per item.
    by_levels: dict[tuple[int, ...], list[int]] = {}
    by_scores: dict[tuple[float, ...], list[int]] = {}
    for item_id, code in items.items():
        by_levels.setdefault(satisfied_levels(layout, code), []).append(item_id)
        size = layout.questionnaire.item(code).scale_size or 5
        by_scores.setdefault(layout.definition.mean_score.points_for(size), []).append(item_id)

    def for_items(ids: list[int], condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return condition if len(by_levels) == 1 else and_(AnswerValue.item_id.in_(ids), condition)

    satisfied = or_(
        *(for_items(ids, AnswerValue.value.in_(levels)) for levels, ids in by_levels.items())
    )

    def scored(scores: tuple[float, ...]) -> ColumnElement[float]:
        return case({v: s for v, s in enumerate(scores, 1)}, value=AnswerValue.value, else_=0.0)

    if len(by_scores) == 1:
        points = scored(next(iter(by_scores)))
    else:
        points = case(
            *((AnswerValue.item_id.in_(ids), scored(s)) for s, ids in by_scores.items()),
            else_=0.0,
        )
    # Per response, whether it has a valid answer to each formula's items (one pass
    # over the answers): a figure's n counts those respondents, not every respondent.
    groups = answer_groups(layout)
    ids_of: dict[str, list[int]] = {}
    for item_id, code in items.items():
        ids_of.setdefault(code, []).append(item_id)
    answered = (
        select(
            AnswerValue.response_id.label("response_id"),
            *(
                func.max(
                    case(
                        (
                            AnswerValue.item_id.in_(
                                [i for c in g for i in ids_of.get(layout.columns.items[c // 3], [])]
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ).label(f"a{k}")
                for k, g in enumerate(groups)
            ),
        )
        .join(Response, Response.id == AnswerValue.response_id)
        .where(
            Response.wave_id.in_(wave_ids),
            AnswerValue.item_id.in_(list(items)),
            *([only] if only is not None else []),
        )
        .group_by(AnswerValue.response_id)
        .subquery()
    )
    flags = [func.coalesce(answered.c[f"a{k}"], 0) for k in range(len(groups))]
    item_rows: list = []
    respondent_rows: list = []
    psu_rows: list = []
    connection = db.session.connection()  # Core execution: plain tuples, no ORM overhead
    respondent: list[ColumnElement] = []
    if calibrated_waves:
        rid = case((Response.wave_id.in_(calibrated_waves), Response.id), else_=-1)
        respondent = [rid]
        rid = rid.label("rid")
    else:
        rid = literal(-1).label("rid")
    for design in _design_keys(kind, wave_ids):
        keys = [Response.wave_id, Response.unit_id, *design.columns, rid, *breakdown]
        group = [Response.wave_id, Response.unit_id, *design.group_by, *respondent, *breakdown]
        # Flagged responses (unreviewed or excluded bursts) never reach a figure.
        where = [Response.wave_id.in_(wave_ids), Response.flagged.is_(False)]
        if only is not None:
            where.append(only)
        if design.condition is not None:
            where.append(design.condition)
        item_query = (
            select(
                *keys,
                AnswerValue.item_id,
                func.sum(case((satisfied, weight), else_=0.0)).label("s"),
                func.sum(weight).label("v"),
                func.sum(weight * points).label("p"),
            )
            .join(AnswerValue, AnswerValue.response_id == Response.id)
            .where(*where, AnswerValue.item_id.in_(list(items)))
            .group_by(*group, AnswerValue.item_id)
        )
        item_query = filters.apply(_with_weights(item_query, scheme_ids), by_field)
        respondent_query = (
            select(
                *keys,
                func.count().label("n"),
                func.sum(weight).label("w"),
                func.sum(weight * weight).label("w2"),
                *(
                    column
                    for k, flag in enumerate(flags)
                    for column in (
                        func.sum(flag).label(f"an{k}"),
                        func.sum(weight * flag).label(f"aw{k}"),
                        func.sum(weight * weight * flag).label(f"aww{k}"),
                    )
                ),
            )
            .select_from(Response)
            .outerjoin(answered, answered.c.response_id == Response.id)
            .where(*where)
            .group_by(*group)
        )
        respondent_query = filters.apply(_with_weights(respondent_query, scheme_ids), by_field)
        psu_query = (
            select(Response.wave_id, *design.columns)
            .where(*where)
            .group_by(Response.wave_id, *design.group_by)
        )
        # one bulk fetchall from the driver (not a fetchone per row), as plain tuples
        # (pandas probes Row objects attribute by attribute)
        item_rows += map(tuple, connection.execute(item_query).fetchall())
        respondent_rows += map(tuple, connection.execute(respondent_query).fetchall())
        psu_rows += map(tuple, connection.execute(psu_query).fetchall())
    return item_rows, respondent_rows, psu_rows, items


def _sufficient_statistics(
    item_rows: list,
    respondent_rows: list,
    psu_rows: list,
    item_codes: dict[int, str],
    units: Sequence[Unit],
    layout: Layout,
    shared_psus: bool,
    by_field: bool,
    by_channel: bool,
    published: dict[int, PublishedDesign],
    sample_frames: dict[int, dict[str, int]],
) -> tuple[PSUTotals, list[DomainKey], set[int]]:
    """Turn the query rows into :class:`PSUTotals` with one domain per reported unit.

    Vectorized with pandas: a response's unit rolls up into every reported unit above
    it (a many-to-many merge), cells are (domain, PSU) pairs, and the item sums are
    scattered into the totals matrix with one ``np.add.at`` per kind of total.
    """
    breakdown = (["field_id"] if by_field else []) + (["channel"] if by_channel else [])
    keys = ["wave_id", "unit_id", "stratum", "psu", "rid", *breakdown]
    groups = answer_groups(layout)
    counts = [f"{name}{k}" for k in range(len(groups)) for name in ("an", "aw", "aww")]
    respondents = pd.DataFrame(respondent_rows, columns=[*keys, "n", "w", "w2", *counts])
    items = pd.DataFrame(item_rows, columns=[*keys, "item", "s", "v", "p"])
    all_units = list(db.session.execute(select(Unit.id, Unit.path)))
    rollup = pd.DataFrame(
        [(uid, unit.id) for unit in units for uid, path in all_units if path.startswith(unit.path)],
        columns=["unit_id", "target"],
    )
    respondents = respondents.merge(rollup, on="unit_id")
    items = items.merge(rollup, on="unit_id")

    def labels(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        prefix = "" if shared_psus else frame["wave_id"].astype(str) + "|"
        stratum = prefix + frame["stratum"].astype(str)
        return stratum, stratum + "|" + frame["psu"].astype(str)

    frames = (respondents, items)
    for frame in frames:
        frame["stratum_label"], frame["psu_label"] = labels(frame)
        if by_channel:
            frame["channel"] = frame["channel"].map(str)
    domain_columns = ["target", "wave_id", *breakdown]
    both = pd.concat([f[[*domain_columns, "stratum_label", "psu_label", "rid"]] for f in frames])
    domain_index = pd.MultiIndex.from_frame(both[domain_columns].astype(object)).unique()
    # a cell is (domain, PSU) or, for a weighted wave's respondent, (domain, PSU, id)
    cell_index = pd.MultiIndex.from_arrays(
        [
            domain_index.get_indexer(pd.MultiIndex.from_frame(both[domain_columns].astype(object))),
            both["psu_label"].to_numpy(),
            both["rid"].to_numpy(dtype=np.int64),
        ]
    ).unique()

    def cells_of(frame: pd.DataFrame) -> np.ndarray:
        domains = domain_index.get_indexer(
            pd.MultiIndex.from_frame(frame[domain_columns].astype(object))
        )
        return cell_index.get_indexer(
            pd.MultiIndex.from_arrays(
                [domains, frame["psu_label"], frame["rid"].to_numpy(dtype=np.int64)]
            )
        )

    n_cells = len(cell_index)
    resp_cells = cells_of(respondents)
    n = np.bincount(resp_cells, weights=respondents["n"].astype(float), minlength=n_cells)
    sum_w = np.bincount(resp_cells, weights=respondents["w"].astype(float), minlength=n_cells)
    sum_w2 = np.bincount(resp_cells, weights=respondents["w2"].astype(float), minlength=n_cells)

    def cell_sums(name: str) -> np.ndarray:
        column = respondents[name].astype(float).fillna(0.0)
        return np.bincount(resp_cells, weights=column, minlength=n_cells)

    answered = {
        g: (cell_sums(f"an{k}").astype(np.int64), cell_sums(f"aw{k}"), cell_sums(f"aww{k}"))
        for k, g in enumerate(groups)
    }
    values = np.zeros((n_cells, layout.columns.width))
    item_cells = cells_of(items)
    first = {item_id: layout.columns.column(code, "S") for item_id, code in item_codes.items()}
    first_column = items["item"].map(first).to_numpy(dtype=np.int64)
    for offset, name in enumerate(("s", "v", "p")):
        np.add.at(
            values,
            (item_cells, first_column + offset),
            items[name].astype(float).fillna(0.0).to_numpy(),
        )
    stratum_of_cell = (
        pd.concat(frames)[["psu_label", "stratum_label"]]
        .drop_duplicates("psu_label")
        .set_index("psu_label")["stratum_label"]
    )
    cell_psu = cell_index.get_level_values(1)
    psus = pd.DataFrame(psu_rows, columns=["wave_id", "stratum", "psu"])
    psus["stratum_label"], psus["psu_label"] = labels(psus)
    n_psu = psus.drop_duplicates("psu_label").groupby("stratum_label").size().to_dict()
    popsize, fpc_waves = _popsize(psus, n_psu, sample_frames)
    domains = [
        DomainKey(
            int(key[0]),
            int(key[1]),
            int(key[2]) if by_field and key[2] is not None and not pd.isna(key[2]) else None,
            str(key[-1]) if by_channel else None,
        )
        for key in domain_index
    ]
    calibrated = _calibrated_respondents(
        published, np.asarray(cell_index.get_level_values(2), dtype=np.int64), shared_psus
    )
    totals = PSUTotals(
        domain=np.asarray(cell_index.get_level_values(0), dtype=np.int64),
        stratum=stratum_of_cell.reindex(cell_psu).to_numpy(dtype=object),
        psu=np.asarray(cell_psu, dtype=object),
        values=values,
        n=n.astype(np.int64),
        sum_w=sum_w,
        sum_w2=sum_w2,
        n_psu={str(k): int(v) for k, v in n_psu.items()},
        n_domains=len(domains),
        answered=answered,
        calibrated=calibrated,
        popsize=popsize,
    )
    return totals, domains, fpc_waves


def _popsize(
    psus: pd.DataFrame, n_psu: dict[str, int], frames: dict[int, dict[str, int]]
) -> tuple[dict[str, float], set[int]]:
    """Population PSUs of each stratum label, for waves whose sample frame states them.

    A wave gets the finite population correction only when its frame gives the number
    of PSUs of every stratum it sampled, each at least the PSUs sampled (R's
    ``svydesign(fpc=)`` needs one for every row); a stratum shared by panel waves only
    when they agree.
    """
    out: dict[str, float] = {}
    clash: set[str] = set()
    strata_of: dict[int, set[str]] = {}
    for wave_id, rows in psus.groupby("wave_id"):
        frame = frames.get(int(wave_id), {})
        labels = dict(zip(rows["stratum_label"], rows["stratum"].astype(str), strict=True))
        if not frame or any(
            frame.get(stratum) is None or frame[stratum] < n_psu[label]
            for label, stratum in labels.items()
        ):
            continue
        strata_of[int(wave_id)] = set(labels)
        for label, stratum in labels.items():
            if out.get(label, frame[stratum]) != frame[stratum]:
                clash.add(label)
            out[label] = float(frame[stratum])
    waves = {wave for wave, labels in strata_of.items() if not labels & clash}
    return {label: n for label, n in out.items() if label not in clash}, waves


def _calibrated_respondents(
    published: dict[int, PublishedDesign], cell_rid: np.ndarray, shared_psus: bool
) -> CalibratedRespondents | None:
    """Every respondent of the weighted waves, their design labels and adjustments."""
    if not published:
        return None
    ids, strata, psus, adjustments = [], [], [], []
    start = 0
    for wave_id, design in published.items():
        prefix = "" if shared_psus else f"{wave_id}|"
        stratum = np.array([prefix + str(s) for s in design.strata], dtype=object)
        ids.append(design.response_ids)
        strata.append(stratum)
        psus.append(np.array([f"{s}|{p}" for s, p in zip(stratum, design.psu, strict=True)]))
        members = np.arange(start, start + design.response_ids.size)
        adjustments += [(members, adjustment) for adjustment in design.adjustments]
        start += design.response_ids.size
    all_ids = np.concatenate(ids)
    order = np.argsort(all_ids, kind="stable")
    position = np.searchsorted(all_ids, cell_rid, sorter=order)
    position = order[np.minimum(position, all_ids.size - 1)]
    row = np.where(cell_rid >= 0, position, -1)
    if np.any((cell_rid >= 0) & (all_ids[position] != cell_rid)):
        raise IndexRequestError(_("The weighted sample changed while the figures were computed."))
    return CalibratedRespondents(
        row=row.astype(np.int64),
        stratum=np.concatenate(strata),
        psu=np.concatenate(psus).astype(object),
        adjustments=tuple(adjustments),
    )


def _lonely_rule(waves: Sequence[Wave]) -> str:
    """The waves' declared lonely-PSU rule (R's ``survey.lonely.psu``); one for all."""
    rules = sorted({str(getattr(wave.lonely_psu, "value", wave.lonely_psu)) for wave in waves})
    if len(rules) > 1:
        raise IndexRequestError(
            _(
                "The waves declare different rules for strata with a single PSU (%(rules)s); "
                "compare waves with the same rule.",
                rules=", ".join(rules),
            )
        )
    return rules[0]
