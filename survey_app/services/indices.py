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
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from flask import current_app
from sqlalchemy import Float, and_, case, cast, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from analysis.indices import (
    AspectSpec,
    IndexFormula,
    IndexTable,
    ItemColumns,
    PSUTotals,
    build_formulas,
    estimate_indices,
)
from survey_app import questionnaire as spec
from survey_app.extensions import db
from survey_app.models import (
    AnswerValue,
    Procedure,
    Questionnaire,
    QuestionnaireItem,
    Response,
    ResponseWeight,
    Unit,
    Wave,
    WaveKind,
    WeightingScheme,
)


class Inference(enum.StrEnum):
    DESIGN = "design-based"
    MODEL = "model-based"


class IndexRequestError(ValueError):
    """The request cannot be answered (e.g. waves with different questionnaires)."""


@dataclass(frozen=True)
class DomainKey:
    unit_id: int
    wave_id: int
    field_id: int | None = None
    channel: str | None = None


@dataclass(frozen=True)
class IndexFigure:
    """One published figure: an index for one unit and wave (and breakdown)."""

    domain: DomainKey
    code: str  # "overall" or "aspect:<code>"
    kind: str  # "rate" (0-1) or "score" (0-100)
    value: float
    se: float
    ci_low: float
    ci_high: float
    df: float
    n: int
    n_eff: float
    scheme: str
    inference: Inference
    reportable: bool

    @property
    def half_width_points(self) -> float:
        """Half the CI width in percentage points (rates) or score points."""
        scale = 100.0 if self.kind == "rate" else 1.0
        return (self.ci_high - self.ci_low) / 2 * scale


@dataclass(frozen=True)
class IndexResult:
    figures: tuple[IndexFigure, ...]
    table: IndexTable = field(repr=False)
    domains: tuple[DomainKey, ...]
    formulas: tuple[IndexFormula, ...]
    definition: spec.IndexDefinition

    def figure(self, domain: DomainKey, code: str = "overall", kind: str = "rate") -> IndexFigure:
        for fig in self.figures:
            if fig.domain == domain and fig.code == code and fig.kind == kind:
                return fig
        raise KeyError((domain, code, kind))

    def covariance(self, code: str = "overall", kind: str = "rate") -> np.ndarray:
        """Covariance of the figures of one index across :attr:`domains`."""
        return self.table.covariance[(code, kind)]


@dataclass(frozen=True)
class _Layout:
    definition: spec.IndexDefinition
    questionnaire: spec.Questionnaire
    columns: ItemColumns
    formulas: tuple[IndexFormula, ...]


def _layout(questionnaire: spec.Questionnaire) -> _Layout:
    definition = questionnaire.index
    if definition is None:
        raise IndexRequestError(f"questionnaire {questionnaire.slug!r} defines no index")
    items: list[str] = [item for aspect in definition.aspects for item in aspect.items]
    if definition.overall.item and definition.overall.item not in items:
        items.append(definition.overall.item)
    columns = ItemColumns(tuple(dict.fromkeys(items)))
    aspects = [AspectSpec(a.code, tuple(a.items), a.weight) for a in definition.aspects]
    formulas = build_formulas(
        aspects,
        columns,
        aspect_method=definition.aspect_method,
        overall_method=definition.overall.method,
        overall_item=definition.overall.item,
    )
    return _Layout(definition, questionnaire, columns, tuple(formulas))


def _satisfied_levels(layout: _Layout, code: str) -> tuple[int, ...]:
    overall = layout.definition.overall
    if overall.method == "item" and code == overall.item and overall.satisfied_levels:
        return tuple(overall.satisfied_levels)
    return tuple(layout.definition.satisfied_levels)


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


def _design_columns(kind: WaveKind) -> list[ColumnElement]:
    """The columns that identify stratum and PSU within a wave."""
    if kind == WaveKind.FIELD_SURVEY:
        psu = case((Response.psu.is_(None), cast(Response.id, db.String)), else_=Response.psu)
        return [Response.stratum.label("stratum"), psu.label("psu")]
    return [
        func.coalesce(Response.desk_id, -Response.unit_id).label("stratum"),
        func.date(Response.submitted_at).label("psu"),
    ]


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


