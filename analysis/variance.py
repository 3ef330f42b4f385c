"""The one variance routine: linearized scores -> covariance matrix (R's ``svyrecvar``).

Every estimator in :mod:`analysis.estimators` reduces to score columns ``z``
(one per estimate); this module turns them into the design-based covariance
matrix. There are two entry points that share the same core:

* :func:`design_covariance` -- row-level scores and a :class:`~analysis.design.Design`
  (multistage, with fpc at every stage, adjustments, lonely-PSU rules);
* :func:`stratified_covariance` -- *sufficient statistics*: per-PSU score totals
  with their stratum codes, stratum PSU counts and optional population sizes. This
  is the path for aggregates computed elsewhere (e.g. in SQL) for single-stage
  (ultimate-cluster) designs with an optional first-stage fpc.

The row-level path sums the scores to cluster totals and then calls exactly the
same per-stage function as :func:`stratified_covariance`, so both agree to
rounding.

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, sec. 2.2-2.3 (pp. 19-28) and
sec. 3.1-3.2 (pp. 39-48, multistage variance and the ultimate-cluster estimator).
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer,
ch. 1 (pp. 1-20) and sec. 6.11 (Taylor series for ratios, pp. 235-240).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import sparse

from analysis._text import show
from analysis.design import CERTAINTY_TOLERANCE, LONELY_PSU_RULES, Design
from analysis.i18n import _


class LonelyPSUError(ValueError):
    """A stratum has a single PSU and the design's rule is ``lonely_psu="fail"``.

    R stops with "Stratum (...) has only one PSU at stage ..." under
    ``options(survey.lonely.psu="fail")``; ``stratum`` and ``stage`` say where.
    """

    def __init__(self, stratum: object, stage: int) -> None:
        self.stratum = show(stratum)
        self.stage = stage
        super().__init__(
            _(
                "stratum %(stratum)s has only one PSU at stage %(stage)s and lonely_psu='fail'",
                stratum=self.stratum,
                stage=stage,
            )
        )


_BLOCK_COLUMNS = 32  # score columns residualized at once when a design has adjustments


def group_sum(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the rows of ``values`` (m x k) within groups given by integer ``codes``.

    Equivalent to R's ``rowsum``; implemented as a sparse indicator product, so it
    is one vectorized pass whatever ``k``.
    """
    if not sparse.issparse(values):
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1:
            return np.bincount(codes, weights=values, minlength=n_groups)
    indicator = sparse.csr_matrix(
        (np.ones(codes.shape[0]), (codes, np.arange(codes.shape[0]))),
        shape=(n_groups, codes.shape[0]),
    )
    out = indicator @ values
    return out.tocsr() if sparse.issparse(out) else np.asarray(out)


def _stage_covariance(
    totals: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    n_sampled: np.ndarray,
    fpc_factor: np.ndarray,
    lonely_psu: str,
    stage: int,
    multiplier: np.ndarray | None = None,
    group_labels: Any | None = None,
) -> np.ndarray:
    """Covariance contribution of one stage from unit totals (the shared core).

    ``totals`` is (m, k): one row per sampled unit present; ``group`` its group code;
    ``n_sampled[g]`` the number of units sampled in group ``g`` (units absent from
    ``totals`` count as zero rows, as R's ``onestrat`` pads them); ``fpc_factor[g]``
    is ``1 - n_g/N_g`` (1 without fpc); ``multiplier[g]`` multiplies the whole group
    (product of the sampling fractions of the earlier stages).
    """
    k = totals.shape[1]
    n_g = n_sampled.astype(np.float64)
    f = fpc_factor.astype(np.float64)
    certain = f < CERTAINTY_TOLERANCE
    lonely = (n_g == 1) & ~certain
    if lonely.any() and lonely_psu == "fail":
        g = int(np.flatnonzero(lonely)[0])
        label = group_labels[g] if group_labels is not None else g
        raise LonelyPSUError(label, stage)
    if lonely.any() and lonely_psu == "average" and stage > 1:
        raise ValueError(
            _(
                "lonely_psu='average' cannot average a lonely unit below the first stage "
                "(R returns NaN there); use 'adjust', 'remove' or 'certainty'"
            )
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n_g > 1, f * n_g / (n_g - 1.0), f)
    scale = np.where(certain, 0.0, scale)
    if multiplier is not None:
        scale = scale * multiplier
    centred = ~(lonely & (lonely_psu == "adjust"))
    if lonely_psu in ("remove", "certainty", "average"):
        scale = np.where(lonely, 0.0, scale)
    sums = group_sum(totals, group, n_groups)
    if sparse.issparse(sums):
        sums = sums.toarray()
    means = np.where(centred[:, None], sums / np.maximum(n_g, 1.0)[:, None], 0.0)
    if sparse.issparse(totals):
        # one-pass form for sparse totals (many domains, many units): for each group
        # sum_i (z_i - m)(z_i - m)' over n_g units (absent ones 0) = sum_i z_i z_i' - n_g m m'
        cov = np.asarray(((totals.multiply(scale[group][:, None])).T @ totals).todense())
        cov -= (means * (scale * n_g)[:, None]).T @ means
    else:
        dev = totals - means[group]
        cov = (dev * scale[group][:, None]).T @ dev
        present = np.bincount(group, minlength=n_groups).astype(np.float64)
        missing = (n_g - present) * scale
        if (missing > 0).any():
            cov += (means * missing[:, None]).T @ means
    if lonely_psu == "average" and lonely.any():
        # Every stratum lonely: there is no other stratum to average over; R's
        # rescaling divides by zero there too, so the variance is undefined (NaN).
        others = n_groups - int(lonely.sum())
        cov = cov * (n_groups / others) if others else np.full_like(cov, np.nan)
    return cov.reshape(k, k)


