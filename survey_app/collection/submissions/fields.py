"""Accepting a citizen's response from the kiosk, the phone form or the JSON API.

:func:`submit` is the one entry point: it checks the rate limit, authenticates a
kiosk, validates every field (naming each bad one), resolves the wave, refuses a
second response for the same dossier, flags bursts of identical answers, and stores
the response whole, exactly once (:func:`survey_app.collection.responses.store`). On
PostgreSQL, once a worker has seen a desk's context (desk, questionnaire, wave) that
day, the desk's next responses are checked, flagged and stored by one autocommit
statement (:func:`survey_app.collection.submission_sql.insert_statement`) that checks
the context again and stores nothing if it changed; the request then goes the general
way, so both ways answer alike (``tests/web/test_submission_paths.py``). It
returns a :class:`SubmitResult` (an HTTP status and a JSON body) and raises nothing
for anything a client can get wrong, so the API view and the server-rendered phone
form share one behaviour.

Rules
-----
- Idempotency: the client's ``id`` (a UUID) identifies the response. The same id with
  the same content is a retry (200, nothing stored again); with different content it
  is a conflict (409). The wave and the burst flag are decided by the server and are
  not part of the content, so a retry is recognised even if a wave was created since.
- Dossier codes (mã hồ sơ): only an HMAC-SHA256 of the normalised code is stored, keyed
  by the installation's dossier key (``DOSSIER_HASH_KEY`` or ``instance/dossier_key``,
  :mod:`survey_app.collection.dossier_key`). A second response for the same dossier is
  refused (409 ``duplicate_dossier``). While the key is not the one the stored data was
  recorded with (its fingerprint in ``app_settings``), every submission is refused
  (503 ``dossier_key_missing`` / ``dossier_key_mismatch``) and nothing is stored.
  The content hash leaves the keyed dossier hash out (the dossier is compared by its
  own column), so it depends on no secret.
- Rate limit: per kiosk device token (``RATELIMIT_SUBMIT_KIOSK``) when the request
  carries a valid one, otherwise per client address (``RATELIMIT_SUBMIT_PHONE``;
  requests with an invalid token in a separate bucket), in Flask-Limiter's shared
  storage with its strategy; every attempt counts, valid or not.
- Bursts: when a desk has received ``BURST_COUNT`` identical answer sets (this one
  included) to one questionnaire whose ``submitted_at`` times fit in
  ``BURST_WINDOW_S`` seconds, the response is still stored (201) but with
  ``flagged=True`` and ``flag_reason="burst"`` for the survey team to review. The
  client is not told. ``BURST_COUNT`` 0 turns this off.
- Times: ISO 8601 with an offset, stored in UTC. ``submitted_at`` may lie in the past
  (offline queues) but not more than :data:`MAX_CLOCK_SKEW` in the future.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_request_context
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from limits import RateLimitItem
from limits import parse as parse_limit
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select

from survey_app.collection import desks as desk_service
from survey_app.collection import dossier_key as dossier_key_service
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires as questionnaire_service
from survey_app.collection import submission_sql, waves
from survey_app.collection.responses import (
    InvalidAnswersError,
    ResponseDraft,
    StoreOutcome,
    coded_rows,
    existing_outcome,
    response_row,
    store,
)
from survey_app.edge import forbidden_in
from survey_app.extensions import LANGUAGES, SUBMISSIONS_BIND, db, limiter
from survey_app.models import Channel, Response
from survey_app.models._types import utcnow
from survey_app.ratelimit_storage import DatabaseStorage

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
#: How far in the future ``submitted_at`` may be (a tablet's clock may be off).
MAX_CLOCK_SKEW = timedelta(days=1)
#: No response predates the platform: an earlier time is a device whose clock was
#: reset (and arithmetic on times near year 1 would overflow).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
DOSSIER_MAX_LENGTH = 64
#: A 422 lists at most this many errors (and then ``errors_total``) ...
ERRORS_MAX = 20
#: ... and repeats at most this many characters of a field name it echoes (the
#: detail and message, ECHO_MAX * 4): a reply stays a few kB whatever was sent.
ECHO_MAX = 80
BURST_FLAG = "burst"

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
DESK_CODE_MAX_LENGTH = 32
# PostgreSQL refuses NUL in text and no driver can encode a lone surrogate (JSON allows
# "\ud800"); no code or slug holds a control character or a surrogate anyway.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class SubmitResult:
    """What to answer the client: an HTTP status, a JSON body and extra headers.

    Bodies: 201/200 ``{"id", "status": "created" | "repeated"}``; errors
    ``{"error", "message"}`` and, for 422, ``"errors": [{"field", "code", "message"}]``.
    """

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def stored(self) -> bool:
        """Whether the response is stored (now or by an earlier identical request)."""
        return self.status in (200, 201)


class RequestBodyError(ValueError):
    """The HTTP body is not a JSON object; :attr:`result` is the error to send."""

    def __init__(self, result: SubmitResult) -> None:
        self.result = result
        super().__init__(result.body["message"])


def _error(status: int, error: str, message: str, **extra: Any) -> SubmitResult:
    return SubmitResult(status, {"error": error, "message": message, **extra})


# ---------------------------------------------------------------------------
# The HTTP body
# ---------------------------------------------------------------------------


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def parse_request_body(raw: bytes, mimetype: str) -> dict[str, Any]:
    """Decode a JSON request body into an object.

    Raises
    ------
    RequestBodyError
        415 for a content type other than JSON; 400 for invalid UTF-8, malformed JSON
        (``NaN`` and ``Infinity`` included) or a body that is not a JSON object.
    """
    if mimetype != "application/json":
        raise RequestBodyError(
            _error(
                415,
                "unsupported_media_type",
                _("Send the response as JSON (Content-Type: application/json)."),
            )
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestBodyError(
            _error(400, "bad_request", _("The request body is not valid UTF-8."))
        ) from None
    try:
        payload = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise RequestBodyError(
            _error(400, "bad_request", _("The request body is not valid JSON."))
        ) from None
    if not isinstance(payload, dict):
        raise RequestBodyError(_not_an_object())
    return payload


def _not_an_object() -> SubmitResult:
    return _error(400, "bad_request", _("The request body must be a JSON object."))


# ---------------------------------------------------------------------------
# Field validation
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeskRef:
    """What a submission needs of its desk (an active one)."""

    id: int
    unit_id: int
    token_hash: str | None


@dataclass(frozen=True)
class Context:
    """The desk, the questionnaire and the wave a submission names, found together.

    One query finds all three (:func:`find_context`); fields the payload does not
    name validly, or that match nothing, are None.
    """

    desk: DeskRef | None = None
    codebook: questionnaire_service.Codebook | None = None
    wave_id: int | None = None


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
class _Checked:
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


def _type_error(checked: _Checked, name: str, kind: str) -> None:
    checked.add(name, "wrong_type", _message_for("wrong_type", kind=_kind_name(kind)))


def _check_id(checked: _Checked, value: Any) -> None:
    if not isinstance(value, str):
        _type_error(checked, "id", "string")
    elif not UUID_RE.fullmatch(value) or uuid.UUID(value).int == 0:
        checked.add("id", "invalid_uuid", _message_for("invalid_uuid"))
    else:
        checked.client_id = uuid.UUID(value)


def _check_desk(checked: _Checked, value: Any) -> None:
    if not isinstance(value, str):
        _type_error(checked, "desk", "string")
        return
    desk = checked.context.desk
    if desk is None:
        checked.add("desk", "unknown_desk", _message_for("unknown_desk"))
    checked.desk = desk


def _check_questionnaire(checked: _Checked, value: Any) -> None:
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


def _check_choice(checked: _Checked, name: str, value: Any, choices: tuple[str, ...]) -> None:
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


def _utc_moment(value: Any) -> datetime | str:
    """The UTC moment of an ISO 8601 text with an offset, or the error code."""
    if not isinstance(value, str):
        return "wrong_type"
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return "invalid_datetime"
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return "invalid_datetime"
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        return "invalid_datetime"
    if moment > utcnow() + MAX_CLOCK_SKEW:
        return "in_future"
    if moment < EARLIEST:
        return "too_early"
    return moment


def _parse_datetime(checked: _Checked, name: str, value: Any) -> datetime | None:
    moment = _utc_moment(value)
    if isinstance(moment, datetime):
        return moment
    if moment == "wrong_type":
        _type_error(checked, name, "string")
    else:
        checked.add(name, moment, _message_for(moment))
    return None


def _check_times(checked: _Checked, payload: Mapping[str, Any]) -> None:
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


def normalise_dossier(code: str) -> str:
    """The canonical form of a dossier code: NFKC, no spaces, upper case."""
    return "".join(unicodedata.normalize("NFKC", code).split()).upper()


def _check_dossier(checked: _Checked, value: Any) -> None:
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


def _check_answers(checked: _Checked, value: Any) -> None:
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


def _add_answer_errors(checked: _Checked, errors: list[spec.AnswerError]) -> None:
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


def _check_fields(payload: Mapping[str, Any], message_lang: str, context: Context) -> _Checked:
    checked = _Checked(message_lang, context)
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


# ---------------------------------------------------------------------------
# Dossier hashing, waves, bursts, rate limits
# ---------------------------------------------------------------------------


def dossier_key() -> bytes:
    """The HMAC key for dossier codes (:func:`survey_app.collection.dossier_key.dossier_key`)."""
    return dossier_key_service.dossier_key()


def hash_dossier(code: str) -> str:
    """HMAC-SHA256 (hex) of a normalised dossier code; the code itself is never stored."""
    message = normalise_dossier(code).encode("utf-8")
    return hmac.new(dossier_key(), message, hashlib.sha256).hexdigest()


def _dossier_key_refusal() -> SubmitResult | None:
    """503 while this machine's dossier key is not the data's (nothing is stored)."""
    problem = dossier_key_service.check()
    if problem is None:
        return None
    if problem is dossier_key_service.KeyProblem.MISSING:
        reason = _(
            "this server has no dossier key, but the stored responses were recorded with one"
        )
    else:
        reason = _(
            "this server's dossier key is not the one the stored responses were recorded with"
        )
    message = _(
        "Responses cannot be accepted at the moment: %(reason)s. Nothing was stored; "
        "please try again later. (An administrator must restore the dossier key: "
        "DOSSIER_HASH_KEY or instance/dossier_key.)",
        reason=reason,
    )
    result = _error(503, str(problem), message, reason=reason)
    return SubmitResult(result.status, result.body, {"Retry-After": "300"})


def _local_timezone() -> timezone | ZoneInfo:
    name = str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Ho_Chi_Minh")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=7))


def _desk_code(value: Any) -> str | None:
    """The desk code a payload names, if it could be one."""
    if not isinstance(value, str):
        return None
    code = value.strip()
    if not code or len(code) > DESK_CODE_MAX_LENGTH or CONTROL_RE.search(code):
        return None
    return code


def _questionnaire_key(value: Any) -> tuple[str, int] | None:
    """The (slug, version) a payload names, if it could be one."""
    if not isinstance(value, Mapping):
        return None
    slug, version = value.get("slug"), value.get("version")
    if not isinstance(slug, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    if len(slug) > 64 or CONTROL_RE.search(slug) or not -(2**31) < version < 2**31:
        return None
    return slug, version


@dataclass(frozen=True)
class ContextKey:
    """What a payload names: desk code, questionnaire, local date of submission."""

    code: str | None
    slug: str | None
    version: int | None
    day: date | None


def _local_day(moment: datetime) -> date:
    return moment.astimezone(_local_timezone()).date()


def context_key(payload: Mapping[str, Any]) -> ContextKey:
    """The names a payload gives, or None for any that is malformed."""
    moment = _utc_moment(payload.get("submitted_at"))
    key = _questionnaire_key(payload.get("questionnaire"))
    slug, version = key if key is not None else (None, None)
    day = _local_day(moment) if isinstance(moment, datetime) else None
    return ContextKey(_desk_code(payload.get("desk")), slug, version, day)


def find_context(key: ContextKey) -> Context:
    """The active desk, the questionnaire and the wave a payload names, in one query.

    The wave is the continuous-feedback wave of this questionnaire whose dates cover
    the local date of ``submitted_at`` and whose unit is the desk's unit or one of its
    ancestors; if several do, the one of the most specific unit wins, then the latest
    start (:func:`survey_app.collection.submission_sql.wave_subquery`). Names that are
    malformed (checked and reported by the field checks) match nothing.
    """
    if key.code is None and key.slug is None:
        return Context()
    row = (
        db.session.connection()
        .execute(
            submission_sql.context_statement(),
            {"code": key.code, "slug": key.slug, "version": key.version, "day": key.day},
        )
        .one()
    )
    desk = None
    if row.desk_id is not None:
        desk = DeskRef(row.desk_id, row.unit_id, row.token_hash)
    codebook = None
    if row.questionnaire_id is not None:
        codebook = questionnaire_service.codebook(row.questionnaire_id, row.checksum)
    return Context(desk, codebook, row.wave_id if key.day is not None else None)


# ---------------------------------------------------------------------------
# PostgreSQL: one statement per response
# ---------------------------------------------------------------------------

#: Remembered contexts per app; an entry is only ever a guess that the single
#: statement checks again, so a stale one costs a slower request, never a wrong one.
_CONTEXTS_KEY = "survey.submission_contexts"
_CONTEXTS_MAX = 10_000


def _remembered(key: ContextKey) -> Context | None:
    if SUBMISSIONS_BIND not in db.engines:
        return None
    return current_app.extensions.get(_CONTEXTS_KEY, {}).get(key)


def _remember(key: ContextKey, context: Context) -> None:
    if SUBMISSIONS_BIND not in db.engines:
        return
    contexts: dict[ContextKey, Context] = current_app.extensions.setdefault(_CONTEXTS_KEY, {})
    if context.desk is None or context.codebook is None or key.day is None or not context.wave_id:
        # e.g. a desk deactivated since, or no feedback period yet (the general path
        # creates it): forget it
        contexts.pop(key, None)
        return
    if len(contexts) >= _CONTEXTS_MAX:
        contexts.clear()
    contexts[key] = context


def _store_at_once(
    submission: Submission,
    draft: ResponseDraft,
    device_token: str | None,
    hit: LimitHit | None = None,
) -> StoreOutcome | None:
    """PostgreSQL: store a new response with one statement in autocommit.

    The statement (:func:`survey_app.collection.submission_sql.insert_statement`)
    checks again what the remembered context assumed (desk active, the presented
    token its current one for a kiosk, the questionnaire's checksum, the wave) and
    flags a burst; it stores nothing when any differs or when the client id or the
    dossier is taken. With ``hit`` it also counts the request's rate-limit hit, in the
    same transaction, and stores nothing when that is over the limit.

    Raises
    ------
    OverLimitError
        When ``hit`` is over its limit (the hit is counted, nothing is stored).

    Returns
    -------
    StoreOutcome | None
        CREATED; REPEATED, CONFLICT or DUPLICATE_DOSSIER when the context held but
        the id or the dossier was taken; None when the context did not hold (the
        caller then decides afresh).
    """
    codebook = submission.codebook
    count, window = _burst_settings()
    params = response_row(draft)
    params.pop("flagged")
    params.pop("flag_reason")
    coded = coded_rows(draft, codebook)
    params.update(
        checksum=codebook.checksum,
        check_token=submission.channel is Channel.KIOSK,
        token_hash=desk_service.hash_token(device_token or ""),
        day=_local_day(submission.submitted_at),
        item_ids=[item_id for item_id, _value in coded],
        values=[value for _item_id, value in coded],
        burst_count=max(count, 0),
        window=window,
        received_since=submission.submitted_at - window - MAX_CLOCK_SKEW,
        window_start=submission.submitted_at - window,
        window_end=submission.submitted_at + window,
    )
    if hit is not None:
        params.update(hit.params())
    # The app's autocommit engine for this statement (survey_app.add_submissions_bind).
    row = submission_sql.run_insert(db.engines[SUBMISSIONS_BIND], params, counted=hit is not None)
    if row.id is not None:
        return StoreOutcome.CREATED
    if hit is not None and row.hits > hit.item.amount:
        raise OverLimitError(hit)
    if not row.context_holds:
        return None
    return existing_outcome(draft) or StoreOutcome.DUPLICATE_DOSSIER


def _as_utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes (stored in UTC); PostgreSQL aware ones.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _burst_settings() -> tuple[int, timedelta]:
    """``BURST_COUNT`` and ``BURST_WINDOW_S`` as a count and a window."""
    count = int(current_app.config.get("BURST_COUNT", 5))
    return count, timedelta(seconds=float(current_app.config.get("BURST_WINDOW_S", 120)))


def is_burst(desk_id: int, questionnaire_id: int, answers: dict[str, Any], at: datetime) -> bool:
    """Whether this answer set completes a burst of identical ones from the desk.

    A burst is ``BURST_COUNT`` identical answer sets, this one included, whose
    ``submitted_at`` times fit in a window of ``BURST_WINDOW_S`` seconds.
    """
    count, window = _burst_settings()
    if count <= 0:
        return False
    if count == 1:
        return True
    responses = Response.__table__
    query = select(responses.c.answers, responses.c.submitted_at).where(
        responses.c.desk_id == desk_id,
        responses.c.questionnaire_id == questionnaire_id,
        # received_at first: it leads the (desk_id, received_at) index.
        responses.c.received_at >= at - window - MAX_CLOCK_SKEW,
        responses.c.submitted_at >= at - window,
        responses.c.submitted_at <= at + window,
    )
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # JSONB equality is equality of content: only the identical sets come back.
        # (SQLite compares JSON as text, so there the comparison stays in Python.)
        query = query.where(responses.c.answers == answers)
    rows = connection.execute(query).all()
    times = [_as_utc(when) for stored, when in rows if stored == answers]
    if len(times) + 1 < count:
        return False
    times = sorted([*times, at])
    # Is there a window [start, start + window] holding ``at`` and ``count`` times?
    return any(
        sum(start <= t <= start + window for t in times) >= count
        for start in times
        if start <= at <= start + window
    )


@cache
def _limit(text: str) -> RateLimitItem:
    return parse_limit(text)


def _limiting() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.enabled


def _limit_for(
    desk: DeskRef | None, device_token: str | None, client_ip: str | None
) -> tuple[RateLimitItem, str]:
    """The limit that applies to a request and the key it counts under.

    The device limit (``RATELIMIT_SUBMIT_KIOSK``) applies, whatever the address, when
    the request carries the current token of the desk it names. Any other request
    counts against its client address (behind a proxy: the one ProxyFix found, see
    ``TRUSTED_PROXIES``) with ``RATELIMIT_SUBMIT_PHONE``; one that presents a device
    token that is not valid counts in a bucket of its own, so a kiosk with a stale
    token or someone guessing tokens never uses up the citizens' phone quota, not even
    on the same network.
    """
    if desk is not None and _authorised(desk, device_token):
        limit_text, key = current_app.config["RATELIMIT_SUBMIT_KIOSK"], f"desk:{desk.id}"
    elif device_token:
        limit_text, key = current_app.config["RATELIMIT_SUBMIT_PHONE"], f"token-ip:{client_ip}"
    else:
        limit_text, key = current_app.config["RATELIMIT_SUBMIT_PHONE"], f"ip:{client_ip}"
    return _limit(str(limit_text)), key


@dataclass(frozen=True)
class LimitHit:
    """A rate-limit hit that the single insert statement counts itself.

    Only with the ``survey-sql://`` storage and the fixed-window strategy (the app's
    defaults): the statement runs the storage's own upsert on the same key, so the
    count is the one :func:`_rate_limited` would have made, in one commit with the
    response instead of a commit of its own.
    """

    item: RateLimitItem
    key: str
    storage: DatabaseStorage

    def params(self) -> dict[str, Any]:
        now = time.time()
        self.storage.sweep(now)
        return {
            "limit_key": self.storage.storage_key(self.item.key_for("submit", self.key)),
            "limit_amount": self.item.amount,
            "limit_expires_at": now + self.item.get_expiry(),
            "limit_now": now,
        }


class OverLimitError(Exception):
    """The single statement counted a hit over its limit (nothing was stored)."""

    def __init__(self, hit: LimitHit) -> None:
        super().__init__(hit.key)
        self.hit = hit


def _statement_hit(
    desk: DeskRef | None, device_token: str | None, client_ip: str | None
) -> LimitHit | None:
    """The hit for the insert statement to count, or None when the limiter counts it
    itself (another storage or strategy) or is off."""
    if not _limiting():
        return None
    strategy = limiter.limiter
    if type(strategy) is not FixedWindowRateLimiter:
        return None
    storage = strategy.storage
    if not isinstance(storage, DatabaseStorage):
        return None
    item, key = _limit_for(desk, device_token, client_ip)
    return LimitHit(item, key, storage)


def _rate_limited(
    desk: DeskRef | None, device_token: str | None, client_ip: str | None
) -> SubmitResult | None:
    """Count this attempt; a 429 result if the device (or address) is over its limit
    (:func:`_limit_for`)."""
    if not _limiting():
        return None
    item, key = _limit_for(desk, device_token, client_ip)
    if limiter.limiter.hit(item, "submit", key):
        return None
    return _too_many(item, key)


def _too_many(item: RateLimitItem, key: str) -> SubmitResult:
    """429 with the seconds until the window of ``key`` ends (Retry-After)."""
    reset_at = limiter.limiter.get_window_stats(item, "submit", key).reset_time
    retry_after = max(1, math.ceil(reset_at - time.time()))
    result = _error(
        429,
        "too_many_requests",
        _("Too many responses from this device. Please wait a moment and try again."),
    )
    return SubmitResult(result.status, result.body, {"Retry-After": str(retry_after)})


# ---------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------


def _current_lang() -> str:
    if not has_request_context():
        return "vi"
    locale = get_locale()
    language = str(locale.language) if locale is not None else "vi"
    return language if language in LANGUAGES else "vi"


def submit(
    payload: dict[str, Any], *, device_token: str | None, client_ip: str | None
) -> SubmitResult:
    """Validate and store one submission; never raises for a client's mistake.

    Parameters
    ----------
    payload
        The submission (the API's JSON body, or the phone form's fields in that shape).
    device_token
        The kiosk's device token (``Authorization: Bearer``); required for channel
        ``kiosk``, ignored for ``phone``.
    client_ip
        The client's address, the rate-limit key when there is no valid device token.

    Returns
    -------
    SubmitResult
        201 created, 200 repeated, 400, 401, 409 (``conflict`` / ``duplicate_dossier``),
        422 (every bad field listed), 429, or 503 while the dossier key is not the
        data's. Messages are in the submission's ``lang``, else the current locale.
    """
    requested = payload.get("lang") if isinstance(payload, dict) else None
    lang = requested if requested in LANGUAGES else _current_lang()
    with force_locale(lang):
        refused = _dossier_key_refusal()
        if refused is not None:
            return refused
        return _submit(payload, lang, device_token=device_token, client_ip=client_ip)


def _submit(
    payload: Any, lang: str, *, device_token: str | None, client_ip: str | None
) -> SubmitResult:
    if not isinstance(payload, dict):
        return _rate_limited(None, device_token, client_ip) or _not_an_object()
    key = context_key(payload)
    remembered = _remembered(key)
    if remembered is None:
        context = find_context(key)
        limited = _rate_limited(context.desk, device_token, client_ip)
        if limited is not None:
            return limited
    else:
        # The hit counts under the remembered desk, as it always did; the single
        # statement counts it itself when the storage is survey-sql:// (one commit).
        checked = _check_fields(payload, lang, remembered)
        submission = checked.submission()
        hit = None
        if submission is not None and _may_submit(checked, device_token):
            hit = _statement_hit(remembered.desk, device_token, client_ip)
        if hit is None:
            limited = _rate_limited(remembered.desk, device_token, client_ip)
            if limited is not None:
                return limited
        if submission is not None and _may_submit(checked, device_token):
            try:
                outcome = _store_at_once(submission, _draft(submission), device_token, hit)
            except OverLimitError as error:
                return _too_many(error.hit.item, error.hit.key)
            if outcome is not None:
                return _outcome_result(outcome, submission.client_id)
        # Invalid, or the context changed: decide afresh, as if nothing was remembered
        # (the hit is counted already).
        context = find_context(key)
    _remember(key, context)
    checked = _check_fields(payload, lang, context)
    if not _may_submit(checked, device_token):
        return _error(
            401,
            "unauthorized",
            _("A kiosk submission needs this desk's device token (Authorization: Bearer <token>)."),
        )
    submission = checked.submission()
    if submission is None:
        return _invalid(checked.errors)
    if submission.wave_id is None:  # the first valid answer of a feedback period opens it
        period = waves.ensure_feedback_period(
            submission.desk.unit_id,
            submission.codebook.questionnaire_id,
            _local_day(submission.submitted_at),
        )
        submission = replace(submission, wave_id=period)
        _remember(key, replace(context, wave_id=period))
    return _store(submission)


def _may_submit(checked: _Checked, device_token: str | None) -> bool:
    """False for a kiosk submission to a known desk without that desk's device token."""
    desk = checked.desk
    return checked.channel is not Channel.KIOSK or desk is None or _authorised(desk, device_token)


