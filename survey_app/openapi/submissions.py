"""OpenAPI description of ``POST /api/v1/responses`` (see collection/submissions/).

The schema ``Submission`` (with ``QuestionnaireRef`` and ``Answers``) is also the
validator of a submission's shape: :mod:`survey_app.collection.submissions.schema`
validates every payload with it (JSON Schema 2020-12), so a limit changed here changes
both the document and what the server accepts. Each constraint other than ``type``,
``required``, ``additionalProperties``, ``enum`` and ``maxLength`` names the error code
the client gets in ``x-error-code`` (the schema that holds the constraint).
"""

from __future__ import annotations

from typing import Any

from survey_app.openapi.common import ECHO_MAX, error_response

EXAMPLE_ID = "3f2b8c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"

#: A 422 lists at most this many errors (``ValidationError.errors.maxItems``), then
#: says how many there were in ``errors_total``; the answer to a submission
#: (:func:`survey_app.collection.submissions.result.invalid`) keeps to it.
ERRORS_MAX = 20

_TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 with a time-zone offset; stored in UTC.",
    "examples": ["2025-03-01T09:30:00+07:00"],
}

SCHEMAS: dict[str, Any] = {
    "Submission": {
        "type": "object",
        "description": (
            "One citizen's answers. Unknown top-level fields are refused (422), so a "
            "misspelt optional field is never silently dropped. A field that is null "
            "counts as left out. Integers are written without a fraction (1, not 1.0)."
        ),
        "required": ["id", "desk", "questionnaire", "answers", "channel", "lang", "submitted_at"],
        "additionalProperties": False,
        "properties": {
            "id": {
                "type": "string",
                "format": "uuid",
                "pattern": "^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$",
                "not": {"const": "00000000-0000-0000-0000-000000000000"},
                "x-error-code": "invalid_uuid",
                "description": (
                    "Made by the client (a random UUID, version 4) when the citizen starts "
                    "answering, and kept for every resend of the same response. The nil "
                    "UUID is refused."
                ),
                "examples": [EXAMPLE_ID],
            },
            "desk": {
                "type": "string",
                "minLength": 1,
                "maxLength": 32,
                "x-error-code": "unknown_desk",
                "description": "Code of an active desk.",
                "examples": ["HM-01"],
            },
            "questionnaire": {"$ref": "#/components/schemas/QuestionnaireRef"},
            "answers": {"$ref": "#/components/schemas/Answers"},
            "channel": {
                "type": "string",
                "enum": ["kiosk", "phone"],
                "description": (
                    "`kiosk` needs the desk's device token (bearer); `phone` is anonymous."
                ),
            },
            "lang": {
                "type": "string",
                "enum": ["vi", "en"],
                "description": "Language the citizen used; error messages follow it.",
            },
            "started_at": {
                **_TIMESTAMP,
                "description": "When the citizen began (optional); not after submitted_at.",
            },
            "submitted_at": {
                **_TIMESTAMP,
                "description": (
                    "When the citizen finished, by the device's clock: may be long past "
                    "(offline queue) but at most one day in the future. It decides the wave."
                ),
            },
            "dossier": {
                "type": ["string", "null"],
                "maxLength": 64,
                "description": (
                    "Optional dossier code (mã hồ sơ). Only a keyed hash (HMAC-SHA256) of "
                    "it, after removing spaces and upper-casing, is stored; a second "
                    "response for the same dossier is refused (409 duplicate_dossier). "
                    "The limit applies to the text as sent and after normalising."
                ),
            },
        },
        "example": {
            "id": EXAMPLE_ID,
            "desk": "HM-01",
            "questionnaire": {"slug": "kiosk_quick", "version": 1},
            "answers": {"mood": 5, "positives": ["nhanh", "tan_tinh"]},
            "channel": "kiosk",
            "lang": "vi",
            "started_at": "2025-03-01T09:29:20+07:00",
            "submitted_at": "2025-03-01T09:30:00+07:00",
        },
    },
    "QuestionnaireRef": {
        "type": "object",
        "required": ["slug", "version"],
        "additionalProperties": False,
        "properties": {
            "slug": {
                "type": "string",
                "maxLength": 64,
                "x-error-code": "unknown_questionnaire",
                "examples": ["kiosk_quick"],
            },
            "version": {
                "type": "integer",
                "minimum": 1,
                "x-error-code": "unknown_questionnaire",
                "examples": [1],
            },
        },
    },
    "Answers": {
        "type": "object",
        "description": (
            "Item code → answer, checked against the questionnaire: a level (integer) for "
            "likert5 and smiley items, an option code for single choice, a list of "
            'distinct option codes for multiple choice, a number, or text. null, "" and '
            "[] mean not answered. Required items must be answered when shown; items "
            "hidden by skip logic must not be."
        ),
        "propertyNames": {"pattern": "^[a-z][a-z0-9_]{0,31}$", "x-error-code": "unknown_item"},
        "additionalProperties": {
            "type": ["integer", "number", "string", "array", "null"],
            "items": {"type": "string"},
        },
    },
    "Stored": {
        "type": "object",
        "required": ["id", "status"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "status": {"type": "string", "enum": ["created", "repeated"]},
        },
    },
    "FieldError": {
        "type": "object",
        "required": ["field", "code", "message"],
        "properties": {
            "field": {
                "type": "string",
                "description": (
                    "The bad field: a top-level name (`id`, `desk`, `questionnaire`, "
                    "`questionnaire.slug`, `channel`, `lang`, `started_at`, "
                    "`submitted_at`, `dossier`, or an unknown name), `answers` for the "
                    "whole set, or `answers.<item code>` for one answer."
                ),
                "examples": ["answers.mood"],
            },
            "code": {
                "type": "string",
                "description": (
                    "Stable code. Top-level fields: required, wrong_type, unknown_field, "
                    "invalid_uuid, unknown_desk, unknown_questionnaire, invalid_choice, "
                    "invalid_datetime, in_future, too_early, after_submission, too_long, "
                    "invalid_characters. Answers: the questionnaire's answer codes "
                    "(required, wrong_type, unknown_item, out_of_range, not_integer, "
                    "unknown_option, duplicate_option, too_few_choices, too_many_choices, "
                    "too_long, invalid_characters, hidden_item_answered)."
                ),
                "examples": ["out_of_range"],
            },
            "message": {"type": "string", "description": "For people, in the request's language."},
            "detail": {
                "type": "string",
                "description": "Answers only: a technical English explanation.",
            },
        },
    },
    "ValidationError": {
        "allOf": [
            {"$ref": "#/components/schemas/Error"},
            {
                "type": "object",
                "required": ["errors"],
                "properties": {
                    "error": {"const": "invalid"},
                    "errors": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": ERRORS_MAX,
                        "items": {"$ref": "#/components/schemas/FieldError"},
                        "description": (
                            f"Every bad field, not just the first, up to {ERRORS_MAX}; an "
                            f"echoed field name is cut after {ECHO_MAX} characters."
                        ),
                    },
                    "errors_total": {
                        "type": "integer",
                        "description": (
                            f"Only when more than {ERRORS_MAX} errors were found: how many."
                        ),
                    },
                },
            },
        ],
    },
}

