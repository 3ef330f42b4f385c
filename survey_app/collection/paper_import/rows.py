"""One row of a paper import checked into a response draft, every problem named by row
and column (unit and wave in the user's scope, the unit inside the wave's area, the
sample frame, the design columns, the date in the wave's period, the answers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from survey_app.access import can_read_wave, can_see_unit
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires, responses
from survey_app.collection.paper_import.cells import (
    answer_message,
    blank_cell,
    cell_answer,
    cell_date,
    cell_number,
    cell_text,
)
from survey_app.collection.paper_import.template import FIXED_COLUMNS
from survey_app.extensions import db
from survey_app.models import Channel, Questionnaire, Unit, User, Wave, WaveStatus
from survey_app.spreadsheets import RowError

PAPER_NAMESPACE = uuid.UUID("2f9d7c1e-5a44-4e0b-9d6e-8c3b1a7f0e52")

MAX_TEXT = 64


@dataclass
class ImportContext:
    user: User
    lang: str
    sha256: str
    issues: list[RowError]
    units: dict[str, Unit | None]
    waves: dict[str, Wave | None]
    questionnaire: Questionnaire | None = None
    definition: spec.Questionnaire | None = None
    codebook: questionnaires.Codebook | None = None
    frames: dict[int, set[tuple[str | None, str | None]]] = field(default_factory=dict)
    #: The answer rows of each checked row's draft, by its id: its answers validated
    #: and encoded once, here, and stored as they are (:func:`responses.store_many`).
    coded: dict[uuid.UUID, list[tuple[int, int]]] = field(default_factory=dict)

    def add(
        self, row: int | None, column: str | None, message: str, index: int | None = None
    ) -> None:
        cell = f"{get_column_letter(index)}{row}" if row is not None and index is not None else None
        self.issues.append(RowError(row, column, message, cell))


def _lookup_unit(ctx: ImportContext, code: str) -> Unit | None:
    if code not in ctx.units:
        ctx.units[code] = db.session.scalar(select(Unit).where(Unit.code == code))
    return ctx.units[code]


def _frame_of(ctx: ImportContext, wave: Wave) -> set[tuple[str | None, str | None]]:
    """The (stratum, PSU) pairs of a wave's sample frame, read once per import."""
    if wave.id not in ctx.frames:
        ctx.frames[wave.id] = {(row.stratum, row.psu) for row in wave.frame}
    return ctx.frames[wave.id]


def _lookup_wave(ctx: ImportContext, code: str) -> Wave | None:
    if code not in ctx.waves:
        ctx.waves[code] = db.session.scalar(select(Wave).where(Wave.code == code))
    return ctx.waves[code]


