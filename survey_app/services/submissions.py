"""Accepting a citizen's response from the kiosk, the phone form or the JSON API.

:func:`submit` is the one entry point: it checks the rate limit, authenticates a
kiosk, validates every field (naming each bad one), resolves the wave, refuses a
second response for the same dossier, flags bursts of identical answers, and stores
the response whole, exactly once (:func:`survey_app.services.responses.store`). It
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
  by ``DOSSIER_HASH_KEY`` or, when that is unset, by a key derived from ``SECRET_KEY``
  (so set ``DOSSIER_HASH_KEY`` before rotating ``SECRET_KEY``). A second response for
  the same dossier is refused (409 ``duplicate_dossier``).
- Rate limit: per kiosk device token (``RATELIMIT_SUBMIT_KIOSK``) when the request
  carries a valid one, otherwise per client IP (``RATELIMIT_SUBMIT_PHONE``), in
  Flask-Limiter's storage with its strategy; every attempt counts, valid or not.
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
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_request_context
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from limits import parse as parse_limit
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey_app import questionnaire as spec
from survey_app.extensions import LANGUAGES, db, limiter
from survey_app.models import Channel, Desk, Questionnaire, Response, Unit, Wave, WaveKind
from survey_app.models._types import utcnow
from survey_app.services import desks as desk_service
from survey_app.services import questionnaires as questionnaire_service
from survey_app.services.responses import (
    InvalidAnswersError,
    ResponseDraft,
    StoreOutcome,
    existing_outcome,
    store,
)

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
DOSSIER_MAX_LENGTH = 64
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
class Submission:
    """A submission whose every field passed its checks."""

    client_id: uuid.UUID
    desk: Desk
    questionnaire: Questionnaire
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
    errors: list[dict[str, str]] = field(default_factory=list)
    client_id: uuid.UUID | None = None
    desk: Desk | None = None
    questionnaire: Questionnaire | None = None
    definition: spec.Questionnaire | None = None
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
            or self.questionnaire is None
            or self.answers is None
            or self.channel is None
            or self.lang is None
            or self.submitted_at is None
        ):
            return None
        return Submission(
            client_id=self.client_id,
            desk=self.desk,
            questionnaire=self.questionnaire,
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
    elif not UUID_RE.match(value) or uuid.UUID(value).int == 0:
        checked.add("id", "invalid_uuid", _message_for("invalid_uuid"))
    else:
        checked.client_id = uuid.UUID(value)


def _check_desk(checked: _Checked, value: Any) -> None:
    if not isinstance(value, str):
        _type_error(checked, "desk", "string")
        return
    code = value.strip()
    desk = None
    if code and len(code) <= DESK_CODE_MAX_LENGTH and not CONTROL_RE.search(code):
        desk = db.session.scalar(select(Desk).where(Desk.code == code, Desk.active))
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
    row = None
    if len(slug) <= 64 and not CONTROL_RE.search(slug) and -(2**31) < version < 2**31:
        row = questionnaire_service.get(slug, version)
    if row is None:
        checked.add("questionnaire", "unknown_questionnaire", _message_for("unknown_questionnaire"))
        return
    checked.questionnaire = row
    checked.definition = questionnaire_service.parsed(row)


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


def _parse_datetime(checked: _Checked, name: str, value: Any) -> datetime | None:
    if not isinstance(value, str):
        _type_error(checked, name, "string")
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or parsed.utcoffset() is None:
        checked.add(name, "invalid_datetime", _message_for("invalid_datetime"))
        return None
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        checked.add(name, "invalid_datetime", _message_for("invalid_datetime"))
        return None
    if moment > utcnow() + MAX_CLOCK_SKEW:
        checked.add(name, "in_future", _message_for("in_future"))
        return None
    return moment


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
    if checked.definition is None:
        return  # unknown questionnaire: already reported, nothing to check against
    try:
        checked.answers = spec.clean_answers(checked.definition, value)
    except spec.InvalidAnswersError as error:
        _add_answer_errors(checked, error.errors)


def _add_answer_errors(checked: _Checked, errors: list[spec.AnswerError]) -> None:
    lang = checked.message_lang
    for error in errors:
        name = "answers" if error.field == "answers" else f"answers.{error.field}"
        label = spec.ANSWER_ERROR_CODES.get(error.code)
        message = label.get(lang) if label is not None else error.message
        checked.add(name, error.code, message, detail=error.message)


def _check_fields(payload: Mapping[str, Any], message_lang: str) -> _Checked:
    checked = _Checked(message_lang)
    for key in payload:
        if key not in REQUIRED_FIELDS and key not in OPTIONAL_FIELDS:
            checked.add(str(key), "unknown_field", _message_for("unknown_field"))
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
    return checked


# ---------------------------------------------------------------------------
# Dossier hashing, waves, bursts, rate limits
# ---------------------------------------------------------------------------


def dossier_key() -> bytes:
    """The HMAC key for dossier codes: ``DOSSIER_HASH_KEY``, else derived from SECRET_KEY."""
    configured = current_app.config.get("DOSSIER_HASH_KEY")
    if configured:
        return str(configured).encode("utf-8")
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, b"survey-platform/dossier-hash/v1", hashlib.sha256).digest()


def hash_dossier(code: str) -> str:
    """HMAC-SHA256 (hex) of a normalised dossier code; the code itself is never stored."""
    message = normalise_dossier(code).encode("utf-8")
    return hmac.new(dossier_key(), message, hashlib.sha256).hexdigest()


def _local_timezone() -> timezone | ZoneInfo:
    name = str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Ho_Chi_Minh")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=7))


def resolve_wave(desk: Desk, questionnaire_id: int, submitted_at: datetime) -> int | None:
    """The continuous-feedback wave this response belongs to, or None.

    The wave must use this questionnaire, belong to the desk's unit or one of its
    ancestors (a prefix of ``Unit.path``), and cover the local date of
    ``submitted_at``. If several do, the one of the most specific unit wins, then the
    latest start.
    """
    path = db.session.scalar(select(Unit.path).where(Unit.id == desk.unit_id))
    if path is None:
        return None
    lineage = [int(part) for part in path.strip("/").split("/") if part.isdigit()]
    if desk.unit_id not in lineage:
        lineage.append(desk.unit_id)
    day: date = submitted_at.astimezone(_local_timezone()).date()
    waves = db.session.scalars(
        select(Wave).where(
            Wave.kind == WaveKind.CONTINUOUS_FEEDBACK,
            Wave.questionnaire_id == questionnaire_id,
            Wave.unit_id.in_(lineage),
            Wave.start_date <= day,
            Wave.end_date >= day,
        )
    ).all()
    if not waves:
        return None
    best = max(waves, key=lambda w: (lineage.index(w.unit_id), w.start_date, w.id))
    return best.id


def _as_utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes (stored in UTC); PostgreSQL aware ones.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_burst(desk_id: int, questionnaire_id: int, answers: dict[str, Any], at: datetime) -> bool:
    """Whether this answer set completes a burst of identical ones from the desk.

    A burst is ``BURST_COUNT`` identical answer sets, this one included, whose
    ``submitted_at`` times fit in a window of ``BURST_WINDOW_S`` seconds.
    """
    count = int(current_app.config.get("BURST_COUNT", 5))
    window = timedelta(seconds=float(current_app.config.get("BURST_WINDOW_S", 120)))
    if count <= 0:
        return False
    if count == 1:
        return True
    query = select(Response.answers, Response.submitted_at).where(
        Response.desk_id == desk_id,
        Response.questionnaire_id == questionnaire_id,
        # received_at first: it leads the (desk_id, received_at) index.
        Response.received_at >= at - window - MAX_CLOCK_SKEW,
        Response.submitted_at >= at - window,
        Response.submitted_at <= at + window,
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # JSONB equality is equality of content: only the identical sets come back.
        # (SQLite compares JSON as text, so there the comparison stays in Python.)
        query = query.where(Response.answers == answers)
    rows = db.session.execute(query).all()
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


def _device_desk_id(device_token: str | None) -> int | None:
    """The id of the active desk whose current device token this is, if any."""
    if not device_token:
        return None
    token_hash = desk_service.hash_token(device_token)
    return db.session.scalar(select(Desk.id).where(Desk.token_hash == token_hash, Desk.active))


def _rate_limited(device_token: str | None, client_ip: str | None) -> SubmitResult | None:
    """Count this attempt; a 429 result if the device (or IP) is over its limit."""
    if not current_app.config.get("RATELIMIT_ENABLED", True) or not limiter.enabled:
        return None
    desk_id = _device_desk_id(device_token)
    if desk_id is not None:
        limit_text, key = current_app.config["RATELIMIT_SUBMIT_KIOSK"], f"desk:{desk_id}"
    else:
        limit_text, key = current_app.config["RATELIMIT_SUBMIT_PHONE"], f"ip:{client_ip}"
    item = parse_limit(str(limit_text))
    strategy = limiter.limiter
    if strategy.hit(item, "submit", key):
        return None
    reset_at = strategy.get_window_stats(item, "submit", key).reset_time
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
        422 (every bad field listed) or 429. Messages are in the submission's ``lang``,
        else the current locale.
    """
    requested = payload.get("lang") if isinstance(payload, dict) else None
    lang = requested if requested in LANGUAGES else _current_lang()
    with force_locale(lang):
        return _submit(payload, lang, device_token=device_token, client_ip=client_ip)


