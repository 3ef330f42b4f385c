"""A unit's scorecard for one wave: what its head is evaluated on, on one A4 page.

Everything comes from the indices and comparisons modules: the overall index and
each aspect with their intervals, the trend over the unit's waves of the same kind
and questionnaire, the rank among sibling units (same parent and kind) with its
interval, the change since the previous wave and whether it is significant, the
response volumes, and the most frequent reasons for dissatisfaction. Counts are
aggregated in SQL; no response row is loaded.

Reasons for dissatisfaction
---------------------------
Only the dissatisfaction items count: a ``multiple`` item shown only after a
dissatisfied or neutral rating (e.g. ``problems`` of ``kiosk_quick``, shown for faces
1-3); each chosen option counts once. The index criteria are not reasons: they are
worded positively ("staff were courteous") and one of them repeats an option (waiting
time), which listed it twice. A questionnaire without such an item has no reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import func, select

from survey_app.access import units_in_scope
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.collection.scoring import IndexRequestError
from survey_app.collection.waves import lonely_rule_text
from survey_app.extensions import db
from survey_app.models import (
    AnswerValue,
    Questionnaire,
    QuestionnaireItem,
    Response,
    Unit,
    User,
    Wave,
)
from survey_app.reporting import comparisons, visibility
from survey_app.reporting.dashboard.scope import with_data
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure, IndexResult, Inference

TOP_REASONS = 5


class ScorecardError(LookupError):
    """The unit has no data in the wave (nothing to show)."""


@dataclass(frozen=True)
class IndexLine:
    """One row of the index table: the satisfaction rate and the mean score."""

    code: str
    label: str
    rate: IndexFigure
    score: IndexFigure | None


@dataclass(frozen=True)
class TrendPoint:
    wave: Wave
    figure: IndexFigure


@dataclass(frozen=True)
class Reason:
    label: str
    count: int
    share: float  # of the unit's responses in the wave


@dataclass(frozen=True)
class Volumes:
    responses: int
    by_channel: dict[str, int]
    flagged: int
    first: datetime | None
    last: datetime | None


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
    change: comparisons.Change | None
    rank: RankLine | None
    volumes: Volumes
    reasons: tuple[Reason, ...]
    # The change exists but a figure of it is hidden from the viewer (reporting rule).
    change_hidden: bool = False

    @property
    def lonely_rule(self) -> str:
        """The wave's rule for strata with a single PSU, in words."""
        return lonely_rule_text(self.overall.rate.lonely_psu)

    @property
    def reportable(self) -> bool:
        return self.overall.rate.reportable


def scheme_label(scheme: str) -> str:
    """The weighting scheme's name, with the two built-in defaults translated."""
    if scheme == "design weights":
        return _("design weights")
    if scheme == "unweighted":
        return _("unweighted")
    return scheme


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
            Wave.id.in_(
                select(Response.wave_id)
                .join(Unit, Unit.id == Response.unit_id)
                .where(Unit.path.startswith(unit.path, autoescape=True))
                .distinct()
            ),
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
    definition = result.definition
    key = DomainKey(unit.id, wave.id)
    overall_label = definition.overall.label.get(lang)
    overall = IndexLine("overall", overall_label, *_pair(result, key, "overall"))
    aspects = tuple(
        IndexLine(a.code, a.label.get(lang), *_pair(result, key, f"aspect:{a.code}"))
        for a in definition.aspects
        if _has(result, key, f"aspect:{a.code}")
    )
    trend = tuple(
        TrendPoint(w, result.figure(DomainKey(unit.id, w.id)))
        for w in waves
        if _has(result, DomainKey(unit.id, w.id), "overall")
    )
    trend_sentence = _trend_sentence(unit, trend, result)
    previous = trend[-2].wave if len(trend) >= 2 and trend[-1].wave.id == wave.id else None
    change = comparisons.change(unit, previous, wave) if previous is not None else None
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
        scheme=scheme_label(overall.rate.scheme),
        trend=shown_trend,
        trend_sentence=trend_sentence,
        previous_wave=previous,
        change=change,
        rank=rank,
        volumes=volumes,
        reasons=tuple(dissatisfaction_reasons(unit, wave, lang, volumes.responses)),
        change_hidden=change_hidden,
    )


def _visible_line(line: IndexLine, viewer: User | None) -> IndexLine:
    score = visibility.visible(line.score, viewer) if line.score is not None else None
    # the headline (overall rate) may be a commune's small-area estimate
    rate = visibility.visible(line.rate, viewer, small_area=True)
    return IndexLine(line.code, line.label, rate, score)


def _trend_sentence(unit: Unit, trend: tuple[TrendPoint, ...], result: IndexResult) -> str | None:
    """The trend across three or more waves: :func:`comparisons.trend`'s estimate and words.

    Independent waves: estimated from the sufficient statistics already computed for
    the page (the same waves and unit, :func:`comparisons.trend_of`), so the page does
    not query them again. Waves declared a panel are one joint design, whose
    covariances the page's figures (each wave on its own) do not hold: the trend is
    computed as :func:`comparisons.trend` computes it.
    """
    if len(trend) < 3 or len(trend) != len(result.domains):
        return None
    waves = [p.wave for p in trend]
    if comparisons.is_panel(waves):
        return comparisons.trend(unit, waves).sentence()
    return comparisons.trend_of(result, unit, waves).sentence()