def stratified_covariance(
    totals: Any,
    strata: Any | None = None,
    *,
    n_psu: Any | None = None,
    popsize: Any | None = None,
    lonely_psu: str = "fail",
) -> np.ndarray:
    """Covariance of estimates from per-PSU score totals (sufficient statistics).

    Parameters
    ----------
    totals : array_like or scipy sparse matrix, shape (m,) or (m, k)
        Score total of each sampled PSU, one column per estimate (for domain
        estimates, one column per domain; a PSU with no member of a domain has 0
        there). PSUs may be omitted when all their totals are 0, provided ``n_psu``
        is given.
    strata : array_like, shape (m,), optional
        Stratum label of each row of ``totals``; ``None`` means one stratum.
    n_psu : array_like, shape (m,), optional
        Number of PSUs sampled in the row's stratum (R's ``fpc$sampsize``).
        Defaults to the number of rows of ``totals`` in the stratum.
    popsize : array_like, shape (m,), optional
        Number of PSUs in the population of the row's stratum (``inf`` for
        sampling with replacement). ``None``: no finite population correction.
    lonely_psu : {"fail", "remove", "adjust", "average", "certainty"}
        Rule for strata with a single sampled PSU (R's ``survey.lonely.psu``).

    Returns
    -------
    ndarray, shape (k, k)
        The covariance matrix (a 1 x 1 matrix for a single column).

    Raises
    ------
    ValueError
        On shape mismatches, non-finite totals, ``n_psu`` smaller than the PSUs
        given, an fpc below the sample size, or a lonely PSU under ``"fail"``.

    Notes
    -----
    With ``z_hi`` the total of PSU ``i`` in stratum ``h``, ``n_h`` PSUs sampled out
    of ``N_h`` and ``f_h = 1 - n_h/N_h`` (1 without fpc),

    .. math::

        \\hat V = \\sum_h f_h \\frac{n_h}{n_h - 1}
                  \\sum_{i=1}^{n_h} (z_{hi} - \\bar z_h)(z_{hi} - \\bar z_h)^T,
        \\qquad \\bar z_h = \\frac{1}{n_h}\\sum_i z_{hi},

    the with-replacement ("ultimate cluster") estimator with a first-stage fpc
    (Lumley 2010, eq. 2.4 p. 27 and sec. 3.2 p. 44; Wolter 2007, p. 11). A stratum
    with ``n_h = 1`` is handled as R's ``onestrat``: ``remove``/``certainty``
    contribute 0, ``adjust`` contributes ``f_h z_h z_h^T`` (centred at 0, as
    survey 4.1), ``average`` multiplies the sum by ``H / H_ok``.

    This function is what :func:`design_covariance` calls for each stage, so a
    total computed in SQL gives the same variance as the row-level path.
    """
    if lonely_psu not in LONELY_PSU_RULES:
        raise ValueError(
            _(
                "unknown lonely_psu rule %(rule)s; valid rules: %(rules)s",
                rule=repr(lonely_psu),
                rules=", ".join(LONELY_PSU_RULES),
            )
        )
    # scipy sparse totals (many domains, each PSU in few) stay sparse: the core has a
    # one-pass form for them
    z = sparse.csr_matrix(totals, dtype=np.float64) if sparse.issparse(totals) else totals
    z = z if sparse.issparse(z) else np.asarray(z, dtype=np.float64)
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2:
        raise ValueError(
            _("totals must be 1- or 2-dimensional, got shape %(shape)s", shape=str(z.shape))
        )
    m = z.shape[0]
    if not np.isfinite(z.data if sparse.issparse(z) else z).all():
        raise ValueError(_("totals contain missing or infinite values"))
    if strata is None:
        codes = np.zeros(m, dtype=np.int64)
        labels = np.array([1])
    else:
        s = np.asarray(strata)
        if s.shape != (m,):
            raise ValueError(
                _(
                    "%(name)s has shape %(shape)s, expected (%(m)s,)",
                    name="strata",
                    shape=str(s.shape),
                    m=m,
                )
            )
        labels, codes = np.unique(s, return_inverse=True)
    h = labels.shape[0]
    present = np.bincount(codes, minlength=h).astype(np.float64)
    n_h = present if n_psu is None else _per_stratum(n_psu, codes, h, m, "n_psu")
    if (n_h < present).any():
        raise ValueError(_("n_psu is smaller than the number of PSUs given in some stratum"))
    if popsize is None:
        f = np.ones(h)
    else:
        big_n = _per_stratum(popsize, codes, h, m, "popsize")
        if (big_n < n_h).any():
            raise ValueError(_("popsize is smaller than n_psu in some stratum"))
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(np.isinf(big_n), 1.0, (big_n - n_h) / big_n)
    return _stage_covariance(z, codes, h, n_h, f, lonely_psu, 1, group_labels=labels)


