"""How a questionnaire's answers make index items: the index layout and each
response's own item values.

The layout of a questionnaire's index (:class:`Layout`: its item columns ``S, V, P``
and the formulas of :func:`analysis.indices.build_formulas`) is what the figures
(:mod:`survey_app.reporting.indices`) aggregate in SQL and what the weighting preview
(:mod:`survey_app.weighting.preview`) estimates row by row with candidate weights
(:func:`respondent_values`); both read it from here, so the two roads meet.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select

from analysis.indices import AspectSpec, IndexFormula, ItemColumns, build_formulas
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.extensions import db
from survey_app.models import AnswerValue, Questionnaire, QuestionnaireItem, Response, Wave


class IndexRequestError(ValueError):
    """The request cannot be answered (e.g. waves with different questionnaires)."""


@dataclass(frozen=True)
class Layout:
    definition: spec.IndexDefinition
    questionnaire: spec.Questionnaire
    columns: ItemColumns
    formulas: tuple[IndexFormula, ...]


def questionnaire_layout(questionnaire: spec.Questionnaire) -> Layout:
    definition = questionnaire.index
    if definition is None:
        raise IndexRequestError(
            _("The questionnaire %(slug)s defines no index.", slug=questionnaire.slug)
        )
    items: list[str] = [item for aspect in definition.aspects for item in aspect.items]
    if definition.overall.item and definition.overall.item not in items:
        items.append(definition.overall.item)
    columns = ItemColumns(tuple(dict.fromkeys(items)))
    aspects = [AspectSpec(a.code, tuple(a.items), a.weight) for a in definition.aspects]
    formulas = build_formulas(
        aspects,
        columns,
        aspect_method=definition.aspect_method,
        overall_method=definition.overall.method,
        overall_item=definition.overall.item,
    )
    return Layout(definition, questionnaire, columns, tuple(formulas))


def waves_layout(waves: Sequence[Wave]) -> Layout:
    """The index layout of the latest version of the waves' (one) questionnaire."""
    ids = {wave.questionnaire_id for wave in waves}
    rows = list(db.session.scalars(select(Questionnaire).where(Questionnaire.id.in_(ids))))
    if len({row.slug for row in rows}) > 1:
        raise IndexRequestError(_("The waves use different questionnaires."))
    latest = max(rows, key=lambda row: row.version)
    return questionnaire_layout(questionnaires.parsed(latest))


def answer_groups(layout: Layout) -> list[tuple[int, ...]]:
    """The formulas' distinct item sets (as ``V`` columns), whose respondents make a
    figure's n: those with at least one valid answer to the index's items."""
    return list(dict.fromkeys(formula.valid_columns for formula in layout.formulas))


def satisfied_levels(layout: Layout, code: str) -> tuple[int, ...]:
    overall = layout.definition.overall
    if overall.method == "item" and code == overall.item and overall.satisfied_levels:
        return tuple(overall.satisfied_levels)
    return tuple(layout.definition.satisfied_levels)


def respondent_values(
    waves: Sequence[Wave], response_ids: np.ndarray
) -> tuple[tuple[IndexFormula, ...], np.ndarray]:
    """Each response's own (unweighted) index item columns, for row-level estimation.

    The row-level twin of the sums :func:`compute` asks the database for: the same
    coded answers (``answer_values``), satisfied levels and points, so that
    ``sum_i w_i x_i`` over a wave's rows equals the SQL totals. Used where candidate
    weights that are not stored yet must be tried (the weighting preview).

    Parameters
    ----------
    waves
        Waves of one questionnaire.
    response_ids
        Ids of the responses, sorted ascending; row ``i`` of the result is
        ``response_ids[i]``.

    Returns
    -------
    formulas, values
        The index formulas (:func:`analysis.indices.build_formulas` order: overall
        rate first) and an ``n x k`` matrix of the rows' ``S, V, P`` item columns.
    """
    layout = waves_layout(waves)
    items = {
        item.id: item.code
        for item in db.session.scalars(
            select(QuestionnaireItem).where(
                QuestionnaireItem.questionnaire_id.in_({w.questionnaire_id for w in waves}),
                QuestionnaireItem.code.in_(layout.columns.items),
            )
        )
    }
    ids = np.asarray(response_ids, dtype=np.int64)
    values = np.zeros((ids.size, layout.columns.width))
    if not items or not ids.size:
        return layout.formulas, values
    query = (
        select(AnswerValue.response_id, AnswerValue.item_id, AnswerValue.value)
        .join(Response, Response.id == AnswerValue.response_id)
        .where(Response.wave_id.in_([w.id for w in waves]), AnswerValue.item_id.in_(list(items)))
    )
    # Flattened by fromiter: np.array over the rows probed each Row for the array
    # protocols (a failed attribute look-up each), 20 times slower.
    answers = np.fromiter(
        itertools.chain.from_iterable(db.session.execute(query)), dtype=np.int64
    ).reshape(-1, 3)
    row = np.searchsorted(ids, answers[:, 0])
    known = (row < ids.size) & (ids[np.minimum(row, ids.size - 1)] == answers[:, 0])
    row, item_id, level = row[known], answers[known, 1], answers[known, 2]
    for this_id, code in items.items():
        mine = item_id == this_id
        levels = level[mine]
        s = layout.columns.column(code, "S")
        scores = np.array(
            layout.definition.mean_score.points_for(layout.questionnaire.item(code).scale_size or 5)
        )
        inside = (levels >= 1) & (levels <= scores.size)
        points = np.where(inside, scores[np.clip(levels, 1, scores.size) - 1], 0.0)
        np.add.at(values[:, s], row[mine], np.isin(levels, satisfied_levels(layout, code)))
        np.add.at(values[:, s + 1], row[mine], 1.0)
        np.add.at(values[:, s + 2], row[mine], points)
    return layout.formulas, values
