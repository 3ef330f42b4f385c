"""Satisfaction indices as smooth functions of weighted totals, from sufficient statistics.

A SIPAS-style index is built from three weighted totals per questionnaire item ``j``:

* ``S_j = sum_i w_i [answer_ij is a satisfied level]``,
* ``V_j = sum_i w_i [answer_ij is a valid answer]``,
* ``P_j = sum_i w_i points(answer_ij)``, the answer's score on 0-100.

Every index the questionnaire format can define is a linear combination of ratios of
sums of these totals (:class:`IndexFormula`): an aspect's pooled rate
``sum_{j in a} S_j / sum_{j in a} V_j``, the mean of its item rates, the mean (or a
weighted mean) of the aspect rates, the pooled rate over all items, one item's rate,
and the same with ``P`` in place of ``S`` for mean scores.

Because the totals are sums over respondents, everything needed for estimation and
design-based variance is the table of these totals per domain x stratum x PSU
(:class:`PSUTotals`), which a database can compute with one ``GROUP BY``. The
linearized score of a PSU is the gradient of the index at the domain's totals times
the PSU's totals; :func:`analysis.variance.stratified_covariance` turns those into
the covariance of all domains' estimates, exactly as the row-level path of
:mod:`analysis.estimators` would (both end in the same routine).

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, sec. 2.3-2.4 (pp. 23-32: ratios and
domains) and sec. 3.2 (pp. 44-46: ultimate-cluster variance).
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., ch. 6
(Taylor series, pp. 226-240: ratios and smooth functions of totals).
Kish, L. (1965). *Survey Sampling*. Wiley, sec. 11.7 (p. 427, effective sample size).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np
from scipy import sparse

from analysis.ci import ProportionInput, proportion_interval, wald_interval
from analysis.compare import Contrast, Trend, t_test, trend_slope_gradient
from analysis.design import Design
from analysis.i18n import _
from analysis.variance import (
    LonelyPSUError,
    design_covariance,
    group_sum,
    stratified_covariance,
)

TotalKind = Literal["S", "V", "P"]
IndexKind = Literal["rate", "score"]
ASPECT_METHODS = ("pooled", "mean_of_items")
OVERALL_METHODS = ("mean_of_aspects", "weighted_mean_of_aspects", "pooled_items", "item")


@dataclass(frozen=True)
class ItemColumns:
    """Where the totals of each item live in the columns of a totals matrix.

    Columns are ordered item by item as ``S, V, P`` (three per item).
    """

    items: tuple[str, ...]

    @property
    def width(self) -> int:
        return 3 * len(self.items)

    def column(self, item: str, kind: TotalKind) -> int:
        try:
            position = self.items.index(item)
        except ValueError:
            raise ValueError(_("item %(item)s has no totals column", item=repr(item))) from None
        return 3 * position + "SVP".index(kind)

    def columns(self, items: Sequence[str], kind: TotalKind) -> tuple[int, ...]:
        return tuple(self.column(item, kind) for item in items)


@dataclass(frozen=True)
class RatioTerm:
    """``coef * (sum of totals[num]) / (sum of totals[den])``."""

    coef: float
    num: tuple[int, ...]
    den: tuple[int, ...]


@dataclass(frozen=True)
class IndexFormula:
    """An index: a linear combination of ratios of sums of item totals.

    Attributes
    ----------
    code : str
        ``"overall"`` or ``"aspect:<code>"``.
    kind : {"rate", "score"}
        A share of satisfied answers (0-1) or a mean score (0-100).
    terms : tuple of RatioTerm
    """

    code: str
    kind: IndexKind
    terms: tuple[RatioTerm, ...]

    def value_and_gradient(self, totals: np.ndarray) -> tuple[float, np.ndarray]:
        """The index at ``totals`` (a vector of all columns) and its gradient.

        Notes
        -----
        For ``f = sum_k c_k N_k / D_k`` with ``N_k = a_k . T`` and ``D_k = b_k . T``,
        ``grad f = sum_k c_k (a_k / D_k - N_k b_k / D_k^2)`` (Wolter 2007, p. 231).
        A term whose denominator is 0 makes the index undefined (``nan``).
        """
        value = 0.0
        gradient = np.zeros(totals.shape[0])
        for term in self.terms:
            numerator = float(totals[list(term.num)].sum())
            denominator = float(totals[list(term.den)].sum())
            if denominator <= 0:
                return math.nan, np.full(totals.shape[0], np.nan)
            value += term.coef * numerator / denominator
            gradient[list(term.num)] += term.coef / denominator
            gradient[list(term.den)] -= term.coef * numerator / denominator**2
        return value, gradient

    @property
    def valid_columns(self) -> tuple[int, ...]:
        """The ``V`` columns of the index's items (its denominators), sorted.

        A respondent counts in the index's ``n`` when at least one of these is
        non-zero: R's ``sum(!is.na(...))`` over the rows ``svyby`` uses.
        """
        return tuple(sorted({column for term in self.terms for column in term.den}))


@dataclass(frozen=True)
class AspectSpec:
    code: str
    items: tuple[str, ...]
    weight: float | None = None


def _aspect_terms(
    aspect: AspectSpec, method: str, layout: ItemColumns, kind: TotalKind, coef: float
) -> list[RatioTerm]:
    if method == "pooled":
        return [
            RatioTerm(coef, layout.columns(aspect.items, kind), layout.columns(aspect.items, "V"))
        ]
    share = coef / len(aspect.items)
    return [
        RatioTerm(share, (layout.column(item, kind),), (layout.column(item, "V"),))
        for item in aspect.items
    ]


def build_formulas(
    aspects: Sequence[AspectSpec],
    layout: ItemColumns,
    *,
    aspect_method: str = "pooled",
    overall_method: str = "mean_of_aspects",
    overall_item: str | None = None,
) -> list[IndexFormula]:
    """The formulas of every aspect and of the overall index, as rates and as scores.

    Parameters
    ----------
    aspects : sequence of AspectSpec
    layout : ItemColumns
        Must contain every aspect item (and ``overall_item``).
    aspect_method : {"pooled", "mean_of_items"}
        An aspect's rate is its satisfied answers over its valid answers, or the
        mean of its items' rates.
    overall_method : {"mean_of_aspects", "weighted_mean_of_aspects", "pooled_items", "item"}
        The SIPAS default is the plain mean of the aspect rates.
    overall_item : str, optional
        The item whose rate is the overall index when ``overall_method == "item"``.

    Returns
    -------
    list of IndexFormula
        ``overall`` (rate, score) first, then each aspect (rate, score).
    """
    if aspect_method not in ASPECT_METHODS:
        raise ValueError(
            _(
                "unknown aspect method %(method)s; valid: %(valid)s",
                method=repr(aspect_method),
                valid=ASPECT_METHODS,
            )
        )
    if overall_method not in OVERALL_METHODS:
        raise ValueError(
            _(
                "unknown overall method %(method)s; valid: %(valid)s",
                method=repr(overall_method),
                valid=OVERALL_METHODS,
            )
        )
    formulas: list[IndexFormula] = []
    for kind, total in (("rate", "S"), ("score", "P")):
        if overall_method == "item":
            if overall_item is None:
                raise ValueError(_("overall method 'item' needs overall_item"))
            terms = [
                RatioTerm(
                    1.0, (layout.column(overall_item, total),), (layout.column(overall_item, "V"),)
                )
            ]
        elif overall_method == "pooled_items":
            items = tuple(item for aspect in aspects for item in aspect.items)
            terms = [RatioTerm(1.0, layout.columns(items, total), layout.columns(items, "V"))]
        else:
            if not aspects:
                raise ValueError(
                    _("overall method %(method)s needs aspects", method=repr(overall_method))
                )
            if overall_method == "weighted_mean_of_aspects":
                weights = np.array([a.weight for a in aspects], dtype=float)
                if np.isnan(weights).any() or (weights <= 0).any():
                    raise ValueError(
                        _("weighted_mean_of_aspects needs a positive weight per aspect")
                    )
                coefs = weights / weights.sum()
            else:
                coefs = np.full(len(aspects), 1.0 / len(aspects))
            terms = [
                term
                for aspect, c in zip(aspects, coefs, strict=True)
                for term in _aspect_terms(aspect, aspect_method, layout, total, float(c))
            ]
        formulas.append(IndexFormula("overall", kind, tuple(terms)))  # type: ignore[arg-type]
    for aspect in aspects:
        for kind, total in (("rate", "S"), ("score", "P")):
            terms = _aspect_terms(aspect, aspect_method, layout, total, 1.0)
            formulas.append(IndexFormula(f"aspect:{aspect.code}", kind, tuple(terms)))  # type: ignore[arg-type]
    return formulas


@dataclass(frozen=True)
class CalibratedRespondents:
    """Respondents of samples whose weights were post-stratified, raked or calibrated.

    After such a weighting step the variance is that of the scores' residuals on the
    auxiliary information (R's ``svyrecvar`` with ``design$postStrata``; see
    :mod:`analysis.weighting.adjustments`), which needs each respondent's score: the
    :class:`PSUTotals` rows of these respondents are one respondent each, and every
    respondent of the weighted sample is listed here, including those outside every
    domain and every reported unit (the residuals reach them).

    Attributes
    ----------
    row : ndarray of int, shape (r,)
        For each :class:`PSUTotals` row, its respondent ``0 .. m - 1``, or ``-1`` for a
        row that sums a PSU's respondents of samples without adjustment.
    stratum, psu : ndarray, shape (m,)
        Each respondent's stratum and PSU label (the labels of :class:`PSUTotals`).
    adjustments : sequence of (members, adjustment)
        ``members`` indexes the respondents an adjustment was fitted on, in the order
        of the adjustment's own arrays; each adjustment has ``residualize(scores)``.
        Applied in the order given (R applies ``postStrata`` entries in order).
    """

    row: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    adjustments: Sequence[tuple[np.ndarray, Any]] = ()

    def __post_init__(self) -> None:
        m = self.stratum.shape[0]
        if self.psu.shape != (m,):
            raise ValueError(_("stratum and psu must have one entry per respondent"))
        if self.row.size and self.row.max() >= m:
            raise ValueError(_("respondent codes must lie in -1 .. %(last)s", last=m - 1))
        for members, _adjustment in self.adjustments:
            if members.size and (members.min() < 0 or members.max() >= m):
                raise ValueError(_("adjustment members must lie in 0 .. %(last)s", last=m - 1))

    def residual_psu_totals(
        self,
        row_scores: np.ndarray,
        domain: np.ndarray,
        n_domains: int,
        psu_code: np.ndarray,
        n_psus: int,
    ) -> np.ndarray:
        """PSU x domain totals of the respondents' residualized scores.

        ``row_scores`` and ``domain`` are per :class:`PSUTotals` row; rows with
        ``row == -1`` are ignored here. ``psu_code`` is each respondent's PSU code.
        """
        mine = self.row >= 0
        x = np.zeros((self.stratum.shape[0], n_domains))
        np.add.at(x, (self.row[mine], domain[mine]), row_scores[mine])
        for members, adjustment in self.adjustments:
            x[members] = adjustment.residualize(x[members])
        out = np.zeros((n_psus, n_domains))
        np.add.at(out, psu_code, x)
        return out


@dataclass(frozen=True)
class PSUTotals:
    """Sufficient statistics: weighted item totals per (domain, stratum, PSU) row.

    Attributes
    ----------
    domain : ndarray of int, shape (r,)
        Domain code of the row, ``0 .. n_domains - 1``.
    stratum, psu : ndarray, shape (r,)
        Labels of the row's stratum and PSU (PSU labels unique within the design,
        e.g. ``"stratum/psu"``).
    values : ndarray, shape (r, k)
        Weighted totals of the item columns (see :class:`ItemColumns`).
    n : ndarray of int, shape (r,)
        Respondents in the row.
    sum_w, sum_w2 : ndarray, shape (r,)
        Sum of weights and of squared weights of those respondents.
    n_psu : Mapping
        Number of PSUs sampled in each stratum of the whole design, including PSUs
        that have no row here (they count in the variance with zero totals).
    n_domains : int
    answered : Mapping, optional
        For a formula's :attr:`IndexFormula.valid_columns`, the row's
        ``(n, sum_w, sum_w2)`` over the respondents with at least one valid answer
        to those items. A formula with no entry counts every respondent of the row.
    calibrated : CalibratedRespondents, optional
        Respondent-level rows of weighted samples whose weighting step enters the
        variance (post-stratified, raked or calibrated weights).
    popsize : Mapping, optional
        Number of PSUs in the population of a stratum, for the finite population
        correction (R's ``fpc``); strata not named get none (sampling with
        replacement, or an unknown population).
    stratum_names : Mapping, optional
        What to call a stratum in messages (a stratum with a single PSU), when its
        label is a code (integers sort faster than text); others are called by label.
    """

    domain: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    values: np.ndarray
    n: np.ndarray
    sum_w: np.ndarray
    sum_w2: np.ndarray
    n_psu: Mapping[Any, int]
    n_domains: int
    answered: Mapping[tuple[int, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )
    calibrated: CalibratedRespondents | None = None
    popsize: Mapping[Any, float] = field(default_factory=dict)
    stratum_names: Mapping[Any, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        r = self.values.shape[0]
        for name in ("domain", "stratum", "psu", "n", "sum_w", "sum_w2"):
            if getattr(self, name).shape != (r,):
                raise ValueError(
                    _("%(name)s must have one entry per row (%(rows)s)", name=name, rows=r)
                )
        for columns, counts in self.answered.items():
            if any(np.shape(c) != (r,) for c in counts):
                raise ValueError(
                    _(
                        "answered counts of %(columns)s must have one entry per row (%(rows)s)",
                        columns=columns,
                        rows=r,
                    )
                )
        strata = self.stratum
        if self.calibrated is not None:
            if self.calibrated.row.shape != (r,):
                raise ValueError(_("calibrated.row must have one entry per row (%(rows)s)", rows=r))
            strata = np.concatenate([strata, self.calibrated.stratum])
        missing = set(np.unique(strata).tolist()) - set(self.n_psu)
        if missing:
            raise ValueError(_("n_psu has no count for strata %(strata)s", strata=sorted(missing)))
        if r and (self.domain.min() < 0 or self.domain.max() >= self.n_domains):
            raise ValueError(_("domain codes must lie in 0 .. n_domains - 1"))

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata (R's ``degf``)."""
        return int(sum(self.n_psu.values()) - len(self.n_psu))

    def restricted(self, domains: Sequence[int]) -> PSUTotals:
        """The rows of some domains only, recoded ``0 .. len(domains) - 1`` in the
        order given; the design (PSUs and strata sampled, population sizes, weighted
        respondents) stays whole.

        Every estimate of those domains is unchanged: a row outside a domain enters
        its variance with a zero score, and the PSUs without rows still count through
        ``n_psu`` (domain estimation, Lumley 2010, sec. 2.3.1).
        """
        code = np.full(self.n_domains, -1, dtype=np.int64)
        code[np.asarray(domains, dtype=np.int64)] = np.arange(len(domains))
        keep = code[self.domain] >= 0
        calibrated = self.calibrated
        if calibrated is not None:
            calibrated = replace(calibrated, row=calibrated.row[keep])
        return replace(
            self,
            domain=code[self.domain[keep]],
            stratum=self.stratum[keep],
            psu=self.psu[keep],
            values=self.values[keep],
            n=self.n[keep],
            sum_w=self.sum_w[keep],
            sum_w2=self.sum_w2[keep],
            n_domains=len(domains),
            answered={k: (n[keep], w[keep], w2[keep]) for k, (n, w, w2) in self.answered.items()},
            calibrated=calibrated,
        )


