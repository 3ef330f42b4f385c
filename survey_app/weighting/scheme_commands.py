"""The active weighting scheme as commands, for the export's codebook.

The published figures of a wave with an active scheme carry R's standard error for the
weighted design (``postStratify``, ``rake`` or ``calibrate``, then the estimator): the
weights are not fixed numbers but the result of a step whose adjustment enters the
variance (:mod:`survey_app.weighting.published`, "Published = previewed"). To recompute
them from the exported file, the codebook therefore gives the step itself:

- ``weighting_spec``: the step as JSON (method, the exported column of each weighting
  variable, the targets by exported value, trimming and bounds), for scripts;
- ``r_weighting``: the R lines that turn the design on the design weights ``d`` into
  the weighted design (the same ``d``), between the codebook's design and index
  commands (the variables' missing values are coded in ``r_prepare``).

Weighting variables map to exported columns: ``unit`` to ``unit_code``;
``procedure_field`` to ``procedure_field`` (exported when a scheme uses it); a
demographic item to its column, whose values are the option positions; a respondent
without a value (level ``_missing``) gets the value -1 (``_missing`` for text columns).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from survey_app.collection import questionnaire as spec
from survey_app.models import WeightingScheme
from survey_app.weighting.sample import MISSING, PROCEDURE_FIELD, UNIT

#: Exported value of a missing level in a numeric (option position) column.
MISSING_POSITION = -1


def uses_procedure_field(scheme: WeightingScheme | None) -> bool:
    return scheme is not None and PROCEDURE_FIELD in _variables(scheme.params)


def _variables(params: Mapping[str, Any]) -> list[str]:
    targets = params.get("targets") or {}
    if targets.get("layout") == "cells":
        return [str(v) for v in targets.get("variables", [])]
    return list(dict.fromkeys(str(row[0]) for row in targets.get("rows", [])))


def _column(variable: str) -> str:
    return "unit_code" if variable == UNIT else variable


def _value(definition: spec.Questionnaire, variable: str, level: str) -> Any:
    """The exported value of ``level`` of ``variable``."""
    if variable in (UNIT, PROCEDURE_FIELD):
        return level
    if level == MISSING:
        return MISSING_POSITION
    return definition.item(variable).option_position(level)


def weighting_spec(scheme: WeightingScheme, definition: spec.Questionnaire) -> dict[str, Any]:
    """The scheme's step on the exported columns (``weighting_spec`` in the codebook)."""
    params = scheme.params
    targets = params["targets"]
    variables = _variables(params)
    if targets.get("layout") == "cells":
        rows = [
            {
                "values": [
                    _value(definition, v, str(x)) for v, x in zip(variables, r, strict=False)
                ],
                "target": float(r[len(variables)]),
            }
            for r in targets["rows"]
        ]
        margins: dict[str, Any] = {"cells": rows}
    else:
        margins = {}
        for variable, level, target in targets["rows"]:
            margins.setdefault(_column(variable), []).append(
                [_value(definition, variable, str(level)), float(target)]
            )
    return {
        "method": params["method"],
        "columns": [_column(v) for v in variables],
        "missing_value": MISSING_POSITION,
        "targets": margins,
        "max_iter": params.get("max_iter"),
        "epsilon": params.get("epsilon"),
        "bounds": params.get("bounds"),
        "trim": params.get("trim"),
    }


def _r_values(values: list[Any]) -> str:
    return "c(" + ", ".join(json.dumps(v) for v in values) + ")"


def _r_frame(columns: list[str], rows: list[tuple[list[Any], float]]) -> str:
    parts = [f"{c} = {_r_values([r[0][k] for r in rows])}" for k, c in enumerate(columns)]
    parts.append(f"Freq = {_r_values([r[1] for r in rows])}")
    return f"data.frame({', '.join(parts)})"


def r_prepare_lines(step: Mapping[str, Any], numeric: Mapping[str, bool]) -> list[str]:
    """R lines that code the weighting variables' missing values (and, for
    calibration, make them factors), before the design is made from ``x``.

    ``numeric`` says which columns hold numbers (option positions)."""
    lines = []
    for column in step["columns"]:
        if numeric.get(column, False):
            lines.append(f"x${column}[is.na(x${column})] <- {MISSING_POSITION}")
        else:
            lines.append(f'x${column}[is.na(x${column}) | x${column} == ""] <- "{MISSING}"')
        if step["method"].startswith("calibrate-"):
            levels = [v for v, _t in step["targets"][column]]
            lines.append(f"x${column} <- factor(x${column}, levels = {_r_values(levels)})")
    return lines


def r_step_lines(step: Mapping[str, Any]) -> list[str]:
    """R lines that turn the design ``d`` (design weights) into the weighted ``d``."""
    columns: list[str] = step["columns"]
    method = step["method"]
    targets = step["targets"]
    lines = []
    if method == "poststratify":
        if "cells" in targets:
            frame = _r_frame(
                columns, [(cell["values"], cell["target"]) for cell in targets["cells"]]
            )
        else:
            (column,) = columns
            frame = _r_frame([column], [([v], t) for v, t in targets[column]])
        lines.append(f"d <- postStratify(d, ~{' + '.join(columns)}, {frame})")
    elif method == "rake":
        formulas = ", ".join(f"~{c}" for c in columns)
        frames = ", ".join(_r_frame([c], [([v], t) for v, t in targets[c]]) for c in columns)
        lines.append(
            f"d <- rake(d, list({formulas}), list({frames}), control = list(maxit = "
            f"{step['max_iter']}, epsilon = {step['epsilon']}))"
        )
    else:
        names = ["`(Intercept)`"]
        values = [sum(t for _v, t in targets[columns[0]])]
        for column in columns:
            for value, target in targets[column][1:]:
                names.append(f"`{column}{value}`")
                values.append(target)
        totals = ", ".join(f"{n} = {json.dumps(v)}" for n, v in zip(names, values, strict=True))
        calfun = method.removeprefix("calibrate-")
        bounds = step.get("bounds")
        extra = f", bounds = c({bounds[0]}, {bounds[1]})" if bounds else ""
        lines.append(
            f'd <- calibrate(d, ~{" + ".join(columns)}, c({totals}), calfun = "{calfun}"{extra})'
        )
    trim = step.get("trim")
    if trim:
        lower = "-Inf" if trim.get("lower") is None else trim["lower"]
        upper = "Inf" if trim.get("upper") is None else trim["upper"]
        strict = "TRUE" if trim.get("strict") else "FALSE"
        lines.append(f"d <- trimWeights(d, lower = {lower}, upper = {upper}, strict = {strict})")
    return lines


def codebook_rows(step: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The codebook's rows on the scheme's step: ``(key, label, text)``."""
    return [
        (
            "weighting_spec",
            _("Weighting step of the published figures (JSON)"),
            json.dumps(step, ensure_ascii=False),
        ),
        (
            "r_weighting",
            _("R: the weighting step (after the design, before the index)"),
            "\n".join(r_step_lines(step)),
        ),
        (
            "weighting_note",
            _("Weights and standard errors"),
            _(
                "The published standard errors are those of the weighted design: the "
                "weighting step's adjustment enters the variance, as R computes it after "
                "postStratify, rake or calibrate. Stata's svyset with the scheme's weight "
                "treats the weights as fixed and gives slightly different standard errors."
            ),
        ),
    ]
