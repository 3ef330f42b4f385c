"""Survey designs: weights, strata, multistage clusters, fpc and the lonely-PSU rule.

A :class:`Design` is built once, validated, and then only read. It mirrors R's
``svydesign(ids=, strata=, weights=, fpc=, nest=)`` together with the option
``survey.lonely.psu``. Estimators (:mod:`analysis.estimators`) never look inside
the stages themselves: they hand linearized scores to the single variance routine
in :mod:`analysis.variance`.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley,
ch. 2 (pp. 17-35, stratified and cluster sampling) and ch. 3 (pp. 39-55,
multistage designs and the ultimate-cluster approximation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from analysis._text import show
from analysis.i18n import _

LONELY_PSU_RULES: tuple[str, ...] = ("fail", "remove", "adjust", "average", "certainty")
"""Valid values of ``lonely_psu``, as R's ``options(survey.lonely.psu=)``."""

CERTAINTY_TOLERANCE = 1e-7
"""A group whose sampling fraction complement ``1 - n/N`` is below this is fully sampled."""


@runtime_checkable
class Adjustment(Protocol):
    """A weight adjustment whose effect on variances is a projection of the scores.

    Post-stratification, raking and calibration (implemented in
    :mod:`analysis.weighting`) change the weights so that some totals are known
    exactly. Their linearized variance is obtained, as in R's ``svyrecvar``, by
    replacing each score column by its residual from the adjustment before the
    scores are summed to PSU totals (Lumley 2010, sec. 7.1-7.4, pp. 135-150;
    Deville & Särndal 1992).

    The variance routine calls ``residualize`` for each adjustment of a design,
    in the order of :attr:`Design.adjustments`, before it forms cluster totals.

    Contract
    --------
    ``residualize(scores, weights) -> residuals``

    scores : ndarray, shape (n, k), float64
        One linearized score column per estimate, one row per row of the design,
        already multiplied by the weights (for a total, ``scores[:, j] = w * y``;
        for a mean, ``w * (y - ybar) / sum(w)``). Rows outside a domain or with a
        missing value are 0. The array must not be modified in place.
    weights : ndarray, shape (n,), float64
        The design's final analysis weights, i.e. :attr:`Design.weights` (the
        weights *after* every adjustment of the design). An adjustment that needs
        the weights from before it was applied must keep them itself.

    Returns an ndarray of shape (n, k). Columns must be treated independently and
    linearly (a projection applies column by column), because the variance routine
    may call ``residualize`` on blocks of columns to bound memory.

    Example: post-stratification with cells ``c`` replaces, within each cell,
    ``z_i`` by ``z_i - w_i * sum_{j in c} z_j / sum_{j in c} w_j``.
    """

    def residualize(self, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Return the residuals of ``scores`` (n x k) under this adjustment."""
        ...


@dataclass(frozen=True, eq=False)
class Stage:
    """One sampling stage, as integer codes (internal representation).

    Attributes
    ----------
    cluster : ndarray of int64, shape (n,)
        Code ``0 .. n_clusters-1`` of each row's sampling unit at this stage. Codes are
        nested: a unit is identified together with its stratum (stage 1, when
        ``nest=True``) or its parent unit (later stages).
    n_clusters : int
        Number of distinct units at this stage.
    group : ndarray of int64, shape (n_clusters,)
        The group each unit was sampled in: the stratum at stage 1, the parent
        unit (stage ``s-1`` cluster code) at later stages.
    n_groups : int
        Number of groups.
    n_sampled : ndarray of float64, shape (n_groups,)
        Number of units sampled in each group (R's ``fpc$sampsize``).
    popsize : ndarray of float64, shape (n_groups,) or None
        Population number of units in each group (``inf`` means sampled with
        replacement); ``None`` when the design has no fpc.
    """

    cluster: np.ndarray
    n_clusters: int
    group: np.ndarray
    n_groups: int
    n_sampled: np.ndarray
    popsize: np.ndarray | None

    @property
    def fpc_factor(self) -> np.ndarray:
        """``1 - n/N`` per group (1 for with-replacement sampling or no fpc)."""
        if self.popsize is None:
            return np.ones(self.n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = (self.popsize - self.n_sampled) / self.popsize
        return np.where(np.isinf(self.popsize), 1.0, f)


@dataclass(frozen=True, eq=False)
class Design:
    """A validated probability-sample design (R's ``svydesign``), frozen.

    Build it with :meth:`from_arrays` or :meth:`from_frame`; the fields are derived
    integer codes and should not be constructed by hand.

    Attributes
    ----------
    weights : ndarray, shape (n,)
        Final analysis weights (positive, finite).
    strata : ndarray of int64, shape (n,)
        Stratum code of each row (all 0 when unstratified).
    strata_labels : ndarray
        Original stratum labels, indexed by code.
    has_strata : bool
        Whether strata were given.
    stages : tuple of Stage
        One entry per sampling stage (``ids`` column). An SRS has a single stage whose
        units are the rows.
    has_fpc : bool
        Whether a finite population correction was given (R's ``fpc$popsize`` not NULL).
    nest : bool
        Whether cluster ids were relabelled within strata (R's ``nest=TRUE``).
    lonely_psu : str
        One of :data:`LONELY_PSU_RULES`.
    adjustments : tuple of Adjustment
        Weight adjustments whose residuals replace the scores before variance
        estimation (see :class:`Adjustment`).
    data : pandas.DataFrame or None
        The analysis variables when built from a data frame, so that estimators can
        take column names.
    names : Mapping[str, str]
        Column names used in error messages and in :meth:`describe`.

    Notes
    -----
    Degrees of freedom follow R's ``degf()``: the number of distinct first-stage
    units minus the number of strata (Lumley 2010, sec. 2.3, p. 27).

    Finite population corrections are interpreted as R's ``as.fpc``: if any value
    exceeds 1 they are population sizes (number of units at that stage in the
    stratum or parent unit), otherwise sampling fractions, from which the population
    size is ``n / fraction``. Stages without an fpc column are treated as sampled
    with replacement (``N = inf``), as R does.
    """

    weights: np.ndarray
    strata: np.ndarray
    strata_labels: np.ndarray
    has_strata: bool
    stages: tuple[Stage, ...]
    has_fpc: bool
    nest: bool
    lonely_psu: str
    adjustments: tuple[Adjustment, ...] = ()
    data: pd.DataFrame | None = None
    names: Mapping[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        weights: Any,
        *,
        strata: Any | None = None,
        ids: Any | Sequence[Any] | None = None,
        fpc: Any | Sequence[Any] | None = None,
        nest: bool = False,
        lonely_psu: str = "fail",
        adjustments: Sequence[Adjustment] = (),
        data: pd.DataFrame | None = None,
    ) -> Design:
        """Build a design from arrays.

        Parameters
        ----------
        weights : array_like, shape (n,)
            Sampling (analysis) weights, positive and finite.
        strata : array_like, shape (n,), optional
            Stratum labels (any hashable values).
        ids : array_like or sequence of array_like, optional
            Cluster ids per stage, outermost first (R's ``ids=~psu+ssu``). A single
            array is one stage. ``None`` means the rows are the sampling units.
        fpc : array_like or sequence of array_like, optional
            Finite population correction per stage (population sizes or sampling
            fractions, see the class Notes). At most as many stages as ``ids``.
        nest : bool
            Relabel first-stage ids within strata (ids are reused across strata).
        lonely_psu : {"fail", "remove", "adjust", "average", "certainty"}
            What to do with a stratum that has a single sampled PSU.
        adjustments : sequence of Adjustment
            Weight adjustments applied to the scores before variance estimation.
        data : pandas.DataFrame, optional
            Analysis variables (aligned with ``weights``) for estimators that take
            column names.

        Raises
        ------
        ValueError
            On missing, non-finite or non-positive weights; missing values in a
            design column; mismatched lengths; an fpc smaller than the sample, mixed
            fraction/size, or varying within a stratum; clusters that cross strata
            without ``nest=True``; a stratum with one PSU when ``lonely_psu="fail"``;
            an unknown lonely-PSU rule.
        """
        ids_list = _as_stage_list(ids)
        fpc_list = _as_stage_list(fpc)
        names = {"weights": "weights", "strata": "strata"}
        names.update({f"ids{i}": f"ids[{i}]" for i in range(len(ids_list))})
        names.update({f"fpc{i}": f"fpc[{i}]" for i in range(len(fpc_list))})
        return _build(
            weights, strata, ids_list, fpc_list, nest, lonely_psu, adjustments, data, names
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        weights: str,
        strata: str | None = None,
        ids: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        nest: bool = False,
        lonely_psu: str = "fail",
        adjustments: Sequence[Adjustment] = (),
    ) -> Design:
        """Build a design from a data frame and column names.

        Parameters are as in :meth:`from_arrays`, but name columns of ``frame``;
        ``ids`` and ``fpc`` take one name per stage. The frame is kept as
        :attr:`data`, so estimators accept column names.

        Raises
        ------
        ValueError
            As :meth:`from_arrays`, naming the offending column; also when a named
            column does not exist.
        """
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(_("frame must be a pandas DataFrame"))
        id_cols = [ids] if isinstance(ids, str) else list(ids or [])
        fpc_cols = [fpc] if isinstance(fpc, str) else list(fpc or [])
        for role, col in (
            [("weights", weights), ("strata", strata)]
            + [("ids", c) for c in id_cols]
            + [("fpc", c) for c in fpc_cols]
        ):
            if col is not None and col not in frame.columns:
                raise ValueError(
                    _("%(role)s column %(name)s is not in the data", role=role, name=repr(col))
                )
        names = {"weights": weights, "strata": strata or "strata"}
        names.update({f"ids{i}": c for i, c in enumerate(id_cols)})
        names.update({f"fpc{i}": c for i, c in enumerate(fpc_cols)})
        return _build(
            frame[weights].to_numpy(),
            None if strata is None else frame[strata].to_numpy(),
            [frame[c].to_numpy() for c in id_cols],
            [frame[c].to_numpy() for c in fpc_cols],
            nest,
            lonely_psu,
            adjustments,
            frame,
            names,
        )

    # ------------------------------------------------------------------ properties
    @property
    def n(self) -> int:
        """Number of rows (R's ``nrow(design)``)."""
        return int(self.weights.shape[0])

    @property
    def psu(self) -> np.ndarray:
        """First-stage unit code of each row."""
        return self.stages[0].cluster

    @property
    def n_psu(self) -> int:
        """Number of distinct first-stage units."""
        return self.stages[0].n_clusters

    @property
    def n_strata(self) -> int:
        """Number of strata (1 when unstratified)."""
        return self.stages[0].n_groups

    @property
    def degf(self) -> int:
        """Design degrees of freedom as R's ``degf()``: #PSUs - #strata."""
        return self.n_psu - self.n_strata

    def with_weights(self, weights: Any, adjustment: Adjustment | None = None) -> Design:
        """Return a copy with new weights and, optionally, one more adjustment.

        This is how a weighting step (post-stratification, raking, calibration)
        returns an adjusted design: the sampling structure is unchanged, the weights
        are replaced, and the adjustment's residualization will be applied to scores.
        """
        w = _check_weights(weights, self.n, self.names.get("weights", "weights"))
        adjustments = self.adjustments + ((adjustment,) if adjustment is not None else ())
        return Design(
            weights=w,
            strata=self.strata,
            strata_labels=self.strata_labels,
            has_strata=self.has_strata,
            stages=self.stages,
            has_fpc=self.has_fpc,
            nest=self.nest,
            lonely_psu=self.lonely_psu,
            adjustments=adjustments,
            data=self.data,
            names=self.names,
        )

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable summary (used by the CLI output)."""
        return {
            "type": "linearization",
            "n": self.n,
            "weights": self.names.get("weights"),
            "strata": self.names.get("strata") if self.has_strata else None,
            "ids": [
                self.names.get(f"ids{i}")
                for i in range(len(self.stages))
                if f"ids{i}" in self.names
            ],
            "fpc": [v for k, v in self.names.items() if k.startswith("fpc")],
            "nest": self.nest,
            "lonely_psu": self.lonely_psu,
            "n_strata": self.n_strata,
            "n_psu": self.n_psu,
            "degf": self.degf,
            "sum_weights": float(self.weights.sum()),
        }


# ---------------------------------------------------------------------- helpers


def _as_stage_list(value: Any) -> list[Any]:
    """Normalise ``ids``/``fpc`` to a list with one array per stage."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return []
        first = value[0]
        if np.ndim(first) == 0:  # a flat list of scalars: one stage
            return [np.asarray(value)]
        return list(value)
    arr = np.asarray(value)
    if arr.ndim == 2:
        return [arr[:, j] for j in range(arr.shape[1])]
    return [arr]


def factorize(values: Any, name: str, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (sorted order of the labels) for a design or domain column.

    Raises ``ValueError`` naming ``name`` if the length differs from ``n`` or the
    column has missing values.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(
            _(
                "column %(name)s must be one-dimensional, got shape %(shape)s",
                name=repr(name),
                shape=str(arr.shape),
            )
        )
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            _(
                "column %(name)s has %(rows)s rows, expected %(n)s",
                name=repr(name),
                rows=arr.shape[0],
                n=n,
            )
        )
    if arr.dtype.kind in "iub":
        return sorted_codes(arr)
    codes, uniques = pd.factorize(pd.Series(arr), sort=True, use_na_sentinel=True)
    if (codes < 0).any():
        bad = np.flatnonzero(codes < 0)
        raise ValueError(
            _(
                "column %(name)s has %(count)s missing value(s) (first at row %(row)s)",
                name=repr(name),
                count=bad.size,
                row=int(bad[0]),
            )
        )
    return codes.astype(np.int64), np.asarray(uniques)


def sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``0..k-1`` of integer ``values`` in sorted order of the values, and the
    values (a hash-based ``np.unique(..., return_inverse=True)``)."""
    if values.dtype.kind in "iu" and values.size:
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < max(4 * values.size, 1 << 16):  # small range: count instead of hashing
            shifted = values - lo if lo else values
            present = np.flatnonzero(np.bincount(shifted, minlength=hi - lo + 1))
            lookup = np.zeros(hi - lo + 1, dtype=np.int64)
            lookup[present] = np.arange(present.size)
            return lookup[shifted], (present + lo).astype(values.dtype)
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def _check_weights(weights: Any, n: int | None, name: str) -> np.ndarray:
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(_("weights column %(name)s is not numeric", name=repr(name))) from exc
    if w.ndim != 1:
        raise ValueError(_("weights column %(name)s must be one-dimensional", name=repr(name)))
    if n is not None and w.shape[0] != n:
        raise ValueError(
            _(
                "weights column %(name)s has %(rows)s rows, expected %(n)s",
                name=repr(name),
                rows=w.shape[0],
                n=n,
            )
        )
    if w.shape[0] == 0:
        raise ValueError(_("the design has no rows"))
    if np.isnan(w).any():
        bad = np.flatnonzero(np.isnan(w))
        raise ValueError(
            _(
                "weights column %(name)s has %(count)s missing value(s) (first at row %(row)s)",
                name=repr(name),
                count=bad.size,
                row=int(bad[0]),
            )
        )
    if not np.isfinite(w).all():
        raise ValueError(_("weights column %(name)s has infinite values", name=repr(name)))
    if (w <= 0).any():
        bad = np.flatnonzero(w <= 0)
        raise ValueError(
            _(
                "weights column %(name)s has %(count)s non-positive value(s) "
                "(first at row %(row)s: %(value)s)",
                name=repr(name),
                count=bad.size,
                row=int(bad[0]),
                value=format(float(w[bad[0]]), "g"),
            )
        )
    return w


def _combine(parent: np.ndarray, child: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of (parent, child) pairs and the parent code of each pair."""
    key = parent.astype(np.int64) * (int(child.max()) + 1) + child
    codes, uniques = sorted_codes(key)
    return codes, (uniques // (int(child.max()) + 1)).astype(np.int64)


def _fpc_popsize(
    fpc_values: list[np.ndarray],
    stages_codes: list[tuple[np.ndarray, np.ndarray, int]],
    names: Mapping[str, str],
    n: int,
) -> list[np.ndarray]:
    """Population size per group for each stage, as R's ``as.fpc``."""
    arrays = []
    for i, v in enumerate(fpc_values):
        name = names.get(f"fpc{i}", f"fpc[{i}]")
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(_("fpc column %(name)s is not numeric", name=repr(name))) from exc
        if a.shape != (n,):
            raise ValueError(
                _(
                    "fpc column %(name)s has %(rows)s rows, expected %(n)s",
                    name=repr(name),
                    rows=a.shape[0],
                    n=n,
                )
            )
        if np.isnan(a).any():
            bad = np.flatnonzero(np.isnan(a))
            raise ValueError(
                _(
                    "fpc column %(name)s has %(count)s missing value(s) (first at row %(row)s)",
                    name=repr(name),
                    count=bad.size,
                    row=int(bad[0]),
                )
            )
        if (a <= 0).any():
            raise ValueError(_("fpc column %(name)s has non-positive values", name=repr(name)))
        arrays.append(a)
    is_popsize = any((a > 1).any() for a in arrays)
    if is_popsize and any((a < 1).any() for a in arrays):
        raise ValueError(
            _(
                "fpc mixes population sizes (>1) and sampling fractions (<1); "
                "give all stages the same kind, as R requires"
            )
        )
    out = []
    for i, (cluster, group, n_groups) in enumerate(stages_codes):
        name = names.get(f"fpc{i}", f"fpc[{i}]")
        group_of_row = group[cluster]
        n_sampled = np.bincount(group, minlength=n_groups).astype(np.float64)
        if i >= len(arrays):
            out.append(np.full(n_groups, np.inf))
            continue
        a = arrays[i]
        lo = np.full(n_groups, np.inf)
        hi = np.full(n_groups, -np.inf)
        np.minimum.at(lo, group_of_row, a)
        np.maximum.at(hi, group_of_row, a)
        if (hi - lo > 1e-9 * np.maximum(1.0, np.abs(hi))).any():
            g = int(np.flatnonzero(hi - lo > 1e-9 * np.maximum(1.0, np.abs(hi)))[0])
            if i == 0:
                message = _(
                    "fpc column %(name)s varies within a stratum (group %(group)s: "
                    "%(low)s vs %(high)s)",
                    name=repr(name),
                    group=g,
                    low=str(lo[g]),
                    high=str(hi[g]),
                )
            else:
                message = _(
                    "fpc column %(name)s varies within a stage-%(level)s unit (group %(group)s: "
                    "%(low)s vs %(high)s)",
                    name=repr(name),
                    level=i,
                    group=g,
                    low=str(lo[g]),
                    high=str(hi[g]),
                )
            raise ValueError(message)
        popsize = hi if is_popsize else n_sampled / hi
        if (popsize < n_sampled - 1e-9).any():
            g = int(np.flatnonzero(popsize < n_sampled - 1e-9)[0])
            raise ValueError(
                _(
                    "fpc column %(name)s implies more than 100%% sampling: population size "
                    "%(popsize)s < %(sampled)s sampled units in a group at stage %(stage)s",
                    name=repr(name),
                    popsize=format(popsize[g], "g"),
                    sampled=int(n_sampled[g]),
                    stage=i + 1,
                )
            )
        out.append(popsize)
    return out


def _build(
    weights: Any,
    strata: Any | None,
    ids_list: list[Any],
    fpc_list: list[Any],
    nest: bool,
    lonely_psu: str,
    adjustments: Sequence[Adjustment],
    data: pd.DataFrame | None,
    names: dict[str, Any],
) -> Design:
    if lonely_psu not in LONELY_PSU_RULES:
        raise ValueError(
            _(
                "unknown lonely_psu rule %(rule)s; valid rules: %(rules)s",
                rule=repr(lonely_psu),
                rules=", ".join(LONELY_PSU_RULES),
            )
        )
    w = _check_weights(weights, None, names["weights"])
    n = w.shape[0]
    if data is not None and len(data) != n:
        raise ValueError(_("data has %(rows)s rows, expected %(n)s", rows=len(data), n=n))
    for adj in adjustments:
        if not isinstance(adj, Adjustment):
            raise ValueError(
                _(
                    "adjustment %(adjustment)s has no residualize(scores, weights) method",
                    adjustment=repr(adj),
                )
            )
    if strata is None:
        strata_codes = np.zeros(n, dtype=np.int64)
        strata_labels = np.array([1])
    else:
        strata_codes, strata_labels = factorize(strata, names["strata"], n)
    if len(fpc_list) > max(len(ids_list), 1):
        raise ValueError(
            _(
                "%(fpc)s fpc columns but only %(stages)s stage(s) of ids",
                fpc=len(fpc_list),
                stages=max(len(ids_list), 1),
            )
        )
    id_codes = [factorize(v, names[f"ids{i}"], n)[0] for i, v in enumerate(ids_list)]
    if not id_codes:
        id_codes = [np.arange(n, dtype=np.int64)]

    # Stage 1: clusters within strata.
    first = id_codes[0]
    c1, strat_of_c1 = _combine(strata_codes, first)
    if not nest and strata is not None:
        n_first = int(first.max()) + 1
        pair_first = np.empty(int(c1.max()) + 1, dtype=np.int64)
        pair_first[c1] = first  # the id of each (stratum, id) pair
        per_id = np.bincount(pair_first, minlength=n_first)
        if (per_id > 1).any():
            bad = int(np.flatnonzero(per_id > 1)[0])
            raise ValueError(
                _(
                    "clusters in %(ids)s are not nested in strata %(strata)s "
                    "(a cluster appears in %(count)s strata); "
                    "use nest=True if cluster ids are reused across strata",
                    ids=repr(names.get("ids0", "ids[0]")),
                    strata=repr(names["strata"]),
                    count=int(per_id[bad]),
                )
            )
    n_strata = len(strata_labels)
    stage_codes: list[tuple[np.ndarray, np.ndarray, int]] = [(c1, strat_of_c1, n_strata)]
    parent, n_parent = c1, int(c1.max()) + 1
    for i in range(1, len(id_codes)):
        ci, parent_of_ci = _combine(parent, id_codes[i])
        stage_codes.append((ci, parent_of_ci, n_parent))
        parent, n_parent = ci, int(ci.max()) + 1

    has_fpc = len(fpc_list) > 0
    popsizes = _fpc_popsize(fpc_list, stage_codes, names, n) if has_fpc else None
    stages = []
    for i, (cluster, group, n_groups) in enumerate(stage_codes):
        n_sampled = np.bincount(group, minlength=n_groups).astype(np.float64)
        stages.append(
            Stage(
                cluster=cluster,
                n_clusters=int(group.shape[0]),
                group=group,
                n_groups=n_groups,
                n_sampled=n_sampled,
                popsize=None if popsizes is None else popsizes[i],
            )
        )
    design = Design(
        weights=w,
        strata=strata_codes,
        strata_labels=strata_labels,
        has_strata=strata is not None,
        stages=tuple(stages),
        has_fpc=has_fpc,
        nest=nest,
        lonely_psu=lonely_psu,
        adjustments=tuple(adjustments),
        data=data,
        names=names,
    )
    if stages[0].n_clusters == 1 and not (nest and strata is not None):
        raise ValueError(_("the design has only one primary sampling unit"))
    _check_lonely(design)
    return design


def _check_lonely(design: Design) -> None:
    """Raise for a group with one sampled unit under ``lonely_psu='fail'`` (as R does)."""
    if design.lonely_psu != "fail":
        return
    used = design.stages if design.has_fpc else design.stages[:1]
    for s, stage in enumerate(used):
        lonely = (stage.n_sampled == 1) & (stage.fpc_factor >= CERTAINTY_TOLERANCE)
        if lonely.any():
            g = int(np.flatnonzero(lonely)[0])
            rules = ", ".join(r for r in LONELY_PSU_RULES if r != "fail")
            if s == 0:
                raise ValueError(
                    _(
                        "stratum %(label)s of %(strata)s has only one sampled unit at stage "
                        "%(stage)s and lonely_psu='fail'; choose one of %(rules)s "
                        "(the --lonely-psu option of python -m analysis)",
                        label=show(design.strata_labels[g]),
                        strata=repr(design.names["strata"]),
                        stage=s + 1,
                        rules=rules,
                    )
                )
            raise ValueError(
                _(
                    "a stage-%(level)s unit (code %(code)s) has only one sampled unit at stage "
                    "%(stage)s and lonely_psu='fail'; choose one of %(rules)s "
                    "(the --lonely-psu option of python -m analysis)",
                    level=s,
                    code=g,
                    stage=s + 1,
                    rules=rules,
                )
            )
