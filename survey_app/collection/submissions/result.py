"""What a submission is answered: an HTTP status, a JSON body and extra headers.

Every answer of :func:`.entry.submit` is a :class:`SubmitResult`, built here: the error
body ``{"error", "message"}``, the 422 that lists every bad field (capped, so a reply
stays small whatever was sent) and the answers for each way a store can end.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from survey_app.collection.responses import StoreOutcome
from survey_app.openapi.common import ECHO_MAX, echo
from survey_app.openapi.submissions import ERRORS_MAX

# The limits are the OpenAPI document's (ValidationError): at most ERRORS_MAX errors,
# each repeating at most ECHO_MAX characters of a field name (the detail and message,
# ECHO_MAX * 4), so a reply stays a few kB whatever was sent.


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


def error_result(status: int, error: str, message: str, **extra: Any) -> SubmitResult:
    return SubmitResult(status, {"error": error, "message": message, **extra})


def not_an_object() -> SubmitResult:
    return error_result(400, "bad_request", _("The request body must be a JSON object."))


def invalid(errors: list[dict[str, str]]) -> SubmitResult:
    """422 listing the errors: at most :data:`ERRORS_MAX` of them (``errors_total``
    then says how many there were), each repeating at most :data:`ECHO_MAX` characters
    of a field name, so a reply stays small whatever the body held."""
    message = _("The response is not valid; see the errors for each field.")
    listed = [
        {key: echo(str(value), ECHO_MAX if key == "field" else 4 * ECHO_MAX)
         for key, value in error.items()}
        for error in errors[:ERRORS_MAX]
    ]  # fmt: skip
    extra: dict[str, Any] = {"errors": listed}
    if len(errors) > ERRORS_MAX:
        extra["errors_total"] = len(errors)
    return error_result(422, "invalid", message, **extra)


def _duplicate_dossier() -> SubmitResult:
    return error_result(
        409,
        "duplicate_dossier",
        _(
            "A response for this dossier code has already been received; "
            "each dossier can be rated only once."
        ),
    )


def outcome_result(outcome: StoreOutcome, client_id: uuid.UUID) -> SubmitResult:
    if outcome is StoreOutcome.CREATED:
        return SubmitResult(201, {"id": str(client_id), "status": "created"})
    if outcome is StoreOutcome.REPEATED:
        return SubmitResult(200, {"id": str(client_id), "status": "repeated"})
    if outcome is StoreOutcome.DUPLICATE_DOSSIER:
        return _duplicate_dossier()
    return error_result(
        409,
        "conflict",
        _("A different response with this id is already stored; a new response needs a new id."),
    )