def _authorised(desk: DeskRef, device_token: str | None) -> bool:
    """Whether the token is the current device token of this (active) desk."""
    if desk.token_hash is None:
        return False
    return hmac.compare_digest(desk.token_hash, desk_service.hash_token(device_token or ""))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _invalid(errors: list[dict[str, str]]) -> SubmitResult:
    """422 listing the errors: at most :data:`ERRORS_MAX` of them (``errors_total``
    then says how many there were), each repeating at most :data:`ECHO_MAX` characters
    of a field name, so a reply stays small whatever the body held."""
    message = _("The response is not valid; see the errors for each field.")
    listed = [
        {key: _clip(str(value), ECHO_MAX if key == "field" else 4 * ECHO_MAX)
         for key, value in error.items()}
        for error in errors[:ERRORS_MAX]
    ]  # fmt: skip
    extra: dict[str, Any] = {"errors": listed}
    if len(errors) > ERRORS_MAX:
        extra["errors_total"] = len(errors)
    return _error(422, "invalid", message, **extra)


def _draft(submission: Submission) -> ResponseDraft:
    dossier_hash = hash_dossier(submission.dossier) if submission.dossier else None
    return ResponseDraft(
        client_id=submission.client_id,
        questionnaire_id=submission.codebook.questionnaire_id,
        unit_id=submission.desk.unit_id,
        desk_id=submission.desk.id,
        wave_id=submission.wave_id,
        channel=submission.channel,
        answers=submission.answers,
        lang=submission.lang,
        started_at=submission.started_at,
        submitted_at=submission.submitted_at,
        dossier_hash=dossier_hash,
        # The content hash leaves out the keyed dossier hash (the dossier is compared by
        # its own column, responses.existing_outcome), so it depends on no secret; the
        # None entry keeps the hashes of responses stored before that unchanged.
        extra_hash_fields={"dossier_hash": None},
    )


