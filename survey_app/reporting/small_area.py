"""Small-area (Fay–Herriot) estimates of the communes' satisfaction rates in a field wave.

A field wave gives each commune a few dozen interviews in a handful of PSUs, so many
commune figures fail the reporting rule. :func:`estimate` fits the Fay–Herriot
area-level model (:mod:`analysis.small_area`) to the communes' direct estimates of the
overall satisfaction rate and their design variances (both from
:func:`survey_app.reporting.indices.compute.compute`), with covariates the platform has:

- ``feedback``: the commune's continuous-feedback (kiosk and phone) satisfaction rate,
  the model-based figure of :func:`~survey_app.reporting.indices.compute.compute` on the
  continuous-feedback wave that overlaps the field wave's dates the most;
- ``previous``: the commune's direct estimate in the previous field wave of the same
  unit and questionnaire (the latest that ended before this one started);
- any numeric column of a per-commune file uploaded by the analyst
  (:func:`read_covariate_file`, columns ``unit_code`` and one per covariate).

A commune without a covariate value cannot be modelled and keeps its direct figure
only (listed in :attr:`SmallAreaResult.excluded`). A commune of the wave's unit without
any interview gets the synthetic estimate ``x'β`` and its MSE.

Sampling variances: a commune's design variance from a handful of PSUs (degrees of
freedom below :data:`FEW_DF`) is itself very noisy, and the model takes it as known;
by default such variances are replaced by the proportion GVF
(:func:`analysis.small_area.gvf_proportions`, pooled design effect), and every
commune says which variance it got (``variance_source``).

The fit is design-consistent only in the sense of the model: every small-area figure
is model-based and must be labelled so. :func:`published` gives the fit a survey team
switched on for a wave (:func:`set_switch`, audited), for the pages that show it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from scipy.stats import norm
from sqlalchemy import func, select

from analysis.small_area import FH_METHODS, fay_herriot, gvf_proportions
from survey_app import access, audit, spreadsheets
from survey_app.extensions import db
from survey_app.models import (
    Channel,
    Response,
    SmallAreaSetting,
    Unit,
    UnitKind,
    User,
    Wave,
    WaveKind,
)
from survey_app.models._types import utcnow
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure, Inference

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
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")


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


# ------------------------------------------------------------------ inputs


def communes_of(wave: Wave) -> list[Unit]:
    """The communes under the wave's unit (the unit itself if it is one), by code."""
    unit = wave.unit
    query = (
        select(Unit)
        .where(Unit.kind == UnitKind.COMMUNE, Unit.path.startswith(unit.path, autoescape=True))
        .order_by(Unit.code)
    )
    return list(db.session.scalars(query))


def previous_wave(wave: Wave) -> Wave | None:
    """The latest field wave of the same unit and questionnaire ended before ``wave``."""
    return db.session.scalar(
        select(Wave)
        .where(
            Wave.kind == WaveKind.FIELD_SURVEY,
            Wave.unit_id == wave.unit_id,
            Wave.questionnaire_id == wave.questionnaire_id,
            Wave.end_date < wave.start_date,
        )
        .order_by(Wave.end_date.desc(), Wave.id.desc())
        .limit(1)
    )


def _overlap_days(a: Wave, start: date, end: date) -> int:
    return (min(a.end_date, end) - max(a.start_date, start)).days + 1


def feedback_wave(wave: Wave) -> Wave | None:
    """The continuous-feedback wave overlapping ``wave``'s dates the most, whose unit
    contains the wave's unit or lies inside it (ties: the later one)."""
    candidates = db.session.scalars(
        select(Wave).where(
            Wave.kind == WaveKind.CONTINUOUS_FEEDBACK,
            Wave.start_date <= wave.end_date,
            Wave.end_date >= wave.start_date,
        )
    )
    path = wave.unit.path
    related = [
        w for w in candidates if path.startswith(w.unit.path) or w.unit.path.startswith(path)
    ]
    if not related:
        return None
    return max(
        related, key=lambda w: (_overlap_days(w, wave.start_date, wave.end_date), w.end_date)
    )


def _rates(waves: Sequence[Wave], units: Sequence[Unit]) -> dict[int, IndexFigure]:
    """Each unit's overall-rate figure in the single wave of ``waves`` (no figure: absent)."""
    result = compute(list(waves), list(units))
    out = {}
    for unit in units:
        try:
            figure = result.figure(DomainKey(unit.id, waves[0].id))
        except KeyError:
            continue
        if figure.n > 0 and math.isfinite(figure.value):
            out[unit.id] = figure
    return out


