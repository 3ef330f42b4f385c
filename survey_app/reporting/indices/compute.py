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
from survey_app.models import Desk, Unit, Wave, WaveKind, WeightingScheme
from survey_app.reporting.indices.figures import IndexFigure, IndexResult, Inference
from survey_app.reporting.indices.shared_sums import request_memo, within_request
from survey_app.reporting.indices.sql import Filters, aggregate, item_codes
from survey_app.reporting.indices.statistics import Cells, cells_from_rows, sufficient_statistics
from survey_app.reporting.indices.stored import (
    queued,
    store_on,
    stored_cells,
    unfolded_waves,
)
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
    schemes = within_request(("schemes", *wave_ids), lambda: active_schemes(wave_ids))
    published = published_designs(waves, schemes)
    filters = Filters(field_id, channel)
    cells, psu_rows = _sums(
        layout, kind, waves, schemes, filters, by_field, by_channel, set(published)
    )
    totals, domains, fpc_waves = sufficient_statistics(
        cells,
        psu_rows,
        units,
        layout,
        shared_psus,
        by_field,
        by_channel,
        published,
        {
            wave.id: within_request(("stratum_psus", wave.id), lambda w=wave: stratum_psus(w))
            for wave in waves
            if wave.kind == WaveKind.FIELD_SURVEY
        },
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


def _sums(
    layout: Layout,
    kind: WaveKind,
    waves: Sequence[Wave],
    schemes: dict[int, WeightingScheme],
    filters: Filters,
    by_field: bool,
    by_channel: bool,
    calibrated: set[int],
) -> tuple[Cells, list]:
    """The sums per design cell of ``waves`` and the PSUs of each wave.

    Responses the figure store has folded are read from its sums (per PSU for the
    default figures, split by field and channel for a breakdown or a filter), the rest
    from the rows; a wave with an active scheme is read from its rows (its weights are
    the scheme's, and calibration needs each respondent), and so is a wave whose sums
    lack a statistic this layout needs. During a GET request each wave's sums are kept
    (:mod:`.shared_sums`) and a later computation of the same page reads only the
    waves it does not hold yet.
    """
    version = (layout.questionnaire.slug, layout.questionnaire.version)
    store = store_on()

    def key(wave: Wave) -> tuple:
        scheme = schemes.get(wave.id)
        weighting = (scheme.id if scheme else None, wave.id in calibrated, store)
        return (wave.id, version, filters, by_field, by_channel, *weighting)

    memo = request_memo()
    keys = {w.id: key(w) for w in waves}
    held = {i: memo[k] for i, k in keys.items() if memo is not None and k in memo}
    missing = [w for w in waves if w.id not in held]
    if missing:
        read = _read(layout, kind, missing, schemes, filters, by_field, by_channel, calibrated)
        if memo is None:  # nothing to keep
            return read
        cells, psu_rows = read
        wave_of_cell = cells.keys["wave_id"].to_numpy()
        psus_of: dict[int, list] = {w.id: [] for w in missing}
        for row in psu_rows:  # every row starts with its wave's id
            psus_of[row[0]].append(row)
        for wave in missing:
            mine = wave_of_cell == wave.id
            held[wave.id] = (
                Cells(
                    cells.keys[mine].reset_index(drop=True), cells.counts[mine], cells.values[mine]
                ),
                psus_of[wave.id],
            )
            memo[keys[wave.id]] = held[wave.id]
    parts = [held[wave.id] for wave in waves]
    return Cells.concat([p[0] for p in parts]), [row for p in parts for row in p[1]]


def _read(
    layout: Layout,
    kind: WaveKind,
    waves: Sequence[Wave],
    schemes: dict[int, WeightingScheme],
    filters: Filters,
    by_field: bool,
    by_channel: bool,
    calibrated: set[int],
) -> tuple[Cells, list]:
    """:func:`_sums` for the waves not held yet: the store's sums, then the rows."""
    ids = [w.id for w in waves]
    questionnaires = list({w.questionnaire_id for w in waves})
    codes = item_codes(layout, questionnaires)
    candidates = [i for i in ids if i not in schemes]  # stored_cells checks store_on()
    parts: list[Cells] = []
    psu_rows: list = []
    stored_part, stored_psus, stored = stored_cells(
        candidates, layout, codes, filters, by_field, by_channel
    )
    # read from their rows: every response of the waves not stored; of the others,
    # those in the queue (one query each, not one with an OR, which PostgreSQL would
    # answer by reading every response of both kinds of wave)
    pending = unfolded_waves([i for i in ids if i in stored])
    whole = [i for i in ids if i not in stored]
    for read, only in ((whole, None), ([i for i in ids if i in pending], queued)):
        if not read:
            continue
        items, respondents, psus, _ = aggregate(
            layout,
            kind,
            read,
            questionnaires,
            [schemes[i].id for i in read if i in schemes],
            filters,
            by_field,
            by_channel,
            [i for i in read if i in calibrated],
            None if only is None else only(read),
        )
        parts.append(cells_from_rows(items, respondents, codes, layout, by_field, by_channel))
        psu_rows += psus
    if stored:
        parts.append(stored_part)
        psu_rows += stored_psus
    if not parts:
        parts.append(cells_from_rows([], [], codes, layout, by_field, by_channel))
    return Cells.concat(parts), psu_rows


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
