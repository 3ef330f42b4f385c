"""Running a scheme's method on the design weights, and the final weights' diagnostics.

:func:`weigh` runs post-stratification, raking or calibration (:mod:`analysis.weighting`)
on the checked targets, then the trimming if asked; each step keeps its variance
adjustment, which the preview and the published figures use. :func:`final_report` is
the diagnostics of the final weights.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from flask_babel import gettext as _

from analysis.weighting import (
    CalibrationConvergenceError,
    WeightingReport,
    WeightingResult,
    calibrate,
    poststratify,
    rake,
    trim_weights,
    weight_diagnostics,
)
from survey_app import formatting
from survey_app.spreadsheets import RowError
from survey_app.weighting.checks import Checked
from survey_app.weighting.errors import WeightingInputError
from survey_app.weighting.sample import WaveSample
from survey_app.weighting.spec import WeightingSpec


def weigh(sample: WaveSample, options: WeightingSpec, checked: Checked) -> list[WeightingResult]:
    """Run the method and the trimming on the design weights (warnings become messages)."""
    data = {name: sample.values[name] for name in checked.variables}
    w0 = sample.design_weights
    steps: list[WeightingResult] = []
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            if options.method == "poststratify":
                by = (
                    checked.variables if options.targets.layout == "cells" else checked.variables[0]
                )
                targets = checked.cells or checked.margins[checked.variables[0]]
                steps.append(poststratify(w0, data, by, targets))
            elif options.method == "rake":
                steps.append(
                    rake(w0, data, checked.margins, maxit=options.max_iter, epsilon=options.epsilon)
                )
            else:
                steps.append(_calibrated(w0, data, checked, options))
            bad = int((steps[-1].weights <= 0).sum())
            if bad:
                raise WeightingInputError(
                    [
                        RowError(
                            None,
                            None,
                            _(
                                "%(count)s weights came out zero or negative: set bounds on "
                                "the calibration factors (for example 0.3 to 3) or use raking "
                                "calibration.",
                                count=formatting.number(bad),
                            ),
                        )
                    ]
                )
            if options.trims:
                steps.append(
                    trim_weights(
                        steps[-1].weights,
                        lower=-math.inf if options.trim_lower is None else options.trim_lower,
                        upper=math.inf if options.trim_upper is None else options.trim_upper,
                        strict=options.strict,
                    )
                )
        except ValueError as exc:
            if isinstance(exc, WeightingInputError):
                raise
            raise WeightingInputError(
                [RowError(None, None, _("The weights could not be computed: %(error)s", error=exc))]
            ) from None
    return steps


def _calibrated(
    w0: np.ndarray, data: dict[str, np.ndarray], checked: Checked, options: WeightingSpec
) -> WeightingResult:
    """Calibration; when it cannot meet the targets, the reason in the console's terms.

    The library's own advice names its keyword arguments (``maxit``, ``force=True``),
    which the console does not offer: the analyst can widen or clear the bounds, or
    correct the targets.
    """
    calfun = options.method.removeprefix("calibrate-")
    try:
        return calibrate(w0, data, checked.margins, calfun=calfun, bounds=options.bounds)
    except CalibrationConvergenceError as exc:
        said = _(
            "Calibration did not meet the targets in %(iterations)s iterations (a target "
            "still missed by %(miss)s of its value).",
            iterations=formatting.number(exc.iterations),
            miss=formatting.percent(exc.eps, digits=2),
        )
        if options.bounds is None:
            advice = _(
                "Check the targets: one may be out of the sample's reach, or two may "
                "contradict each other."
            )
        else:
            advice = _(
                "The targets cannot be met with calibration factors between %(lower)s and "
                "%(upper)s: widen the bounds or leave them empty.",
                lower=formatting.number(options.bounds[0]),
                upper=formatting.number(options.bounds[1]),
            )
        # not a column of the targets file: the errors table names none
        raise WeightingInputError([RowError(None, None, f"{said} {advice}")]) from None


def final_report(
    sample: WaveSample, checked: Checked, steps: Sequence[WeightingResult]
) -> WeightingReport:
    """Diagnostics of the final weights: the method's convergence and iterations, the
    largest relative margin error of the final (possibly trimmed) weights, the trimmed
    count and every warning on the way."""
    method = steps[0].report
    weights = np.asarray(steps[-1].weights)
    return weight_diagnostics(
        weights,
        method=method.method + ("+trim" if len(steps) > 1 else ""),
        converged=all(s.report.converged for s in steps),
        iterations=method.iterations,
        max_margin_error=_margin_error(sample, checked, weights),
        n_trimmed=sum(s.report.n_trimmed for s in steps),
        messages=[m for s in steps for m in s.report.messages],
    )


def _margin_error(sample: WaveSample, checked: Checked, weights: np.ndarray) -> float:
    """Largest ``|sum of weights in a level or cell - target| / target`` over the targets."""
    errors = [0.0]
    if checked.cells:
        names = list(checked.variables)
        frame = pd.DataFrame({n: sample.values[n] for n in names})
        frame["w"] = weights
        sums = frame.groupby(names, sort=False)["w"].sum().to_dict()
        achieved = {k if isinstance(k, tuple) else (k,): v for k, v in sums.items()}
        for key, target in checked.cells.items():
            got = float(achieved.get(key if isinstance(key, tuple) else (key,), 0.0))
            errors.append(abs(got - target) / target if target else abs(got))
    for name, targets in checked.margins.items():
        codes = sample.values[name]
        for code, target in targets.items():
            got = float(weights[codes == code].sum())
            errors.append(abs(got - target) / target if target else abs(got))
    return max(errors)
