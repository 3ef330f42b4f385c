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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from survey_app import bulk
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.collection.questionnaire.coding import encode_clean_answers
from survey_app.extensions import db
from survey_app.models import AnswerValue, Channel, Questionnaire, Response
from survey_app.models._types import utcnow
from survey_app.partitions import ANALYZE_AFTER, RESPONSE_KEYS, analyze_waves

#: The columns of an answer row as :func:`store_many` writes them.
ANSWER_COLUMNS = ("response_id", "item_id", "value", "wave_id")


class StoreOutcome(enum.StrEnum):
    CREATED = "created"  # 201
    REPEATED = "repeated"  # 200: same id, same content
    CONFLICT = "conflict"  # 409: same id, different content
    DUPLICATE_DOSSIER = "duplicate_dossier"  # 409: another response has this dossier


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


class _Codebooks:
    """Codebooks by questionnaire id, for a batch of drafts."""

    def __init__(self) -> None:
        self._cache: dict[int, questionnaires.Codebook] = {}

    def get(self, questionnaire_id: int) -> questionnaires.Codebook:
        if questionnaire_id not in self._cache:
            checksum = db.session.scalar(
                select(Questionnaire.checksum).where(Questionnaire.id == questionnaire_id)
            )
            found = questionnaires.codebook(questionnaire_id, checksum) if checksum else None
            if found is None:
                raise LookupError(f"unknown questionnaire id {questionnaire_id}")
            self._cache[questionnaire_id] = found
        return self._cache[questionnaire_id]


def coded_rows(
    draft: ResponseDraft, codebook: questionnaires.Codebook, enforce_required: bool = True
) -> list[tuple[int, int]]:
    """Validate a draft's answers and encode them as answer rows (:func:`item_rows`)."""
    try:
        clean = spec.clean_answers(
            codebook.definition, draft.answers, enforce_required=enforce_required
        )
    except spec.InvalidAnswersError as error:
        raise InvalidAnswersError(error.errors) from None
    return item_rows(codebook, clean)


def item_rows(codebook: questionnaires.Codebook, clean: Mapping[str, Any]) -> list[tuple[int, int]]:
    """The answer rows ``(item id, integer code)`` of answers that ``clean_answers``
    returned (not validated again)."""
    coded = encode_clean_answers(codebook.definition, clean)
    return [(codebook.item_ids[code], value) for code, value in coded]


def response_row(draft: ResponseDraft) -> dict[str, Any]:
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


def existing_outcome(draft: ResponseDraft) -> StoreOutcome | None:
    """If a response with this client id is stored, say whether this is a retry.

    The wave is the server's decision, not the client's content: the draft is compared
    as if it had the stored response's wave, so a retry is recognised even if a wave
    was created (or ended) since the first attempt. The dossier is compared by its
    (keyed) hash column; earlier versions put that hash into the content hash, so a
    stored hash of that form is recognised too.
    """
    connection = db.session.connection()
    # PostgreSQL: the key row holds the columns compared, so no partition is read.
    table = RESPONSE_KEYS if connection.dialect.name == "postgresql" else Response.__table__
    query = select(table.c.content_hash, table.c.wave_id, table.c.dossier_hash).where(
        table.c.client_id == draft.client_id
    )
    stored = connection.execute(query).first()
    if stored is None:
        return None
    return outcome_against(draft, stored.content_hash, stored.wave_id, stored.dossier_hash)


def outcome_against(
    draft: ResponseDraft, content_hash: str, wave_id: int | None, dossier_hash: str | None
) -> StoreOutcome:
    """REPEATED if ``draft`` is a retry of the stored response with these columns (the
    rule of :func:`existing_outcome`), else CONFLICT."""
    candidate = replace(draft, wave_id=wave_id)
    hashes = {candidate.content_hash()}
    if draft.dossier_hash is not None and "dossier_hash" in draft.extra_hash_fields:
        extra = {**draft.extra_hash_fields, "dossier_hash": draft.dossier_hash}
        hashes.add(replace(candidate, extra_hash_fields=extra).content_hash())
    same = dossier_hash == draft.dossier_hash and content_hash in hashes
    return StoreOutcome.REPEATED if same else StoreOutcome.CONFLICT


