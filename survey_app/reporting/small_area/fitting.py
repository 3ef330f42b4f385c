"""The Fay–Herriot fit of a wave's communes (:func:`estimate`) and its residual plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from scipy import special

from analysis.small_area import FH_METHODS, fay_herriot, gvf_proportions
from survey_app import formatting
from survey_app.models import (
    Unit,
    Wave,
    WaveKind,
)
from survey_app.reporting.small_area.covariates import (
    communes_of,
    covariate_options,
    feedback_wave,
    previous_wave,
    rates,
    volumes,
)
from survey_app.reporting.small_area.results import (
    FEW_DF,
    UPLOAD_PREFIX,
    Coefficient,
    CommuneEstimate,
    ExcludedCommune,
    SmallAreaError,
    SmallAreaResult,
    UploadedCovariates,
)


def estimate(
    wave: Wave,
    *,
    covariates: Sequence[str] = ("previous",),
    uploaded: UploadedCovariates | None = None,
    method: str = "reml",
    smooth_variances: bool = True,
    level: float = 0.95,
) -> SmallAreaResult:
    """Fit the Fay–Herriot model to ``wave``'s commune rates; see the module docstring.

    Parameters
    ----------
    wave
        A field-survey wave.
    covariates
        Keys of :func:`covariate_options` (``"feedback"``, ``"previous"``,
        ``"file:<column>"``); an intercept is always included. May be empty (the
        model then shrinks towards the communes' common mean).
    uploaded
        The analyst's per-commune file, for ``file:`` covariates.
    method
        ``"reml"`` (MSE by Prasad–Rao) or ``"ml"`` (Datta–Lahiri).
    smooth_variances
        Replace the direct variances resting on fewer than :data:`FEW_DF` degrees
        of freedom by the proportion GVF.
    level
        Confidence level of the intervals from the MSE.

    Raises
    ------
    SmallAreaError
        Not a field wave, an unknown or unavailable covariate, too few communes with
        a direct estimate and every covariate for the model, or a collinear design.
    IndexRequestError
        The wave's direct figures cannot be computed (as for every other page).
    """
    if wave.kind != WaveKind.FIELD_SURVEY:
        raise SmallAreaError(_("Small-area estimates are for field-survey waves."))
    if method not in FH_METHODS:
        raise SmallAreaError(_("Unknown method %(method)s.", method=method))
    keys = list(dict.fromkeys(covariates))
    options = {o.key: o for o in covariate_options(wave, uploaded)}
    for key in keys:
        option = options.get(key)
        if option is None:
            raise SmallAreaError(_("Unknown covariate %(name)s.", name=key))
        if not option.available:
            raise SmallAreaError(option.reason)
    communes = communes_of(wave)
    if not communes:
        raise SmallAreaError(_("The wave's unit has no communes."))
    direct = rates([wave], communes)
    sources = {"feedback": feedback_wave, "previous": previous_wave}
    values: dict[str, dict[int, float]] = {}
    for key in keys:
        source = sources[key](wave) if key in sources else None
        if source is not None:  # a wave whose commune rates are the covariate
            values[key] = {u: f.value for u, f in rates([source], communes).items()}
        elif key == "volume":
            values[key] = {u: math.log1p(n) for u, n in volumes(wave, communes).items()}
        elif uploaded is not None and key.startswith(UPLOAD_PREFIX):
            column = uploaded.values[key.removeprefix(UPLOAD_PREFIX)]
            values[key] = {c.id: column[c.code] for c in communes if c.code in column}
        else:  # pragma: no cover - the options above refuse it
            raise SmallAreaError(_("Unknown covariate %(name)s.", name=key))
    modelled: list[Unit] = []
    excluded: list[ExcludedCommune] = []
    for unit in communes:
        missing = [options[k].label for k in keys if unit.id not in values[k]]
        if missing:
            excluded.append(
                ExcludedCommune(
                    unit.id,
                    unit.code,
                    unit.name_vi,
                    unit.name_en,
                    _("No value of: %(names)s.", names="; ".join(missing)),
                )
            )
        else:
            modelled.append(unit)
    m = len(modelled)
    y = np.array([direct[u.id].value if u.id in direct else np.nan for u in modelled])
    psi = np.array([direct[u.id].se ** 2 if u.id in direct else np.nan for u in modelled])
    df = np.array([direct[u.id].df if u.id in direct else np.nan for u in modelled])
    n = np.array([direct[u.id].n if u.id in direct else 0 for u in modelled], dtype=float)
    sampled = ~np.isnan(y)
    if sampled.sum() < len(keys) + 2:
        raise SmallAreaError(
            _(
                "%(count)s communes have a direct estimate and every chosen covariate; the "
                "model needs at least %(needed)s (covariates plus two).",
                count=int(sampled.sum()),
                needed=len(keys) + 2,
            )
        )
    zero_variance = sampled & ~(psi > 0)
    few = sampled & ((df < FEW_DF) | zero_variance)
    gvf = None
    source = np.where(sampled, "direct", "none").astype(object)
    if smooth_variances and few.any():
        smoothed = gvf_proportions(y, psi, n, few)
        psi = smoothed.variance
        gvf = smoothed.coef
        source[smoothed.smoothed] = "gvf"
    elif zero_variance.any():
        names = ", ".join(modelled[i].code for i in np.flatnonzero(zero_variance))
        raise SmallAreaError(
            _(
                "The direct variance is 0 for %(names)s (every answer alike): keep the "
                "variance smoothing on.",
                names=names,
            )
        )
    x = np.column_stack(
        [np.ones(m)] + [np.array([values[k][u.id] for u in modelled]) for k in keys]
    )
    try:
        fit = fay_herriot(
            y,
            np.where(sampled, psi, np.nan),
            x,
            method=method,
            areas=[u.code for u in modelled],
            covariate_names=["intercept", *keys],
        )
    except ValueError as error:
        raise SmallAreaError(
            _("The model cannot be fitted: %(reason)s", reason=str(error))
        ) from None
    z = float(special.ndtri(0.5 + level / 2))  # the normal quantile
    max_cv = float(current_app.config["MAX_SMALL_AREA_CV"])
    residuals = fit.residuals
    rows = []
    for i, unit in enumerate(modelled):
        figure = direct.get(unit.id)
        se = math.sqrt(float(fit.mse[i]))
        value = float(fit.eblup[i])
        low, high = max(0.0, value - z * se), min(1.0, value + z * se)
        rows.append(
            CommuneEstimate(
                unit_id=unit.id,
                code=unit.code,
                name_vi=unit.name_vi,
                name_en=unit.name_en,
                direct=figure.value if figure else None,
                direct_se=figure.se if figure else None,
                direct_cv=figure.se / figure.value if figure and figure.value > 0 else None,
                direct_reportable=bool(figure.reportable) if figure else False,
                n=int(figure.n) if figure else 0,
                df=float(figure.df) if figure else None,
                variance=float(psi[i]) if sampled[i] else None,
                variance_source=str(source[i]),
                covariates={k: float(values[k][unit.id]) for k in keys},
                eblup=value,
                mse=float(fit.mse[i]),
                se=se,
                cv=se / value if value > 0 else None,
                ci_low=low,
                ci_high=high,
                gamma=float(fit.gamma[i]) if sampled[i] else None,
                synthetic=float(fit.synthetic[i]),
                residual=float(residuals[i]) if sampled[i] else None,
                # the reporting rule on the model's MSE-based coefficient of variation
                reportable=bool(value > 0 and se / value <= max_cv),
            )
        )
    # communes modelled without a direct estimate, and excluded ones with one, keep order
    labels = {o.key: o.label for o in options.values()}
    beta = tuple(
        Coefficient(
            key,
            _("Intercept") if key == "intercept" else labels[key],
            float(b),
            float(s),
        )
        for key, b, s in zip(fit.covariates, fit.beta, fit.beta_se, strict=True)
    )
    notes = []
    if fit.at_zero:
        notes.append(
            _(
                "The model variance is estimated at 0: the covariates explain the communes' "
                "differences beyond sampling error, and every small-area estimate is the "
                "synthetic (regression) estimate."
            )
        )
    if not fit.converged:
        notes.append(_("The estimation did not converge; the figures are the last iterate."))
    return SmallAreaResult(
        wave_id=wave.id,
        wave_code=wave.code,
        method=method,
        level=level,
        sigma2_u=fit.sigma2_u,
        at_zero=fit.at_zero,
        converged=fit.converged,
        iterations=fit.iterations,
        beta=beta,
        covariates=tuple(options[k] for k in keys),
        communes=tuple(rows),
        excluded=tuple(excluded),
        smooth_variances=smooth_variances,
        gvf=gvf,
        notes=tuple(notes),
    )


#: The residual plot's drawing area at a laptop's width, in pixels, and its labels'
#: size (Plotly's 12 px font): what :func:`label_positions` places labels in.
PLOT_WIDTH, PLOT_HEIGHT = 1000.0, 310.0
CHAR_WIDTH, LABEL_HEIGHT, MARKER_GAP, LABEL_MARGIN = 6.6, 14.0, 6.0, 2.0
#: Where a label may go around its point, in order of preference.
POSITIONS = ("top center", "bottom center", "middle right", "middle left",
             "top right", "top left", "bottom right", "bottom left")  # fmt: skip


def label_positions(xs: Sequence[float], ys: Sequence[float], texts: Sequence[str]) -> list[str]:
    """A Plotly ``textposition`` for each point, so that its label overlaps no label
    placed before it and no other point, stays inside the plot and, where it can, off
    the line at 0: the first position of :data:`POSITIONS` that does, else the one that
    overlaps least (crossing the dotted line counts for little). Points are placed from
    left to right, on the plot's nominal size, as Plotly's autorange pads it."""
    if not xs:
        return []
    pad_x = (max(xs) - min(xs)) * 0.07 or 1.0
    pad_y = (max(ys) - min(ys)) * 0.1 or 1.0
    x0, x1, y0, y1 = min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y
    centres = [
        ((x - x0) / (x1 - x0) * PLOT_WIDTH, (y1 - y) / (y1 - y0) * PLOT_HEIGHT)
        for x, y in zip(xs, ys, strict=True)
    ]
    markers = [(px - 5, py - 5, px + 5, py + 5) for px, py in centres]
    zero = (y1 - 0) / (y1 - y0) * PLOT_HEIGHT  # the dotted line at 0, across the plot
    line = (0.0, zero - 1, PLOT_WIDTH, zero + 1)
    placed: list[tuple[float, float, float, float]] = []
    chosen = [""] * len(xs)
    for i in sorted(range(len(xs)), key=lambda k: xs[k]):
        width = CHAR_WIDTH * len(texts[i])
        options = [_label_box(centres[i], width, position) for position in POSITIONS]
        obstacles = [*placed, *(box for k, box in enumerate(markers) if k != i)]
        costs = [_cost(box, obstacles) + 0.05 * _overlap(box, line) for box in options]
        best = costs.index(min(costs))  # the first of the least overlapping
        chosen[i] = POSITIONS[best]
        placed.append(options[best])
    return chosen


def _cost(box: tuple[float, float, float, float], obstacles: list) -> float:
    """How much of a label's box overlaps the obstacles, and lies outside the plot
    (weighted to count as much as overlapping a label of its height)."""
    outside = max(0.0, -box[0]) + max(0.0, box[2] - PLOT_WIDTH)
    outside += max(0.0, -box[1]) + max(0.0, box[3] - PLOT_HEIGHT)
    return sum(_overlap(box, other) for other in obstacles) + outside * LABEL_HEIGHT


def _label_box(
    centre: tuple[float, float], width: float, position: str
) -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom, in pixels) of a label at ``position``."""
    px, py = centre
    vertical, horizontal = position.split()
    if vertical == "top":
        top = py - MARKER_GAP - LABEL_HEIGHT
    elif vertical == "bottom":
        top = py + MARKER_GAP
    else:
        top = py - LABEL_HEIGHT / 2
    if horizontal == "center":
        left = px - width / 2
    elif horizontal == "right":
        left = px + (MARKER_GAP if vertical == "middle" else 0)
    else:
        left = px - width - (MARKER_GAP if vertical == "middle" else 0)
    return left, top, left + width, top + LABEL_HEIGHT


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """The area two boxes share, each widened by :data:`LABEL_MARGIN` (the drawn text
    reaches a little beyond its nominal box)."""
    m = 2 * LABEL_MARGIN
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + m) * max(
        0.0, min(a[3], b[3]) - max(a[1], b[1]) + m
    )