def _per_stratum(values: Any, codes: np.ndarray, h: int, m: int, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (m,):
        raise ValueError(
            _(
                "%(name)s has shape %(shape)s, expected (%(m)s,)",
                name=name,
                shape=str(v.shape),
                m=m,
            )
        )
    out = np.zeros(h)
    out[codes] = v
    if (np.abs(v - out[codes]) > 1e-9 * np.maximum(1.0, np.abs(v))).any():
        raise ValueError(_("%(name)s varies within a stratum", name=name))
    return out


def cluster_totals(design: Design, scores: np.ndarray) -> np.ndarray:
    """Residualize row scores (n x k) by the design's adjustments and sum them to
    totals of the last-stage units (n_clusters x k), in column blocks."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    last = design.stages[-1]
    if not design.adjustments:
        return group_sum(scores, last.cluster, last.n_clusters).reshape(last.n_clusters, -1)
    out = np.empty((last.n_clusters, scores.shape[1]))
    for a in range(0, scores.shape[1], _BLOCK_COLUMNS):
        block = scores[:, a : a + _BLOCK_COLUMNS]
        for adj in design.adjustments:
            block = np.asarray(adj.residualize(block, design.weights), dtype=np.float64)
            if block.shape != scores[:, a : a + _BLOCK_COLUMNS].shape:
                raise ValueError(
                    _(
                        "adjustment %(adjustment)s returned residuals of shape %(shape)s",
                        adjustment=repr(adj),
                        shape=str(block.shape),
                    )
                )
        out[:, a : a + _BLOCK_COLUMNS] = group_sum(block, last.cluster, last.n_clusters)
    return out


def covariance_from_cluster_totals(design: Design, totals: np.ndarray) -> np.ndarray:
    """Multistage covariance from totals of the last-stage units (R's ``multistage``).

    Parameters
    ----------
    design : Design
    totals : ndarray, shape (design.stages[-1].n_clusters, k)
        Score totals of each last-stage unit (already residualized).

    Notes
    -----
    The first stage contributes the stratified estimator of
    :func:`stratified_covariance`. When the design has an fpc and more than one
    stage, stage ``s`` adds, for each unit of stage ``s-1`` (its "stratum"),

    .. math:: \\prod_{t<s} \\frac{n_t}{N_t}\\; f_s \\frac{n_s}{n_s-1}
              \\sum_j (z_j - \\bar z)(z_j - \\bar z)^T,

    over its sampled sub-units ``j`` (Lumley 2010, sec. 3.2, pp. 44-46; the
    recursion of R's ``multistage``). Without fpc only the first stage counts.
    """
    stages = design.stages
    # Totals at every stage, from the last one up.
    level_totals = [totals if sparse.issparse(totals) else np.asarray(totals, dtype=np.float64)]
    for s in range(len(stages) - 1, 0, -1):
        level_totals.insert(0, group_sum(level_totals[0], stages[s].group, stages[s].n_groups))
    first = stages[0]
    cov = _stage_covariance(
        level_totals[0],
        first.group,
        first.n_groups,
        first.n_sampled,
        first.fpc_factor,
        design.lonely_psu,
        1,
        group_labels=design.strata_labels,
    )
    if not design.has_fpc or len(stages) == 1:
        return cov
    # sampling fraction of each unit's own selection, accumulated down the stages
    prev_mult = np.ones(first.n_groups)
    for s in range(1, len(stages)):
        parent_stage, stage = stages[s - 1], stages[s]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(
                np.isinf(parent_stage.popsize), 0.0, parent_stage.n_sampled / parent_stage.popsize
            )
        mult = (prev_mult * frac)[parent_stage.group]  # one per stage-(s-1) unit = group
        cov = cov + _stage_covariance(
            level_totals[s],
            stage.group,
            stage.n_groups,
            stage.n_sampled,
            stage.fpc_factor,
            design.lonely_psu,
            s + 1,
            multiplier=mult,
        )
        prev_mult = mult
    return cov


def design_covariance(design: Design, scores: Any) -> np.ndarray:
    """Covariance matrix of estimates with linearized ``scores`` (R's ``svyrecvar``).

    Parameters
    ----------
    design : Design
    scores : array_like, shape (n,) or (n, k)
        Linearized (influence) values multiplied by the weights, one column per
        estimate; 0 for rows outside an estimate's domain.

    Returns
    -------
    ndarray, shape (k, k)

    Notes
    -----
    Steps: (1) each :class:`~analysis.design.Adjustment` of the design replaces the
    scores by their residuals, in order; (2) scores are summed to unit totals at
    each stage; (3) each stage's contribution is computed by the function behind
    :func:`stratified_covariance` (see :func:`covariance_from_cluster_totals`).
    """
    z = np.asarray(scores, dtype=np.float64)
    if z.ndim == 1:
        z = z[:, None]
    if z.shape[0] != design.n:
        raise ValueError(
            _(
                "scores have %(rows)s rows, the design has %(n)s",
                rows=z.shape[0],
                n=design.n,
            )
        )
    return covariance_from_cluster_totals(design, cluster_totals(design, z))


def replicate_covariance(
    replicates: np.ndarray,
    estimate: np.ndarray,
    scale: float,
    rscales: np.ndarray,
    mse: bool,
) -> np.ndarray:
    """Replicate-weight covariance (R's ``svrVar``).

    Parameters
    ----------
    replicates : ndarray, shape (R, k)
        The estimates recomputed with each set of replicate weights.
    estimate : ndarray, shape (k,)
        The full-sample estimate.
    scale, rscales, mse
        As ``svrepdesign``: overall multiplier, per-replicate multipliers, and
        whether to centre at the full-sample estimate (``mse=True``) rather than at
        the mean of the replicates.

    Notes
    -----
    .. math:: \\hat V = c \\sum_r c_r (\\hat\\theta_r - \\tilde\\theta)
              (\\hat\\theta_r - \\tilde\\theta)^T

    with :math:`\\tilde\\theta` the mean of the replicates (over those with
    :math:`c_r > 0`) or :math:`\\hat\\theta` (Wolter 2007, eqs. 4.5.1-4.5.4,
    pp. 163-165 and 5.2.3, p. 200).
    """
    theta = np.asarray(replicates, dtype=np.float64)
    if theta.ndim == 1:
        theta = theta[:, None]
    bad = np.isnan(theta).any(axis=1)
    if bad.any():
        # as svrVar with na.action=na.omit: e.g. a replicate in which a domain has no weight
        if bad.all():
            raise ValueError(_("every replicate gave a missing estimate"))
        warnings.warn(
            _(
                "%(count)s replicates gave missing estimates and were discarded",
                count=int(bad.sum()),
            ),
            RuntimeWarning,
            stacklevel=2,
        )
        theta, rscales = theta[~bad], np.asarray(rscales)[~bad]
    if mse:
        centre = np.asarray(estimate, dtype=np.float64).reshape(-1)
    else:
        centre = theta[rscales > 0].mean(axis=0)
    dev = theta - centre
    return scale * (dev * rscales[:, None]).T @ dev
