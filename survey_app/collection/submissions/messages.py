"""The explanation of each error code of a submission's fields, in the current language.

The codes are stable (the API documents them in ``FieldError``); the messages follow
the request's language (Vietnamese unless the body's ``lang`` or Accept-Language says
English). Answer codes have their own bilingual labels
(:data:`survey_app.collection.questionnaire.ANSWER_ERROR_CODES`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask_babel import gettext as _


def message_for(code: str, **values: Any) -> str:
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


def kind_names(kinds: Iterable[str]) -> str:
    """JSON Schema types in words ("text", "a whole number"), joined by commas."""
    names: dict[str, Callable[[], str]] = {
        "string": lambda: _("text"),
        "integer": lambda: _("a whole number"),
        "number": lambda: _("a number"),
        "object": lambda: _("an object"),
        "array": lambda: _("a list"),
    }
    return ", ".join(names[kind]() if kind in names else kind for kind in kinds)