def _has(result: IndexResult, key: DomainKey, code: str) -> bool:
    try:
        figure = result.figure(key, code)
    except KeyError:
        return False
    return not math.isnan(figure.value)


def _pair(result: IndexResult, key: DomainKey, code: str) -> tuple[IndexFigure, IndexFigure | None]:
    rate = result.figure(key, code, "rate")
    try:
        score = result.figure(key, code, "score")
    except KeyError:
        score = None
    return rate, score


def sibling_rank(
    unit: Unit, wave: Wave, previous: Wave | None, *, reportable_only: bool = False
) -> RankLine | None:
    """The unit's rank among the units of the same parent and kind with data in the wave.

    With ``reportable_only`` (a leader), units failing the reporting rule are not
    ranked (:func:`comparisons.ranking`); the unit itself then has no rank.
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
    present = with_data(siblings, wave)
    if len(present) < 2 or unit not in present:
        return None
    parent = db.session.get(Unit, unit.parent_id)
    assert parent is not None  # parent_id is a foreign key
    try:
        ranked = comparisons.ranking(
            present, wave, parent, previous_wave=previous, reportable_only=reportable_only
        )
    except (IndexRequestError, KeyError):
        if previous is None:
            return None
        # Not every sibling has data in the previous wave: rank without rank changes.
        try:
            ranked = comparisons.ranking(present, wave, parent, reportable_only=reportable_only)
        except IndexRequestError:
            return None  # fewer than two units meet the reporting rule
    row = next((r for r in ranked.rows if r.unit.id == unit.id), None)
    if row is None:
        return None  # the unit's own figure fails the reporting rule
    return RankLine(
        row.rank, row.rank_low, row.rank_high, len(ranked.rows), row.previous_rank, row.flag, parent
    )


def _scope(query, unit: Unit):
    return query.join(Unit, Unit.id == Response.unit_id).where(
        Unit.path.startswith(unit.path, autoescape=True)
    )


def response_volumes(unit: Unit, wave: Wave) -> Volumes:
    """Responses of the unit (and below) in the wave, by channel, in one GROUP BY."""
    query = select(
        Response.channel,
        func.count(),
        func.sum(func.cast(Response.flagged, db.Integer)),
        func.min(Response.submitted_at),
        func.max(Response.submitted_at),
    ).where(Response.wave_id == wave.id)
    rows = db.session.execute(_scope(query, unit).group_by(Response.channel)).all()
    by_channel = {str(getattr(r[0], "value", r[0])): int(r[1]) for r in rows}
    firsts = [r[3] for r in rows if r[3] is not None]
    lasts = [r[4] for r in rows if r[4] is not None]
    return Volumes(
        responses=sum(by_channel.values()),
        by_channel=dict(sorted(by_channel.items(), key=lambda kv: -kv[1])),
        flagged=sum(int(r[2] or 0) for r in rows),
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
    )


def reason_items(definition: spec.Questionnaire) -> list[str]:
    """The multiple-choice items asked after a rating that is not satisfied."""
    satisfied = set(definition.index.satisfied_levels) if definition.index else {4, 5}
    choices = []
    for item in definition.items:
        condition = item.show_if
        if item.type != "multiple" or condition is None:
            continue
        source = definition.items_by_code.get(condition.item)
        if source is not None and source.scale_size and not satisfied & set(condition.values):
            choices.append(item.code)
    return choices


def dissatisfaction_reasons(unit: Unit, wave: Wave, lang: str, responses: int) -> list[Reason]:
    """The most frequent reasons for dissatisfaction, counted in SQL per option of the
    dissatisfaction items (:func:`reason_items`)."""
    row = db.session.get(Questionnaire, wave.questionnaire_id)
    assert row is not None  # a foreign key
    definition = questionnaires.parsed(row)
    choices = reason_items(definition)
    ids = {
        item.id: item.code
        for item in db.session.scalars(
            select(QuestionnaireItem).where(
                QuestionnaireItem.questionnaire_id == row.id,
                QuestionnaireItem.code.in_(choices),
            )
        )
    }
    if not ids:
        return []
    query = (
        select(AnswerValue.item_id, AnswerValue.value, func.count())
        .join(Response, Response.id == AnswerValue.response_id)
        .where(Response.wave_id == wave.id, AnswerValue.item_id.in_(list(ids)))
        .group_by(AnswerValue.item_id, AnswerValue.value)
    )
    counts: dict[str, int] = {}
    for item_id, value, count in db.session.execute(_scope(query, unit)):
        label = definition.item(ids[item_id]).options[value - 1].label.get(lang)
        counts[label] = counts.get(label, 0) + int(count)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]
    return [
        Reason(label, count, count / responses if responses else 0.0) for label, count in ranked
    ]


def trend_svg(card: Scorecard, lang: str) -> Markup:
    """A small static SVG chart of the overall rate with its 95% CI per wave.

    Static SVG prints sharply and needs no script, so the page and its PDF (WeasyPrint)
    show the same chart. Points below the reporting rule are drawn hollow.
    """
    points = card.trend
    width, height = 640, 240
    left, right, top, bottom = 48, 16, 14, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    kind = card.overall.rate.kind
    top_value = 1.0 if kind == "rate" else 100.0

    def y(value: float) -> float:
        clipped = min(max(value, 0.0), top_value)
        return top + plot_h * (1 - clipped / top_value)

    def x(i: int) -> float:
        if len(points) == 1:
            return left + plot_w / 2
        return left + plot_w * (0.06 + 0.88 * i / (len(points) - 1))

    title = escape(_("Overall index by wave, with confidence intervals (95%)"))
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="trend-title">'
        f'<title id="trend-title">{title}</title>'
    ]
    for tick in (0, 25, 50, 75, 100):
        ty = y(tick / 100 * top_value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" '
            'stroke="#dde3e8" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5b6b7a">{tick}{"%" if kind == "rate" else ""}</text>'
        )
    shown = [(i, p.figure) for i, p in enumerate(points) if not math.isnan(p.figure.value)]
    if len(shown) > 1:
        # The 95% band between the waves, then the line of the estimates.
        upper = " ".join(f"{x(i):.1f},{y(f.ci_high):.1f}" for i, f in shown)
        lower = " ".join(f"{x(i):.1f},{y(f.ci_low):.1f}" for i, f in reversed(shown))
        parts.append(f'<polygon points="{upper} {lower}" fill="#0b5c8a" fill-opacity="0.15"/>')
        line = " ".join(f"{x(i):.1f},{y(f.value):.1f}" for i, f in shown)
        parts.append(f'<polyline points="{line}" fill="none" stroke="#0b5c8a" stroke-width="2"/>')
    for i, point in enumerate(points):
        fig = point.figure
        cx = x(i)
        hidden = math.isnan(fig.value)  # failing the reporting rule, for a leader
        if not hidden:
            low, high = y(fig.ci_low), y(fig.ci_high)
            parts.append(
                f'<path class="ci" d="M{cx - 7:.1f},{low:.1f}H{cx + 7:.1f}M{cx:.1f},{low:.1f}'
                f'V{high:.1f}M{cx - 7:.1f},{high:.1f}H{cx + 7:.1f}" stroke="#0b5c8a" '
                'stroke-width="2" fill="none"/>'
            )
            fill = "#0b5c8a" if fig.reportable else "#ffffff"
            current = point.wave.id == card.wave.id
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{y(fig.value):.1f}" r="{4.5 if current else 3.5}" '
                f'fill="{fill}" stroke="#0b5c8a" stroke-width="2"/>'
            )
        if fig.reportable:
            parts.append(
                f'<text x="{cx + 10:.1f}" y="{y(fig.value) + 4:.1f}" font-size="12" '
                f'fill="#1b2733">{escape(_short_value(fig))}</text>'
            )
        label = _wave_label(point.wave, lang)
        for row, text in enumerate(label):
            last = row == len(label) - 1  # the month, smaller and grey
            parts.append(
                f'<text x="{cx:.1f}" y="{height - bottom + 16 + 13 * row}" text-anchor="middle" '
                f'font-size="{10 if last else 11}" fill="{"#5b6b7a" if last else "#1b2733"}">'
                f"{escape(text)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # every text above is escaped


def _wave_label(wave: Wave, lang: str, width: int = 30) -> list[str]:
    """The wave's name under its point (at most two lines), then its fieldwork month."""
    words, lines = wave.name(lang).split(), [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            if len(lines) == 2:
                lines[-1] += "…"
                break
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    return [*lines, format_date(wave.start_date, "MM/yyyy" if lang == "vi" else "MMM yyyy")]


def _short_value(figure: IndexFigure) -> str:
    from flask_babel import format_decimal

    if figure.kind == "rate":
        return format_decimal(figure.value * 100, format="0.0") + "%"
    return format_decimal(figure.value, format="0.0")


def html_to_pdf(html: str, base_url: str, static_folder: str, static_url_path: str) -> bytes:
    """Render the scorecard's HTML to PDF with WeasyPrint.

    Only the app's own static files are read (from disk, never over the network);
    any other resource the page might name is refused.
    """
    import mimetypes
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    from weasyprint import HTML
    from weasyprint.urls import URLFetcherResponse
    from werkzeug.security import safe_join

    prefix = static_url_path.rstrip("/") + "/"

    def fetch(url: str) -> URLFetcherResponse:
        path = unquote(urlsplit(url).path)
        if not path.startswith(prefix):
            raise ValueError(f"not an application asset: {url}")
        local = safe_join(static_folder, path[len(prefix) :])
        if local is None or not Path(local).is_file():
            raise ValueError(f"no such asset: {url}")
        mime = mimetypes.guess_type(local)[0] or "application/octet-stream"
        return URLFetcherResponse(url, Path(local).read_bytes(), {"Content-Type": mime})

    return HTML(string=html, base_url=base_url, url_fetcher=fetch).write_pdf()