def _store(submission: Submission) -> SubmitResult:
    draft = _draft(submission)
    # Looked for on retries too (one query either way); a retry stores nothing.
    if is_burst(
        submission.desk.id,
        submission.codebook.questionnaire_id,
        submission.answers,
        submission.submitted_at,
    ):
        draft = replace(draft, flag_reason=BURST_FLAG)
    try:
        outcome = store(draft, submission.codebook)
    except InvalidAnswersError as error:  # answers were cleaned above; kept for safety
        return _invalid([e.to_dict() for e in error.errors])
    return _outcome_result(outcome, submission.client_id)


def _duplicate_dossier() -> SubmitResult:
    return _error(
        409,
        "duplicate_dossier",
        _(
            "A response for this dossier code has already been received; "
            "each dossier can be rated only once."
        ),
    )


def _outcome_result(outcome: StoreOutcome, client_id: uuid.UUID) -> SubmitResult:
    if outcome is StoreOutcome.CREATED:
        return SubmitResult(201, {"id": str(client_id), "status": "created"})
    if outcome is StoreOutcome.REPEATED:
        return SubmitResult(200, {"id": str(client_id), "status": "repeated"})
    if outcome is StoreOutcome.DUPLICATE_DOSSIER:
        return _duplicate_dossier()
    return _error(
        409,
        "conflict",
        _("A different response with this id is already stored; a new response needs a new id."),
    )