def _volumes(wave: Wave, communes: Sequence[Unit]) -> dict[int, int]:
    """Kiosk and phone ratings (not flagged) at each commune and the units below it,
    submitted within the wave's dates: the platform's measure of service volume."""
    start = datetime.combine(wave.start_date, time.min, UTC)
    end = datetime.combine(wave.end_date + timedelta(days=1), time.min, UTC)
    rows = db.session.execute(
        select(Unit.path, func.count(Response.id))
        .join(Response, Response.unit_id == Unit.id)
        .where(
            Response.channel.in_([Channel.KIOSK, Channel.PHONE]),
            Response.flagged.is_(False),
            Response.submitted_at >= start,
            Response.submitted_at < end,
        )
        .group_by(Unit.path)
    ).all()
    return {c.id: sum(n for path, n in rows if path.startswith(c.path)) for c in communes}


def covariate_options(
    wave: Wave, uploaded: UploadedCovariates | None = None
) -> list[CovariateOption]:
    """The covariates the console offers for ``wave``, available or not (with why)."""
    options = []
    for key, source, missing in (
        (
            "feedback",
            feedback_wave(wave),
            _("No continuous-feedback wave overlaps this wave's dates."),
        ),
        (
            "previous",
            previous_wave(wave),
            _("No earlier field wave of this unit and questionnaire."),
        ),
    ):
        label = str(BUILTIN_COVARIATES[key])
        if source is None:
            options.append(CovariateOption(key, label, False, missing))
        else:
            options.append(CovariateOption(key, label, True, "", source.code))
    label = str(BUILTIN_COVARIATES["volume"])
    if any(_volumes(wave, communes_of(wave)).values()):
        options.append(CovariateOption("volume", label, True, "", wave.code))
    else:
        reason = _("No kiosk or phone rating falls within this wave's dates.")
        options.append(CovariateOption("volume", label, False, reason))
    if uploaded is not None:
        for name in uploaded.values:
            options.append(
                CovariateOption(
                    UPLOAD_PREFIX + name,
                    _("%(name)s (uploaded file)", name=name),
                    True,
                    "",
                    uploaded.filename,
                )
            )
    return options


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(float(value)) else None
    text = str(value).strip().replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def read_covariate_file(data: bytes, filename: str) -> UploadedCovariates:
    """Per-commune covariates from a CSV or XLSX file.

    The header has ``unit_code`` and one column per covariate (a name of letters,
    digits and ``_``, up to 40 characters); every other cell is a number (a decimal
    point or comma). Empty cells are allowed (that commune then lacks the
    covariate). Raises :class:`spreadsheets.SpreadsheetError` listing the problems
    by row and column.
    """
    rows = spreadsheets.read_sheet(data, filename, COVARIATE_LIMITS)
    problem = spreadsheets.Problem
    if not rows or not rows[0]:
        raise spreadsheets.SpreadsheetError([problem(None, None, _("The file is empty."))])
    header = [str(c).strip() if c is not None else "" for c in rows[0]]
    if UNIT_COLUMN not in header:
        raise spreadsheets.SpreadsheetError(
            [problem(1, None, _("The header needs a column named %(name)s.", name=UNIT_COLUMN))]
        )
    problems = []
    columns: dict[int, str] = {}
    for i, name in enumerate(header):
        if name == UNIT_COLUMN:
            continue
        if not _NAME.match(name):
            problems.append(
                problem(
                    1,
                    i + 1,
                    _(
                        "Covariate names use letters, digits and _ (at most 40 characters), "
                        "starting with a letter."
                    ),
                )
            )
        elif name in columns.values():
            problems.append(problem(1, i + 1, _("The column %(name)s repeats.", name=name)))
        else:
            columns[i] = name
    if not columns and not problems:
        problems.append(problem(1, None, _("The file has no covariate column.")))
    code_at = header.index(UNIT_COLUMN)
    values: dict[str, dict[str, float]] = {name: {} for name in columns.values()}
    seen: set[str] = set()
    for r, row in enumerate(rows[1:], start=2):
        cells = list(row) + [None] * (len(header) - len(row))
        if all(c is None or not str(c).strip() for c in cells):
            continue
        code = str(cells[code_at]).strip() if cells[code_at] is not None else ""
        if not code:
            problems.append(problem(r, code_at + 1, _("The unit code is empty.")))
            continue
        if code in seen:
            problems.append(problem(r, code_at + 1, _("The unit %(code)s repeats.", code=code)))
            continue
        seen.add(code)
        for i, name in columns.items():
            cell = cells[i]
            if cell is None or not str(cell).strip():
                continue
            number = _number(cell)
            if number is None:
                problems.append(problem(r, i + 1, _("Not a number.")))
            else:
                values[name][code] = number
    if problems:
        raise spreadsheets.SpreadsheetError(problems[: spreadsheets.MAX_PROBLEMS])
    return UploadedCovariates(filename=filename, values=values)