def residual_figure(result: SmallAreaResult, lang: str) -> dict[str, Any]:
    """Plotly figure: standardised residuals against the synthetic (fitted) values, each
    point labelled with its commune where the label overlaps nothing else."""
    points = [c for c in result.communes if c.residual is not None]
    xs = [round(c.synthetic * 100, 3) for c in points]
    ys = [round(c.residual, 4) for c in points if c.residual is not None]
    names = [c.name(lang) for c in points]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": xs,
                "y": ys,
                "text": names,
                "textposition": label_positions(xs, ys, names),
                "marker": {"color": "#0b5c8a", "size": 9},
                "name": _("Communes"),
                "hovertemplate": "%{text}<br>%{x:.1f} · %{y:.2f}<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": [min(xs, default=0), max(xs, default=100)],
                "y": [0, 0],
                "line": {"color": "#666", "dash": "dot"},
                "hoverinfo": "skip",
                "showlegend": False,
            },
        ],
        "layout": {
            "separators": formatting.chart_separators(lang),
            "xaxis": {"title": {"text": _("Synthetic (regression) estimate, %")}},
            "yaxis": {"title": {"text": _("Standardised residual")}, "zeroline": False},
            "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
            "showlegend": False,
            "height": 380,
        },
        "config": {"displaylogo": False, "responsive": True},
    }
