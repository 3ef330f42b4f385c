"""Templates of target files: the wave's variables and levels (or cells) to fill in.

The header and rows follow the formats :mod:`survey_app.weighting.targets` reads;
the ``label`` and ``respondents`` columns help whoever fills the template in and are
ignored on upload.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from flask_babel import gettext as _

from survey_app import formatting
from survey_app.spreadsheets import RowError
from survey_app.weighting.errors import WeightingInputError
from survey_app.weighting.sample import WaveSample, unknown_variable
from survey_app.weighting.targets import LONG_COLUMNS, TARGET

MAX_TEMPLATE_CELLS = 5000


def template_rows(
    sample: WaveSample, layout: str, names: Sequence[str], lang: str
) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a targets template listing the wave's variables and levels.

    ``layout`` ``"long"`` lists every level of ``names`` (all variables when empty);
    ``"cells"`` lists every cell of the cross-classification of ``names``.

    Raises
    ------
    WeightingInputError
        Unknown variables, no variable for the cell layout, or too many cells.
    """
    unknown = [n for n in names if sample.variable(n) is None]
    if unknown:
        raise WeightingInputError([unknown_variable(sample, n, None, None) for n in unknown])
    chosen = [v for v in sample.variables if v.code in names] if names else list(sample.variables)
    if layout == "long":
        header = [*LONG_COLUMNS[:2], "label", "respondents", TARGET]
        rows = [
            [v.code, level.code, level.label(lang), level.respondents, None]
            for v in chosen
            for level in v.levels
        ]
        return header, rows
    if not names:
        raise WeightingInputError(
            [RowError(None, None, _("Choose the variables whose cells you want to target."))]
        )
    size = math.prod(len(v.levels) for v in chosen)
    if size > MAX_TEMPLATE_CELLS:
        raise WeightingInputError(
            [
                RowError(
                    None,
                    None,
                    _(
                        "Too many cells (%(count)s): choose fewer variables.",
                        count=formatting.number(size),
                    ),
                )
            ]
        )
    frame = pd.DataFrame({v.code: sample.values[v.code] for v in chosen})
    counts = frame.value_counts().to_dict() if sample.n else {}
    header = [*(v.code for v in chosen), "respondents", TARGET]
    rows = []
    for combination in itertools.product(*(v.levels for v in chosen)):
        codes = tuple(level.code for level in combination)
        rows.append([*codes, int(counts.get(codes, 0)), None])
    return header, rows