def _insert_response(connection: Connection, row: dict[str, Any]) -> int | None:
    """INSERT one response row unless its client id or dossier is taken; its id or None.

    A taken id or dossier skips the row instead of aborting the transaction, so nothing
    needs rolling back: on SQLite by ``ON CONFLICT DO NOTHING`` (the unique indexes of
    ``responses``), on PostgreSQL by the ``response_keys_claim`` trigger (migration
    0007; the partitions' one unique index, on (id, wave), cannot conflict, so the
    clause never acts there). One statement serves both databases: this general way is
    taken about once per desk and worker, so the clause's cost is not worth a branch by
    dialect; the single statement of :mod:`.submissions.sql` leaves it out.
    """
    table = Response.__table__
    insert = bulk.conflict_insert(connection.dialect.name, table)
    statement = insert.on_conflict_do_nothing().returning(table.c.id)
    return connection.execute(statement, row).scalar()


def store(
    draft: ResponseDraft,
    codebook: questionnaires.Codebook | None = None,
    rows: Sequence[tuple[int, int]] | None = None,
) -> StoreOutcome:
    """Validate and store one response in its own transaction (committed on CREATED).

    ``codebook`` is the draft's questionnaire's, if the caller has it; ``rows`` its
    answer rows if the caller has validated and encoded the answers already
    (:func:`item_rows`), else they are validated and encoded here. Three statements
    on the way to CREATED: the response row, its answer rows and the commit (the
    client id and the dossier are checked by the INSERT itself).

    Returns
    -------
    StoreOutcome
        CREATED; REPEATED or CONFLICT if the client id is taken (see
        :func:`existing_outcome`); DUPLICATE_DOSSIER if another response has the
        dossier. Nothing is written unless CREATED.

    Raises
    ------
    InvalidAnswersError
        If the answers do not satisfy the questionnaire (nothing is stored); checked
        only when ``rows`` is not given.
    """
    if rows is not None:
        coded = list(rows)
    else:
        if codebook is None or codebook.questionnaire_id != draft.questionnaire_id:
            codebook = _Codebooks().get(draft.questionnaire_id)
        coded = coded_rows(draft, codebook)
    try:
        connection = db.session.connection()
        row = response_row(draft)
        response_id = _insert_response(connection, row)
        if response_id is None:
            outcome = existing_outcome(draft) or StoreOutcome.DUPLICATE_DOSSIER
            db.session.rollback()
            return outcome
        if coded:
            connection.execute(
                AnswerValue.__table__.insert(),
                [
                    {
                        "response_id": response_id,
                        "item_id": item_id,
                        "value": value,
                        "wave_id": row["wave_id"],
                    }
                    for item_id, value in coded
                ],
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return StoreOutcome.CREATED


def store_many(
    drafts: Iterable[ResponseDraft],
    batch_size: int = 2000,
    *,
    enforce_required: bool = True,
    rows: Iterable[Sequence[tuple[int, int]]] | None = None,
) -> int:
    """Validate every draft, then insert all of them in one transaction (or none).

    Used by the demo simulation and bulk imports; ids must be new. Returns the count.
    A load of :data:`.partitions.ANALYZE_AFTER` responses or more ends by refreshing the
    planner's statistics of the partitions it wrote (PostgreSQL).
    ``enforce_required=False`` accepts blank required items (paper forms entered as
    they are). ``rows``, one per draft, are their answer rows if the caller has
    validated and encoded the answers already (:func:`item_rows`), as :func:`store`
    takes them; the drafts are then not validated again.
    """
    if rows is None:
        codebooks = _Codebooks()
        prepared = [
            (draft, coded_rows(draft, codebooks.get(draft.questionnaire_id), enforce_required))
            for draft in drafts
        ]
    else:
        prepared = [(draft, list(coded)) for draft, coded in zip(drafts, rows, strict=True)]
    count = 0
    try:
        for start in range(0, len(prepared), batch_size):
            chunk = prepared[start : start + batch_size]
            # Core inserts (no ORM unit of work): the responses as one multi-row
            # statement per batch (RETURNING their ids), and on PostgreSQL their answers
            # as arrays (an executemany would send one INSERT per answer row).
            table = Response.__table__
            ids = (
                db.session.execute(
                    table.insert().returning(table.c.id, sort_by_parameter_order=True),
                    [response_row(draft) for draft, _ in chunk],
                )
                .scalars()
                .all()
            )
            # each answer row carries its response's wave (the partition key on PostgreSQL)
            values = [
                {
                    "response_id": response_id,
                    "item_id": item_id,
                    "value": value,
                    "wave_id": draft.wave_id,
                }
                for response_id, (draft, coded) in zip(ids, chunk, strict=True)
                for item_id, value in coded
            ]
            bulk.insert_rows(AnswerValue.__table__, values, ANSWER_COLUMNS)
            count += len(chunk)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if count >= ANALYZE_AFTER:
        analyze_waves(db.session.connection(), {draft.wave_id for draft, _ in prepared})
        db.session.commit()
    return count
