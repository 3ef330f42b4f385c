"""Paper questionnaires: an entry template per questionnaire, and its import.

The template
------------
Row 1 holds the column codes (the importer reads them), row 2 the questions in words
(ignored on import), and data start on row 3. The columns are the form number
(``client_id``, optional), ``unit_code``, ``wave_code``, the design columns
``stratum``, ``psu`` and ``design_weight``, the interview date ``submitted_date``
(dd/mm/yyyy or yyyy-mm-dd), then one column per item code. Scale items take their
level (1-5), single-choice items an option code, multiple-choice items option codes
separated by ``;``. The XLSX template lists the allowed codes of every column
(data validation) and explains them on a second sheet.

The import
----------
Every row is checked against the questionnaire (blank answers are allowed: paper
forms are entered as they are), the unit and wave codes (inside the user's scope, the
unit inside the wave's area) and the design columns. Any problem rejects the whole
file, and every problem is reported by row and column; otherwise every new row is
stored in one transaction. A response's id is the form number when one is given
(so a corrected file does not duplicate forms), else derived from the file's
SHA-256 and the row number: importing the same file again stores nothing twice.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from openpyxl.utils import get_column_letter
from sqlalchemy import String, cast, false, func, or_, select

from survey_app import audit, spreadsheets
from survey_app.access import can_read_wave, can_see_unit, units_in_scope
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires, responses
from survey_app.collection import waves as wave_service
from survey_app.extensions import db
from survey_app.models import (
    Channel,
    Questionnaire,
    Response,
    Unit,
    User,
    Wave,
    WaveKind,
    WaveStatus,
)
from survey_app.numbers import NumberError, parse_number
from survey_app.spreadsheets import RowError

PAPER_NAMESPACE = uuid.UUID("2f9d7c1e-5a44-4e0b-9d6e-8c3b1a7f0e52")
FIXED_COLUMNS = (
    "client_id",
    "unit_code",
    "wave_code",
    "stratum",
    "psu",
    "design_weight",
    "submitted_date",
)
REQUIRED_COLUMNS = ("unit_code", "wave_code", "submitted_date")
FIRST_DATA_ROW = 3
TEMPLATE_ROWS = 2000  # rows of the XLSX template that carry the data validation
MAX_TEXT = 64


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


# ----------------------------------------------------------------------------- template


def fixed_labels() -> dict[str, str]:
    return {
        "client_id": _("Form number (optional)"),
        "unit_code": _("Unit code"),
        "wave_code": _("Wave code"),
        "stratum": _("Stratum"),
        "psu": _("Primary sampling unit (PSU)"),
        "design_weight": _("Design weight"),
        "submitted_date": _("Interview date (dd/mm/yyyy)"),
    }


def template_columns(definition: spec.Questionnaire, lang: str) -> list[tuple[str, str]]:
    """(code, label in ``lang``) of every column of the entry template."""
    columns = list(fixed_labels().items())
    for item in definition.items:
        label = item.label.get(lang)
        if item.type == "multiple":
            label += " " + _("(codes separated by ;)")
        columns.append((item.code, label))
    return columns


def allowed_codes(item: spec.Item) -> list[Any]:
    if item.type in spec.SCALE_TYPES:
        return list(range(1, (item.scale_size or 5) + 1))
    if item.type == "single":
        return list(item.option_codes)
    return []


def template_csv(definition: spec.Questionnaire, lang: str) -> bytes:
    columns = template_columns(definition, lang)
    return spreadsheets.csv_bytes(
        [[code for code, _label in columns], [label for _code, label in columns]]
    )


def template_xlsx(definition: spec.Questionnaire, user: User, lang: str) -> bytes:
    """The entry template with drop-down lists of the allowed codes of each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = template_columns(definition, lang)
    book = Workbook()
    data = book.active
    data.title = "data"
    spreadsheets.append_row(data, [code for code, _label in columns])
    spreadsheets.append_row(data, [label for _code, label in columns])
    for cell in data[1]:
        cell.font = Font(bold=True)
    for cell in data[2]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(italic=True)
    data.freeze_panes = "A3"
    lists = book.create_sheet("lists")
    lists.sheet_state = "hidden"
    guide = book.create_sheet("codes")
    spreadsheets.append_row(guide, [_("column"), _("question"), _("code"), _("meaning")])
    for cell in guide[1]:
        cell.font = Font(bold=True)

    last = FIRST_DATA_ROW + TEMPLATE_ROWS - 1
    units = [u.code for u in db.session.scalars(units_in_scope(user).order_by(Unit.path))]
    waves = [w.code for w in wave_service.visible_waves(user) if _uses(w, definition)]
    choices: dict[str, list[Any]] = {"unit_code": units, "wave_code": waves}
    choices.update({item.code: allowed_codes(item) for item in definition.items})
    error_title = _("Not an allowed code")
    for index, (code, _label) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        data.column_dimensions[letter].width = 14 if index > len(FIXED_COLUMNS) else 16
        target = f"{letter}{FIRST_DATA_ROW}:{letter}{last}"
        values = choices.get(code) or []
        if values:
            for row, value in enumerate(values, start=1):
                lists.cell(row=row, column=index, value=spreadsheets.safe_cell(value))
            rule = DataValidation(
                type="list",
                formula1=f"lists!${letter}$1:${letter}${len(values)}",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=error_title,
                error=_("Choose one of the codes in the list (see the sheet 'codes')."),
            )
        elif code == "design_weight":
            rule = DataValidation(
                type="decimal", operator="greaterThan", formula1="0", allow_blank=True
            )
        elif code in definition.items_by_code and definition.item(code).type == "number":
            item = definition.item(code)
            rule = DataValidation(
                type="whole" if item.integer else "decimal",
                operator="between",
                formula1=str(item.min_value),
                formula2=str(item.max_value),
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=error_title,
            )
        else:
            continue
        data.add_data_validation(rule)
        rule.add(target)
    for item in definition.items:
        for position, label in item.value_labels(lang).items():
            code = position if item.type in spec.SCALE_TYPES else item.options[position - 1].code
            spreadsheets.append_row(guide, [item.code, item.label.get(lang), code, label])
    guide.column_dimensions["B"].width = 60
    guide.column_dimensions["D"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _uses(wave: Wave, definition: spec.Questionnaire) -> bool:
    return (
        wave.questionnaire.slug == definition.slug
        and wave.questionnaire.version == definition.version
    )


# ----------------------------------------------------------------------------- reading


# Bounds of one uploaded file (stated on the upload form): the rows are stored in one
# transaction, and a text answer holds at most spec.MAX_TEXT_LENGTH characters.
# openpyxl parses about 25,000 cells a second on a busy 2-core server: the unpacked size
# (16 MB, some 400,000 cells) bounds that work whatever the file declares.
LIMITS = spreadsheets.Limits(
    rows=10_000,
    columns=200,
    cell_chars=spec.MAX_TEXT_LENGTH,
    header_rows=FIRST_DATA_ROW - 1,
    unpacked_bytes=16 * 1024 * 1024,
)


def read_rows(filename: str, content: bytes) -> list[list[Any]]:
    """The cells of the first sheet (XLSX) or of the CSV file, as lists of values,
    within :data:`LIMITS` (:func:`survey_app.spreadsheets.read_sheet`)."""
    return spreadsheets.read_sheet(content, filename, LIMITS)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        # Vietnamese or English separators; an ambiguous "36,800" is no number here
        # and is reported as an invalid answer.
        return parse_number(str(value))
    except NumberError:
        return None


def _answer(item: spec.Item, value: Any) -> Any:
    """A cell as the answer the questionnaire expects (invalid values pass through)."""
    if item.type in spec.SCALE_TYPES:
        number = _number(value)
        return int(number) if number is not None and number.is_integer() else _text(value)
    if item.type == "single":
        return _text(value)
    if item.type == "multiple":
        return [code for code in re.split(r"[;,\s]+", _text(value)) if code]
    if item.type == "number":
        number = _number(value)
        if number is None:
            return _text(value)
        return int(number) if number.is_integer() else number
    return _text(value)


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


# ----------------------------------------------------------------------------- import


def answer_message(error: spec.AnswerError, item: spec.Item | None, lang: str) -> str:
    """An answer error in the user's language, with the allowed values."""
    described = spec.ANSWER_ERROR_CODES.get(error.code)
    text = described.get(lang) if described else error.message
    if item is None:
        return text
    if item.type in spec.SCALE_TYPES:
        hint = _("Allowed values: %(values)s.", values=f"1–{item.scale_size}")
    elif item.type in spec.CHOICE_TYPES:
        hint = _("Allowed values: %(values)s.", values=", ".join(item.option_codes))
    elif item.type == "number":
        hint = _(
            "Allowed values: %(values)s.",
            values=f"{_text(item.min_value)}–{_text(item.max_value)}",
        )
    else:
        return text
    return f"{text} {hint}"


@dataclass
class _Context:
    user: User
    lang: str
    sha256: str
    issues: list[RowError]
    units: dict[str, Unit | None]
    waves: dict[str, Wave | None]
    questionnaire: Questionnaire | None = None
    definition: spec.Questionnaire | None = None
    frames: dict[int, set[tuple[str | None, str | None]]] = field(default_factory=dict)

    def add(
        self, row: int | None, column: str | None, message: str, index: int | None = None
    ) -> None:
        cell = f"{get_column_letter(index)}{row}" if row is not None and index is not None else None
        self.issues.append(RowError(row, column, message, cell))


def import_file(filename: str, content: bytes, user: User, lang: str) -> ImportReport:
    """Validate the whole file; store every new row in one transaction, or nothing.

    The outcome (accepted with counts, or rejected with the number of problems) is
    recorded in the audit log.
    """
    digest = hashlib.sha256(content).hexdigest()
    ctx = _Context(user, lang, digest, [], {}, {})
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
        responses.store_many(new, enforce_required=False)  # commits the audit entry too
    else:
        db.session.commit()
    return ImportReport(filename, digest, len(drafts), len(new), already, (), tuple(warnings))


def _singleton_strata(new: list[responses.ResponseDraft], ctx: _Context) -> list[str]:
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
                        rule=wave_service.lonely_rule_text(wave.lonely_psu),
                    )
                )
    return warnings


