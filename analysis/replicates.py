"""Replicate-weight designs: JK1, JKn, Rao-Wu bootstrap and user-supplied weights.

A :class:`ReplicateDesign` stores replicate weights compactly as multipliers of the
full-sample weights, one row per *unit* (a PSU for weights built from a design, a
row for user-supplied weights): the weight of row ``i`` in replicate ``r`` is
``weights[i] * factors[index[i], r]``. Estimators compute the per-unit sums of the
analysed variable once and obtain every replicate estimate with one matrix
product, then :func:`analysis.variance.replicate_covariance` (R's ``svrVar``).

References
----------
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer:
ch. 4 (the jackknife, pp. 151-193, JK1 eq. 4.2.3 p. 153, JKn eq. 4.5.4 p. 174) and
ch. 5 (the bootstrap, pp. 194-219; Rao-Wu rescaling pp. 206-210).
Rao, J. N. K. & Wu, C. F. J. (1988). Resampling inference with complex survey
data. *JASA* 83, 231-241.
Lumley, T. (2010). *Complex Surveys*. Wiley, sec. 2.5 (pp. 32-38).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.design import Design, _check_weights
from analysis.i18n import _

REPLICATE_TYPES: tuple[str, ...] = ("JK1", "JKn", "bootstrap", "BRR", "other")
"""Replicate types accepted for user-supplied weights (as ``svrepdesign(type=)``)."""


@dataclass(frozen=True, eq=False)
class ReplicateDesign:
    """A design with replicate weights (R's ``svrepdesign``), frozen.

    Attributes
    ----------
    weights : ndarray, shape (n,)
        Full-sample weights.
    factors : ndarray, shape (m, R)
        Replicate multipliers per unit.
    index : ndarray of int64, shape (n,)
        Unit (row of ``factors``) of each row.
    scale : float
        Overall variance multiplier (R's ``scale``).
    rscales : ndarray, shape (R,)
        Per-replicate multipliers (R's ``rscales``).
    mse : bool
        Centre replicates at the full-sample estimate instead of their mean.
    degf : int
        Degrees of freedom (R: rank of the replicate weights minus 1, unless given).
    type : str
        ``"JK1"``, ``"JKn"``, ``"bootstrap"``, ``"BRR"`` or ``"other"``.
    data : pandas.DataFrame or None
        Analysis variables for estimators that take column names.
    names : dict
        Column names for messages and :meth:`describe`.
    """

    weights: np.ndarray
    factors: np.ndarray
    index: np.ndarray
    scale: float
    rscales: np.ndarray
    mse: bool
    degf: int
    type: str
    data: pd.DataFrame | None = None
    names: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.weights.shape[0])

    @property
    def n_replicates(self) -> int:
        """Number of replicates ``R``."""
        return int(self.factors.shape[1])

    def replicate_weights(self) -> np.ndarray:
        """The full (n x R) matrix of replicate weights (memory: n*R floats)."""
        return self.weights[:, None] * self.factors[self.index]

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable summary."""
        return {
            "type": "replicate",
            "replicate_type": self.type,
            "n": self.n,
            "n_replicates": self.n_replicates,
            "scale": float(self.scale),
            "mse": self.mse,
            "degf": int(self.degf),
            "sum_weights": float(self.weights.sum()),
        }


def _rank_degf(factors: np.ndarray) -> int:
    """R's ``degf`` for replicate designs: numerical rank of the weights minus 1."""
    s = np.linalg.svd(factors, compute_uv=False)
    return int((s > 1e-5 * s[0]).sum()) - 1 if s.size else 0


def _from_design(
    design: Design, factors: np.ndarray, scale: float, rscales: np.ndarray, kind: str
) -> ReplicateDesign:
    """Replicate design over the first-stage units of ``design``."""
    return ReplicateDesign(
        weights=design.weights,
        factors=factors,
        index=design.psu,
        scale=float(scale),
        rscales=rscales,
        mse=False,
        degf=_rank_degf(factors),
        type=kind,
        data=design.data,
        names=dict(design.names),
    )


def _psu_strata(design: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratum of each PSU, PSUs per stratum and fpc factor ``1 - n/N`` per stratum."""
    first = design.stages[0]
    return first.group, first.n_sampled, first.fpc_factor


def jk1(design: Design) -> ReplicateDesign:
    """Delete-one-PSU jackknife for an unstratified design (``as.svrepdesign(type="JK1")``).

    Notes
    -----
    Replicate ``r`` drops PSU ``r`` and multiplies the others by ``n/(n-1)``;
    ``scale = (1 - n/N) (n-1)/n`` (``1 - n/N`` = 1 without fpc), ``rscales = 1``
    (Wolter 2007, eq. 4.2.3, p. 153).

    Raises
    ------
    ValueError
        If the design is stratified (use :func:`jkn`).
    """
    if design.has_strata:
        raise ValueError(_("JK1 needs an unstratified design; use jkn() for a stratified one"))
    fpc = _psu_strata(design)[2]
    n = design.n_psu
    factors = np.full((n, n), n / (n - 1.0))
    np.fill_diagonal(factors, 0.0)
    return _from_design(design, factors, fpc[0] * (n - 1) / n, np.ones(n), "JK1")


def jkn(design: Design) -> ReplicateDesign:
    """Stratified delete-one-PSU jackknife (``as.svrepdesign(type="JKn")``).

    Notes
    -----
    One replicate per PSU ``j`` of stratum ``h``: PSU ``j`` gets 0, the other PSUs
    of ``h`` get ``n_h/(n_h-1)``, PSUs of other strata keep 1;
    ``rscales_r = (1 - n_h/N_h)(n_h-1)/n_h`` and ``scale = 1`` (Wolter 2007,
    eq. 4.5.4, p. 174). Fully sampled strata (``N_h = n_h``) get no replicate.
    A stratum with a single PSU follows ``design.lonely_psu`` as R's
    ``jknweights``: ``remove``/``certainty`` drop it, ``average`` also multiplies
    ``scale`` by #PSUs/#replicates, ``adjust`` adds one replicate that sets the
    stratum to 0 and multiplies all other PSUs by ``H/(H-1)`` with
    ``rscales = (H-1)/H``.

    Raises
    ------
    ValueError
        If the design is unstratified (use :func:`jk1`) or every stratum is fully
        sampled.
    """
    if not design.has_strata:
        raise ValueError(_("JKn needs a stratified design; use jk1() or bootstrap()"))
    stratum, n_h, fpc = _psu_strata(design)
    h_count = n_h.shape[0]
    npsu = stratum.shape[0]
    keep = fpc[stratum] != 0  # one replicate per PSU, except in fully sampled strata
    lonely = (n_h == 1)[stratum] & keep
    normal = keep & ~lonely
    rep_psu = np.flatnonzero(normal)
    rep_h = stratum[rep_psu]
    same = stratum[:, None] == rep_h[None, :]
    with np.errstate(divide="ignore"):
        inflate = n_h / (n_h - 1.0)
    factors = np.where(same, inflate[rep_h][None, :], 1.0)
    factors[rep_psu, np.arange(rep_psu.size)] = 0.0
    rscales = fpc[rep_h] * (n_h[rep_h] - 1) / n_h[rep_h]
    scale = 1.0
    if lonely.any():
        rule = design.lonely_psu
        if rule == "adjust":
            lone_h = stratum[np.flatnonzero(lonely)]
            extra = np.where(stratum[:, None] == lone_h[None, :], 0.0, h_count / (h_count - 1.0))
            factors = np.hstack([factors, extra])
            rscales = np.concatenate([rscales, np.full(lone_h.size, (h_count - 1.0) / h_count)])
        elif rule == "average":
            scale = npsu / factors.shape[1]
    if factors.shape[1] == 0:
        raise ValueError(_("all strata were fully sampled: the design has no sampling variance"))
    return _from_design(design, factors, scale, rscales, "JKn")


def bootstrap(
    design: Design,
    replicates: int = 50,
    *,
    seed: int | np.random.Generator | None = None,
) -> ReplicateDesign:
    """Rao-Wu rescaling bootstrap of first-stage units.

    Parameters
    ----------
    design : Design
    replicates : int
        Number of bootstrap replicates ``R`` (at least 2).
    seed : int or numpy.random.Generator, optional
        Seed of a *local* generator (``numpy.random.default_rng(seed)``); the global
        NumPy state is never touched.

    Notes
    -----
    In each replicate and stratum ``h``, ``m_h = n_h - 1`` PSUs are drawn with
    replacement; PSU ``i`` drawn ``m*_hi`` times gets the multiplier

    .. math:: 1 - \\lambda_h + \\lambda_h \\frac{n_h}{m_h} m^*_{hi}, \\qquad
              \\lambda_h = \\sqrt{m_h (1 - n_h/N_h) / (n_h - 1)},

    (Rao & Wu 1988; Wolter 2007, pp. 206-210), which is ``n_h/(n_h-1) m*_hi``
    without fpc. The variance is ``1/(R-1) sum_r (theta_r - mean theta)^2``
    (``scale = 1/(R-1)``, ``rscales = 1``), as R's ``svrepdesign(type="bootstrap")``
    computes it from such weights. Strata with a single PSU keep multiplier 1 (no
    contribution). Only the first stage is resampled. R's own ``bootweights`` draws
    ``n_h`` PSUs and rescales the variance instead; its random numbers differ anyway,
    so golden tests compare bootstrap variances through user-supplied weights.
    """
    if replicates < 2:
        raise ValueError(
            _("replicates must be at least 2, got %(replicates)s", replicates=replicates)
        )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    stratum, n_h, fpc = _psu_strata(design)
    npsu = stratum.shape[0]
    order = np.argsort(stratum, kind="stable")  # PSUs grouped by stratum
    start = np.concatenate([[0], np.cumsum(n_h)[:-1]]).astype(np.int64)
    m_h = np.maximum(n_h - 1, 0).astype(np.int64)
    slot_h = np.repeat(np.arange(n_h.shape[0]), m_h)  # stratum of each draw
    draws = rng.random((replicates, slot_h.size))
    size = n_h.astype(np.int64)[slot_h]
    pos = start[slot_h] + np.minimum((draws * size).astype(np.int64), size - 1)
    psu = order[pos]
    rep = np.repeat(np.arange(replicates), slot_h.size)
    counts = np.bincount(rep * npsu + psu.ravel(), minlength=replicates * npsu)
    counts = counts.reshape(replicates, npsu).T.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.sqrt(np.where(n_h > 1, m_h * fpc / (n_h - 1), 0.0))
        ratio = np.where(m_h > 0, n_h / m_h, 0.0)
    factors = 1 - lam[stratum][:, None] + (lam * ratio)[stratum][:, None] * counts
    return _from_design(design, factors, 1.0 / (replicates - 1), np.ones(replicates), "bootstrap")


def from_replicate_weights(
    weights: Any,
    repweights: Any,
    *,
    type: str = "other",
    scale: float | None = None,
    rscales: Any | None = None,
    mse: bool = False,
    combined_weights: bool = True,
    degf: int | None = None,
    data: pd.DataFrame | None = None,
) -> ReplicateDesign:
    """A replicate design from user-supplied replicate weights (R's ``svrepdesign``).

    Parameters
    ----------
    weights : array_like, shape (n,)
        Full-sample weights.
    repweights : array_like, shape (n, R)
        Replicate weights: complete weights if ``combined_weights`` (R's default),
        otherwise multipliers of ``weights``.
    type : {"JK1", "JKn", "bootstrap", "BRR", "other"}
        Fills in ``scale``/``rscales`` when omitted, as R: JK1 ``(R-1)/R``,
        bootstrap ``1/(R-1)``, BRR ``1/R``, other 1; ``rscales`` default 1 (JKn
        requires them).
    scale, rscales, mse
        As ``svrepdesign``.
    degf : int, optional
        Degrees of freedom; default: numerical rank of the replicate weights - 1.
    data : pandas.DataFrame, optional

    Raises
    ------
    ValueError
        For bad weights, shapes, missing or negative replicate weights, an unknown
        type, or JKn without ``rscales``.
    """
    if type not in REPLICATE_TYPES:
        raise ValueError(
            _(
                "unknown replicate type %(type)s; valid types: %(types)s",
                type=repr(type),
                types=", ".join(REPLICATE_TYPES),
            )
        )
    w = _check_weights(weights, None, "weights")
    rw = np.asarray(repweights, dtype=np.float64)
    if rw.ndim != 2 or rw.shape[0] != w.shape[0]:
        raise ValueError(
            _(
                "repweights must have shape (%(n)s, R), got %(shape)s",
                n=w.shape[0],
                shape=str(rw.shape),
            )
        )
    n_rep = rw.shape[1]
    if n_rep < 2:
        raise ValueError(_("at least two replicate weights are needed"))
    if not np.isfinite(rw).all():
        raise ValueError(_("repweights have missing or infinite values"))
    if (rw < 0).any():
        raise ValueError(_("repweights have negative values"))
    factors = rw / w[:, None] if combined_weights else rw
    if scale is None:
        scale = {"JK1": (n_rep - 1) / n_rep, "bootstrap": 1 / (n_rep - 1), "BRR": 1 / n_rep}.get(
            type, 1.0
        )
    if rscales is None:
        if type == "JKn":
            raise ValueError(_("rscales must be given for JKn replicate weights"))
        rs = np.ones(n_rep)
    else:
        rs = np.broadcast_to(np.asarray(rscales, dtype=np.float64), (n_rep,)).copy()
    if degf is None:
        gram = factors.T @ factors
        ev = np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0, None))
        degf = int((ev > 1e-5 * ev.max()).sum()) - 1
    return ReplicateDesign(
        weights=w,
        factors=factors,
        index=np.arange(w.shape[0], dtype=np.int64),
        scale=float(scale),
        rscales=rs,
        mse=bool(mse),
        degf=int(degf),
        type=type,
        data=data,
        names={"weights": "weights"},
    )


def replicate_design_from_frame(
    frame: pd.DataFrame,
    *,
    weights: str,
    repweights: Sequence[str],
    **kwargs: Any,
) -> ReplicateDesign:
    """:func:`from_replicate_weights` with column names of ``frame``."""
    missing = [c for c in [weights, *repweights] if c not in frame.columns]
    if missing:
        raise ValueError(
            _("columns not in the data: %(names)s", names=", ".join(map(repr, missing)))
        )
    rep = from_replicate_weights(
        frame[weights].to_numpy(), frame[list(repweights)].to_numpy(), data=frame, **kwargs
    )
    return ReplicateDesign(**{**rep.__dict__, "names": {"weights": weights}})
