"""The OpenAPI 3.1 document of the JSON API, served at ``/api/v1/openapi.json``.

The document is plain Python data assembled from one module per topic. To describe a
new endpoint, add a module beside ``submissions.py`` that defines ``PATHS`` (path →
path item) and ``SCHEMAS`` (name → JSON Schema), and list it in :data:`SECTIONS`.
Shared pieces (the error body, the kiosk token scheme) live in ``common.py``.
"""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

from survey_app.openapi import indices, submissions
from survey_app.openapi.common import COMMON_SCHEMAS, SECURITY_SCHEMES

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"

#: Topic modules, each with ``PATHS`` and ``SCHEMAS``.
SECTIONS: tuple[ModuleType, ...] = (submissions, indices)


def document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh copy, safe to modify)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = dict(COMMON_SCHEMAS)
    for section in SECTIONS:
        paths.update(section.PATHS)
        schemas.update(section.SCHEMAS)
    return copy.deepcopy(
        {
            "openapi": OPENAPI_VERSION,
            "info": {
                "title": "Citizen satisfaction survey API",
                "version": API_VERSION,
                "summary": "Submit citizens' answers; read indices, changes, trends and rankings.",
                "description": (
                    "JSON API of the one-stop-desk satisfaction survey platform. Every "
                    "response carries a client-generated UUID, so retries and offline "
                    "resends are never stored twice."
                ),
            },
            "servers": [{"url": "/api/v1"}],
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
        }
    )
