"""A field wave's sample frame: the CSV of strata and PSUs the survey team uploads.

:func:`read_frame` parses ``stratum,psu[,unit_code][,stratum_psus]`` and names every
problem by row and column; a stratum with a single PSU is a warning, not an error.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _

from survey_app import formatting, spreadsheets
from survey_app.collection.waves.errors import WaveError

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
FRAME_COLUMNS = ("stratum", "psu")
FRAME_OPTIONAL = ("unit_code", "stratum_psus")
FRAME_MAX_BYTES = 2 * 1024 * 1024
FRAME_LIMITS = spreadsheets.Limits(
    rows=20_000, columns=10, cell_chars=200, max_bytes=FRAME_MAX_BYTES
)
LABEL_PATTERN = re.compile(r"^[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,64}$")


@dataclass(frozen=True)
class FrameRow:
    stratum: str
    psu: str
    unit_code: str | None = None
    stratum_psus: int | None = None


@dataclass
class Frame:
    """A parsed sample frame, with warnings the survey team should see before storing."""

    rows: list[FrameRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def strata(self) -> int:
        return len({row.stratum for row in self.rows})


def _frame_error(row: int, column: str, message: str) -> str:
    return _("Row %(row)s, column %(column)s: %(message)s", row=row, column=column, message=message)


def read_frame_or_problems(content: bytes | None) -> tuple[Frame | None, list[str]]:
    """:func:`read_frame`, with its problems returned instead of raised (no file: None)."""
    if content is None:
        return None, []
    try:
        return read_frame(content), []
    except WaveError as error:
        return None, error.problems


def read_frame(content: bytes) -> Frame:
    """Parse a sample-frame CSV: ``stratum,psu[,unit_code][,stratum_psus]``.

    Read by the shared bounded reader (:mod:`survey_app.spreadsheets`:
    comma, semicolon or tab separated, UTF-8 with or without BOM, size, row and cell
    limits, control characters refused by cell). Every problem is named by row and
    column; a stratum with a single PSU is a warning (its variance needs the wave's
    lonely-PSU rule), and a stated ``stratum_psus`` smaller than the PSUs sampled in
    the stratum is an error.
    """
    if len(content) > FRAME_MAX_BYTES:
        raise WaveError([_("The sample frame is larger than 2 MB.")])
    try:
        table = spreadsheets.read_sheet(content, "frame.csv", FRAME_LIMITS)
    except spreadsheets.SpreadsheetError as error:
        raise WaveError([str(problem) for problem in error.problems]) from error
    header = [str(name).strip().lower() for name in (table[0] if table else [])]
    problems = [
        _frame_error(1, column, _("column is missing"))
        for column in FRAME_COLUMNS
        if column not in header
    ]
    if problems:
        raise WaveError(problems)
    frame = Frame()
    seen: set[tuple[str, str]] = set()
    declared: dict[str, int] = {}
    for number, values in enumerate(table[1:], start=2):
        if not any(str(value).strip() for value in values):
            continue
        record = dict(zip(header, (str(value).strip() for value in values), strict=False))
        row_problems = _frame_row_problems(number, record)
        if row_problems:
            problems.extend(row_problems)
            continue
        stratum, psu = record["stratum"], record["psu"]
        if (stratum, psu) in seen:
            problems.append(_frame_error(number, "psu", _("this PSU is listed twice")))
            continue
        seen.add((stratum, psu))
        total = int(record["stratum_psus"]) if record.get("stratum_psus") else None
        if total is not None and declared.setdefault(stratum, total) != total:
            problems.append(
                _frame_error(
                    number, "stratum_psus", _("differs from an earlier row of the stratum")
                )
            )
        frame.rows.append(FrameRow(stratum, psu, record.get("unit_code") or None, total))
    sampled = Counter(row.stratum for row in frame.rows)
    for stratum, total in declared.items():
        if total < sampled[stratum]:
            problems.append(
                _(
                    "Stratum %(stratum)s: %(total)s PSUs in the population but %(n)s sampled.",
                    stratum=stratum,
                    total=formatting.number(total),
                    n=formatting.number(sampled[stratum]),
                )
            )
    if problems:
        raise WaveError(problems)
    if not frame.rows:
        raise WaveError([_("The sample frame lists no PSU.")])
    frame.warnings = [
        _(
            "Stratum %(stratum)s has a single PSU: its variance follows the wave's "
            "lonely-PSU rule.",
            stratum=stratum,
        )
        for stratum, n in sorted(sampled.items())
        if n == 1
    ]
    return frame


def _frame_row_problems(number: int, record: dict[str, str]) -> list[str]:
    problems = []
    for column in FRAME_COLUMNS:
        value = record.get(column, "")
        if not value:
            problems.append(_frame_error(number, column, _("is empty")))
        elif not LABEL_PATTERN.match(value):
            problems.append(
                _frame_error(
                    number, column, _("must be 1 to 64 characters without control characters")
                )
            )
    unit_code = record.get("unit_code", "")
    if unit_code and not CODE_PATTERN.match(unit_code):
        problems.append(_frame_error(number, "unit_code", _("is not a unit code")))
    total = record.get("stratum_psus", "")
    if total and not (total.isascii() and total.isdigit() and 0 < int(total) <= 10_000_000):
        problems.append(
            _frame_error(number, "stratum_psus", _("must be a whole number from 1 to 10,000,000"))
        )
    return problems