_STORED = {
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Stored"}},
    },
}

PATHS: dict[str, Any] = {
    "/responses": {
        "post": {
            "operationId": "submitResponse",
            "summary": "Store one citizen's response, exactly once",
            "description": (
                "Validates the response against its questionnaire and stores it whole in "
                "one transaction, or not at all. Idempotent by `id`: resend the same body "
                "until a 200 or 201 arrives.\n\n"
                "**Waves** are resolved by the server: the continuous-feedback wave of "
                "this questionnaire whose unit is the desk's unit or an ancestor and "
                "whose dates cover `submitted_at` (local date), else none.\n\n"
                "**Anti-stuffing.** Requests are rate limited per kiosk device token "
                "(`RATELIMIT_SUBMIT_KIOSK`, default 30 per minute) or, without a valid "
                "token, per client IP (`RATELIMIT_SUBMIT_PHONE`, default 10 per minute). "
                "When one desk receives `BURST_COUNT` (default 5) identical answer sets "
                "in one wave whose `submitted_at` fit in `BURST_WINDOW_S` (default 120) "
                "seconds, the "
                "response is still stored (201) but flagged `burst` for the survey team "
                "to review; the client is not told.\n\n"
                "CSRF does not apply (token-authenticated JSON)."
            ),
            "security": [{}, {"deviceToken": []}],
            "parameters": [
                {
                    "name": "Accept-Language",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "vi or en, for messages when the body has no valid `lang`.",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Submission"}}
                },
            },
            "responses": {
                "201": {"description": "Stored.", **_STORED},
                "200": {
                    "description": "Already stored with the same content (a retry); nothing added.",
                    **_STORED,
                },
                "400": error_response(
                    "The body is not valid UTF-8, not valid JSON, or not a JSON object.",
                    {"error": "bad_request", "message": "The request body is not valid JSON."},
                ),
                "401": error_response(
                    "Channel kiosk without this desk's valid device token.",
                    {"error": "unauthorized", "message": "…"},
                ),
                "409": error_response(
                    "`conflict`: this id is stored with different content (use a new id "
                    "for a new response). `duplicate_dossier`: a response for this "
                    "dossier was already received.",
                    {"error": "duplicate_dossier", "message": "…"},
                ),
                "413": error_response(
                    "The body is larger than the server's MAX_CONTENT_LENGTH.",
                    {"error": "request_entity_too_large", "message": "…"},
                ),
                "415": error_response(
                    "The Content-Type is not application/json.",
                    {"error": "unsupported_media_type", "message": "…"},
                ),
                "422": {
                    "description": (
                        "Fields are missing or invalid, the desk or questionnaire is "
                        "unknown, or the answers do not satisfy the questionnaire. Every "
                        "bad field is listed. Resending the same body will fail again."
                    ),
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ValidationError"},
                            "example": {
                                "error": "invalid",
                                "message": "…",
                                "errors": [
                                    {
                                        "field": "answers.mood",
                                        "code": "out_of_range",
                                        "message": "Giá trị nằm ngoài khoảng cho phép.",
                                        "detail": "expected a level 1..5, got 7",
                                    }
                                ],
                            },
                        }
                    },
                },
                "429": {
                    **error_response("Rate limited: wait `Retry-After` seconds, then resend."),
                    "headers": {
                        "Retry-After": {
                            "description": "Seconds to wait before resending.",
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    },
                },
                "503": {
                    **error_response(
                        "Submissions are refused, nothing stored: this server's dossier key "
                        "is missing (`dossier_key_missing`) or is not the one the stored "
                        "responses were recorded with (`dossier_key_mismatch`), e.g. after "
                        "a restore without the key. `reason` says which, in words; resend "
                        "later, with the same id.",
                        {
                            "error": "dossier_key_missing",
                            "reason": "this server has no dossier key, …",
                            "message": "Responses cannot be accepted at the moment: …",
                        },
                    ),
                    "headers": {
                        "Retry-After": {
                            "description": "Seconds to wait before resending.",
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    },
                },
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApiDocument",
            "summary": "This document",
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document of the API.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}