def points(value: float, kind: str) -> float:
    """A value or a difference of an index in the points it is read in: percentage
    points for a rate (a proportion times 100), score points (0-100 already) for a
    mean score."""
    return value * 100.0 if kind == "rate" else value


@dataclass(frozen=True)
class IndexValue:
    """An index's value with its uncertainty: what every estimate of one index carries.

    The one definition of these numbers from the estimator up to the API: the
    estimator's :class:`IndexEstimate`, the published figure
    (:class:`survey_app.reporting.indices.figures.IndexFigure`), an alert's window
    (:func:`analysis.alerts.estimate_window`) and the weighting preview's headline are
    all an :class:`IndexValue` with what each adds.

    Attributes
    ----------
    code, kind
        The index (``"overall"`` or ``"aspect:<code>"``) and its scale: ``"rate"``
        (a proportion, 0-1) or ``"score"`` (0-100).
    value, se
        The estimate and its design-based standard error.
    ci_low, ci_high
        The confidence interval at ``level``.
    df
        Degrees of freedom of the interval.
    n
        Respondents with a valid answer to the index's items.
    n_eff
        Kish's effective sample size of those respondents.
    level
        Confidence level.
    """

    code: str
    kind: IndexKind
    value: float
    se: float
    ci_low: float
    ci_high: float
    df: float
    n: int
    n_eff: float
    level: float

    @property
    def half_width_points(self) -> float:
        """Half the CI width in percentage points (rates) or score points."""
        return points((self.ci_high - self.ci_low) / 2, self.kind)

    def index_value(self) -> dict[str, Any]:
        """The :class:`IndexValue` fields by name (to carry them into another type)."""
        return {f.name: getattr(self, f.name) for f in fields(IndexValue)}


