"""The scorecard of a unit for a wave: figures, trend, change, rank, volumes, reasons."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select

from survey_app.access import units_in_scope
from survey_app.collection.scoring import IndexRequestError
from survey_app.collection.waves.design import lonely_rule_text
from survey_app.extensions import db
from survey_app.models import (
    Questionnaire,
    Response,
    Unit,
    User,
    Wave,
)
from survey_app.reporting import visibility
from survey_app.reporting.comparisons import changes, rankings, trends
from survey_app.reporting.dashboard.figures import (
    IndexLine,
    TrendPoint,
    index_lines,
    scheme_text,
)
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexResult, Inference
from survey_app.reporting.scorecard.counts import (
    Reason,
    Volumes,
    dissatisfaction_reasons,
    response_volumes,
)
from survey_app.reporting.tallies import tallies


class ScorecardError(LookupError):
    """The unit has no data in the wave (nothing to show)."""


@dataclass(frozen=True)
class RankLine:
    rank: int
    rank_low: int
    rank_high: int
    of: int
    previous_rank: int | None
    flag: str  # "above", "below" or "" (Holm-adjusted comparison with the parent)
    parent: Unit


@dataclass(frozen=True)
class Scorecard:
    unit: Unit
    wave: Wave
    overall: IndexLine
    aspects: tuple[IndexLine, ...]
    inference: Inference
    scheme: str
    trend: tuple[TrendPoint, ...]
    trend_sentence: str | None
    previous_wave: Wave | None
    change: changes.Change | None
    rank: RankLine | None
    volumes: Volumes
    # None: the questionnaire asks for no reasons (not the same as none given)
    reasons: tuple[Reason, ...] | None
    # The change exists but a figure of it is hidden from the viewer (reporting rule).
    change_hidden: bool = False

    @property
    def lonely_rule(self) -> str:
        """The wave's rule for strata with a single PSU, in words."""
        return lonely_rule_text(self.overall.rate.lonely_psu)

    @property
    def reportable(self) -> bool:
        return self.overall.rate.reportable


def available(user: User) -> list[tuple[Unit, list[Wave]]]:
    """Units in the user's scope with the waves that have data in them (rolled up).

    One GROUP BY of (wave, unit) over the responses; the roll-up to the units above
    is done on the materialised paths.
    """
    pairs = db.session.execute(
        select(Response.wave_id, Unit.path)
        .join(Unit, Unit.id == Response.unit_id)
        .where(Response.wave_id.is_not(None))
        .group_by(Response.wave_id, Unit.path)
    ).all()
    waves = {w.id: w for w in db.session.scalars(select(Wave))}
    out = []
    for unit in db.session.scalars(units_in_scope(user).order_by(Unit.path)):
        ids = {wave_id for wave_id, path in pairs if path.startswith(unit.path)}
        if ids:
            ordered = sorted((waves[i] for i in ids), key=lambda w: (w.start_date, w.code))
            out.append((unit, ordered))
    return out


def unit_waves(unit: Unit, wave: Wave) -> list[Wave]:
    """The waves of the same kind and questionnaire with data in the unit, up to ``wave``."""
    slug = db.session.scalar(
        select(Questionnaire.slug).where(Questionnaire.id == wave.questionnaire_id)
    )
    query = (
        select(Wave)
        .join(Questionnaire, Questionnaire.id == Wave.questionnaire_id)
        .where(
            Wave.kind == wave.kind,
            Questionnaire.slug == slug,
            Wave.start_date <= wave.start_date,
            Wave.id.in_({t.wave_id for t in tallies(unit.path) if t.wave_id is not None}),
        )
        .order_by(Wave.start_date, Wave.id)
    )
    return list(db.session.scalars(query))


