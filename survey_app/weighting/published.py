"""The published design of a wave with an active scheme.

Published = previewed
---------------------
A published figure of a wave with an active scheme has R's standard error for the
weighted design (``postStratify``/``rake``/``calibrate``, then ``svymean``), not the
one of fixed weights: :func:`published_design` re-runs the stored scheme on the wave's
rows (deterministic, milliseconds) to recover the variance adjustment R keeps in
``design$postStrata``, checks that it gives back the stored weights, and
:func:`survey_app.reporting.indices.compute.compute` residualizes the respondents' scores with
it. The preview's rows (:mod:`survey_app.weighting.preview`) use the same adjustment,
so preview and publication agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import ResponseWeight, Wave, WeightingScheme
from survey_app.weighting.checks import check
from survey_app.weighting.compute import weigh
from survey_app.weighting.errors import SchemeError, WeightingInputError
from survey_app.weighting.sample import WaveSample, load_sample
from survey_app.weighting.spec import WeightingSpec


def active_schemes(wave_ids: Iterable[int]) -> dict[int, WeightingScheme]:
    schemes = db.session.scalars(
        select(WeightingScheme).where(
            WeightingScheme.wave_id.in_(list(wave_ids)), WeightingScheme.is_active
        )
    )
    return {scheme.wave_id: scheme for scheme in schemes}


@dataclass(frozen=True, eq=False)
class PublishedDesign:
    """What the published figures of a wave with an active scheme need.

    Attributes
    ----------
    response_ids : ndarray
        The weighted respondents, ascending (the rows of every adjustment's arrays).
    strata, psu : ndarray
        Their stratum and PSU, by the rule of :func:`load_sample`.
    weights : ndarray
        The scheme's stored weights.
    adjustments : tuple
        The variance adjustments of the scheme's steps, in order (trimming adds none).
    """

    response_ids: np.ndarray
    strata: np.ndarray
    psu: np.ndarray
    weights: np.ndarray
    adjustments: tuple[Any, ...]


#: Largest relative difference between re-run and stored weights taken as the same.
_SAME_WEIGHTS = 1e-9


def published_design(
    wave: Wave, scheme: WeightingScheme, sample: WaveSample | None = None
) -> PublishedDesign:
    """Re-run ``scheme`` on the wave's rows (``sample``, read when not given); its
    weights and variance adjustments.

    Raises
    ------
    SchemeError
        The wave's responses changed since the scheme was saved (a response added or
        deleted, a burst kept or excluded, an answer that moved a respondent between
        levels): its weights no longer describe the sample, and no figure of the wave
        is published until the survey team saves and activates it again.
    """
    sample = sample if sample is not None else load_sample(wave)
    stored = dict(
        db.session.execute(
            select(ResponseWeight.response_id, ResponseWeight.weight).where(
                ResponseWeight.scheme_id == scheme.id
            )
        ).all()
    )
    stale = SchemeError(
        _(
            "The responses of wave %(wave)s changed after its weighting scheme "
            "“%(name)s” v%(version)s was saved, so its weights no longer fit the sample. "
            "Save the scheme again and activate the new version.",
            wave=wave.code,
            name=scheme.name,
            version=scheme.version,
        )
    )
    if set(stored) != set(sample.response_ids.tolist()):
        raise stale
    try:
        options = WeightingSpec.from_json(scheme.params)
        steps = weigh(sample, options, check(sample, options))
    except WeightingInputError:
        raise stale from None
    weights = np.asarray(steps[-1].weights, dtype=np.float64)
    kept = np.array([stored[int(i)] for i in sample.response_ids], dtype=np.float64)
    if sample.n and np.max(np.abs(weights - kept) / np.abs(kept)) > _SAME_WEIGHTS:
        raise stale
    return PublishedDesign(
        sample.response_ids,
        sample.strata,
        sample.psu,
        kept,
        tuple(step.adjustment for step in steps if step.adjustment is not None),
    )