def active_schemes(wave_ids: Iterable[int]) -> dict[int, WeightingScheme]:
    schemes = db.session.scalars(
        select(WeightingScheme).where(
            WeightingScheme.wave_id.in_(list(wave_ids)), WeightingScheme.is_active
        )
    )
    return {scheme.wave_id: scheme for scheme in schemes}


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
        raise IndexRequestError("no wave selected")
    kinds = {wave.kind for wave in waves}
    if len(kinds) > 1:
        raise IndexRequestError(
            "field surveys and continuous feedback cannot be analysed together; "
            "choose waves of one kind"
        )
    kind = kinds.pop()
    questionnaires = {wave.questionnaire_id for wave in waves}
    rows = list(
        db.session.scalars(select(Questionnaire).where(Questionnaire.id.in_(questionnaires)))
    )
    if len({row.slug for row in rows}) > 1:
        raise IndexRequestError("the waves use different questionnaires")
    latest = max(rows, key=lambda row: row.version)
    layout = _layout(spec.Questionnaire.from_dict(latest.definition))
    wave_ids = [wave.id for wave in waves]
    schemes = active_schemes(wave_ids)
    scheme_ids = [scheme.id for scheme in schemes.values()]
    filters = _Filters(field_id, channel)
    item_rows, respondent_rows, psu_counts = _aggregate(
        layout, kind, wave_ids, list(questionnaires), scheme_ids, filters, by_field, by_channel
    )
    totals, domains = _sufficient_statistics(
        item_rows, respondent_rows, psu_counts, units, layout, shared_psus, by_field, by_channel
    )
    table = estimate_indices(totals, layout.formulas, level=level)
    inference = Inference.DESIGN if kind == WaveKind.FIELD_SURVEY else Inference.MODEL
    names = {wave.id: schemes[wave.id].name if wave.id in schemes else "" for wave in waves}
    min_n_eff = float(current_app.config["MIN_EFFECTIVE_N"])
    max_half = float(current_app.config["MAX_CI_HALF_WIDTH"])
    figures = []
    for estimate in table.estimates:
        domain = domains[estimate.domain]
        half = (estimate.ci_high - estimate.ci_low) / 2 * (100 if estimate.kind == "rate" else 1)
        reportable = (
            not math.isnan(estimate.value) and estimate.n_eff >= min_n_eff and half <= max_half
        )
        scheme = names[domain.wave_id] or (
            "design weights" if kind == WaveKind.FIELD_SURVEY else "unweighted"
        )
        figures.append(
            IndexFigure(
                domain,
                estimate.code,
                estimate.kind,
                estimate.value,
                estimate.se,
                estimate.ci_low,
                estimate.ci_high,
                estimate.df,
                estimate.n,
                estimate.n_eff,
                scheme,
                inference,
                reportable,
            )
        )
    return IndexResult(tuple(figures), table, tuple(domains), layout.formulas, layout.definition)


def _aggregate(
    layout: _Layout,
    kind: WaveKind,
    wave_ids: list[int],
    questionnaire_ids: list[int],
    scheme_ids: list[int],
    filters: _Filters,
    by_field: bool,
    by_channel: bool,
) -> tuple[list, list, list]:
    """Run the three GROUP BY queries; return their rows."""
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
    design = _design_columns(kind)
    breakdown = _breakdown_columns(by_field, by_channel)
    keys = [Response.wave_id, Response.unit_id, *design, *breakdown]
    satisfied = []
    points = []
    for item_id, code in items.items():
        levels = layout.questionnaire.item(code).scale_size or 5
        satisfied.append(
            and_(
                AnswerValue.item_id == item_id,
                AnswerValue.value.in_(_satisfied_levels(layout, code)),
            )
        )
        scores = layout.definition.mean_score.points_for(levels)
        points.append(
            (AnswerValue.item_id == item_id,
             case(*((AnswerValue.value == v, s) for v, s in enumerate(scores, 1)), else_=0.0))
        )
    item_query = (
        select(
            *keys,
            AnswerValue.item_id,
            func.sum(case((or_(*satisfied), weight), else_=0.0)).label("s"),
            func.sum(weight).label("v"),
            func.sum(weight * case(*points, else_=0.0)).label("p"),
        )
        .join(AnswerValue, AnswerValue.response_id == Response.id)
        .where(Response.wave_id.in_(wave_ids), AnswerValue.item_id.in_(list(items)))
        .group_by(*keys, AnswerValue.item_id)
    )
    item_query = filters.apply(_with_weights(item_query, scheme_ids), by_field)
    respondent_query = (
        select(*keys, func.count().label("n"), func.sum(weight).label("w"),
               func.sum(weight * weight).label("w2"))
        .where(Response.wave_id.in_(wave_ids))
        .group_by(*keys)
    )
    respondent_query = filters.apply(_with_weights(respondent_query, scheme_ids), by_field)
    psu_query = (
        select(Response.wave_id, *design)
        .where(Response.wave_id.in_(wave_ids))
        .group_by(Response.wave_id, *design)
    )
    item_rows = [(*row[:-4], items[row[-4]], *row[-3:]) for row in db.session.execute(item_query)]
    respondent_rows = list(db.session.execute(respondent_query))
    psu_rows = list(db.session.execute(psu_query))
    return item_rows, respondent_rows, psu_rows


