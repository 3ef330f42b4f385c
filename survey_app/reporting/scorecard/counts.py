"""What the scorecard counts in SQL: response volumes and reasons for dissatisfaction.

Reasons for dissatisfaction
---------------------------
Only the dissatisfaction items count: a ``multiple`` item shown only after a
dissatisfied or neutral rating (e.g. ``problems`` of ``kiosk_quick``, shown for faces
1-3); each chosen option counts once. The index criteria are not reasons: they are
worded positively ("staff were courteous") and one of them repeats an option (waiting
time), which listed it twice. A questionnaire without such an item has no reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.extensions import db
from survey_app.models import AnswerValue, Questionnaire, QuestionnaireItem, Response, Unit, Wave
from survey_app.reporting.tallies import combine, tallies

TOP_REASONS = 5


@dataclass(frozen=True)
class Reason:
    label: str
    count: int
    share: float  # of the unit's responses in the wave


@dataclass(frozen=True)
class Volumes:
    responses: int
    by_channel: dict[str, int]
    flagged: int
    first: datetime | None
    last: datetime | None


def _scope(query, unit: Unit):
    return query.join(Unit, Unit.id == Response.unit_id).where(
        Unit.path.startswith(unit.path, autoescape=True)
    )


def response_volumes(unit: Unit, wave: Wave) -> Volumes:
    """Responses of the unit (and below) in the wave, by channel (the figure store's
    tallies, :mod:`survey_app.reporting.tallies`)."""
    rows = combine(tallies(unit.path, wave.id), lambda t: t.channel)
    by_channel = {t.channel: t.responses for t in rows}
    return Volumes(
        responses=sum(by_channel.values()),
        by_channel=dict(sorted(by_channel.items(), key=lambda kv: -kv[1])),
        flagged=sum(t.flagged for t in rows),
        first=min((t.first_submitted for t in rows), default=None),
        last=max((t.last_submitted for t in rows), default=None),
    )


def reason_items(definition: spec.Questionnaire) -> list[str]:
    """The multiple-choice items asked after a rating that is not satisfied."""
    satisfied = set(definition.index.satisfied_levels) if definition.index else {4, 5}
    choices = []
    for item in definition.items:
        condition = item.show_if
        if item.type != "multiple" or condition is None:
            continue
        source = definition.items_by_code.get(condition.item)
        if source is not None and source.scale_size and not satisfied & set(condition.values):
            choices.append(item.code)
    return choices


def dissatisfaction_reasons(
    unit: Unit, wave: Wave, lang: str, responses: int
) -> tuple[Reason, ...] | None:
    """The most frequent reasons for dissatisfaction, counted in SQL per option of the
    dissatisfaction items (:func:`reason_items`); None when the wave's questionnaire
    asks for none (the SIPAS questionnaire), which is not the same as none given."""
    row = db.session.get(Questionnaire, wave.questionnaire_id)
    assert row is not None  # a foreign key
    definition = questionnaires.parsed(row)
    choices = reason_items(definition)
    if not choices:
        return None
    ids = {
        item.id: item.code
        for item in db.session.scalars(
            select(QuestionnaireItem).where(
                QuestionnaireItem.questionnaire_id == row.id,
                QuestionnaireItem.code.in_(choices),
            )
        )
    }
    if not ids:
        return ()
    query = (
        select(AnswerValue.item_id, AnswerValue.value, func.count())
        .join(Response, Response.id == AnswerValue.response_id)
        .where(Response.wave_id == wave.id, AnswerValue.item_id.in_(list(ids)))
        .group_by(AnswerValue.item_id, AnswerValue.value)
    )
    counts: dict[str, int] = {}
    for item_id, value, count in db.session.execute(_scope(query, unit)):
        label = definition.item(ids[item_id]).options[value - 1].label.get(lang)
        counts[label] = counts.get(label, 0) + int(count)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]
    return tuple(
        Reason(label, count, count / responses if responses else 0.0) for label, count in ranked
    )