# ------------------------------------------------------------------ the fit


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
    direct = _rates([wave], communes)
    sources = {"feedback": feedback_wave, "previous": previous_wave}
    values: dict[str, dict[int, float]] = {}
    for key in keys:
        source = sources[key](wave) if key in sources else None
        if source is not None:  # a wave whose commune rates are the covariate
            values[key] = {u: f.value for u, f in _rates([source], communes).items()}
        elif key == "volume":
            values[key] = {u: math.log1p(n) for u, n in _volumes(wave, communes).items()}
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
    z = float(norm.ppf(0.5 + level / 2))
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


def residual_figure(result: SmallAreaResult, lang: str) -> dict[str, Any]:
    """Plotly figure: standardised residuals against the synthetic (fitted) values."""
    points = [c for c in result.communes if c.residual is not None]
    xs = [round(c.synthetic * 100, 3) for c in points]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": xs,
                "y": [round(c.residual, 4) for c in points if c.residual is not None],
                "text": [c.name(lang) for c in points],
                "textposition": "top center",
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
            "xaxis": {"title": {"text": _("Synthetic (regression) estimate, %")}},
            "yaxis": {"title": {"text": _("Standardised residual")}, "zeroline": False},
            "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
            "showlegend": False,
            "height": 380,
        },
        "config": {"displaylogo": False, "responsive": True},
    }


# ------------------------------------------------------------------ the switch


def setting(wave: Wave) -> SmallAreaSetting | None:
    """The wave's small-area setting (None: never switched on)."""
    return db.session.get(SmallAreaSetting, wave.id)


def _from_setting(wave: Wave, row: SmallAreaSetting) -> SmallAreaResult:
    return estimate(
        wave,
        covariates=list(row.covariates),
        uploaded=UploadedCovariates.from_json(row.uploaded) if row.uploaded else None,
        method=row.method,
        smooth_variances=row.smooth_variances,
    )


def published(wave: Wave) -> SmallAreaResult | None:
    """The small-area fit a survey team switched on for ``wave``, else None.

    This is what pages that show commune figures call: where a commune's direct figure
    is not reportable they may show its :class:`CommuneEstimate` (``eblup``,
    ``ci_low``/``ci_high``, ``cv``, ``reportable``), labelled model-based. Raises as
    :func:`estimate` does (e.g. when a covariate's source wave has since gone).
    """
    row = setting(wave)
    if row is None or not row.enabled:
        return None
    return _from_setting(wave, row)


def set_switch(
    wave: Wave,
    enabled: bool,
    *,
    covariates: Sequence[str],
    method: str,
    smooth_variances: bool,
    uploaded: UploadedCovariates | None,
    user: User | None,
) -> SmallAreaSetting:
    """Switch small-area figures on (with this model) or off for ``wave``; audited.

    Switching on fits the model first, so a switched-on wave always has a model that
    fits; :class:`SmallAreaError` (nothing stored) otherwise. Commits.
    """
    if enabled:
        estimate(
            wave,
            covariates=covariates,
            uploaded=uploaded,
            method=method,
            smooth_variances=smooth_variances,
        )
    row = setting(wave)
    if row is None:
        row = SmallAreaSetting(wave_id=wave.id)
        db.session.add(row)
    row.enabled = enabled
    if enabled:
        row.method = method
        row.covariates = list(dict.fromkeys(covariates))
        row.smooth_variances = smooth_variances
        row.uploaded = uploaded.to_json() if uploaded is not None else None
    row.updated_by_id = user.id if user is not None else None
    row.updated_at = utcnow()
    details: dict[str, Any] = {"method": row.method, "covariates": ", ".join(row.covariates)}
    if enabled and uploaded is not None:
        details["file"] = uploaded.filename
    audit.record(
        "small_area.enable" if enabled else "small_area.disable",
        user=user,
        target=wave.code,
        details=details,
    )
    db.session.commit()
    return row


def field_waves_in_scope(user: User) -> list[tuple[Wave, bool]]:
    """The field waves the user may see, newest first, with their switch state."""
    query = (
        select(Wave)
        .join(Unit, Unit.id == Wave.unit_id)
        .where(Wave.kind == WaveKind.FIELD_SURVEY)
        .order_by(Wave.start_date.desc(), Wave.id.desc())
    )
    prefix = access.scope_prefix(user)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    waves = list(db.session.scalars(query))
    on = set(
        db.session.scalars(
            select(SmallAreaSetting.wave_id).where(
                SmallAreaSetting.enabled.is_(True),
                SmallAreaSetting.wave_id.in_([w.id for w in waves]),
            )
        )
    )
    return [(w, w.id in on) for w in waves]
