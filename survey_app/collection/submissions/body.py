"""The HTTP body of ``POST /api/v1/responses``: JSON, UTF-8, an object, or a clear 4xx."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext as _

from survey_app.collection.submissions.result import (
    RequestBodyError,
    error_result,
    not_an_object,
)
from survey_app.edge import FORBIDDEN_IN_TEXT


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def parse_request_body(raw: bytes, mimetype: str) -> tuple[dict[str, Any], str]:
    """Decode a JSON request body into an object; returns it and the body's text.

    Raises
    ------
    RequestBodyError
        415 for a content type other than JSON; 400 for invalid UTF-8, malformed JSON
        (``NaN`` and ``Infinity`` included) or a body that is not a JSON object.
    """
    if mimetype != "application/json":
        raise RequestBodyError(
            error_result(
                415,
                "unsupported_media_type",
                _("Send the response as JSON (Content-Type: application/json)."),
            )
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestBodyError(
            error_result(400, "bad_request", _("The request body is not valid UTF-8."))
        ) from None
    try:
        payload = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise RequestBodyError(
            error_result(400, "bad_request", _("The request body is not valid JSON."))
        ) from None
    if not isinstance(payload, dict):
        raise RequestBodyError(not_an_object())
    return payload, text


def plain_text(text: str) -> bool:
    """Whether the JSON text ``text`` (decoded from UTF-8 by :func:`parse_request_body`)
    has no escape sequence and no character that text may not hold
    (:data:`survey_app.edge.FORBIDDEN_IN_TEXT`).

    Then no string decoded from it, keys included, holds one either: without an escape
    every character of a JSON string is written as itself, and valid UTF-8 encodes no
    lone surrogate. So the field-by-field search (:func:`.fields.forbidden_fields`) can
    be skipped for such a body: one search of the text instead of one per string.
    """
    return "\\" not in text and FORBIDDEN_IN_TEXT.search(text) is None