@dataclass(frozen=True)
class IndexEstimate(IndexValue):
    """One index for one domain (``domain``: its position in :class:`PSUTotals`)."""

    domain: int


@dataclass(frozen=True)
class IndexTable:
    """Every formula for every domain, with the covariance across domains per formula."""

    estimates: tuple[IndexEstimate, ...]
    covariance: Mapping[tuple[str, str], np.ndarray] = field(repr=False)

    def get(self, code: str, kind: IndexKind, domain: int) -> IndexEstimate:
        for estimate in self.estimates:
            if (estimate.code, estimate.kind, estimate.domain) == (code, kind, domain):
                return estimate
        raise KeyError((code, kind, domain))


def domain_degf(totals: PSUTotals) -> np.ndarray:
    """Degrees of freedom of each domain: its PSUs minus its strata.

    As R's ``svyby(..., svyciprop)``, whose ``degf()`` of the domain's subset counts
    only PSUs and strata with members in the domain (survey 4.x).
    """
    present = totals.n > 0
    domain = totals.domain[present].astype(np.int64)

    def distinct_per_domain(labels: np.ndarray) -> np.ndarray:
        # one sort of the labels, then the distinct (domain, label) pairs per domain
        _unused, code = np.unique(labels[present], return_inverse=True)
        width = int(code.max(initial=0)) + 1
        pairs = np.unique(domain * width + code.ravel())
        return np.bincount(pairs // width, minlength=totals.n_domains).astype(float)

    return distinct_per_domain(totals.psu) - distinct_per_domain(totals.stratum)


def _domain_sums(totals: PSUTotals, column: np.ndarray) -> np.ndarray:
    return np.bincount(totals.domain, weights=column, minlength=totals.n_domains)


def _domain_totals(totals: PSUTotals) -> np.ndarray:
    """Each domain's totals of every item column (``n_domains x k``), by the shared
    sparse group sum (not ``np.add.at``, which loops element by element)."""
    return group_sum(totals.values, totals.domain, totals.n_domains).reshape(
        totals.n_domains, totals.values.shape[1]
    )


def _kish(sum_w: np.ndarray, sum_w2: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sum_w2 > 0, sum_w**2 / sum_w2, 0.0)


#: Up to this many PSU x domain cells the variance's PSU totals are a dense array.
_DENSE_CELLS = 2_000_000


@dataclass(frozen=True)
class _ScoreDesign:
    """The design of a :class:`PSUTotals` as the variance routine needs it: each row's
    PSU code, each calibrated respondent's, and each PSU's stratum, PSU count and
    population size (fpc)."""

    calibrated: CalibratedRespondents | None
    psu_codes: np.ndarray
    respondent_psu: np.ndarray
    n_psus: int
    stratum_labels: np.ndarray
    psu_stratum: np.ndarray
    n_h: np.ndarray
    popsize: np.ndarray | None
    stratum_names: Mapping[Any, str]

    @classmethod
    def of(cls, totals: PSUTotals) -> _ScoreDesign:
        calibrated = totals.calibrated
        labels, strata = totals.psu, totals.stratum
        if calibrated is not None:
            labels = np.concatenate([labels, calibrated.psu])
            strata = np.concatenate([strata, calibrated.stratum])
        psu_labels, all_codes = np.unique(labels, return_inverse=True)
        rows = totals.psu.shape[0]
        psu_stratum = np.empty(psu_labels.shape[0], dtype=strata.dtype)
        psu_stratum[all_codes] = strata
        # each stratum's counts looked up once, then spread over its PSUs
        stratum_labels, stratum_of_psu = np.unique(psu_stratum, return_inverse=True)
        stratum_of_psu = stratum_of_psu.ravel()
        n_h = np.array([totals.n_psu[s] for s in stratum_labels.tolist()], dtype=float)
        popsize = None
        if totals.popsize:
            popsize = np.array(
                [totals.popsize.get(s, np.inf) for s in stratum_labels.tolist()], dtype=float
            )[stratum_of_psu]
        return cls(
            calibrated,
            all_codes[:rows],
            all_codes[rows:],
            psu_labels.shape[0],
            stratum_labels,
            stratum_of_psu,
            n_h[stratum_of_psu],
            popsize,
            totals.stratum_names,
        )

    def covariance(
        self,
        row_scores: np.ndarray,
        domain: np.ndarray,
        n_domains: int,
        lonely_psu: str,
    ) -> np.ndarray:
        """Covariance of the linearized totals ``row_scores`` (one per totals row)
        summed into ``n_domains`` columns by ``domain``: PSU sums, calibrated
        respondents' scores replaced by their residuals first, then
        :func:`~analysis.variance.stratified_covariance` with the fpc and the rule for
        strata with a single PSU. Every estimator of this module goes through here."""
        calibrated = self.calibrated
        z: Any
        if calibrated is None and self.n_psus * n_domains <= _DENSE_CELLS:
            # few domains: a dense PSU x domain table, summed by one bincount
            z = np.bincount(
                self.psu_codes * n_domains + domain,
                weights=row_scores,
                minlength=self.n_psus * n_domains,
            ).reshape(self.n_psus, n_domains)
        else:
            # PSU x domain totals; sparse, as a PSU usually meets few domains (duplicates
            # add up)
            summed = np.ones_like(row_scores, dtype=bool)
            if calibrated is not None:
                summed = calibrated.row < 0
            z = sparse.csr_matrix(
                (row_scores[summed], (self.psu_codes[summed], domain[summed])),
                shape=(self.n_psus, n_domains),
            )
        if calibrated is not None:
            # weighted samples: their respondents' residuals, then PSU sums (dense)
            z = z.toarray() + calibrated.residual_psu_totals(
                row_scores, domain, n_domains, self.respondent_psu, self.n_psus
            )
        # strata as integer codes (sorted once, not once per formula); a lonely stratum
        # is reported by its label
        try:
            return stratified_covariance(
                z, self.psu_stratum, n_psu=self.n_h, popsize=self.popsize, lonely_psu=lonely_psu
            )
        except LonelyPSUError as error:
            label = self.stratum_labels[int(error.stratum)]
            name = self.stratum_names.get(label, label)
            raise LonelyPSUError(name, error.stage) from None


def estimate_indices(
    totals: PSUTotals,
    formulas: Sequence[IndexFormula],
    *,
    level: float = 0.95,
    rate_ci_method: str = "logit",
    lonely_psu: str = "fail",
) -> IndexTable:
    """Estimate every formula in every domain with design-based SEs and CIs.

    Parameters
    ----------
    totals : PSUTotals
    formulas : sequence of IndexFormula
    level : float
        Confidence level.
    rate_ci_method : str
        A proportion method of :func:`analysis.ci.proportion_interval` for rates
        (default ``"logit"``, R's ``svyciprop`` default); scores get a t interval.
    lonely_psu : str
        Rule for strata with a single PSU.

    Returns
    -------
    IndexTable

    Notes
    -----
    For domain ``d`` with totals ``T_d = sum_{rows in d} t_r``, the estimate is
    ``f(T_d)``; the linearized total of row ``r`` is ``grad f(T_d) . t_r``. The
    linearized totals are summed per PSU (one column per domain, 0 where the PSU
    has no member of the domain) and passed to
    :func:`~analysis.variance.stratified_covariance` with the whole design's PSU
    counts, which is the domain estimator of Lumley (2010, sec. 2.3.1): rows outside
    the domain keep their place in the design with zero scores. Degrees of freedom
    are each domain's PSUs minus its strata, as R's ``svyby`` + ``svyciprop`` (see
    :func:`domain_degf`). A figure's ``n`` counts the domain's respondents with at
    least one valid answer to the index's items (R: ``sum(!is.na(...))`` over the
    rows ``svyby`` uses), from ``totals.answered``; its effective sample size is
    Kish's ``(sum w)^2 / sum w^2`` over those respondents. The rate interval keeps
    the domain's respondents as its ``n`` (R's ``nrow`` with NA rows included).

    Samples whose weights were post-stratified, raked or calibrated
    (``totals.calibrated``) enter with one row per respondent: the linearized scores
    of all their respondents are replaced by their residuals on the auxiliary
    information before the PSU sums, as R's ``svyrecvar`` does with
    ``design$postStrata`` (Deville & Särndal 1992; Lumley 2010, sec. 7.4).
    """
    design = _ScoreDesign.of(totals)
    domain_totals = _domain_totals(totals)
    n = _domain_sums(totals, totals.n.astype(float))
    sum_w = _domain_sums(totals, totals.sum_w)
    sum_w2 = _domain_sums(totals, totals.sum_w2)
    counted = {(): (n, _kish(sum_w, sum_w2))}
    for columns, (rows_n, rows_w, rows_w2) in totals.answered.items():
        counted[columns] = (
            _domain_sums(totals, np.asarray(rows_n, dtype=float)),
            _kish(_domain_sums(totals, rows_w), _domain_sums(totals, rows_w2)),
        )
    df = domain_degf(totals)
    estimates: list[IndexEstimate] = []
    covariance: dict[tuple[str, str], np.ndarray] = {}
    for formula in formulas:
        values = np.empty(totals.n_domains)
        gradients = np.empty_like(domain_totals)
        for d in range(totals.n_domains):
            values[d], gradients[d] = formula.value_and_gradient(domain_totals[d])
        defined = ~np.isnan(values)
        # nan_to_num on the domains' gradients, then one per row (the same, far less work)
        row_scores = np.einsum("rk,rk->r", totals.values, np.nan_to_num(gradients)[totals.domain])
        cov = design.covariance(row_scores, totals.domain, totals.n_domains, lonely_psu)
        cov[~defined, :] = np.nan
        cov[:, ~defined] = np.nan
        covariance[(formula.code, formula.kind)] = cov
        answered_n, n_eff = counted.get(formula.valid_columns, counted[()])
        for d in range(totals.n_domains):
            var = float(cov[d, d])
            se = math.sqrt(var) if var >= 0 else math.nan
            low, high = _interval(
                formula.kind, values[d], var, df[d], int(n[d]), level, rate_ci_method
            )
            estimates.append(
                IndexEstimate(
                    code=formula.code,
                    kind=formula.kind,
                    domain=d,
                    value=float(values[d]),
                    se=se,
                    ci_low=low,
                    ci_high=high,
                    df=float(df[d]),
                    n=int(answered_n[d]),
                    n_eff=float(n_eff[d]),
                    level=level,
                )
            )
    return IndexTable(tuple(estimates), covariance)


def _interval(
    kind: IndexKind, value: float, var: float, df: float, n: int, level: float, method: str
) -> tuple[float, float]:
    if math.isnan(value) or math.isnan(var):
        return math.nan, math.nan
    if kind == "rate":
        if var <= 0 or value <= 0 or value >= 1:
            return value, value
        return proportion_interval(method, ProportionInput(value, var, df, max(n, 2), level))
    return wald_interval(value, math.sqrt(max(var, 0.0)), df, level)


@dataclass(frozen=True)
class Difference(Contrast):
    """``estimate_a - estimate_b`` with its SE, CI and two-sided p-value."""


def difference(
    value_a: float,
    value_b: float,
    var_a: float,
    var_b: float,
    cov_ab: float = 0.0,
    *,
    df: float,
    level: float = 0.95,
) -> Difference:
    """Difference of two estimates (a contrast, as R's ``svycontrast``) with a t test.

    Notes
    -----
    ``Var(a - b) = Var a + Var b - 2 Cov(a, b)``; ``Cov`` is 0 for independent samples
    (different waves with no shared PSU) and comes from the joint covariance matrix
    when both estimates come from one design. The test statistic is referred to
    Student's t on ``df`` degrees of freedom, as ``svyttest``.
    """
    value = value_a - value_b
    var = var_a + var_b - 2.0 * cov_ab
    se = math.sqrt(var) if var > 0 else 0.0
    low, high, p_value = t_test(value, se, df, level)
    return Difference(value, se, low, high, df, p_value, level)


def estimate_trend(
    totals: PSUTotals,
    formula: IndexFormula,
    times: Sequence[float],
    *,
    level: float = 0.95,
    lonely_psu: str = "fail",
) -> Trend:
    """Slope per unit of time of an index across domains (waves) with design-based SE.

    Parameters
    ----------
    totals : PSUTotals
        One domain per wave (of one unit), in the order of ``times``.
    formula : IndexFormula
    times : sequence of float
        The time of each wave (e.g. decimal years, so the slope is per year).

    Notes
    -----
    The slope is the weighted least-squares slope of the waves' index values on
    time (:func:`analysis.compare.trend_slope_gradient`). For an index that is one
    ratio ``N / D`` (one item's rate, a pooled aspect) each wave is weighted by its
    denominator total ``D_w``, the weight of the valid answers: this is R's
    ``svyglm(y ~ t)`` slope with ``y`` the satisfied indicator, whose rows with a
    missing answer are dropped. Any other index (e.g. the mean of aspect rates) is
    weighted by the wave's sum of respondent weights. Its linearized PSU score is
    ``d_slope/d_value_w (grad f_w . t_r) + d_slope/d_W_w W_r`` for a row ``r`` of
    wave ``w`` (``W_r`` its part of ``W_w``), whose variance comes from the shared routine
    of the figures (:class:`_ScoreDesign`): the same fpc, the same residuals of
    calibrated respondents and the same ``lonely_psu`` rule as the figures the trend is
    drawn through. The interval uses ``degf - 1`` degrees of freedom, as ``svyglm``'s
    residual df for two coefficients.
    """
    if len(times) != totals.n_domains:
        raise ValueError(
            _(
                "%(times)s times for %(domains)s domains",
                times=len(times),
                domains=totals.n_domains,
            )
        )
    domain_totals = _domain_totals(totals)
    if len(formula.terms) == 1:  # one ratio: weight by its denominator, as svyglm
        row_weight = totals.values[:, list(formula.terms[0].den)].sum(axis=1)
    else:
        row_weight = totals.sum_w
    wave_weight = _domain_sums(totals, row_weight)
    values = np.empty(totals.n_domains)
    gradients = np.empty_like(domain_totals)
    for d in range(totals.n_domains):
        values[d], gradients[d] = formula.value_and_gradient(domain_totals[d])
    if np.isnan(values).any():
        raise ValueError(_("the index is undefined in some wave"))
    slope, d_values, d_weights = trend_slope_gradient(times, wave_weight, values)
    row_scores = (
        d_values[totals.domain] * np.einsum("rk,rk->r", totals.values, gradients[totals.domain])
        + d_weights[totals.domain] * row_weight
    )
    one_column = np.zeros(row_scores.shape[0], dtype=np.int64)
    var = float(_ScoreDesign.of(totals).covariance(row_scores, one_column, 1, lonely_psu)[0, 0])
    se = math.sqrt(max(var, 0.0))
    df = float(totals.degf - 1)
    low, high, p_value = t_test(slope, se, df, level)
    return Trend(slope, se, low, high, df, p_value, level)


def estimate_on_design(
    design: Design,
    values: np.ndarray,
    formula: IndexFormula,
    *,
    level: float = 0.95,
    rate_ci_method: str = "logit",
) -> IndexEstimate:
    """Estimate one index over all rows of a row-level design.

    The row-level twin of :func:`estimate_indices` for a single domain (the whole
    design): where that function starts from per-PSU sufficient statistics, this one
    takes each respondent's item columns, so it works on any :class:`Design`,
    including one whose weights were post-stratified, raked or calibrated (the
    design's adjustments then enter the variance, as in R's ``svyrecvar``).

    Parameters
    ----------
    design : Design
    values : ndarray, shape (n, k)
        Each row's unweighted item columns ``S, V, P`` (see :class:`ItemColumns`).
    formula : IndexFormula
    level : float
        Confidence level.
    rate_ci_method : str
        Proportion interval for rates (default ``"logit"``); scores get a t interval.

    Returns
    -------
    IndexEstimate
        ``domain`` is 0; ``df`` is the design's PSUs minus strata; ``n`` counts the
        rows with at least one valid answer to the index's items and ``n_eff`` is
        Kish's ``(sum w)^2 / sum w^2`` over them (the interval keeps all rows as n).

    Notes
    -----
    With weighted totals ``T = sum_i w_i x_i`` the estimate is ``f(T)`` and row
    ``i``'s linearized score is ``w_i x_i . grad f(T)`` (Wolter 2007, sec. 6.11),
    whose variance :func:`~analysis.variance.design_covariance` computes.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != design.n:
        raise ValueError(
            _(
                "values must be n x k with n = %(rows)s rows, got shape %(shape)s",
                rows=design.n,
                shape=x.shape,
            )
        )
    w = design.weights
    weighted = x * w[:, None]
    value, gradient = formula.value_and_gradient(weighted.sum(axis=0))
    answered = x[:, list(formula.valid_columns)].sum(axis=1) > 0
    w_answered = w[answered]
    n_eff = float(w_answered.sum() ** 2 / np.dot(w_answered, w_answered)) if answered.any() else 0.0
    df = float(design.degf)
    if math.isnan(value):
        var = math.nan
    else:
        var = float(design_covariance(design, weighted @ gradient)[0, 0])
    se = math.sqrt(var) if var >= 0 else math.nan
    low, high = _interval(formula.kind, value, var, df, design.n, level, rate_ci_method)
    return IndexEstimate(
        code=formula.code,
        kind=formula.kind,
        domain=0,
        value=value,
        se=se,
        ci_low=low,
        ci_high=high,
        df=df,
        n=int(answered.sum()),
        n_eff=n_eff,
        level=level,
    )
