"""Variance adjustments for post-stratified, raked and calibrated weights.

After weighting to population information, R's ``survey`` package does not
estimate the variance from the estimator's linearized scores ``z_i`` directly but
from their residuals on the auxiliary information, the "calibration residual"
approach of Deville & Särndal (1992, sec. 3) and Lumley (2010, sec. 7.1-7.4).
R keeps one entry per weighting step in ``design$postStrata`` and ``svyrecvar``
applies them in order before the usual multistage variance. Each class below is
one such entry; its :meth:`residualize` maps an ``n x k`` matrix of weighted
scores (R's ``x``: ``w_i`` times the influence of unit ``i``, zero outside a
domain) to the matrix that enters the variance routine.

All three classes keep the weights R stores with the entry, so they apply the
same projection whatever later steps (another adjustment, trimming, a domain's
zero weights) do to the analysis weights, exactly as R does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.i18n import N_, _

__all__ = ["Calibration", "PostStratification", "Raking", "group_sums"]

#: Passes of within-margin centring R's ``svyrecvar`` applies for a raked design.
RAKING_VARIANCE_PASSES = 10


def group_sums(codes: NDArray[np.int64], x: NDArray[np.float64], ncells: int) -> np.ndarray:
    """Column sums of ``x`` (``n x k``) within groups ``codes``: a ``ncells x k`` array.

    One :func:`numpy.bincount` over the flattened index ``code * k + column``.
    """
    k = x.shape[1]
    index = (codes[:, None] * k + np.arange(k)[None, :]).ravel()
    return np.bincount(index, weights=x.ravel(), minlength=ncells * k).reshape(ncells, k)


def _as_matrix(scores: ArrayLike) -> tuple[NDArray[np.float64], bool]:
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim == 1:
        return x[:, None], True
    if x.ndim != 2:
        raise ValueError(
            _(
                "scores must be a vector or an n x k matrix, got shape %(shape)s",
                shape=str(x.shape),
            )
        )
    return x, False


def _check_rows(x: NDArray[np.float64], n: int, message: str) -> None:
    """Raise ``message`` (marked with :func:`N_`; ``%(rows)s``, ``%(n)s``) on a row mismatch."""
    if x.shape[0] != n:
        raise ValueError(_(message, rows=x.shape[0], n=n))


@dataclass(frozen=True, eq=False)
class PostStratification:
    """Post-stratification entry, as ``postStratify`` stores it for ``svyrecvar``.

    Attributes
    ----------
    codes : ndarray of int
        Post-stratum of each unit.
    old_weights, weights : ndarray
        Weights before and after post-stratification.

    Notes
    -----
    With ``x_i`` the weighted score, ``w^0`` the weights before and ``w`` after
    post-stratification, the residual is

    .. math:: e_i = x_i - w_i \\bar u_c, \\qquad
              \\bar u_c = \\frac{\\sum_{j \\in c} w^0_j x_j / w_j}{\\sum_{j \\in c} w^0_j},

    i.e. ``x_i / w_i`` centred at its ``w^0``-weighted mean in the unit's cell
    (R ``survey`` 4.1, ``svyrecvar``; Lumley 2010, sec. 7.2; Särndal, Swensson &
    Wretman 1992, sec. 7.6).
    """

    codes: NDArray[np.int64] = field(repr=False)
    old_weights: NDArray[np.float64] = field(repr=False)
    weights: NDArray[np.float64] = field(repr=False)

    @property
    def ncells(self) -> int:
        return int(self.codes.max()) + 1

    def residualize(self, scores: ArrayLike, weights: ArrayLike | None = None) -> np.ndarray:
        """Residuals of weighted ``scores`` (``n`` or ``n x k``) on the post-strata.

        ``weights`` (the design's current weights) is accepted for the protocol and
        not used: R uses the weights stored with the entry.
        """
        x, vector = _as_matrix(scores)
        _check_rows(
            x,
            self.codes.size,
            N_("scores have %(rows)s rows but the post-stratification has %(n)s units"),
        )
        psw = self.weights
        oldw = self.old_weights
        k = self.ncells
        sums = group_sums(self.codes, x * (oldw / psw)[:, None], k)
        totals = np.bincount(self.codes, weights=oldw, minlength=k)
        means = sums / np.where(totals == 0, 1.0, totals)[:, None]
        out = x - means[self.codes] * psw[:, None]
        return out[:, 0] if vector else out


@dataclass(frozen=True, eq=False)
class Raking:
    """Raking entry, as ``rake`` stores it (class ``"raking"``) for ``svyrecvar``.

    Attributes
    ----------
    margins : tuple of (codes, weights)
        For each margin, the cell of each unit and the weights just after that
        margin was matched in the last raking pass.

    Notes
    -----
    The projection on the span of all margins' indicators is approximated by
    ``RAKING_VARIANCE_PASSES`` (10) passes of alternating within-margin centring,

    .. math:: x \\leftarrow x - w^{(m)} \\, \\mathrm{ave}_m(x / w^{(m)}),

    where ``ave_m`` is the unweighted mean within the unit's cell of margin ``m``
    (R ``survey`` 4.1, ``svyrecvar``; Lumley 2010, sec. 7.3).
    """

    margins: tuple[tuple[NDArray[np.int64], NDArray[np.float64]], ...] = field(repr=False)
    passes: int = RAKING_VARIANCE_PASSES

    def residualize(self, scores: ArrayLike, weights: ArrayLike | None = None) -> np.ndarray:
        """Residuals of weighted ``scores`` after the raking passes; ``weights`` unused."""
        x, vector = _as_matrix(scores)
        x = x.copy()
        prepared = []
        for codes, psw in self.margins:
            _check_rows(
                x,
                codes.size,
                N_("scores have %(rows)s rows but the raking margin has %(n)s units"),
            )
            k = int(codes.max()) + 1
            counts = np.bincount(codes, minlength=k).astype(np.float64)
            prepared.append((codes, psw, k, 1.0 / np.where(counts == 0, 1.0, counts)))
        for _unused in range(self.passes):
            for codes, psw, k, inv_counts in prepared:
                means = group_sums(codes, x / psw[:, None], k) * inv_counts[:, None]
                x -= psw[:, None] * means[codes]
        return x[:, 0] if vector else x


@dataclass(frozen=True, eq=False)
class Calibration:
    """Calibration entry, as ``calibrate`` stores it (class ``"greg_calibration"``).

    Attributes
    ----------
    basis : ndarray, n x r
        Orthonormal basis of the columns of ``X diag(sqrt(w^0))`` (``X`` the model
        matrix of the auxiliaries, ``w^0`` the weights before calibration).
    scale : ndarray
        ``g_i sqrt(w^0_i)``, with ``g`` the calibration factors.

    Notes
    -----
    With ``s = scale`` the residual is ``e = s (I - Q Q') (x / s)``: the weighted
    least-squares residual of ``x_i / w_i`` on the auxiliaries ``x_i``, multiplied
    back by the final weight, as ``qr.resid(qr, x / w) * w`` in R's ``svyrecvar``
    (Deville & Särndal 1992, eq. 3.4; Lumley 2010, sec. 7.4).
    """

    basis: NDArray[np.float64] = field(repr=False)
    scale: NDArray[np.float64] = field(repr=False)

    def residualize(self, scores: ArrayLike, weights: ArrayLike | None = None) -> np.ndarray:
        """Weighted least-squares residuals of ``scores``; ``weights`` unused."""
        x, vector = _as_matrix(scores)
        _check_rows(
            x,
            self.scale.size,
            N_("scores have %(rows)s rows but the calibration has %(n)s units"),
        )
        y = x / self.scale[:, None]
        y = y - self.basis @ (self.basis.T @ y)
        out = y * self.scale[:, None]
        return out[:, 0] if vector else out
