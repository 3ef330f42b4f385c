"""The small-area rules and results: the constants, :class:`SmallAreaError`, the uploaded
covariates, and the result of a fit (coefficients, communes' estimates, exclusions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from survey_app import spreadsheets
from survey_app.reporting.indices.figures import Inference

FEW_DF = 5
"""A commune's direct variance with fewer degrees of freedom than this is smoothed."""

BUILTIN_COVARIATES: dict[str, Any] = {
    "feedback": _l("Continuous-feedback satisfaction rate (same period, model-based)"),
    "previous": _l("Previous wave's direct estimate"),
    "volume": _l(
        "Service volume: log of 1 + the ratings citizens gave at the kiosks and "
        "phones of the commune during the wave's dates"
    ),
}
UPLOAD_PREFIX = "file:"
UNIT_COLUMN = "unit_code"
COVARIATE_LIMITS = spreadsheets.Limits(rows=5_000, columns=21, cell_chars=200)
COVARIATE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")


class SmallAreaError(ValueError):
    """The model cannot be fitted as asked; the message says why (translated)."""


@dataclass(frozen=True)
class UploadedCovariates:
    """Per-commune values from an analyst's file: ``values[name][unit_code]``."""

    filename: str
    values: Mapping[str, Mapping[str, float]]

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "values": {k: dict(v) for k, v in self.values.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UploadedCovariates:
        values = {
            str(name): {str(code): float(v) for code, v in column.items()}
            for name, column in dict(data.get("values", {})).items()
        }
        return cls(filename=str(data.get("filename", "")), values=values)


@dataclass(frozen=True)
class CovariateOption:
    """A covariate the console offers for a wave; ``reason`` says why it is unavailable."""

    key: str
    label: str
    available: bool
    reason: str = ""
    source: str = ""


@dataclass(frozen=True)
class Coefficient:
    """One regression coefficient of the model (rate scale) with its standard error."""

    key: str
    label: str
    estimate: float
    se: float


@dataclass(frozen=True)
class CommuneEstimate:
    """Direct and small-area figures of one commune (rates between 0 and 1).

    ``direct``/``direct_se``/``direct_cv`` are None for a commune without interviews;
    ``gamma`` (the weight of the direct estimate) too. ``eblup`` is the small-area
    estimate (the synthetic one where there is no direct estimate), ``mse`` its
    estimated mean squared error (Prasad–Rao for REML, Datta–Lahiri for ML), ``se``
    its square root, ``cv`` = se / eblup (None when eblup is not positive),
    ``ci_low``/``ci_high`` eblup ± z·se clipped to [0, 1]. ``reportable`` is the
    reporting rule on the MSE-based CV: ``cv`` at most ``MAX_SMALL_AREA_CV`` (0.075 by
    default: for a rate near 70%, the ±10 points the direct rule allows);
    ``direct_reportable`` is the direct figure's own
    flag.
    """

    unit_id: int
    code: str
    name_vi: str
    name_en: str
    direct: float | None
    direct_se: float | None
    direct_cv: float | None
    direct_reportable: bool
    n: int
    df: float | None
    variance: float | None
    variance_source: str  # "direct", "gvf" or "none" (no interviews)
    covariates: Mapping[str, float]
    eblup: float
    mse: float
    se: float
    cv: float | None
    ci_low: float
    ci_high: float
    gamma: float | None
    synthetic: float
    residual: float | None
    reportable: bool
    inference: str = Inference.MODEL.value

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True)
class ExcludedCommune:
    unit_id: int
    code: str
    name_vi: str
    name_en: str
    reason: str

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True)
class SmallAreaResult:
    """The Fay–Herriot fit of one field wave's commune rates.

    ``sigma2_u`` and ``beta`` are on the rate scale. ``gvf`` is (pooled design
    effect, overall rate) when some variance was smoothed, else None.
    """

    wave_id: int
    wave_code: str
    method: str
    level: float
    sigma2_u: float
    at_zero: bool
    converged: bool
    iterations: int
    beta: tuple[Coefficient, ...]
    covariates: tuple[CovariateOption, ...]
    communes: tuple[CommuneEstimate, ...]
    excluded: tuple[ExcludedCommune, ...]
    smooth_variances: bool
    gvf: tuple[float, float] | None
    notes: tuple[str, ...] = field(default=())

    def commune(self, unit_id: int) -> CommuneEstimate:
        for c in self.communes:
            if c.unit_id == unit_id:
                return c
        raise KeyError(unit_id)
