"""Checking every field of a submission, naming each bad one.

:func:`check_fields` checks a payload in three steps: text that no database can store
(NUL, lone surrogates) is refused field by field; the shape is checked against the
JSON Schema of the OpenAPI document (:mod:`.schema`: types, required and unknown
fields, the UUID, the channel and language, lengths); then what a schema cannot say:
the desk and the questionnaire exist (the :class:`.context.Context` looked up
beforehand), the times are in range (:mod:`.times`), the dossier code once normalised,
and the answers against their questionnaire. It returns a :class:`Checked`: every
problem found, and, when there is none, the response to store
(:meth:`Checked.accepted`). The answers are validated once: cleaned and encoded as
answer rows here, stored as they are.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires as questionnaire_service
from survey_app.collection.responses import ResponseDraft, item_rows
from survey_app.collection.submissions import schema
from survey_app.collection.submissions.context import Context, DeskRef
from survey_app.collection.submissions.dossiers import hash_dossier, normalise_dossier
from survey_app.collection.submissions.messages import kind_names, message_for
from survey_app.collection.submissions.times import utc_moment
from survey_app.edge import forbidden_in
from survey_app.models import Channel


class Accepted(NamedTuple):
    """A valid submission: the response to store, its questionnaire's codebook and its
    answer rows ``(item id, integer code)``, encoded from the validated answers."""

    draft: ResponseDraft
    codebook: questionnaire_service.Codebook
    rows: list[tuple[int, int]]


@dataclass
class Checked:
    """The fields of a submission that passed their checks, and every problem found."""

    message_lang: str
    context: Context
    errors: list[dict[str, str]] = field(default_factory=list)
    client_id: uuid.UUID | None = None
    desk: DeskRef | None = None
    codebook: questionnaire_service.Codebook | None = None
    answers: dict[str, Any] | None = None
    rows: list[tuple[int, int]] | None = None
    channel: Channel | None = None
    lang: str | None = None
    started_at: datetime | None = None
    submitted_at: datetime | None = None
    dossier: str | None = None

    def add(self, field_name: str, code: str, message: str, **detail: str) -> None:
        entry = {"field": field_name, "code": code, "message": message}
        entry.update(detail)
        self.errors.append(entry)

    def accepted(self) -> Accepted | None:
        """The response to store, or None if any field failed.

        The dossier is stored as its keyed hash only. The content hash leaves that hash
        out (the dossier is compared by its own column, ``responses.existing_outcome``),
        so it depends on no secret; the None entry keeps the hashes of responses stored
        before that unchanged.
        """
        if (
            self.errors
            or self.client_id is None
            or self.desk is None
            or self.codebook is None
            or self.answers is None
            or self.rows is None
            or self.channel is None
            or self.lang is None
            or self.submitted_at is None
        ):
            return None
        draft = ResponseDraft(
            client_id=self.client_id,
            questionnaire_id=self.codebook.questionnaire_id,
            unit_id=self.desk.unit_id,
            desk_id=self.desk.id,
            wave_id=self.context.wave_id,
            channel=self.channel,
            answers=self.answers,
            lang=self.lang,
            started_at=self.started_at,
            submitted_at=self.submitted_at,
            dossier_hash=hash_dossier(self.dossier) if self.dossier else None,
            extra_hash_fields={"dossier_hash": None},
        )
        return Accepted(draft, self.codebook, self.rows)


def _add_shape_problem(checked: Checked, problem: schema.ShapeProblem) -> None:
    if problem.field.startswith("answers."):
        # An answer's problem reads like the questionnaire's own (its bilingual label).
        label = spec.ANSWER_ERROR_CODES[problem.code]
        checked.add(problem.field, problem.code, label.get(checked.message_lang))
        return
    values = dict(problem.values)
    if "kinds" in values:
        values = {"kind": kind_names(values.pop("kinds"))}
    checked.add(problem.field, problem.code, message_for(problem.code, **values))


def _parse_datetime(checked: Checked, name: str, value: Any) -> datetime | None:
    moment = utc_moment(value)
    if isinstance(moment, datetime):
        return moment
    checked.add(name, moment, message_for(moment))
    return None


def _check_times(checked: Checked, payload: Mapping[str, Any], shaped: set[str]) -> None:
    if "submitted_at" not in shaped:
        checked.submitted_at = _parse_datetime(checked, "submitted_at", payload["submitted_at"])
    if "started_at" not in shaped and "started_at" in payload:
        started = _parse_datetime(checked, "started_at", payload["started_at"])
        if started is not None and checked.submitted_at and started > checked.submitted_at:
            checked.add("started_at", "after_submission", message_for("after_submission"))
            started = None
        checked.started_at = started


def _check_dossier(checked: Checked, value: str) -> None:
    """The normalised code: the schema's limit holds for it too (NFKC can lengthen)."""
    code = normalise_dossier(value)
    if not code:
        return
    limit = schema.max_length("dossier")
    if len(code) > limit:
        checked.add("dossier", "too_long", message_for("too_long", max=limit))
    elif any(unicodedata.category(ch).startswith("C") for ch in code):
        checked.add("dossier", "invalid_characters", message_for("invalid_characters"))
    else:
        checked.dossier = code


