"""Checking a scheme's method, options and targets against the wave.

:func:`check` raises :class:`~survey_app.weighting.errors.WeightingInputError` with
every problem it finds (unknown variables and levels, a row given twice, a target for
an empty level or cell, a level or cell with respondents but no target, margins whose
totals disagree, options out of range), sorted by row; otherwise it returns the targets
in the form :mod:`analysis.weighting` takes (:class:`Checked`). A "no answer" level
left without a target keeps its design-weighted share (:func:`_keep_no_answer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import gettext as _

from survey_app import formatting
from survey_app.i18n import current_lang
from survey_app.spreadsheets import RowError
from survey_app.weighting.errors import WeightingInputError
from survey_app.weighting.sample import (
    MISSING,
    Variable,
    WaveSample,
    known_variable,
    unknown_level,
    unknown_variable,
)
from survey_app.weighting.spec import METHODS, WeightingSpec
from survey_app.weighting.targets import TARGET, TargetRows

TOTAL_RTOL = 1e-6  # margins whose totals differ by more are refused (as analysis.weighting)
MAX_LISTED = 20


@dataclass(frozen=True)
class Checked:
    """Targets in the form :mod:`analysis.weighting` takes."""

    variables: tuple[str, ...]
    margins: dict[str, dict[str, float]] = field(default_factory=dict)  # long layout
    cells: dict[Any, float] = field(default_factory=dict)  # cells layout
    notes: tuple[str, ...] = ()  # what the check did on its own (e.g. "no answer" kept)


def _check_long(sample: WaveSample, targets: TargetRows, errors: list[RowError]) -> Checked:
    margins: dict[str, dict[str, float]] = {}
    seen: dict[tuple[str, str], int] = {}
    for row in targets.rows:
        name, code = row.labels
        variable = sample.variable(name)
        if variable is None:
            errors.append(unknown_variable(sample, name, row.row, "variable"))
            continue
        margins.setdefault(name, {})
        if code == "":
            errors.append(
                RowError(
                    row.row,
                    "level",
                    _("The level is empty: every row needs a level of %(name)s.", name=name),
                )
            )
            continue
        level = variable.level(code)
        if level is None:
            errors.append(unknown_level(variable, code, row.row, "level"))
        elif (name, code) in seen:
            errors.append(
                RowError(
                    row.row,
                    "level",
                    _(
                        "%(name)s = %(level)s is already on row %(row)s.",
                        name=name,
                        level=code,
                        row=seen[(name, code)],
                    ),
                )
            )
        elif row.target > 0 and level.respondents == 0:
            errors.append(
                RowError(
                    row.row,
                    "level",
                    _(
                        "No respondent has %(name)s = %(level)s, so its target cannot be met: "
                        "set it to 0 or merge it with another level.",
                        name=name,
                        level=code,
                    ),
                )
            )
        elif row.target == 0 and level.respondents > 0:
            errors.append(
                RowError(
                    row.row,
                    TARGET,
                    _(
                        "%(count)s respondents have %(name)s = %(level)s but its target is 0.",
                        count=formatting.number(level.respondents),
                        name=name,
                        level=code,
                    ),
                )
            )
        else:
            seen[(name, code)] = row.row
            margins[name][code] = row.target
    notes: list[str] = []
    for name in margins:
        for level in known_variable(sample, name).levels:
            if level.code == MISSING and level.respondents and not targets.names((name, MISSING)):
                notes.append(_keep_no_answer(sample, name, margins[name]))
            elif level.respondents and not targets.names((name, level.code)):
                errors.append(
                    RowError(
                        None,
                        name,
                        _(
                            "%(name)s = %(level)s (%(label)s) has %(count)s respondents but "
                            "no target.",
                            name=name,
                            level=level.code,
                            label=level.label(current_lang()),
                            count=formatting.number(level.respondents),
                        ),
                    )
                )
    return Checked(tuple(margins), margins=margins, notes=tuple(notes))


def _keep_no_answer(sample: WaveSample, name: str, margin: dict[str, float]) -> str:
    """Give the "no answer" level of ``name`` its design-weighted share of the sample.

    No census counts the people who would not answer, so the analyst gives no target
    for it: those respondents keep their share ``m`` of the design-weighted sample, and
    the other levels' targets (which add up to the whole population) are scaled by
    ``1 - m`` so the margin still adds up to it. Returns the note for the preview.
    """
    w0 = sample.design_weights
    share = float(w0[sample.values[name] == MISSING].sum() / w0.sum())
    total = sum(margin.values())
    for code in margin:
        margin[code] *= 1 - share
    margin[MISSING] = share * total
    return _(
        "%(name)s: the respondents who did not answer keep their share of the design-"
        "weighted sample (%(share)s); the other levels' targets are scaled to the rest.",
        name=name,
        share=formatting.percent(share),
    )


def _check_cells(sample: WaveSample, targets: TargetRows, errors: list[RowError]) -> Checked:
    variables: list[Variable] = []
    for name in targets.variables:
        variable = sample.variable(name)
        if variable is None:
            errors.append(unknown_variable(sample, name, 1, name))
        elif variable in variables:
            errors.append(RowError(1, name, _("The column %(name)s appears twice.", name=name)))
        else:
            variables.append(variable)
    if errors:
        return Checked(targets.variables)
    names = tuple(v.code for v in variables)
    frame = pd.DataFrame({name: sample.values[name] for name in names})
    counts = frame.value_counts().to_dict() if sample.n else {}
    cells: dict[Any, float] = {}
    seen: dict[tuple[str, ...], int] = {}
    for row in targets.rows:
        unknown = False
        for variable, code in zip(variables, row.labels, strict=True):
            if variable.level(code) is None:
                unknown = True
                errors.append(unknown_level(variable, code, row.row, variable.code))
        if unknown:
            continue
        cell = _describe_cell(names, row.labels)
        count = int(counts.get(row.labels, 0))
        if row.labels in seen:
            errors.append(
                RowError(
                    row.row,
                    None,
                    _(
                        "The cell %(cell)s is already on row %(row)s.",
                        cell=cell,
                        row=seen[row.labels],
                    ),
                )
            )
        elif row.target > 0 and count == 0:
            errors.append(
                RowError(
                    row.row,
                    None,
                    _(
                        "No respondent is in the cell %(cell)s, so its target cannot be met: "
                        "set it to 0 or merge cells.",
                        cell=cell,
                    ),
                )
            )
        elif row.target == 0 and count > 0:
            errors.append(
                RowError(
                    row.row,
                    TARGET,
                    _(
                        "%(count)s respondents are in the cell %(cell)s but its target is 0.",
                        count=formatting.number(count),
                        cell=cell,
                    ),
                )
            )
        else:
            seen[row.labels] = row.row
            cells[row.labels if len(names) > 1 else row.labels[0]] = row.target
    uncovered = [(labels, n) for labels, n in counts.items() if not targets.names(labels)]
    for labels, n in sorted(uncovered)[:MAX_LISTED]:
        errors.append(
            RowError(
                None,
                None,
                _(
                    "The cell %(cell)s has %(count)s respondents but no target.",
                    cell=_describe_cell(names, labels),
                    count=formatting.number(n),
                ),
            )
        )
    if len(uncovered) > MAX_LISTED:
        errors.append(
            RowError(
                None,
                None,
                _(
                    "… and %(count)s more cells without a target.",
                    count=formatting.number(len(uncovered) - MAX_LISTED),
                ),
            )
        )
    return Checked(names, cells=cells)


def _describe_cell(names: Sequence[str], labels: Sequence[str]) -> str:
    return ", ".join(f"{n} = {v}" for n, v in zip(names, labels, strict=True))


def _check_totals(checked: Checked, errors: list[RowError]) -> None:
    totals = {name: sum(m.values()) for name, m in checked.margins.items() if m}
    if len(totals) > 1:
        values = np.array(list(totals.values()))
        if np.ptp(values) > TOTAL_RTOL * np.abs(values).max():
            listing = "; ".join(
                f"{name}: {formatting.number(total)}" for name, total in totals.items()
            )
            errors.append(
                RowError(
                    None,
                    None,
                    _(
                        "The totals of the variables disagree (%(totals)s): every variable "
                        "must add up to the same population.",
                        totals=listing,
                    ),
                )
            )


def check(sample: WaveSample, options: WeightingSpec) -> Checked:
    """Check the method's options and targets against the wave; raise every problem."""
    method, targets = options.method, options.targets
    errors = list(targets.refused)
    if method not in METHODS:
        raise WeightingInputError(
            [RowError(None, None, _("Unknown method “%(method)s”.", method=method))]
        )
    if sample.n == 0:
        raise WeightingInputError([RowError(None, None, _("This wave has no responses yet."))])
    errors.extend(_check_options(options))
    if targets.layout == "cells":
        if method != "poststratify":
            errors.append(
                RowError(
                    1,
                    None,
                    _(
                        "A table with one column per variable gives post-stratification cells; "
                        "raking and calibration need the columns variable, level, target."
                    ),
                )
            )
            raise WeightingInputError(errors)
        checked = _check_cells(sample, targets, errors)
    else:
        checked = _check_long(sample, targets, errors)
        if method == "rake" and len(checked.margins) < 2:
            errors.append(
                RowError(
                    None,
                    None,
                    _(
                        "Raking needs the margins of two or more variables; "
                        "for one variable choose post-stratification."
                    ),
                )
            )
        if method == "poststratify" and len(checked.margins) > 1:
            errors.append(
                RowError(
                    None,
                    None,
                    _(
                        "Post-stratification on several variables needs the cell table (one "
                        "column per variable): download the cell template."
                    ),
                )
            )
        if method != "poststratify":
            _check_totals(checked, errors)
    if errors:
        errors.sort(key=lambda e: (e.row is None, e.row or 0))
        raise WeightingInputError(errors)
    return checked


def _check_options(options: WeightingSpec) -> list[RowError]:
    """The options' problems. They are not in the targets file, so they name no column
    (the page's table would show the option's code, in English, as a column's name)."""
    messages = []
    if options.method == "rake":
        if options.max_iter < 1:
            messages.append(_("Iterations must be at least 1."))
        if not options.epsilon > 0:
            messages.append(_("The tolerance must be positive."))
    if options.bounds is not None and not options.bounds[0] < options.bounds[1]:
        messages.append(
            _("The lower bound of the calibration factor must be smaller than the upper bound.")
        )
    low, high = options.trim_lower, options.trim_upper
    if low is not None and high is not None and not low < high:
        messages.append(_("The lower trimming bound must be smaller than the upper one."))
    if (low is not None and low < 0) or (high is not None and high <= 0):
        messages.append(_("Trimming bounds must be positive."))
    return [RowError(None, None, message) for message in messages]
