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
    return payload