def _submit(
    payload: Any, lang: str, *, device_token: str | None, client_ip: str | None
) -> SubmitResult:
    limited = _rate_limited(device_token, client_ip)
    if limited is not None:
        return limited
    if not isinstance(payload, dict):
        return _not_an_object()
    checked = _check_fields(payload, lang)
    desk = checked.desk
    if (
        checked.channel is Channel.KIOSK
        and desk is not None
        and not _authorised(desk, device_token)
    ):
        return _error(
            401,
            "unauthorized",
            _("A kiosk submission needs this desk's device token (Authorization: Bearer <token>)."),
        )
    submission = checked.submission()
    if submission is None:
        return _invalid(checked.errors)
    return _store(submission)


def _authorised(desk: Desk, device_token: str | None) -> bool:
    """Whether the token is the current device token of this (active) desk."""
    if desk.token_hash is None or not desk.active:
        return False
    return hmac.compare_digest(desk.token_hash, desk_service.hash_token(device_token or ""))


def _invalid(errors: list[dict[str, str]]) -> SubmitResult:
    message = _("The response is not valid; see the errors for each field.")
    return _error(422, "invalid", message, errors=errors)


def _store(submission: Submission) -> SubmitResult:
    desk, questionnaire = submission.desk, submission.questionnaire
    dossier_hash = hash_dossier(submission.dossier) if submission.dossier else None
    previous = db.session.scalar(select(Response).where(Response.client_id == submission.client_id))
    wave_id = (
        previous.wave_id
        if previous is not None
        else resolve_wave(desk, questionnaire.id, submission.submitted_at)
    )
    draft = ResponseDraft(
        client_id=submission.client_id,
        questionnaire_id=questionnaire.id,
        unit_id=desk.unit_id,
        desk_id=desk.id,
        wave_id=wave_id,
        channel=submission.channel,
        answers=submission.answers,
        lang=submission.lang,
        started_at=submission.started_at,
        submitted_at=submission.submitted_at,
        dossier_hash=dossier_hash,
        extra_hash_fields={"dossier_hash": dossier_hash},
    )
    if previous is None:
        if dossier_hash is not None and _dossier_used(dossier_hash):
            return _duplicate_dossier()
        if is_burst(desk.id, questionnaire.id, submission.answers, submission.submitted_at):
            draft = replace(draft, flag_reason=BURST_FLAG)
    try:
        outcome, _response = store(draft, looked_up=previous is None)
    except InvalidAnswersError as error:  # answers were cleaned above; kept for safety
        return _invalid([e.to_dict() for e in error.errors])
    except IntegrityError:
        # store() rolled back: a concurrent request took the id or the dossier first.
        repeated = existing_outcome(draft)
        if repeated is not None:
            return _outcome_result(repeated[0], submission.client_id)
        if dossier_hash is not None and _dossier_used(dossier_hash):
            return _duplicate_dossier()
        raise
    return _outcome_result(outcome, submission.client_id)


def _dossier_used(dossier_hash: str) -> bool:
    found = db.session.scalar(select(Response.id).where(Response.dossier_hash == dossier_hash))
    return found is not None


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
    return _error(
        409,
        "conflict",
        _("A different response with this id is already stored; a new response needs a new id."),
    )
