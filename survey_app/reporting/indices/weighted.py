"""Waves with an active weighting scheme: their published design in the variance.

The scheme's weights are read per response by the aggregation query; here each such
wave's respondents, design labels and the variance adjustments of its calibration
(:func:`survey_app.weighting.console.published_design`) become the
:class:`analysis.indices.CalibratedRespondents` the estimator residualizes with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from flask_babel import gettext as _

from analysis.indices import CalibratedRespondents
from survey_app.collection.scoring import IndexRequestError
from survey_app.models import Wave, WeightingScheme
from survey_app.weighting.errors import SchemeError
from survey_app.weighting.published import PublishedDesign, published_design


def published_designs(
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


def calibrated_respondents(
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
