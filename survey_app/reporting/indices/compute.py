"""The entry point: :func:`compute`, the indices of some units and waves.

It chooses where each wave's sums come from (the figure store's sums,
:mod:`.stored`, or the rows, :mod:`.sql`; a weighted wave always from the rows with
its published design, :mod:`.weighted`), turns them into sufficient statistics
(:mod:`.statistics`), estimates with :func:`analysis.indices.estimate_indices` and
applies the reporting rule to each estimate (:mod:`.figures`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from flask import current_app
from flask_babel import gettext as _

from analysis.indices import estimate_indices
from analysis.variance import LonelyPSUError
from survey_app.collection.scoring import IndexRequestError, Layout, waves_layout
from survey_app.collection.waves.design import stratum_psus
from survey_app.extensions import db
from survey_app.models import Desk, Response, Unit, Wave, WaveKind
from survey_app.reporting.indices.figures import IndexFigure, IndexResult, Inference
from survey_app.reporting.indices.shared_sums import shared
from survey_app.reporting.indices.sql import Filters, aggregate
from survey_app.reporting.indices.statistics import sufficient_statistics
from survey_app.reporting.indices.stored import stored_rows, stored_waves
from survey_app.reporting.indices.weighted import published_designs
from survey_app.weighting.published import active_schemes


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
    layout = waves_layout(waves)
    wave_ids = [wave.id for wave in waves]
    schemes = active_schemes(wave_ids)
    published = published_designs(waves, schemes)
    filters = Filters(field_id, channel)
    stored = set(stored_waves([w for w in wave_ids if w not in schemes], layout))
    item_rows: list = []
    respondent_rows: list = []
    psu_counts: list = []
    item_codes: dict[int, str] = {}
    for wave in waves:
        scheme = schemes.get(wave.id)
        items, respondents, psus, codes = _wave_sums(
            layout,
            kind,
            wave,
            scheme.id if scheme is not None else None,
            filters,
            by_field,
            by_channel,
            wave.id in published,
            wave.id in stored,
        )
        item_rows += items
        respondent_rows += respondents
        psu_counts += psus
        item_codes.update(codes)
    totals, domains, fpc_waves = sufficient_statistics(
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


def _wave_sums(
    layout: Layout,
    kind: WaveKind,
    wave: Wave,
    scheme_id: int | None,
    filters: Filters,
    by_field: bool,
    by_channel: bool,
    calibrated: bool,
    stored: bool,
) -> tuple[list, list, list, dict[int, str]]:
    """One wave's rows of :func:`.sql.aggregate` (with its folded responses' sums from
    the figure store when ``stored``), read once per page request (:mod:`.shared_sums`).

    Responses the figure store has folded are read from its sums, the rest from the
    rows; a wave with an active scheme is read from its rows (its weights are the
    scheme's, and calibration needs each respondent).
    """

    def read() -> tuple[list, list, list, dict[int, str]]:
        items, respondents, psus, codes = aggregate(
            layout,
            kind,
            [wave.id],
            [wave.questionnaire_id],
            [] if scheme_id is None else [scheme_id],
            filters,
            by_field,
            by_channel,
            [wave.id] if calibrated else [],
            Response.folded.is_(False) if stored else None,
        )
        if stored:
            more = stored_rows([wave.id], layout, filters, by_field, by_channel, codes)
            items, respondents, psus = items + more[0], respondents + more[1], psus + more[2]
        return items, respondents, psus, codes

    version = (layout.questionnaire.slug, layout.questionnaire.version)
    key = (wave.id, version, filters, by_field, by_channel, scheme_id, calibrated, stored)
    return shared(key, read)


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
