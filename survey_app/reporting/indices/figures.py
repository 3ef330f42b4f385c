"""What one computation of the indices returns.

- :class:`IndexFigure`: one published figure, an index for one domain (unit x wave
  [x procedure field] [x channel]) as every page, chart, sentence and API answer shows
  it: the estimate of :class:`analysis.indices.IndexEstimate` (value, SE, interval,
  df, n, effective n) keyed by its :class:`DomainKey`, plus what publishing adds (the
  weighting scheme, the kind of inference, the reporting rule's verdict and the design
  rules the interval rests on).
- :class:`IndexResult`: every figure of one :func:`~survey_app.reporting.indices.compute.compute`
  with the table of estimates and covariances they came from, so two of its figures
  can be subtracted (:meth:`IndexResult.difference`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
from flask_babel import gettext as _

from analysis.indices import Difference, IndexFormula, IndexTable, IndexValue, PSUTotals, difference
from survey_app.collection import questionnaire as spec


class Inference(enum.StrEnum):
    DESIGN = "design-based"
    MODEL = "model-based"
    # a commune's Fay–Herriot small-area estimate, shown where its direct figure is not
    # reportable and the survey team switched small-area figures on for the wave
    SMALL_AREA = "small-area"


def cannot_compute_message(error: Exception) -> str:
    """A figure that cannot be computed, with the reason (shown instead of the figure)."""
    return _("Cannot be computed: %(reason)s", reason=str(error))


@dataclass(frozen=True)
class DomainKey:
    unit_id: int
    wave_id: int
    field_id: int | None = None
    channel: str | None = None


@dataclass(frozen=True)
class IndexFigure(IndexValue):
    """One published figure: an index for one unit and wave (and breakdown).

    The estimate's numbers (:class:`analysis.indices.IndexValue`: code, kind, value,
    SE, interval, df, n, effective n, level) with what publishing adds."""

    domain: DomainKey
    scheme: str
    inference: Inference
    reportable: bool
    # the design the figure rests on, shown with it: the wave's rule for strata with a
    # single PSU, and whether the finite population correction applies (sample frame)
    lonely_psu: str = "adjust"
    fpc: bool = False


@dataclass(frozen=True)
class IndexResult:
    figures: tuple[IndexFigure, ...]
    table: IndexTable = field(repr=False)
    domains: tuple[DomainKey, ...]
    formulas: tuple[IndexFormula, ...]
    definition: spec.IndexDefinition
    totals: PSUTotals = field(repr=False)

    def figure(self, domain: DomainKey, code: str = "overall", kind: str = "rate") -> IndexFigure:
        for fig in self.figures:
            if fig.domain == domain and fig.code == code and fig.kind == kind:
                return fig
        raise KeyError((domain, code, kind))

    def covariance(self, code: str = "overall", kind: str = "rate") -> np.ndarray:
        """Covariance of the figures of one index across :attr:`domains`."""
        return self.table.covariance[(code, kind)]

    def difference(self, a: IndexFigure, b: IndexFigure) -> Difference:
        """``a - b`` for two figures of one index in this result, with the covariance
        of the two estimates (zero when they share no PSU) and the smaller of their df
        (conservative). The one place where two published figures are compared."""
        if (a.code, a.kind) != (b.code, b.kind):
            raise ValueError(f"cannot subtract {b.code}/{b.kind} from {a.code}/{a.kind}")
        cov = self.covariance(a.code, a.kind)
        i, j = self.domains.index(a.domain), self.domains.index(b.domain)
        return difference(a.value, b.value, cov[i, i], cov[j, j], cov[i, j], df=min(a.df, b.df))