def _drafts(rows: list[list[Any]], ctx: _Context) -> list[tuple[int, responses.ResponseDraft]]:
    header = [_text(cell) if not _blank(cell) else "" for cell in rows[0]]
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
        if any(not _blank(cell) for cell in row)
    ]
    if not data_rows:
        ctx.add(None, None, _("The file has no data rows (data start on row 3)."))
        return []
    drafts: list[tuple[int, responses.ResponseDraft]] = []
    seen: dict[uuid.UUID, int] = {}
    for number, row in data_rows:
        cells = {code: (row[i - 1] if i - 1 < len(row) else None) for code, i in positions.items()}
        draft = _row_draft(number, cells, positions, ctx)
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


def _lookup_unit(ctx: _Context, code: str) -> Unit | None:
    if code not in ctx.units:
        ctx.units[code] = db.session.scalar(select(Unit).where(Unit.code == code))
    return ctx.units[code]


def _frame_of(ctx: _Context, wave: Wave) -> set[tuple[str | None, str | None]]:
    """The (stratum, PSU) pairs of a wave's sample frame, read once per import."""
    if wave.id not in ctx.frames:
        ctx.frames[wave.id] = {(row.stratum, row.psu) for row in wave.frame}
    return ctx.frames[wave.id]


def _lookup_wave(ctx: _Context, code: str) -> Wave | None:
    if code not in ctx.waves:
        ctx.waves[code] = db.session.scalar(select(Wave).where(Wave.code == code))
    return ctx.waves[code]


