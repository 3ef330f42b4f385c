"""The desk, the questionnaire and the wave a submission names, found in one query.

:func:`context_key` reads the names from a payload (None for any that is malformed),
:func:`find_context` looks them up (:func:`.sql.context_statement`), and
:func:`authorised` says whether a device token is the desk's current one.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from survey_app.collection import desks as desk_service
from survey_app.collection import questionnaires as questionnaire_service
from survey_app.collection.submissions import schema, sql
from survey_app.collection.submissions.times import local_day, utc_moment
from survey_app.extensions import db

# PostgreSQL refuses NUL in text and no driver can encode a lone surrogate (JSON allows
# "\ud800"); no code or slug holds a control character or a surrogate anyway.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


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


def authorised(desk: DeskRef, device_token: str | None) -> bool:
    """Whether the token is the current device token of this (active) desk."""
    if desk.token_hash is None:
        return False
    return hmac.compare_digest(desk.token_hash, desk_service.hash_token(device_token or ""))


def _desk_code(value: Any) -> str | None:
    """The desk code a payload names, if it could be one."""
    if not isinstance(value, str):
        return None
    code = value.strip()
    if not code or len(code) > schema.max_length("desk") or CONTROL_RE.search(code):
        return None
    return code


def _questionnaire_key(value: Any) -> tuple[str, int] | None:
    """The (slug, version) a payload names, if it could be one."""
    if not isinstance(value, Mapping):
        return None
    slug, version = value.get("slug"), value.get("version")
    if not isinstance(slug, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    too_long = len(slug) > schema.max_length("questionnaire", "slug")
    if too_long or CONTROL_RE.search(slug) or not -(2**31) < version < 2**31:
        return None
    return slug, version


@dataclass(frozen=True)
class ContextKey:
    """What a payload names: desk code, questionnaire, local date of submission."""

    code: str | None
    slug: str | None
    version: int | None
    day: date | None


def context_key(payload: Mapping[str, Any]) -> ContextKey:
    """The names a payload gives, or None for any that is malformed."""
    moment = utc_moment(payload.get("submitted_at"))
    key = _questionnaire_key(payload.get("questionnaire"))
    slug, version = key if key is not None else (None, None)
    day = local_day(moment) if isinstance(moment, datetime) else None
    return ContextKey(_desk_code(payload.get("desk")), slug, version, day)


def find_context(key: ContextKey) -> Context:
    """The active desk, the questionnaire and the wave a payload names, in one query.

    The wave is the continuous-feedback wave of this questionnaire whose dates cover
    the local date of ``submitted_at`` and whose unit is the desk's unit or one of its
    ancestors; if several do, the one of the most specific unit wins, then the latest
    start (:func:`.sql.wave_subquery`). Names that are
    malformed (checked and reported by the field checks) match nothing.
    """
    if key.code is None and key.slug is None:
        return Context()
    row = (
        db.session.connection()
        .execute(
            sql.context_statement(),
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