def _check_answers(checked: Checked, answers: Mapping[str, Any]) -> None:
    """Validate the answers against the questionnaire; errors are named ``answers.<item>``.

    The questionnaire's error for an item replaces the schema's (it says more, and
    gives a ``detail``).
    """
    if checked.codebook is None:
        return  # unknown questionnaire: already reported, nothing to check against
    try:
        checked.answers = spec.clean_answers(checked.codebook.definition, answers)
        checked.rows = item_rows(checked.codebook, checked.answers)
    except spec.InvalidAnswersError as error:
        named = {"answers" if e.field == "answers" else f"answers.{e.field}" for e in error.errors}
        checked.errors = [e for e in checked.errors if e["field"] not in named]
        _add_answer_errors(checked, error.errors)


def _add_answer_errors(checked: Checked, errors: list[spec.AnswerError]) -> None:
    lang = checked.message_lang
    for error in errors:
        name = "answers" if error.field == "answers" else f"answers.{error.field}"
        label = spec.ANSWER_ERROR_CODES.get(error.code)
        message = label.get(lang) if label is not None else error.message
        checked.add(name, error.code, message, detail=error.message)


def _holds_forbidden(value: Any) -> bool:
    """Whether any text in a JSON value (keys included) holds a forbidden character."""
    if isinstance(value, str):
        return forbidden_in(value, multiline=True)
    if value is None or isinstance(value, int | float):  # bool is an int
        return False
    if isinstance(value, dict | Mapping):  # a dict is decided without the ABC
        return any(_holds_forbidden(k) or _holds_forbidden(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_forbidden(v) for v in value)
    return False


def forbidden_fields(payload: Mapping[str, Any]) -> list[str]:
    """The fields (``answers.<item>`` for answers) whose text holds a NUL, another
    control character than tab/newline/CR, or a lone surrogate
    (:data:`survey_app.edge.FORBIDDEN_IN_TEXT`): JSON can carry them (``"\\u0000"``,
    ``"\\ud800"``), PostgreSQL refuses NUL and no driver encodes a surrogate."""
    found: list[str] = []
    for name in schema.property_names():
        value = payload.get(name)
        if name == "answers" and isinstance(value, Mapping):
            found += [f"answers.{k}" for k, v in value.items() if _holds_forbidden({k: v})]
        elif _holds_forbidden(value):
            found.append(name)
    return found


def _without_nulls(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload without null fields, in it and in its questionnaire reference (a null
    field counts as left out; a null answer means "not answered" and stays)."""
    kept = {k: v for k, v in payload.items() if v is not None}
    reference = kept.get("questionnaire")
    if isinstance(reference, Mapping):
        kept["questionnaire"] = {k: v for k, v in reference.items() if v is not None}
    return kept


def check_fields(
    payload: Mapping[str, Any], message_lang: str, context: Context, *, plain: bool = False
) -> Checked:
    """Every problem of ``payload``, or the response to store (:class:`Checked`).

    ``plain``: the payload was decoded from a JSON text that :func:`.body.plain_text`
    found plain, so no text in it holds a forbidden character and that search is
    skipped.
    """
    checked = Checked(message_lang, context)
    forbidden = frozenset() if plain else frozenset(forbidden_fields(payload))
    for name in sorted(forbidden):
        checked.add(name, "invalid_characters", message_for("invalid_characters"))
    if forbidden:
        # The rest is checked without them (and "required" is not said of them).
        answers = payload.get("answers")
        payload = {k: v for k, v in payload.items() if k not in forbidden}
        if isinstance(answers, Mapping):
            payload["answers"] = {
                k: v for k, v in answers.items() if f"answers.{k}" not in forbidden
            }
    payload = _without_nulls(payload)
    problems = schema.shape_problems(payload)
    for problem in problems:
        _add_shape_problem(checked, problem)
    # Top-level fields with a problem of their own (an answer's problem leaves the
    # answers to be checked against the questionnaire).
    shaped = {p.field.split(".")[0] for p in problems if not p.field.startswith("answers.")}
    shaped |= {name for name in schema.property_names() if name not in payload}
    if "id" not in shaped:
        checked.client_id = uuid.UUID(payload["id"])
    if "desk" not in shaped:
        checked.desk = context.desk
        if context.desk is None:
            checked.add("desk", "unknown_desk", message_for("unknown_desk"))
    if "questionnaire" not in shaped:
        checked.codebook = context.codebook
        if context.codebook is None:
            checked.add(
                "questionnaire", "unknown_questionnaire", message_for("unknown_questionnaire")
            )
    if "channel" not in shaped:
        checked.channel = Channel(payload["channel"])
    if "lang" not in shaped:
        checked.lang = payload["lang"]
    _check_times(checked, payload, shaped)
    if "dossier" not in shaped:
        _check_dossier(checked, payload["dossier"])
    if "answers" not in shaped:
        _check_answers(checked, payload["answers"])
    if forbidden:
        checked.errors = [
            e for e in checked.errors
            if e["field"] not in forbidden or e["code"] == "invalid_characters"
        ]  # fmt: skip
    order = {name: rank for rank, name in enumerate(schema.property_names())}
    checked.errors.sort(key=lambda e: order.get(e["field"].split(".")[0], -1))
    return checked
