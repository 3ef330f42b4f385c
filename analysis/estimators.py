"""Estimators: total, mean, proportion, ratio (and domain contrasts).

Every estimator is a ratio of two weighted totals, ``R_d = T_y,d / T_x,d`` in each
domain ``d`` (``x = 1`` for a mean or proportion; no denominator for a total).
The estimator computes its linearized scores

.. math:: z_i = w_i (y_i - \\hat R_d x_i) / \\hat T_{x,d}, \\quad i \\in d,

(``z_i = w_i y_i`` for a total; 0 outside the domain and for rows with a missing
value) and hands them to the single variance routine of :mod:`analysis.variance`
(linearization) -- or, for a :class:`~analysis.replicates.ReplicateDesign`,
recomputes ``R_d`` with every set of replicate weights. Domains are never
subsetted: the whole design is kept (Lumley 2010, sec. 2.3.1, pp. 28-29; R's
``svyby``/``na.rm=TRUE``).

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, ch. 2-3 (pp. 17-55).
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., sec. 6.11
(pp. 235-240, Taylor series for ratios).
Kish, L. (1965). *Survey Sampling*. Wiley, sec. 11.7 (p. 427): effective sample
size and the design effect.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, special

from analysis._text import show
from analysis.ci import ProportionInput, proportion_interval, wald_interval
from analysis.design import CERTAINTY_TOLERANCE, Design, sorted_codes
from analysis.i18n import _
from analysis.replicates import ReplicateDesign
from analysis.results import DomainEstimates, Estimate
from analysis.variance import (
    covariance_from_cluster_totals,
    group_sum,
    replicate_covariance,
)

AnyDesign = Design | ReplicateDesign

_DENSE_LIMIT = 20_000_000  # cluster x domain cells kept dense; beyond, sparse totals
_BLOCK = 32
_SPARSE_SHARE = 0.1  # below this share of non-empty (unit, domain) cells, totals are sparse


# ---------------------------------------------------------------------- inputs


def _column(design: AnyDesign, value: Any, role: str) -> tuple[np.ndarray, str]:
    """Resolve a column name (looked up in ``design.data``) or an array."""
    if isinstance(value, str):
        if design.data is None:
            raise ValueError(
                _(
                    "%(role)s %(name)s is a column name but the design has no data; "
                    "build it with Design.from_frame or pass an array",
                    role=role,
                    name=repr(value),
                )
            )
        if value not in design.data.columns:
            raise ValueError(
                _("%(role)s column %(name)s is not in the data", role=role, name=repr(value))
            )
        return design.data[value].to_numpy(), value
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != design.n:
        raise ValueError(
            _(
                "%(role)s must be a 1-d array of length %(n)s, got shape %(shape)s",
                role=role,
                n=design.n,
                shape=str(arr.shape),
            )
        )
    return arr, role


def _numeric(values: np.ndarray, name: str) -> np.ndarray:
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    try:
        return pd.to_numeric(pd.Series(values), errors="raise").to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(_("column %(name)s is not numeric", name=repr(name))) from None


@dataclass(frozen=True)
class Domains:
    """Integer domain codes (``-1``: in no domain) and their labels."""

    codes: np.ndarray
    labels: tuple[tuple[Any, ...], ...]
    names: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.labels)


def _scalar(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def domains(design: AnyDesign, by: Any | None) -> Domains:
    """Domain codes from one or more ``by`` columns (names or arrays).

    Rows with a missing ``by`` value belong to no domain (as ``svyby``). Domains are
    the observed combinations, sorted by the values of the ``by`` columns.
    """
    if by is None:
        return Domains(np.zeros(design.n, dtype=np.int64), ((),), ())
    items = (
        [by] if isinstance(by, str) or (np.ndim(by) == 1 and not _is_seq_of_cols(by)) else list(by)
    )
    codes = np.zeros(design.n, dtype=np.int64)
    valid = np.ones(design.n, dtype=bool)
    uniques_list = []
    names = []
    for j, item in enumerate(items):
        values, name = _column(design, item, f"by[{j}]")
        c, u = pd.factorize(pd.Series(values), sort=True, use_na_sentinel=True)
        valid &= c >= 0
        codes = codes * max(len(u), 1) + np.maximum(c, 0)
        uniques_list.append(np.asarray(u))
        names.append(name)
    space = int(np.prod([max(len(u), 1) for u in uniques_list], dtype=np.float64))
    if space <= _DENSE_LIMIT:  # observed combinations by counting, no sort of the rows
        observed = np.flatnonzero(np.bincount(codes[valid], minlength=space))
        lookup = np.zeros(space, dtype=np.int64)
        lookup[observed] = np.arange(observed.size)
        inverse = lookup[codes[valid]]
    else:
        inverse, observed = sorted_codes(codes[valid])
    out = np.full(design.n, -1, dtype=np.int64)
    out[valid] = inverse
    labels = []
    sizes = [max(len(u), 1) for u in uniques_list]
    for code in observed.tolist():
        parts = []
        for size in reversed(sizes):
            parts.append(code % size)
            code //= size
        labels.append(
            tuple(_scalar(u[p]) for u, p in zip(uniques_list, reversed(parts), strict=True))
        )
    if not labels:
        raise ValueError(
            _("every row has a missing value in the by column(s): no domain to estimate")
        )
    return Domains(out, tuple(labels), tuple(names))


def _is_seq_of_cols(by: Any) -> bool:
    return (
        isinstance(by, (list, tuple))
        and len(by) > 0
        and (isinstance(by[0], str) or np.ndim(by[0]) == 1)
    )


# ---------------------------------------------------------------------- core


@dataclass(frozen=True)
class _Fit:
    """Point estimates, covariance and per-domain summaries of one estimator call."""

    estimate: np.ndarray
    covariance: np.ndarray
    n: np.ndarray
    n_rows: np.ndarray
    n_eff: np.ndarray
    deff: np.ndarray
    df: np.ndarray
    var_logit: np.ndarray | None
    dispersion: np.ndarray | None = None
    var_ratio: np.ndarray | None = None


def _domain_df(design: Design, codes: np.ndarray, count: int) -> np.ndarray:
    """R's ``degf()`` of each domain subset: PSUs minus strata with a domain member."""
    member = codes >= 0
    psu = design.psu[member]
    dom = codes[member]
    n_psu, n_h = design.n_psu, design.n_strata
    if count * n_psu > _DENSE_LIMIT:
        pair_psu = sorted_codes(dom * n_psu + psu)[1]
        n_psus = np.bincount(pair_psu // n_psu, minlength=count)
        pair_h = sorted_codes(dom * n_h + design.strata[member])[1]
        return (n_psus - np.bincount(pair_h // n_h, minlength=count)).astype(np.float64)
    # which (domain, PSU) pairs occur, then which strata those PSUs are in
    pairs = np.bincount(dom * n_psu + psu, minlength=count * n_psu).reshape(count, n_psu) > 0
    in_stratum = sparse.csr_matrix(
        (np.ones(n_psu), (np.arange(n_psu), design.stages[0].group)), shape=(n_psu, n_h)
    )
    strata_hit = np.asarray(in_stratum.T @ pairs.T.astype(np.float64)) > 0
    return (pairs.sum(axis=1) - strata_hit.sum(axis=0)).astype(np.float64)


def _replicate_domain_df(design: ReplicateDesign, codes: np.ndarray, count: int) -> np.ndarray:
    """R's ``degf()`` of each domain subset of a replicate design.

    Subsetting a replicate design drops the other rows and recomputes ``degf`` as
    the rank of the remaining replicate weights minus 1 (survey 4.1,
    ``[.svyrep.design`` and ``degf.svyrep.design``); rows of one unit share their
    replicate factors, so the rank is that of the units present in the domain.
    """
    out = np.empty(count)
    member = codes >= 0
    for d in range(count):
        units = np.unique(design.index[member & (codes == d)])
        sv = np.linalg.svd(design.factors[units], compute_uv=False)
        out[d] = float((sv > 1e-5 * sv[0]).sum() - 1) if sv.size else 0.0
    return out


def _lonely_average_ratio(design: Design, codes: np.ndarray, count: int) -> np.ndarray:
    """Per-domain factor turning the whole-design ``"average"`` rescaling into R's.

    R's ``onestage`` multiplies by ``H / H_ok``, the strata present in the
    computation over those with more than one PSU. On a domain (``svyby`` without
    ``covmat``, or ``svymean`` on a subset) only the strata with a domain member are
    present; the covariance matrix (``covmat=TRUE``) uses the whole design's strata.
    Returns ``(H_d / H_ok,d) / (H / H_ok)`` for each domain (``nan`` for a domain
    lying only in lonely strata, where R's variance is ``NaN``).
    """
    first = design.stages[0]
    lonely = (first.n_sampled == 1) & (first.fpc_factor >= CERTAINTY_TOLERANCE)
    n_h = first.n_groups
    whole = n_h / (n_h - int(lonely.sum()))
    member = codes >= 0
    stratum = first.group[design.psu[member]]
    hit = np.zeros((count, n_h), dtype=bool)
    hit[codes[member], stratum] = True
    h_d = hit.sum(axis=1).astype(np.float64)
    ok_d = (hit & ~lonely[None, :]).sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok_d > 0, h_d / ok_d, np.nan) / whole


def _likelihood_dispersion(
    n: np.ndarray, sum_w: np.ndarray, w_all: np.ndarray, rows: np.ndarray, rows_used: np.ndarray
) -> np.ndarray:
    """R's quasibinomial dispersion in ``summary.svyglm`` for an intercept-only fit.

    ``svyvar`` of the Pearson residuals of ``residuals.svyglm``,
    ``(y_i - p) sqrt(a_i / b_i) / sqrt(p(1-p))``, where ``a_i`` is ``svyglm``'s prior
    weight (``w_i`` over the mean weight of all ``rows`` of the (domain) design) and
    ``b_i`` the weight over the mean weight of the ``rows_used`` (rows with a missing
    value dropped). The ratio is the constant ``c^2 = mean_used(w) / mean_all(w)``,
    and the weighted variance of ``(y - p)/sqrt(p(1-p))`` is 1, so the dispersion is
    ``c^2 n/(n-1)`` with ``n`` the rows used (``n/(n-1)`` without missing values).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        c2 = (sum_w / rows_used) / (w_all / rows)
        return c2 * n / (n - 1.0)


def _cell_sums(
    index: np.ndarray, n_units: int, dom: np.ndarray, count: int, values: np.ndarray
) -> np.ndarray | sparse.csr_matrix:
    """Sum ``values`` by (unit, domain): dense (units x D) or sparse when large."""
    if n_units * count <= _DENSE_LIMIT:
        key = index * count + dom
        flat = np.bincount(key, weights=values, minlength=n_units * count)
        cells = np.flatnonzero(np.bincount(key, minlength=n_units * count))
        if count > 1 and cells.size < _SPARSE_SHARE * flat.size:
            # most units meet few domains (e.g. desks of one unit): keep the totals sparse
            return sparse.csr_matrix(
                (flat[cells], (cells // count, cells % count)), shape=(n_units, count)
            )
        return flat.reshape(n_units, count)
    return sparse.csr_matrix((values, (index, dom)), shape=(n_units, count))


def _linearization_cov(
    design: Design, dom: np.ndarray, count: int, score: np.ndarray
) -> np.ndarray:
    """Covariance of the domain estimates from row scores ``score`` in column ``dom``."""
    last = design.stages[-1]
    if not design.adjustments:
        totals = _cell_sums(last.cluster, last.n_clusters, dom, count, score)
        return covariance_from_cluster_totals(design, totals)
    totals = np.empty((last.n_clusters, count))
    rows = np.arange(design.n)
    for a in range(0, count, _BLOCK):
        b = min(a + _BLOCK, count)
        block = np.zeros((design.n, b - a))
        inside = (dom >= a) & (dom < b)
        block[rows[inside], dom[inside] - a] = score[inside]
        for adj in design.adjustments:
            res = np.asarray(adj.residualize(block, design.weights), dtype=np.float64)
            if res.shape != block.shape:
                raise ValueError(
                    _(
                        "adjustment %(adjustment)s returned residuals of shape %(shape)s",
                        adjustment=repr(adj),
                        shape=str(res.shape),
                    )
                )
            block = res
        totals[:, a:b] = group_sum(block, last.cluster, last.n_clusters)
    return covariance_from_cluster_totals(design, totals)


def _replicate_estimates(
    design: ReplicateDesign, dom: np.ndarray, count: int, wy: np.ndarray, wx: np.ndarray | None
) -> np.ndarray:
    """Estimates (R x D) with every set of replicate weights."""
    n_units = design.factors.shape[0]
    num = _cell_sums(design.index, n_units, dom, count, wy)
    t_num = np.asarray(
        (design.factors.T @ num) if not sparse.issparse(num) else (num.T @ design.factors).T
    )
    if wx is None:
        return t_num
    den = _cell_sums(design.index, n_units, dom, count, wx)
    t_den = np.asarray(
        (design.factors.T @ den) if not sparse.issparse(den) else (den.T @ design.factors).T
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return t_num / t_den


def _weighted_var(
    u: np.ndarray,
    w: np.ndarray,
    dom: np.ndarray,
    count: int,
    n: np.ndarray,
    sw: np.ndarray,
    swu: np.ndarray | None = None,
) -> np.ndarray:
    """R's ``svyvar`` of ``u`` in each domain: sum w (u - ubar)^2 / sum w * n/(n-1).

    ``sw`` and ``swu`` are the domain sums of ``w`` and ``w u`` when already known.
    """
    if swu is None:
        swu = np.bincount(dom, weights=w * u, minlength=count)
    ubar = swu / sw
    ss = np.bincount(dom, weights=w * (u - ubar[dom]) ** 2, minlength=count)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ss / sw * n / (n - 1)


def _fit(
    design: AnyDesign,
    y: np.ndarray,
    x: np.ndarray | None,
    doms: Domains,
    statistic: str,
    label: str,
    deff_kind: bool | str = True,
) -> _Fit:
    """Estimate ``T_y/T_x`` (or ``T_y``) in every domain with its covariance."""
    count = doms.count
    active = doms.codes >= 0
    n_rows = np.bincount(doms.codes[active], minlength=count)
    active &= ~np.isnan(y)
    if x is not None:
        active &= ~np.isnan(x)
    n = np.bincount(doms.codes[active], minlength=count)
    if (n == 0).any():
        empty = doms.labels[int(np.flatnonzero(n == 0)[0])]
        if doms.names:
            raise ValueError(
                _(
                    "domain %(domain)s has no non-missing values of %(label)s: empty domain",
                    domain=show(dict(zip(doms.names, empty, strict=True))),
                    label=repr(label),
                )
            )
        raise ValueError(
            _(
                "the data has no non-missing values of %(label)s: empty domain",
                label=repr(label),
            )
        )
    dom = np.where(active, doms.codes, 0)
    w = np.where(active, design.weights, 0.0)
    yy = np.where(active, y, 0.0)
    sum_w = np.bincount(dom, weights=w, minlength=count)
    t_num = np.bincount(dom, weights=w * yy, minlength=count)
    if statistic == "total":
        est = t_num
        t_den = None
        lin = yy
    else:
        xx = np.where(active, x, 0.0) if x is not None else active.astype(np.float64)
        t_den = np.bincount(dom, weights=w * xx, minlength=count)
        if (t_den == 0).any():
            raise ValueError(
                _("the denominator of %(label)s sums to zero in a domain", label=repr(label))
            )
        est = t_num / t_den
        lin = (yy - est[dom] * xx) / t_den[dom]
    var_logit = None
    if isinstance(design, ReplicateDesign):
        reps = _replicate_estimates(
            design,
            dom,
            count,
            w * yy,
            None
            if t_den is None
            else w * (np.where(active, x, 0.0) if x is not None else active.astype(np.float64)),
        )
        cov = replicate_covariance(reps, est, design.scale, design.rscales, design.mse)
        if statistic == "proportion":
            # a replicate in which a domain is all 0 or all 1 has an infinite logit:
            # the logit variance is then inf or nan (R's svyglm does not converge)
            with np.errstate(divide="ignore", invalid="ignore"):
                lr = special.logit(reps)
                var_logit = np.diag(
                    replicate_covariance(
                        lr, special.logit(est), design.scale, design.rscales, design.mse
                    )
                )
        df = (
            np.full(count, float(design.degf))
            if not doms.names
            else _replicate_domain_df(design, doms.codes, count)
        )
        var_ratio = np.ones(count)
    else:
        cov = _linearization_cov(design, dom, count, w * lin)
        df = (
            np.full(count, float(design.degf))
            if not doms.names
            else _domain_df(design, doms.codes, count)
        )
        var_ratio = np.ones(count)
        if doms.names and design.lonely_psu == "average":
            var_ratio = _lonely_average_ratio(design, doms.codes, count)
    # design effect against simple random sampling of the same size (svymean/svytotal deff)
    if statistic == "ratio":
        s2 = _weighted_var(lin, w, dom, count, n.astype(float), sum_w)
    else:
        s2 = _weighted_var(yy, w, dom, count, n.astype(float), sum_w, t_num)
    with np.errstate(divide="ignore", invalid="ignore"):
        srs = s2 / n
        if statistic != "mean" and statistic != "proportion":
            srs = srs * sum_w**2
        if deff_kind != "replace":
            srs = np.where(sum_w >= n, srs * (sum_w - n) / sum_w, np.nan)
        deff = np.diag(cov) * var_ratio / srs
        n_eff = sum_w**2 / np.bincount(dom, weights=w * w, minlength=count)
    dispersion = None
    if statistic == "proportion":
        # the rows of the design svyglm sees: the domain's rows when svyby drops the
        # others (an uncalibrated design), else every row of the design (a calibrated
        # design keeps them with weight 0)
        all_rows = doms.codes >= 0
        w_all = np.bincount(doms.codes[all_rows], weights=design.weights[all_rows], minlength=count)
        subset_rows = bool(doms.names) and not getattr(design, "adjustments", ())
        rows = n_rows.astype(np.float64) if subset_rows else np.full(count, float(design.n))
        rows_used = rows - (n_rows - n)
        dispersion = _likelihood_dispersion(n.astype(float), sum_w, w_all, rows, rows_used)
    return _Fit(est, cov, n, n_rows, n_eff, deff, df, var_logit, dispersion, var_ratio)


def _package(
    fit: _Fit,
    doms: Domains,
    *,
    statistic: str,
    variable: str,
    level: float,
    ci_method: str,
    design: AnyDesign,
) -> Estimate | DomainEstimates:
    # R's svyby subsets an uncalibrated design by dropping rows (nrow = domain rows, used
    # by Korn-Graubard's n); a calibrated/post-stratified one keeps every row.
    subset_rows = bool(doms.names) and not getattr(design, "adjustments", ())
    estimates = []
    for d, label in enumerate(doms.labels):
        value = float(fit.estimate[d])
        var = float(fit.covariance[d, d])
        if fit.var_ratio is not None:
            var *= float(fit.var_ratio[d])
        se = math.sqrt(var) if var >= 0 else math.nan
        df = float(fit.df[d])
        if statistic == "proportion":
            lo, hi = proportion_interval(
                ci_method,
                ProportionInput(
                    p=value,
                    var=var,
                    df=df,
                    n_rows=int(fit.n_rows[d]) if subset_rows else design.n,
                    level=level,
                    var_logit=None if fit.var_logit is None else float(fit.var_logit[d]),
                    n_used=int(fit.n[d]),
                    dispersion=None if fit.dispersion is None else float(fit.dispersion[d]),
                ),
            )
        else:
            lo, hi = wald_interval(value, se, df, level, ci_method)
        estimates.append(
            Estimate(
                value=value,
                se=se,
                ci_low=float(lo),
                ci_high=float(hi),
                df=df,
                deff=float(fit.deff[d]),
                n=int(fit.n[d]),
                n_eff=float(fit.n_eff[d]),
                level=level,
                ci_method=ci_method,
                statistic=statistic,
                variable=variable,
                by=dict(zip(doms.names, label, strict=True)),
            )
        )
    if not doms.names:
        return estimates[0]
    return DomainEstimates(
        estimates=tuple(estimates),
        by=doms.names,
        labels=doms.labels,
        covariance=fit.covariance,
        df=float(design.degf),
    )


def _run(
    design: AnyDesign,
    y: np.ndarray,
    x: np.ndarray | None,
    by: Any,
    *,
    statistic: str,
    variable: str,
    level: float,
    ci_method: str,
    deff: bool | str = True,
) -> Estimate | DomainEstimates:
    if not isinstance(design, (Design, ReplicateDesign)):
        raise ValueError(
            _(
                "design must be a Design or ReplicateDesign, got %(type)s",
                type=type(design).__name__,
            )
        )
    if deff is not True and deff != "replace":
        raise ValueError(_("deff must be True or 'replace', got %(deff)s", deff=repr(deff)))
    doms = domains(design, by)
    fit = _fit(design, y, x, doms, statistic, variable, deff)
    return _package(
        fit,
        doms,
        statistic=statistic,
        variable=variable,
        level=level,
        ci_method=ci_method,
        design=design,
    )


def _of_column(
    design: AnyDesign,
    y: Any,
    by: Any,
    *,
    statistic: str,
    level: float,
    ci_method: str,
    deff: bool | str,
) -> Estimate | DomainEstimates:
    """:func:`_run` on the numeric column ``y`` (a name or an array), named after it."""
    values, name = _column(design, y, "y")
    return _run(
        design,
        _numeric(values, name),
        None,
        by,
        statistic=statistic,
        variable=name,
        level=level,
        ci_method=ci_method,
        deff=deff,
    )


# ---------------------------------------------------------------------- public API


def total(
    design: AnyDesign,
    y: Any,
    *,
    by: Any | None = None,
    level: float = 0.95,
    ci_method: str = "t",
    deff: bool | str = True,
) -> Estimate | DomainEstimates:
    """Estimated population total of ``y`` (R's ``svytotal(~y, design, na.rm=TRUE)``).

    Parameters
    ----------
    design : Design or ReplicateDesign
    y : str or array_like
        Column name in ``design.data`` or an array of length ``design.n``; missing
        values are excluded as R's ``na.rm=TRUE`` (the design is kept).
    by : str, array_like or sequence of them, optional
        Domain column(s); returns :class:`DomainEstimates` with the joint covariance.
    level : float
        Confidence level.
    ci_method : {"t", "normal"}
        ``t`` uses the design degrees of freedom.
    deff : True or "replace"
        The design effect's reference: ``True`` (default, R's ``deff=TRUE``) is simple
        random sampling of ``n`` rows *without* replacement from a population of
        ``hat N = sum w`` (factor ``1 - n/hat N``), whatever the design's fpc;
        ``"replace"`` is sampling with replacement (R's ``deff="replace"``).

    Returns
    -------
    Estimate or DomainEstimates

    Notes
    -----
    :math:`\\hat T = \\sum_i w_i y_i`, score :math:`z_i = w_i y_i` (Lumley 2010,
    eq. 2.1, p. 19). The design effect compares with simple random sampling of
    ``n`` rows, :math:`\\hat N^2 s^2_w / n` times ``(1 - n/hat N)`` (R's ``deff=TRUE``,
    with or without fpc), or without that factor for ``deff="replace"``.

    Domains (``by=``) follow ``svyby``: a domain's interval uses ``degf()`` of the
    domain's subset (PSUs minus strata with a domain member; on a replicate design
    the rank of the domain's replicate weights minus 1). Under
    ``lonely_psu="average"`` a domain's ``se`` rescales by the strata present in the
    domain (R's ``onestage`` on the subset: strata present over those with more than
    one PSU; ``nan`` for a domain only in lonely strata), while
    ``DomainEstimates.covariance`` rescales by all strata of the design, as
    ``vcov(svyby(..., covmat=TRUE))``; there ``se**2`` can differ from the diagonal.
    """
    return _of_column(design, y, by, statistic="total", level=level, ci_method=ci_method, deff=deff)


def mean(
    design: AnyDesign,
    y: Any,
    *,
    by: Any | None = None,
    level: float = 0.95,
    ci_method: str = "t",
    deff: bool | str = True,
) -> Estimate | DomainEstimates:
    """Estimated population mean of ``y`` (R's ``svymean``, the Hájek ratio estimator).

    Parameters are as :func:`total`.

    Notes
    -----
    :math:`\\hat{\\bar y} = \\sum w_i y_i / \\sum w_i`, score
    :math:`z_i = w_i (y_i - \\hat{\\bar y}) / \\sum w_i` (Lumley 2010, sec. 2.2,
    p. 20). ``deff`` is :math:`\\hat V / (s^2_w/n \\cdot (1 - n/\\hat N))` (R's
    ``deff=TRUE``, with or without an fpc) and :math:`\\hat V / (s^2_w / n)` for
    ``deff="replace"`` (Kish 1965, p. 258).
    """
    return _of_column(design, y, by, statistic="mean", level=level, ci_method=ci_method, deff=deff)


def proportion(
    design: AnyDesign,
    y: Any,
    *,
    level_value: Any | None = None,
    by: Any | None = None,
    level: float = 0.95,
    ci_method: str = "logit",
    deff: bool | str = True,
) -> Estimate | DomainEstimates:
    """Estimated population proportion (R's ``svyciprop``).

    Parameters
    ----------
    design : Design or ReplicateDesign
    y : str or array_like
        A binary column (0/1 or booleans), or a categorical column together with
        ``level_value``.
    level_value : optional
        The category whose proportion is estimated (``y == level_value``). A string
        is converted to a number when ``y`` is numeric.
    by, level, deff
        As :func:`total`.
    ci_method : str
        One of :data:`analysis.ci.PROPORTION_METHODS`: ``logit`` (default, as R),
        ``likelihood``, ``asin``, ``beta`` (Korn-Graubard), ``mean``, ``xlogit``,
        ``wilson``.

    Raises
    ------
    ValueError
        If ``y`` is not binary and no ``level_value`` is given, or the level does
        not occur, or the method is unknown.

    Notes
    -----
    The point estimate and variance are those of the mean of the indicator. The
    interval's degrees of freedom are R's ``degf()`` of the design (of the domain's
    subset for ``by=``, as ``svyby(..., svyciprop)``), and ``beta`` uses
    ``nrow`` of the design or domain including rows with a missing value.
    """
    values, name = _column(design, y, "y")
    series = pd.Series(values)
    missing = series.isna().to_numpy()
    if level_value is None:
        numeric = (
            _numeric(values, name)
            if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
            else None
        )
        if numeric is None:
            raise ValueError(
                _("column %(name)s is not binary; pass the level to estimate", name=repr(name))
            )
        seen = np.unique(numeric[~missing])
        if not np.isin(seen, (0.0, 1.0)).all():
            raise ValueError(
                _(
                    "column %(name)s is not binary (values %(values)s); "
                    "pass the level whose proportion is wanted",
                    name=repr(name),
                    values=str(seen[:6].tolist()),
                )
            )
        indicator = numeric
        variable = name
    else:
        target = level_value
        if isinstance(level_value, str) and series.dtype.kind in "biuf":
            try:
                target = float(level_value)
            except ValueError:
                raise ValueError(
                    _(
                        "level %(level)s is not a value of numeric column %(name)s",
                        level=repr(level_value),
                        name=repr(name),
                    )
                ) from None
        hit = (series == target).to_numpy()
        if not hit.any():
            raise ValueError(
                _(
                    "level %(level)s does not occur in column %(name)s",
                    level=repr(level_value),
                    name=repr(name),
                )
            )
        indicator = np.where(missing, np.nan, hit.astype(np.float64))
        variable = f"{name}={level_value}"
    return _run(
        design,
        indicator,
        None,
        by,
        statistic="proportion",
        variable=variable,
        level=level,
        ci_method=ci_method,
        deff=deff,
    )


def ratio(
    design: AnyDesign,
    numerator: Any,
    denominator: Any,
    *,
    by: Any | None = None,
    level: float = 0.95,
    ci_method: str = "t",
    deff: bool | str = True,
) -> Estimate | DomainEstimates:
    """Ratio of two population totals (R's ``svyratio``).

    Parameters
    ----------
    numerator, denominator : str or array_like
        Columns; rows where either is missing are excluded (domain style).
    by, level, ci_method, deff
        As :func:`total`.

    Notes
    -----
    :math:`\\hat R = \\hat T_y / \\hat T_x`, score
    :math:`z_i = w_i (y_i - \\hat R x_i) / \\hat T_x` (Lumley 2010, sec. 3.3,
    pp. 50-53; Wolter 2007, p. 235). ``deff`` is that of the total of the
    linearized variable, as R's ``svyratio(deff=TRUE)``.
    """
    num, nname = _column(design, numerator, "numerator")
    den, dname = _column(design, denominator, "denominator")
    return _run(
        design,
        _numeric(num, nname),
        _numeric(den, dname),
        by,
        statistic="ratio",
        variable=f"{nname}/{dname}",
        level=level,
        ci_method=ci_method,
        deff=deff,
    )


def contrast(
    result: DomainEstimates,
    coefficients: Sequence[float] | Mapping[Any, float] | np.ndarray,
    *,
    level: float = 0.95,
    df: float | None = None,
    ci_method: str = "t",
    name: str = "contrast",
) -> Estimate:
    """A linear combination of domain estimates with its standard error (``svycontrast``).

    Parameters
    ----------
    result : DomainEstimates
        Output of an estimator called with ``by=``.
    coefficients : sequence of float or mapping
        One coefficient per domain (in ``result.labels`` order), or a mapping from
        domain label (tuple, or scalar for one ``by`` column) to coefficient; absent
        domains get 0.
    level, ci_method
        Interval settings; ``t`` uses ``df``.
    df : float, optional
        Degrees of freedom; default ``result.df`` (the whole design's ``degf``).

    Returns
    -------
    Estimate
        ``value = c' theta``, ``se = sqrt(c' V c)``; ``n`` counts the rows of the
        domains involved; ``deff`` and ``n_eff`` are ``nan``.

    Notes
    -----
    Correct because ``V`` is the joint covariance of the domain estimates from the
    same scores (Lumley 2010, sec. 2.3.1, p. 29; Wolter 2007, p. 230).
    """
    if not isinstance(result, DomainEstimates):
        raise ValueError(_("contrast needs domain estimates (call the estimator with by=)"))
    size = len(result)
    if isinstance(coefficients, Mapping):
        c = np.zeros(size)
        for key, value in coefficients.items():
            c[result.index(key)] = float(value)
    else:
        c = np.asarray(coefficients, dtype=np.float64)
        if c.shape != (size,):
            raise ValueError(
                _(
                    "need %(size)s coefficients (one per domain), got shape %(shape)s",
                    size=size,
                    shape=str(c.shape),
                )
            )
    if not np.isfinite(c).all():
        raise ValueError(_("contrast coefficients must be finite"))
    value = float(c @ result.values)
    var = float(c @ result.covariance @ c)
    se = math.sqrt(max(var, 0.0))
    use_df = result.df if df is None else float(df)
    lo, hi = wald_interval(value, se, use_df, level, ci_method)
    n = int(sum(e.n for e, ci in zip(result.estimates, c, strict=True) if ci != 0))
    return Estimate(
        value=value,
        se=se,
        ci_low=lo,
        ci_high=hi,
        df=use_df,
        deff=math.nan,
        n=n,
        n_eff=math.nan,
        level=level,
        ci_method=ci_method,
        statistic="contrast",
        variable=name,
        by={},
    )
