"""Importing a file of paper forms: every row checked, then all new rows stored in one
transaction or nothing, with a report and an audit entry."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, cast, false, func, or_, select

from survey_app import audit, spreadsheets
from survey_app.collection import responses
from survey_app.collection.paper_import.cells import blank_cell, cell_text, read_rows
from survey_app.collection.paper_import.rows import ImportContext, row_draft
from survey_app.collection.paper_import.template import FIRST_DATA_ROW, REQUIRED_COLUMNS
from survey_app.collection.waves.design import lonely_rule_text
from survey_app.extensions import db
from survey_app.models import Response, User, WaveKind
from survey_app.spreadsheets import RowError


@dataclass(frozen=True)
class ImportReport:
    filename: str
    sha256: str
    rows: int
    created: int
    already: int
    issues: tuple[RowError, ...]
    warnings: tuple[str, ...] = ()  # stored anyway: e.g. a stratum left with a single PSU

    @property
    def ok(self) -> bool:
        return not self.issues


def import_file(filename: str, content: bytes, user: User, lang: str) -> ImportReport:
    """Validate the whole file; store every new row in one transaction, or nothing.

    The outcome (accepted with counts, or rejected with the number of problems) is
    recorded in the audit log.
    """
    digest = hashlib.sha256(content).hexdigest()
    ctx = ImportContext(user, lang, digest, [], {}, {})
    drafts: list[tuple[int, responses.ResponseDraft]] = []
    rows: list[list[Any]] = []
    try:
        rows = read_rows(filename, content)
    except spreadsheets.SpreadsheetError as error:
        for problem in error.problems:
            message = problem.message
            if problem.row is None:
                message = _("The file could not be read: %(reason)s", reason=message)
            ctx.add(problem.row, None, message, problem.column)
    if rows:
        drafts = _drafts(rows, ctx)
    elif not ctx.issues:
        ctx.add(None, None, _("The file is empty."))
    already = 0
    new: list[responses.ResponseDraft] = []
    if not ctx.issues:
        new, already = _split_existing(drafts, ctx)
    details = {"file": filename[:200], "sha256": digest, "rows": len(drafts)}
    target = "waves:" + ",".join(sorted({code for code, w in ctx.waves.items() if w is not None}))
    if ctx.issues:
        audit.record(
            "data.import.rejected",
            user=user,
            target=target[:200],
            details={**details, "problems": len(ctx.issues)},
        )
        db.session.commit()
        return ImportReport(filename, digest, len(drafts), 0, 0, tuple(ctx.issues))
    warnings = _singleton_strata(new, ctx)
    audit.record(
        "data.import",
        user=user,
        target=target[:200],
        details={
            **details,
            "created": len(new),
            "already_stored": already,
            "warnings": len(warnings),
        },
    )
    if new:
        # the answers were validated and encoded with each row (ctx.coded)
        coded = [ctx.coded[draft.client_id] for draft in new]
        responses.store_many(new, rows=coded)  # commits the audit entry too
    else:
        db.session.commit()
    return ImportReport(filename, digest, len(drafts), len(new), already, (), tuple(warnings))


def _singleton_strata(new: list[responses.ResponseDraft], ctx: ImportContext) -> list[str]:
    """Warnings for each stratum of a field wave that the file touches and that would
    hold a single PSU once stored: PSUs already stored in the wave plus the file's
    (a row without a PSU is its own PSU, as in the index service)."""
    by_wave: dict[int, dict[str | None, set[object]]] = {}
    for number, draft in enumerate(new):
        strata = by_wave.setdefault(draft.wave_id, {})
        strata.setdefault(draft.stratum, set()).add(draft.psu or ("file", number))
    warnings: list[str] = []
    waves = {wave.id: wave for wave in ctx.waves.values() if wave is not None}
    for wave_id, strata in by_wave.items():
        wave = waves[wave_id]
        if wave.kind != WaveKind.FIELD_SURVEY:
            continue
        stored = db.session.execute(
            select(Response.stratum, func.coalesce(Response.psu, cast(Response.id, String)))
            .where(
                Response.wave_id == wave_id,
                or_(
                    Response.stratum.in_([s for s in strata if s is not None]),
                    Response.stratum.is_(None) if None in strata else false(),
                ),
            )
            .distinct()
        )
        for stratum, psu in stored:
            strata[stratum].add(psu)
        for stratum in sorted(strata, key=str):
            if len(strata[stratum]) == 1:
                warnings.append(
                    _(
                        "Stratum %(stratum)s of wave %(wave)s has a single PSU; the wave's "
                        "rule for that applies: %(rule)s.",
                        stratum=stratum or "—",
                        wave=wave.code,
                        rule=lonely_rule_text(wave.lonely_psu),
                    )
                )
    return warnings


def _drafts(rows: list[list[Any]], ctx: ImportContext) -> list[tuple[int, responses.ResponseDraft]]:
    header = [cell_text(cell) if not blank_cell(cell) else "" for cell in rows[0]]
    while header and not header[-1]:
        header.pop()
    positions: dict[str, int] = {}
    for index, code in enumerate(header, start=1):
        if not code:
            ctx.add(1, None, _("A column has no code in row 1."), index)
        elif code in positions:
            ctx.add(1, code, _("The column %(column)s appears twice.", column=code), index)
        else:
            positions[code] = index
    for code in REQUIRED_COLUMNS:
        if code not in positions:
            ctx.add(1, code, _("The column %(column)s is missing.", column=code))
    if ctx.issues:
        return []
    data_rows = [
        (number, row)
        for number, row in enumerate(rows[FIRST_DATA_ROW - 1 :], start=FIRST_DATA_ROW)
        if any(not blank_cell(cell) for cell in row)
    ]
    if not data_rows:
        ctx.add(None, None, _("The file has no data rows (data start on row 3)."))
        return []
    drafts: list[tuple[int, responses.ResponseDraft]] = []
    seen: dict[uuid.UUID, int] = {}
    for number, row in data_rows:
        cells = {code: (row[i - 1] if i - 1 < len(row) else None) for code, i in positions.items()}
        draft = row_draft(number, cells, positions, ctx)
        if draft is None:
            continue
        if draft.client_id in seen:
            ctx.add(
                number,
                "client_id",
                _(
                    "The same form appears on rows %(first)s and %(row)s.",
                    first=seen[draft.client_id],
                    row=number,
                ),
                positions.get("client_id"),
            )
            continue
        seen[draft.client_id] = number
        drafts.append((number, draft))
    return drafts


def _split_existing(
    drafts: Sequence[tuple[int, responses.ResponseDraft]], ctx: ImportContext
) -> tuple[list[responses.ResponseDraft], int]:
    """Drafts not stored yet, and the count of those stored before with equal content.

    A stored form with the same id but other content is a problem of its row.
    """
    stored: dict[uuid.UUID, str] = {}
    ids = [draft.client_id for _row, draft in drafts]
    for start in range(0, len(ids), 500):
        query = select(Response.client_id, Response.content_hash).where(
            Response.client_id.in_(ids[start : start + 500])
        )
        stored.update((row[0], row[1]) for row in db.session.execute(query))
    new: list[responses.ResponseDraft] = []
    already = 0
    for row, draft in drafts:
        previous = stored.get(draft.client_id)
        if previous is None:
            new.append(draft)
        elif previous == draft.content_hash():
            already += 1
        else:
            ctx.add(
                row,
                "client_id",
                _("This form was imported before with other answers or design columns."),
            )
    return new, already
