"""Checking every field of a submission, naming each bad one.

:func:`check_fields` checks the top-level fields (types, the client's UUID, the
channel and language, the times, the dossier), finds that the desk and the
questionnaire exist (from the :class:`.context.Context` looked up beforehand) and
validates the answers against the questionnaire. It returns a :class:`Checked`: every
problem found, and the :class:`Submission` when there is none.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires as questionnaire_service
from survey_app.collection.submissions.context import Context, DeskRef
from survey_app.collection.submissions.dossiers import DOSSIER_MAX_LENGTH, normalise_dossier
from survey_app.collection.submissions.times import utc_moment
from survey_app.edge import forbidden_in
from survey_app.extensions import LANGUAGES
from survey_app.models import Channel

#: Channels this entry point accepts (field and paper responses come in by import).
CHANNELS: tuple[str, ...] = (Channel.KIOSK.value, Channel.PHONE.value)

#: Top-level fields of a submission; any other key is refused.
REQUIRED_FIELDS: tuple[str, ...] = (
    "id",
    "desk",
    "questionnaire",
    "answers",
    "channel",
    "lang",
    "submitted_at",
)

OPTIONAL_FIELDS: tuple[str, ...] = ("started_at", "dossier")

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


@dataclass(frozen=True)
class Submission:
    """A submission whose every field passed its checks."""

    client_id: uuid.UUID
    desk: DeskRef
    codebook: questionnaire_service.Codebook
    wave_id: int | None
    answers: dict[str, Any]
    channel: Channel
    lang: str
    submitted_at: datetime
    started_at: datetime | None
    dossier: str | None


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
    channel: Channel | None = None
    lang: str | None = None
    started_at: datetime | None = None
    submitted_at: datetime | None = None
    dossier: str | None = None

    def add(self, field_name: str, code: str, message: str, **detail: str) -> None:
        entry = {"field": field_name, "code": code, "message": message}
        entry.update(detail)
        self.errors.append(entry)

    def submission(self) -> Submission | None:
        """The valid submission, or None if any field failed."""
        if (
            self.errors
            or self.client_id is None
            or self.desk is None
            or self.codebook is None
            or self.answers is None
            or self.channel is None
            or self.lang is None
            or self.submitted_at is None
        ):
            return None
        return Submission(
            client_id=self.client_id,
            desk=self.desk,
            codebook=self.codebook,
            wave_id=self.context.wave_id,
            answers=self.answers,
            channel=self.channel,
            lang=self.lang,
            submitted_at=self.submitted_at,
            started_at=self.started_at,
            dossier=self.dossier,
        )


def _message_for(code: str, **values: Any) -> str:
    """The localised explanation of a top-level field error code."""
    messages: dict[str, Callable[[], str]] = {
        "required": lambda: _("This field is required."),
        "wrong_type": lambda: _("This field has the wrong type (expected %(kind)s).", **values),
        "unknown_field": lambda: _("This field is not part of a submission."),
        "invalid_uuid": lambda: _(
            "Must be a UUID such as 3f2b8c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f, made by the client."
        ),
        "unknown_desk": lambda: _("No active desk has this code."),
        "unknown_questionnaire": lambda: _(
            "No questionnaire has this slug and version on this server."
        ),
        "invalid_choice": lambda: _("Must be one of: %(choices)s.", **values),
        "invalid_datetime": lambda: _(
            "Must be a date and time in ISO 8601 with a time-zone offset, "
            "for example 2025-03-01T09:30:00+07:00."
        ),
        "in_future": lambda: _("This time is in the future; check the device's clock."),
        "too_early": lambda: _("This time is before 2000; check the device's clock."),
        "after_submission": lambda: _("The start time is after the submission time."),
        "too_long": lambda: _("At most %(max)s characters.", **values),
        "invalid_characters": lambda: _("The text contains invalid characters."),
    }
    return messages[code]()


def _kind_name(kind: str) -> str:
    names: dict[str, Callable[[], str]] = {
        "string": lambda: _("text"),
        "integer": lambda: _("a whole number"),
        "object": lambda: _("an object"),
    }
    return names[kind]()


def _type_error(checked: Checked, name: str, kind: str) -> None:
    checked.add(name, "wrong_type", _message_for("wrong_type", kind=_kind_name(kind)))


def _check_id(checked: Checked, value: Any) -> None:
    if not isinstance(value, str):
        _type_error(checked, "id", "string")
    elif not UUID_RE.fullmatch(value) or uuid.UUID(value).int == 0:
        checked.add("id", "invalid_uuid", _message_for("invalid_uuid"))
    else:
        checked.client_id = uuid.UUID(value)


def _check_desk(checked: Checked, value: Any) -> None:
    if not isinstance(value, str):
        _type_error(checked, "desk", "string")
        return
    desk = checked.context.desk
    if desk is None:
        checked.add("desk", "unknown_desk", _message_for("unknown_desk"))
    checked.desk = desk


def _check_questionnaire(checked: Checked, value: Any) -> None:
    if not isinstance(value, Mapping):
        _type_error(checked, "questionnaire", "object")
        return
    slug, version = value.get("slug"), value.get("version")
    ok = True
    for name, item, kind in (("slug", slug, "string"), ("version", version, "integer")):
        if item is None:
            checked.add(f"questionnaire.{name}", "required", _message_for("required"))
            ok = False
        elif (kind == "string" and not isinstance(item, str)) or (
            kind == "integer" and (not isinstance(item, int) or isinstance(item, bool))
        ):
            _type_error(checked, f"questionnaire.{name}", kind)
            ok = False
    for key in value:
        if key not in ("slug", "version"):
            checked.add(f"questionnaire.{key}", "unknown_field", _message_for("unknown_field"))
    if not ok:
        return
    if checked.context.codebook is None:
        checked.add("questionnaire", "unknown_questionnaire", _message_for("unknown_questionnaire"))
        return
    checked.codebook = checked.context.codebook


def _check_choice(checked: Checked, name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value is None:
        checked.add(name, "required", _message_for("required"))
    elif not isinstance(value, str):
        _type_error(checked, name, "string")
    elif value not in choices:
        checked.add(
            name, "invalid_choice", _message_for("invalid_choice", choices=", ".join(choices))
        )
    elif name == "channel":
        checked.channel = Channel(value)
    else:
        checked.lang = value


def _parse_datetime(checked: Checked, name: str, value: Any) -> datetime | None:
    moment = utc_moment(value)
    if isinstance(moment, datetime):
        return moment
    if moment == "wrong_type":
        _type_error(checked, name, "string")
    else:
        checked.add(name, moment, _message_for(moment))
    return None


def _check_times(checked: Checked, payload: Mapping[str, Any]) -> None:
    if payload.get("submitted_at") is None:
        checked.add("submitted_at", "required", _message_for("required"))
    else:
        checked.submitted_at = _parse_datetime(checked, "submitted_at", payload["submitted_at"])
    if payload.get("started_at") is not None:
        started = _parse_datetime(checked, "started_at", payload["started_at"])
        if started is not None and checked.submitted_at and started > checked.submitted_at:
            checked.add("started_at", "after_submission", _message_for("after_submission"))
            started = None
        checked.started_at = started


def _check_dossier(checked: Checked, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        _type_error(checked, "dossier", "string")
        return
    code = normalise_dossier(value)
    if not code:
        return
    if len(code) > DOSSIER_MAX_LENGTH:
        checked.add("dossier", "too_long", _message_for("too_long", max=DOSSIER_MAX_LENGTH))
    elif any(unicodedata.category(ch).startswith("C") for ch in code):
        checked.add("dossier", "invalid_characters", _message_for("invalid_characters"))
    else:
        checked.dossier = code


def _check_answers(checked: Checked, value: Any) -> None:
    """Validate the answers against the questionnaire; errors are named ``answers.<item>``."""
    if value is None:
        checked.add("answers", "required", _message_for("required"))
        return
    if not isinstance(value, Mapping):
        _type_error(checked, "answers", "object")
        return
    if checked.codebook is None:
        return  # unknown questionnaire: already reported, nothing to check against
    try:
        checked.answers = spec.clean_answers(checked.codebook.definition, value)
    except spec.InvalidAnswersError as error:
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
    if isinstance(value, Mapping):
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
    for name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS):
        value = payload.get(name)
        if name == "answers" and isinstance(value, Mapping):
            found += [f"answers.{k}" for k, v in value.items() if _holds_forbidden({k: v})]
        elif _holds_forbidden(value):
            found.append(name)
    return found


def check_fields(payload: Mapping[str, Any], message_lang: str, context: Context) -> Checked:
    checked = Checked(message_lang, context)
    for key in payload:
        if key not in REQUIRED_FIELDS and key not in OPTIONAL_FIELDS:
            checked.add(str(key), "unknown_field", _message_for("unknown_field"))
    forbidden = frozenset(forbidden_fields(payload))
    for name in sorted(forbidden):
        checked.add(name, "invalid_characters", _message_for("invalid_characters"))
    if forbidden:
        # The rest is checked without them (and "required" is not said of them).
        answers = payload.get("answers")
        payload = {k: v for k, v in payload.items() if k not in forbidden}
        if isinstance(answers, Mapping):
            payload["answers"] = {
                k: v for k, v in answers.items() if f"answers.{k}" not in forbidden
            }
    for name, check in (("id", _check_id), ("desk", _check_desk)):
        if payload.get(name) is None:
            checked.add(name, "required", _message_for("required"))
        else:
            check(checked, payload[name])
    if payload.get("questionnaire") is None:
        checked.add("questionnaire", "required", _message_for("required"))
    else:
        _check_questionnaire(checked, payload["questionnaire"])
    _check_choice(checked, "channel", payload.get("channel"), CHANNELS)
    _check_choice(checked, "lang", payload.get("lang"), LANGUAGES)
    _check_times(checked, payload)
    _check_dossier(checked, payload.get("dossier"))
    _check_answers(checked, payload.get("answers"))
    if forbidden:
        checked.errors = [
            e for e in checked.errors
            if e["field"] not in forbidden or e["code"] == "invalid_characters"
        ]  # fmt: skip
    return checked