def build(unit: Unit, wave: Wave, lang: str, viewer: User | None = None) -> Scorecard:
    """Assemble the scorecard of ``unit`` (with everything below it) for ``wave``.

    Figures reach ``viewer`` through :func:`visibility.visible`: for a leader a figure that
    fails the reporting rule has no value, interval, rank, change or trend sentence.

    Raises
    ------
    ScorecardError
        If the unit has no response in the wave.
    """
    volumes = response_volumes(unit, wave)
    if volumes.responses == 0:
        raise ScorecardError(f"no responses for {unit.code} in {wave.code}")
    waves = unit_waves(unit, wave)
    result = compute(waves, [unit])
    key = DomainKey(unit.id, wave.id)
    overall, *lines = index_lines(result, key, lang)
    if overall.rate is None:
        raise ScorecardError(f"no overall index for {unit.code} in {wave.code}")
    # the aspects with a figure (an aspect nobody answered has no row)
    aspects = tuple(line for line in lines if _has(result, key, line.code))
    trend = tuple(
        TrendPoint(w, result.figure(DomainKey(unit.id, w.id)))
        for w in waves
        if _has(result, DomainKey(unit.id, w.id), "overall")
    )
    trend_sentence = _trend_sentence(unit, trend, result)
    previous = trend[-2].wave if len(trend) >= 2 and trend[-1].wave.id == wave.id else None
    change = changes.change(unit, previous, wave, within=result) if previous is not None else None
    hides = not visibility.shows_unreportable(viewer)
    shown_trend = tuple(TrendPoint(p.wave, visibility.visible(p.figure, viewer)) for p in trend)
    change_hidden = False
    if hides:
        if not all(p.figure.reportable for p in trend):
            trend_sentence = None
        if change is not None and not (change.before.reportable and change.after.reportable):
            change, change_hidden = None, True
    rank = sibling_rank(unit, wave, previous, reportable_only=hides)
    return Scorecard(
        unit=unit,
        wave=wave,
        overall=_visible_line(overall, viewer),
        aspects=tuple(_visible_line(line, viewer) for line in aspects),
        inference=overall.rate.inference,
        scheme=scheme_text(overall.rate),
        trend=shown_trend,
        trend_sentence=trend_sentence,
        previous_wave=previous,
        change=change,
        rank=rank,
        volumes=volumes,
        reasons=dissatisfaction_reasons(unit, wave, lang, volumes.responses),
        change_hidden=change_hidden,
    )


def _visible_line(line: IndexLine, viewer: User | None) -> IndexLine:
    score = visibility.visible(line.score, viewer) if line.score is not None else None
    # the headline (overall rate) may be a commune's small-area estimate
    rate = visibility.visible(line.rate, viewer, small_area=True) if line.rate is not None else None
    return IndexLine(line.code, line.label, rate, score)


def _trend_sentence(unit: Unit, trend: tuple[TrendPoint, ...], result: IndexResult) -> str | None:
    """The trend across three or more waves: :func:`trends.trend`'s estimate and words.

    Independent waves: estimated from the figures already computed for the page
    (``within``); waves declared a panel as one joint design.
    """
    if len(trend) < 3 or len(trend) != len(result.domains):
        return None
    return trends.trend(unit, [p.wave for p in trend], within=result).sentence()


def _has(result: IndexResult, key: DomainKey, code: str) -> bool:
    try:
        figure = result.figure(key, code)
    except KeyError:
        return False
    return not math.isnan(figure.value)


def sibling_rank(
    unit: Unit, wave: Wave, previous: Wave | None, *, reportable_only: bool = False
) -> RankLine | None:
    """The unit's rank among the units of the same parent and kind with data in the wave.

    With ``reportable_only`` (a leader), units failing the reporting rule are not
    ranked (:func:`rankings.ranking`); the unit itself then has no rank.
    """
    if unit.parent_id is None:
        return None
    siblings = list(
        db.session.scalars(
            select(Unit)
            .where(Unit.parent_id == unit.parent_id, Unit.kind == unit.kind)
            .order_by(Unit.code)
        )
    )
    parent = db.session.get(Unit, unit.parent_id)
    assert parent is not None  # parent_id is a foreign key
    try:
        ranked = rankings.ranking(
            siblings, wave, parent, previous_wave=previous, reportable_only=reportable_only
        )
    except IndexRequestError:
        return None  # fewer than two units to rank, or a figure that cannot be computed
    row = next((r for r in ranked.rows if r.unit.id == unit.id), None)
    if row is None:
        return None  # the unit has no answers, or its figure fails the reporting rule
    return RankLine(
        row.rank, row.rank_low, row.rank_high, len(ranked.rows), row.previous_rank, row.flag, parent
    )
