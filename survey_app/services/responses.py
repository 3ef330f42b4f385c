"""Storing responses: validated, encoded and written whole, exactly once.

Every response carries a client-generated UUID. Storing the same UUID again with the
same content is a harmless retry; with different content it is a conflict. The
response row and its coded answers go in one transaction, so a response is stored
whole or not at all.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey_app import questionnaire as spec
from survey_app.extensions import db
from survey_app.models import AnswerValue, Channel, Questionnaire, QuestionnaireItem, Response
from survey_app.models._types import utcnow
from survey_app.services import questionnaires


class StoreOutcome(enum.StrEnum):
    CREATED = "created"  # 201
    REPEATED = "repeated"  # 200: same id, same content
    CONFLICT = "conflict"  # 409: same id, different content


@dataclass(frozen=True)
class ResponseDraft:
    """A response as received, before it is stored."""

    client_id: uuid.UUID
    questionnaire_id: int
    unit_id: int
    channel: Channel
    answers: dict[str, Any]
    submitted_at: datetime
    lang: str = "vi"
    desk_id: int | None = None
    wave_id: int | None = None
    procedure_id: int | None = None
    started_at: datetime | None = None
    dossier_hash: str | None = None
    stratum: str | None = None
    psu: str | None = None
    design_weight: float | None = None
    flag_reason: str | None = None
    extra_hash_fields: dict[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        """SHA-256 of everything the client sent, in a canonical form."""
        content = {
            "questionnaire": self.questionnaire_id,
            "unit": self.unit_id,
            "desk": self.desk_id,
            "wave": self.wave_id,
            "channel": self.channel.value,
            "lang": self.lang,
            "answers": self.answers,
            "submitted_at": self.submitted_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            **self.extra_hash_fields,
        }
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class InvalidAnswersError(ValueError):
    """The answers do not satisfy the questionnaire; ``errors`` names every field."""

    def __init__(self, errors: Sequence[spec.AnswerError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


class _Codebook:
    """A questionnaire's parsed definition and its item ids, cached per call."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[spec.Questionnaire, dict[str, int]]] = {}

    def get(self, questionnaire_id: int) -> tuple[spec.Questionnaire, dict[str, int]]:
        if questionnaire_id not in self._cache:
            row = db.session.get(Questionnaire, questionnaire_id)
            if row is None:
                raise LookupError(f"unknown questionnaire id {questionnaire_id}")
            item_ids = db.session.execute(
                select(QuestionnaireItem.code, QuestionnaireItem.id).where(
                    QuestionnaireItem.questionnaire_id == questionnaire_id
                )
            ).all()
            self._cache[questionnaire_id] = (questionnaires.parsed(row), dict(item_ids))
        return self._cache[questionnaire_id]


def _coded_rows(
    draft: ResponseDraft, codebook: _Codebook, enforce_required: bool = True
) -> list[tuple[int, int]]:
    definition, item_ids = codebook.get(draft.questionnaire_id)
    try:  # encode_answers validates too: one pass
        coded = spec.encode_answers(definition, draft.answers, enforce_required=enforce_required)
    except spec.InvalidAnswersError as error:
        raise InvalidAnswersError(error.errors) from None
    return [(item_ids[code], value) for code, value in coded]


def _response_row(draft: ResponseDraft) -> dict[str, Any]:
    return {
        "client_id": draft.client_id,
        "questionnaire_id": draft.questionnaire_id,
        "unit_id": draft.unit_id,
        "desk_id": draft.desk_id,
        "wave_id": draft.wave_id,
        "procedure_id": draft.procedure_id,
        "channel": draft.channel,
        "lang": draft.lang,
        "started_at": draft.started_at,
        "submitted_at": draft.submitted_at,
        "received_at": utcnow(),
        "answers": draft.answers,
        "content_hash": draft.content_hash(),
        "dossier_hash": draft.dossier_hash,
        "stratum": draft.stratum,
        "psu": draft.psu,
        "design_weight": draft.design_weight,
        "flagged": draft.flag_reason is not None,
        "flag_reason": draft.flag_reason,
    }


def existing_outcome(draft: ResponseDraft) -> tuple[StoreOutcome, Response] | None:
    """If a response with this client id is stored, say whether this is a retry."""
    stored = db.session.scalar(select(Response).where(Response.client_id == draft.client_id))
    if stored is None:
        return None
    same = stored.content_hash == draft.content_hash()
    return (StoreOutcome.REPEATED if same else StoreOutcome.CONFLICT), stored


def store(draft: ResponseDraft, *, looked_up: bool = False) -> tuple[StoreOutcome, Response]:
    """Validate and store one response in its own transaction.

    ``looked_up=True`` says the caller has just found no response with this client id
    in this transaction, so the lookup is not repeated (a concurrent insert is still
    caught by the unique constraint).

    Raises
    ------
    InvalidAnswersError
        If the answers do not satisfy the questionnaire (nothing is stored).
    """
    previous = None if looked_up else existing_outcome(draft)
    if previous is not None:
        return previous
    coded = _coded_rows(draft, _Codebook())
    response = Response(**_response_row(draft))
    db.session.add(response)
    try:
        db.session.flush()
        db.session.add_all(
            AnswerValue(response_id=response.id, item_id=item_id, value=value)
            for item_id, value in coded
        )
        db.session.commit()
    except IntegrityError:
        # A concurrent request stored the same client id first (or the dossier exists).
        db.session.rollback()
        previous = existing_outcome(draft)
        if previous is not None:
            return previous
        raise
    return StoreOutcome.CREATED, response


def store_many(
    drafts: Iterable[ResponseDraft], batch_size: int = 2000, *, enforce_required: bool = True
) -> int:
    """Validate every draft, then insert all of them in one transaction (or none).

    Used by the demo simulation and bulk imports; ids must be new. Returns the count.
    ``enforce_required=False`` accepts blank required items (paper forms entered as
    they are).
    """
    codebook = _Codebook()
    prepared = [(draft, _coded_rows(draft, codebook, enforce_required)) for draft in drafts]
    count = 0
    try:
        for start in range(0, len(prepared), batch_size):
            chunk = prepared[start : start + batch_size]
            # Core inserts (no ORM unit of work): one multi-row statement per batch.
            table = Response.__table__
            ids = (
                db.session.execute(
                    table.insert().returning(table.c.id, sort_by_parameter_order=True),
                    [_response_row(draft) for draft, _ in chunk],
                )
                .scalars()
                .all()
            )
            values = [
                {"response_id": response_id, "item_id": item_id, "value": value}
                for response_id, (_, coded) in zip(ids, chunk, strict=True)
                for item_id, value in coded
            ]
            if values:
                db.session.execute(AnswerValue.__table__.insert(), values)
            count += len(chunk)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return count
