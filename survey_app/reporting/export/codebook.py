"""The codebook of an export: variables with labels and values, the design rows and
ready R (``survey``) and Stata commands that recompute the published overall index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from survey_app.collection import questionnaire as spec
from survey_app.models import (
    LonelyPSU,
    WaveKind,
)
from survey_app.reporting.export.rows import DATETIME, NUMERIC, STRING, Microdata
from survey_app.weighting import scheme_commands


def codebook_rows(data: Microdata, filename: str | None = None) -> list[list[str]]:
    """The variables, then (after an empty row) the design and index rows of
    :func:`design_rows`; ``filename`` is the data file the R and Stata commands read."""
    rows = [[_("variable"), _("label"), _("type"), _("values")]]
    type_names = {NUMERIC: _("numeric"), STRING: _("text"), DATETIME: _("date and time")}
    for v in data.variables:
        values = "; ".join(f"{code} = {label}" for code, label in v.value_labels.items())
        rows.append([v.name, v.label, type_names[v.type], values])
    rows.append(["", "", "", ""])
    rows += [[key, label, "", text] for key, label, text in design_rows(data, filename)]
    return rows


# ----------------------------------------------------------------------------- design notes

#: R's ``survey.lonely.psu`` rule -> Stata's ``svyset ..., singleunit()`` (Stata has no
#: "remove": a lonely stratum then adds nothing to the variance, as with "certainty").
STATA_SINGLEUNIT = {
    LonelyPSU.FAIL: "missing",
    LonelyPSU.REMOVE: "certainty",
    LonelyPSU.ADJUST: "centered",
    LonelyPSU.AVERAGE: "scaled",
    LonelyPSU.CERTAINTY: "certainty",
}


@dataclass(frozen=True)
class _Total:
    """A respondent-level count the overall index is a ratio of: ``s<k>`` (satisfied
    answers to ``items``) or ``v<k>`` (answers to ``items``)."""

    name: str
    items: tuple[str, ...]
    levels: tuple[int, ...] | None  # None: every answer (a ``v`` column)


def _overall_terms(
    definition: spec.Questionnaire,
) -> tuple[list[_Total], list[tuple[float, str, str]]]:
    """The overall rate as ``sum coef * s/v`` over respondent-level counts, from the
    same formulas the published figures use (:func:`analysis.indices.build_formulas`)."""
    from survey_app.collection.scoring import questionnaire_layout

    layout = questionnaire_layout(definition)
    index = layout.definition
    overall = next(f for f in layout.formulas if f.code == "overall" and f.kind == "rate")
    items = layout.columns.items
    totals: list[_Total] = []
    named: dict[tuple[tuple[str, ...], bool], str] = {}
    terms: list[tuple[float, str, str]] = []

    def name(columns: tuple[int, ...], satisfied: bool) -> str:
        group = tuple(items[c // 3] for c in columns)
        key = (group, satisfied)
        if key not in named:
            position = len({g for g, _s in named} | {group})
            named[key] = f"{'s' if satisfied else 'v'}{position}"
            levels = None
            if satisfied:
                special = index.overall
                levels = tuple(
                    special.satisfied_levels
                    if special.method == "item" and special.satisfied_levels
                    else index.satisfied_levels
                )
            totals.append(_Total(named[key], group, levels))
        return named[key]

    for term in overall.terms:
        terms.append((term.coef, name(term.num, True), name(term.den, False)))
    return totals, terms


def _r_vector(values: tuple[Any, ...]) -> str:
    return "c(" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in values) + ")"


def _coef(value: float) -> str:
    return repr(float(value))  # the shortest text that reads back as the same number


def _index_text(definition: spec.Questionnaire, lang: str) -> list[tuple[str, str, str]]:
    index = definition.index
    if index is None:
        return [("index", _("Satisfaction index"), _("The questionnaire defines no index."))]
    first = next((a.items[0] for a in index.aspects if a.items), None)
    scale = definition.item(first).value_labels(lang) if first else {}
    levels = "; ".join(f"{v} = {scale.get(v, v)}" for v in index.satisfied_levels)
    aspect_rule = {
        "pooled": _("an aspect's index is its satisfied answers over all its answers"),
        "mean_of_items": _("an aspect's index is the mean of its criteria's satisfied shares"),
    }[index.aspect_method]
    rows = [("index_satisfied_levels", _("Satisfied levels of the index criteria"), levels)]
    for aspect in index.aspects:
        rows.append(
            (
                f"index_aspect_{aspect.code}",
                aspect.label.get(lang),
                f"{', '.join(aspect.items)} ({aspect_rule})",
            )
        )
    overall = index.overall
    if overall.method == "mean_of_aspects":
        rule = _("the unweighted mean of the aspect indices")
    elif overall.method == "weighted_mean_of_aspects":
        weights = ", ".join(f"{a.code} = {a.weight:g}" for a in index.aspects)
        rule = _("the weighted mean of the aspect indices (weights %(weights)s)", weights=weights)
    elif overall.method == "pooled_items":
        rule = _("satisfied answers over all answers to all aspect criteria")
    else:
        rule = _(
            "the share of satisfied answers (levels %(levels)s) to item %(item)s",
            levels=", ".join(str(v) for v in overall.satisfied_levels or index.satisfied_levels),
            item=overall.item,
        )
    rows.append(("index_overall", overall.label.get(lang), rule))
    return rows


def design_rows(data: Microdata, filename: str | None = None) -> list[tuple[str, str, str]]:
    """The codebook's rows on the design, the index rule and the commands that
    recompute the published overall index: ``(key, label, text)``.

    The R call is the reference the platform's figures match (``svydesign`` with
    ``nest=TRUE`` and the wave's ``survey.lonely.psu``, the overall index as
    ``svycontrast`` of weighted totals: the same smooth function of totals and the same
    linearisation as :mod:`analysis.indices`); the Stata lines are its translation.
    """
    wave = data.wave
    lang = data.lang
    rows: list[tuple[str, str, str]] = [
        ("wave", _("Wave"), f"{wave.code}: {wave.name_vi if lang == 'vi' else wave.name_en}"),
        (
            "wave_dates",
            _("Field dates"),
            f"{wave.start_date.isoformat()} – {wave.end_date.isoformat()}",
        ),
        (
            "panel_of",
            _("Panel of an earlier wave (its PSUs interviewed again)"),
            wave.panel_of.code if wave.panel_of is not None else _("No"),
        ),
        ("lonely_psu", _("Strata with a single PSU (R: survey.lonely.psu)"), wave.lonely_psu.value),
    ]
    weight = "scheme_weight" if data.scheme is not None else "design_weight"
    rows.append(("weight", _("Weight of the published figures"), weight))
    definition = data.definition
    if definition is None:
        return rows
    rows += _index_text(definition, lang)
    if definition.index is None:
        return rows
    if wave.kind != WaveKind.FIELD_SURVEY:
        rows.append(
            (
                "design",
                _("Design"),
                _(
                    "Continuous feedback: the published figures are model-based (each desk a "
                    "stratum, each day a cluster); no survey design call is given."
                ),
            )
        )
        return rows
    rows += _commands(data, definition, weight, filename or f"{wave.code}.csv")
    return rows


#: How R and Stata read each exported format (``{file}`` is the file's name).
R_READ = {
    "csv": 'x <- read.csv("{file}", fileEncoding = "UTF-8-BOM")',
    "xlsx": 'x <- as.data.frame(readxl::read_excel("{file}", sheet = "data"))',
    "sav": 'x <- as.data.frame(haven::zap_labels(haven::read_sav("{file}")))',
}
STATA_READ = {
    "csv": 'import delimited "{file}", encoding("utf-8") bindquote(strict) stringcols(_all) clear',
    "xlsx": 'import excel "{file}", sheet("data") firstrow allstring clear',
    "sav": 'import spss using "{file}", clear',
}


def _commands(
    data: Microdata, definition: spec.Questionnaire, weight: str, filename: str
) -> list[tuple[str, str, str]]:
    frame = data.frame
    totals, terms = _overall_terms(definition)
    fmt = filename.rsplit(".", 1)[-1].lower()
    fmt = fmt if fmt in R_READ else "csv"

    def missing(column: str) -> bool:
        values = frame[column]
        return bool(values.isna().any() or (values.astype(str) == "").any())

    strata = bool(frame["stratum"].notna().any())
    fpc = "fpc" in frame.columns and not frame["fpc"].isna().any() and len(frame) > 0
    rule = data.wave.lonely_psu
    # R
    r_prepare = [R_READ[fmt].format(file=filename)]
    r_prepare.append("x <- x[x$flagged == 0, ]")
    if strata and missing("stratum"):
        r_prepare.append('x$stratum[is.na(x$stratum) | x$stratum == ""] <- "(none)"')
    if missing("psu"):
        r_prepare.append(
            'i <- is.na(x$psu) | x$psu == ""; x$psu[i] <- paste0("r", x$response_id[i])'
        )
    step = data.weighting
    if step is not None:
        # the weighted design is made from the design weights by the scheme's step
        numeric = {v.name: v.type == NUMERIC for v in data.variables}
        r_prepare += scheme_commands.r_prepare_lines(step, numeric)
        r_prepare.append("x$design_weight[is.na(x$design_weight)] <- 1")
    else:
        r_prepare.append(f"x${weight}[is.na(x${weight})] <- 1")
    for total in totals:
        columns = _r_vector(total.items)
        if total.levels is None:
            r_prepare.append(f"x${total.name} <- rowSums(!is.na(x[{columns}]))")
        else:
            r_prepare.append(
                f"x${total.name} <- rowSums(matrix(as.matrix(x[{columns}]) %in% "
                f"{_r_vector(total.levels)}, nrow(x)))"
            )
    design = ["ids=~psu"]
    if strata:
        design.append("strata=~stratum")
    design.append(f"weights=~{'design_weight' if step is not None else weight}")
    if fpc:
        design.append("fpc=~fpc")
    design += ["data=x", "nest=TRUE"]
    r_design = (
        f'library(survey)\noptions(survey.lonely.psu="{rule.value}")\n'
        f"d <- svydesign({', '.join(design)})"
    )
    expression = " + ".join(f"{_coef(c)} * {s}/{v}" for c, s, v in terms)
    r_index = (
        f"t <- svytotal(~{' + '.join(t.name for t in totals)}, d)\n"
        f"svycontrast(t, quote({expression}))"
    )
    # Stata
    stata_prepare = [STATA_READ[fmt].format(file=filename)]
    numeric = ["response_id", "flagged", "design_weight", weight]
    if "fpc" in frame.columns:
        numeric.append("fpc")
    numeric += sorted({item for t in totals for item in t.items})
    stata_prepare.append(f"destring {' '.join(dict.fromkeys(numeric))}, replace")
    stata_prepare.append("drop if flagged == 1")
    if strata and missing("stratum"):
        stata_prepare.append('replace stratum = "(none)" if stratum == ""')
    if missing("psu"):
        stata_prepare.append('replace psu = "r" + string(response_id) if psu == ""')
    if weight == "scheme_weight" and missing("scheme_weight"):
        stata_prepare.append("replace scheme_weight = design_weight if missing(scheme_weight)")
    stata_prepare.append(f"replace {weight} = 1 if missing({weight})")
    for total in totals:
        items = " ".join(total.items)
        if total.levels is None:
            stata_prepare.append(f"egen {total.name} = rownonmiss({items})")
        else:
            values = " ".join(str(v) for v in total.levels)
            stata_prepare.append(f"egen {total.name} = anycount({items}), values({values})")
    options = []
    if strata:
        options.append("strata(stratum)")
    if fpc:
        options.append("fpc(fpc)")
    options.append(f"singleunit({STATA_SINGLEUNIT[rule]})")
    stata_design = f"svyset psu [pweight={weight}], {' '.join(options)}"
    stata_expression = " + ".join(f"{_coef(c)} * _b[{s}]/_b[{v}]" for c, s, v in terms)
    stata_index = f"svy: total {' '.join(t.name for t in totals)}\nnlcom ({stata_expression})"
    rows = [
        ("r_prepare", _("R: the file and the index counts"), "\n".join(r_prepare)),
        ("r_design", _("R: the survey design"), r_design),
        *(scheme_commands.codebook_rows(step) if step is not None else []),
        ("r_overall_index", _("R: the overall index (rate, 0 to 1)"), r_index),
        ("stata_prepare", _("Stata: the file and the index counts"), "\n".join(stata_prepare)),
        ("stata_design", _("Stata: the survey design"), stata_design),
        ("stata_overall_index", _("Stata: the overall index (rate, 0 to 1)"), stata_index),
    ]
    return rows