def row_draft(
    number: int, cells: dict[str, Any], positions: dict[str, int], ctx: ImportContext
) -> responses.ResponseDraft | None:
    """Check one row; add its problems to ``ctx`` and return its draft when it has none."""
    before = len(ctx.issues)

    def problem(column: str, message: str) -> None:
        ctx.add(number, column, message, positions.get(column))

    unit = wave = None
    unit_code = "" if blank_cell(cells.get("unit_code")) else cell_text(cells["unit_code"])
    wave_code = "" if blank_cell(cells.get("wave_code")) else cell_text(cells["wave_code"])
    if not unit_code:
        problem("unit_code", _("The unit code is missing."))
    else:
        unit = _lookup_unit(ctx, unit_code)
        if unit is None or not can_see_unit(ctx.user, unit):
            problem(
                "unit_code",
                _("Unknown unit code %(code)s, or a unit outside your scope.", code=unit_code),
            )
            unit = None
    if not wave_code:
        problem("wave_code", _("The wave code is missing."))
    else:
        wave = _lookup_wave(ctx, wave_code)
        if wave is None or not can_read_wave(ctx.user, wave):
            problem(
                "wave_code",
                _("Unknown wave code %(code)s, or a wave outside your scope.", code=wave_code),
            )
            wave = None
        elif wave.status == WaveStatus.CLOSED:
            problem(
                "wave_code",
                _("The wave %(code)s is closed: it accepts no more forms.", code=wave_code),
            )
            wave = None
    if wave is not None:
        if ctx.questionnaire is None:
            ctx.questionnaire = wave.questionnaire
            ctx.definition = questionnaires.parsed(wave.questionnaire)
            found = questionnaires.codebook(wave.questionnaire.id, wave.questionnaire.checksum)
            if found is None:  # the wave's own questionnaire: cannot be missing
                raise LookupError(f"no codebook for questionnaire {wave.questionnaire.id}")
            ctx.codebook = found
            _check_item_columns(positions, ctx)
        elif wave.questionnaire_id != ctx.questionnaire.id:
            problem(
                "wave_code",
                _(
                    "The wave %(code)s uses another questionnaire than the rest of the file.",
                    code=wave_code,
                ),
            )
            wave = None
    if unit is not None and wave is not None and not unit.path.startswith(wave.unit.path):
        problem(
            "unit_code",
            _(
                "The unit %(unit)s is not part of the area of the wave %(wave)s.",
                unit=unit_code,
                wave=wave_code,
            ),
        )
    stratum = _design_text(cells.get("stratum"), "stratum", problem)
    psu = _design_text(cells.get("psu"), "psu", problem)
    if wave is not None and wave.frame and (stratum, psu) not in _frame_of(ctx, wave):
        problem(
            "psu",
            _(
                "Stratum %(stratum)s, PSU %(psu)s is not in the sample frame of wave %(wave)s.",
                stratum=stratum or "—",
                psu=psu or "—",
                wave=wave.code,
            ),
        )
    weight = None
    if not blank_cell(cells.get("design_weight")):
        weight = cell_number(cells["design_weight"])
        if weight is None or weight <= 0:
            problem("design_weight", _("The design weight must be a positive number."))
    day = None
    if blank_cell(cells.get("submitted_date")):
        problem("submitted_date", _("The interview date is missing."))
    else:
        day = cell_date(cells["submitted_date"])
        if day is None:
            problem("submitted_date", _("Write the date as dd/mm/yyyy."))
        elif wave is not None and not wave.start_date <= day <= wave.end_date:
            problem(
                "submitted_date",
                _(
                    "The date is outside the wave's period (%(start)s to %(end)s).",
                    start=wave.start_date.strftime("%d/%m/%Y"),
                    end=wave.end_date.strftime("%d/%m/%Y"),
                ),
            )
    answers, coded = _answers(cells, ctx, problem)
    if len(ctx.issues) > before or unit is None or wave is None or day is None:
        return None
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    submitted = datetime.combine(day, time(12, 0), tzinfo=zone).astimezone(UTC)
    draft = responses.ResponseDraft(
        client_id=_client_id(cells.get("client_id"), wave_code, number, ctx.sha256),
        questionnaire_id=wave.questionnaire_id,
        unit_id=unit.id,
        channel=Channel.PAPER,
        answers=answers,
        submitted_at=submitted,
        wave_id=wave.id,
        stratum=stratum,
        psu=psu,
        design_weight=weight,
        extra_hash_fields={"stratum": stratum, "psu": psu, "design_weight": weight},
    )
    ctx.coded[draft.client_id] = coded
    return draft


def _check_item_columns(positions: dict[str, int], ctx: ImportContext) -> None:
    assert ctx.definition is not None  # set just before
    for code, index in positions.items():
        if code not in FIXED_COLUMNS and code not in ctx.definition.items_by_code:
            ctx.add(
                1,
                code,
                _("The column %(column)s is not a question of this questionnaire.", column=code),
                index,
            )


def _design_text(value: Any, column: str, problem: Any) -> str | None:
    if blank_cell(value):
        return None
    text = cell_text(value)
    if len(text) > MAX_TEXT:
        problem(column, _("At most %(count)s characters.", count=MAX_TEXT))
    elif any(c in text for c in "\t\n\r"):
        problem(column, _("Tabs and line breaks are not allowed in a stratum or PSU code."))
    return text


def _answers(
    cells: dict[str, Any], ctx: ImportContext, problem: Any
) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """The row's answers as read, and their answer rows once validated (blank required
    items allowed: paper forms are entered as they are); each problem is reported."""
    definition, codebook = ctx.definition, ctx.codebook
    if definition is None or codebook is None:
        return {}, []
    answers = {
        code: cell_answer(definition.item(code), value)
        for code, value in cells.items()
        if code in definition.items_by_code and not blank_cell(value)
    }
    try:
        clean = spec.clean_answers(definition, answers, enforce_required=False)
    except spec.InvalidAnswersError as invalid:
        for error in invalid.errors:
            item = definition.items_by_code.get(error.field)
            problem(error.field, answer_message(error, item, ctx.lang))
        return answers, []
    return answers, responses.item_rows(codebook, clean)


def _client_id(value: Any, wave_code: str, row: int, sha256: str) -> uuid.UUID:
    """The form number as an id, or one derived from the file's content and the row."""
    if blank_cell(value):
        return uuid.uuid5(PAPER_NAMESPACE, f"{sha256}/{row}")
    text = cell_text(value)
    try:
        return uuid.UUID(text)
    except ValueError:
        return uuid.uuid5(PAPER_NAMESPACE, f"form/{wave_code}/{text}")
