"""Pieces of the OpenAPI document shared by every topic."""

from __future__ import annotations

from typing import Any

#: How many characters of a text sent by the client (a field name, a code) an error
#: repeats; a longer one is cut there and ends in "…" (:func:`echo`). The submission's
#: ``ValidationError`` and the read endpoints' messages keep to it.
ECHO_MAX = 80


def echo(text: str, limit: int = ECHO_MAX) -> str:
    """``text`` as an error repeats it: at most ``limit`` characters, then "…"."""
    return text if len(text) <= limit else text[:limit] + "…"


#: Schemas shared by every topic.
COMMON_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": (
            "Every error: a stable machine-readable code and a message for people, in the "
            "request's language (the body's `lang`, else Accept-Language vi/en, else vi)."
        ),
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "examples": ["conflict"]},
            "message": {"type": "string"},
        },
    },
}

SECURITY_SCHEMES: dict[str, Any] = {
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": (
            "The dashboard's login session (Flask-Login). Read endpoints answer only "
            "within the user's unit scope."
        ),
    },
    "deviceToken": {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "A kiosk's device token, issued per desk by `flask desks token` or the admin "
            "pages. Only its hash is stored; issuing a new token revokes the old one."
        ),
    },
}


def error_response(description: str, example: dict[str, Any] | None = None) -> dict[str, Any]:
    """A response object whose body is the shared ``Error`` schema."""
    content: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/Error"}}
    if example is not None:
        content["example"] = example
    return {"description": description, "content": {"application/json": content}}