def _sufficient_statistics(
    item_rows: list,
    respondent_rows: list,
    psu_rows: list,
    units: Sequence[Unit],
    layout: _Layout,
    shared_psus: bool,
    by_field: bool,
    by_channel: bool,
) -> tuple[PSUTotals, list[DomainKey]]:
    """Turn the query rows into :class:`PSUTotals` with one domain per reported unit."""
    all_units = {unit.id: unit for unit in db.session.scalars(select(Unit))}
    rollup: dict[int, list[int]] = defaultdict(list)
    for unit in units:
        for other in all_units.values():
            if other.path.startswith(unit.path):
                rollup[other.id].append(unit.id)

    def labels(wave_id: int, stratum: object, psu: object) -> tuple[str, str]:
        prefix = "" if shared_psus else f"{wave_id}|"
        return f"{prefix}{stratum}", f"{prefix}{stratum}|{psu}"

    extra = int(by_field) + int(by_channel)
    domains: dict[DomainKey, int] = {}
    cells: dict[tuple[int, str, str], dict[str, object]] = {}

    def cell(row: Sequence[object]) -> list[dict[str, object]]:
        wave_id, unit_id, stratum, psu = row[0], row[1], row[2], row[3]
        brk = list(row[4 : 4 + extra])
        field_id = brk.pop(0) if by_field else None
        channel = brk.pop(0) if by_channel else None
        stratum_label, psu_label = labels(int(wave_id), stratum, psu)
        out = []
        for target in rollup.get(int(unit_id), []):
            key = DomainKey(target, int(wave_id), field_id, str(channel) if by_channel else None)
            code = domains.setdefault(key, len(domains))
            entry = cells.setdefault(
                (code, stratum_label, psu_label),
                {"values": np.zeros(layout.columns.width), "n": 0, "w": 0.0, "w2": 0.0},
            )
            out.append(entry)
        return out

    for row in respondent_rows:
        for entry in cell(row):
            entry["n"] += int(row.n)  # type: ignore[operator]
            entry["w"] += float(row.w)  # type: ignore[operator]
            entry["w2"] += float(row.w2)  # type: ignore[operator]
    for row in item_rows:
        code, s, v, p = row[4 + extra], row[-3], row[-2], row[-1]
        for entry in cell(row):
            values = entry["values"]
            values[layout.columns.column(code, "S")] += float(s or 0.0)  # type: ignore[index]
            values[layout.columns.column(code, "V")] += float(v or 0.0)  # type: ignore[index]
            values[layout.columns.column(code, "P")] += float(p or 0.0)  # type: ignore[index]
    n_psu: dict[str, int] = defaultdict(int)
    seen: set[str] = set()
    for wave_id, stratum, psu in psu_rows:
        stratum_label, psu_label = labels(int(wave_id), stratum, psu)
        if psu_label not in seen:
            seen.add(psu_label)
            n_psu[stratum_label] += 1
    keys = list(cells)
    ordered = sorted(domains, key=domains.get)  # type: ignore[arg-type]
    totals = PSUTotals(
        domain=np.array([k[0] for k in keys], dtype=np.int64),
        stratum=np.array([k[1] for k in keys], dtype=object),
        psu=np.array([k[2] for k in keys], dtype=object),
        values=np.array([cells[k]["values"] for k in keys]).reshape(
            len(keys), layout.columns.width
        ),
        n=np.array([cells[k]["n"] for k in keys], dtype=np.int64),
        sum_w=np.array([cells[k]["w"] for k in keys], dtype=float),
        sum_w2=np.array([cells[k]["w2"] for k in keys], dtype=float),
        n_psu=dict(n_psu),
        n_domains=len(ordered),
    )
    return totals, ordered