def _row_draft(
    number: int, cells: dict[str, Any], positions: dict[str, int], ctx: _Context
) -> responses.ResponseDraft | None:
    """Check one row; add its problems to ``ctx`` and return its draft when it has none."""
    before = len(ctx.issues)

    def problem(column: str, message: str) -> None:
        ctx.add(number, column, message, positions.get(column))

    unit = wave = None
    unit_code = "" if _blank(cells.get("unit_code")) else _text(cells["unit_code"])
    wave_code = "" if _blank(cells.get("wave_code")) else _text(cells["wave_code"])
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
    if not _blank(cells.get("design_weight")):
        weight = _number(cells["design_weight"])
        if weight is None or weight <= 0:
            problem("design_weight", _("The design weight must be a positive number."))
    day = None
    if _blank(cells.get("submitted_date")):
        problem("submitted_date", _("The interview date is missing."))
    else:
        day = _date(cells["submitted_date"])
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
    answers = _answers(cells, ctx, problem)
    if len(ctx.issues) > before or unit is None or wave is None or day is None:
        return None
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    submitted = datetime.combine(day, time(12, 0), tzinfo=zone).astimezone(UTC)
    return responses.ResponseDraft(
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


def _check_item_columns(positions: dict[str, int], ctx: _Context) -> None:
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
    if _blank(value):
        return None
    text = _text(value)
    if len(text) > MAX_TEXT:
        problem(column, _("At most %(count)s characters.", count=MAX_TEXT))
    elif any(c in text for c in "\t\n\r"):
        problem(column, _("Tabs and line breaks are not allowed in a stratum or PSU code."))
    return text


def _answers(cells: dict[str, Any], ctx: _Context, problem: Any) -> dict[str, Any]:
    definition = ctx.definition
    if definition is None:
        return {}
    answers = {
        code: _answer(definition.item(code), value)
        for code, value in cells.items()
        if code in definition.items_by_code and not _blank(value)
    }
    for error in spec.validate_answers(definition, answers, enforce_required=False):
        item = definition.items_by_code.get(error.field)
        problem(error.field, answer_message(error, item, ctx.lang))
    return answers


def _client_id(value: Any, wave_code: str, row: int, sha256: str) -> uuid.UUID:
    """The form number as an id, or one derived from the file's content and the row."""
    if _blank(value):
        return uuid.uuid5(PAPER_NAMESPACE, f"{sha256}/{row}")
    text = _text(value)
    try:
        return uuid.UUID(text)
    except ValueError:
        return uuid.uuid5(PAPER_NAMESPACE, f"form/{wave_code}/{text}")


def _split_existing(
    drafts: Sequence[tuple[int, responses.ResponseDraft]], ctx: _Context
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
