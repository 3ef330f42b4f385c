"""The ranking page: units below a parent ranked in a wave, with rank intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from flask_babel import gettext as _

from survey_app.collection.scoring import IndexRequestError
from survey_app.models import Unit, UnitKind, User, Wave, WaveKind
from survey_app.reporting import visibility
from survey_app.reporting.comparisons import rankings
from survey_app.reporting.dashboard.figures import (
    definition_of,
    figure_cells,
    figure_headers,
    index_choices,
)
from survey_app.reporting.dashboard.scope import (
    KIND_ORDER,
    ScopeError,
    WaveInfo,
    breadcrumbs,
    children,
    focus_unit,
    wave_in,
    waves_of,
)
from survey_app.reporting.indices.figures import cannot_compute_message
from survey_app.reporting.tables import Table


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
    result: rankings.RankingResult | None
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
        try:
            result = rankings.ranking(
                units,
                wave,
                parent,
                previous_wave=previous,
                code=code,
                reportable_only=not visibility.shows_unreportable(user),
            )
        except rankings.TooFewToRank as error:
            message = str(error)
        except IndexRequestError as error:  # e.g. a lonely PSU under the rule 'fail'
            message = cannot_compute_message(error)
        if result is not None:
            overall = visibility.visible(result.overall, user)
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


def _rank_highlights(result: rankings.RankingResult, lang: str) -> list[str]:
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
