"""Reading uploaded target files (CSV or XLSX) into targets: the one place that does.

The formats are those of ``python -m analysis weight`` (:mod:`analysis.cli_weight`):

- *long* (margins and calibration totals): columns ``variable, level, target``;
- *cells* (post-stratification targets): one column per cell variable and ``target``.

Columns named ``label`` and ``respondents`` (which the templates of
:func:`survey_app.weighting.templates.template_rows` add to help whoever fills them
in) are ignored. :func:`read_table` turns a file into text cells with their row
numbers; :func:`read_targets` turns those into :class:`TargetRows` (numbers with
Vietnamese or English separators, every unreadable row refused with its reason).
Checking them against a wave is :mod:`survey_app.weighting.checks`' job. Nothing here
touches the database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask_babel import gettext as _
from openpyxl.utils import get_column_letter

from survey_app import spreadsheets
from survey_app.numbers import AmbiguousNumberError, NumberError, parse_number
from survey_app.spreadsheets import RowError
from survey_app.weighting.errors import WeightingInputError
from survey_app.weighting.sample import MISSING

LONG_COLUMNS = ("variable", "level", "target")
INFO_COLUMNS = ("label", "respondents")
TARGET = "target"
MAX_ROWS = 20_000
LIMITS = spreadsheets.Limits(
    rows=MAX_ROWS, columns=50, cell_chars=1000, unpacked_bytes=8 * 1024 * 1024
)


class FileFormatError(ValueError):
    """The upload is not a readable CSV or XLSX table; the message says why, and
    ``problems`` lists each problem with its row and column where it has them."""

    def __init__(
        self, message: str, problems: Sequence[spreadsheets.Problem] | None = None
    ) -> None:
        super().__init__(message)
        self.problems = tuple(problems or (spreadsheets.Problem(None, None, message),))


@dataclass(frozen=True)
class Table:
    """An uploaded table: lower-cased header names and rows of text cells.

    Attributes
    ----------
    header : tuple of str
        Column names as written (stripped), in file order.
    rows : tuple of (int, tuple of str)
        Each non-empty data row with its row number in the file (the header is row 1),
        one text cell per header column ("" when empty).
    """

    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]

    def column(self, name: str) -> int | None:
        lowered = [h.lower() for h in self.header]
        return lowered.index(name) if name in lowered else None

    @property
    def is_long(self) -> bool:
        return all(self.column(c) is not None for c in LONG_COLUMNS)


def _cell_text(value: Any) -> str:
    """A cell as text; whole numbers written by a spreadsheet lose their ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value).strip()


def read_table(data: bytes, filename: str) -> Table:
    """Read the first sheet of an XLSX workbook, or a CSV file (UTF-8, ``,`` ``;`` or tab),
    within :data:`LIMITS` (:func:`survey_app.spreadsheets.read_sheet`).

    Raises
    ------
    FileFormatError
        Empty file, unreadable workbook, text that is not UTF-8, no header, beyond the
        limits, or control characters; ``problems`` names rows and columns.
    """
    if not data.strip():
        raise FileFormatError(_("The file is empty."))
    try:
        raw = spreadsheets.read_sheet(data, filename, LIMITS)
    except spreadsheets.SpreadsheetError as error:
        raise FileFormatError(str(error), error.problems) from None
    if not raw or not any(_cell_text(c) for c in raw[0]):
        raise FileFormatError(_("The file has no header row."))
    header = tuple(_cell_text(c) for c in raw[0])
    while header and header[-1] == "":
        header = header[:-1]
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        cells = [_cell_text(c) for c in values]
        if not any(cells):
            continue
        cells = (cells + [""] * len(header))[: len(header)]
        rows.append((number, tuple(cells)))
    return Table(header, tuple(rows))


@dataclass(frozen=True)
class TargetRow:
    row: int
    labels: tuple[str, ...]  # long: (variable, level); cells: one level per variable
    target: float


@dataclass(frozen=True)
class TargetRows:
    """Targets as read from a file, before they are checked against a wave.

    ``layout`` is ``"long"`` (``variable, level, target``) or ``"cells"`` (one column
    per variable in ``variables``, then ``target``).
    """

    layout: str
    variables: tuple[str, ...]
    rows: tuple[TargetRow, ...]
    refused: tuple[RowError, ...] = ()  # rows that could not be read, with the reason
    refused_labels: tuple[tuple[str, ...], ...] = ()

    @cached_property
    def _named(self) -> frozenset[tuple[str, ...]]:
        return frozenset(r.labels for r in self.rows) | frozenset(self.refused_labels)

    def names(self, labels: tuple[str, ...]) -> bool:
        """Whether some row, read or refused, names this level or cell."""
        return labels in self._named

    def to_json(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "variables": list(self.variables),
            "rows": [[*r.labels, r.target] for r in self.rows],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TargetRows:
        """Rebuild from :meth:`to_json` (row numbers count from 2, as in the file)."""
        try:
            layout = str(data["layout"])
            variables = tuple(str(v) for v in data.get("variables", []))
            width = 2 if layout == "long" else len(variables)
            if layout not in ("long", "cells"):
                raise ValueError(layout)
            rows = tuple(
                TargetRow(i, tuple(str(x) for x in r[:width]), float(r[width]))
                for i, r in enumerate(data["rows"], start=2)
                if len(r) == width + 1
            )
        except (KeyError, TypeError, ValueError, IndexError):
            raise WeightingInputError(
                [RowError(None, None, _("The form data is damaged."))]
            ) from None
        return cls(layout, variables, rows)


def _number(text: str) -> float | str:
    """The target ``text`` means (Vietnamese or English separators), or why not."""
    try:
        return parse_number(text)
    except AmbiguousNumberError as error:
        return str(error)
    except NumberError:
        return _("The target “%(value)s” is not a number.", value=text)


def read_targets(data: bytes, filename: str) -> TargetRows:
    """Read an uploaded targets file (CSV or XLSX) into :class:`TargetRows`.

    Raises
    ------
    WeightingInputError
        A malformed file (row errors: unreadable file, missing columns, empty labels,
        targets that are not numbers or are negative, no rows).
    """
    try:
        table = read_table(data, filename)
    except FileFormatError as exc:
        raise WeightingInputError(
            [
                RowError(p.row, get_column_letter(p.column) if p.column else None, p.message)
                for p in exc.problems
            ]
        ) from None
    return _targets_from_table(table)


def _targets_from_table(table: Table) -> TargetRows:
    errors: list[RowError] = []
    target_at = table.column(TARGET)
    if target_at is None:
        raise WeightingInputError([RowError(1, TARGET, _("The file has no “target” column."))])
    if table.is_long:
        layout = "long"
        label_at = [table.column("variable"), table.column("level")]
        variables: tuple[str, ...] = ()
    else:
        if table.column("variable") is not None or table.column("level") is not None:
            missing = [c for c in LONG_COLUMNS if table.column(c) is None]
            raise WeightingInputError(
                [
                    RowError(1, c, _("The file has no “%(column)s” column.", column=c))
                    for c in missing
                ]
            )
        layout = "cells"
        skip = {TARGET, *INFO_COLUMNS}
        label_at = [i for i, h in enumerate(table.header) if h.lower() not in skip]
        variables = tuple(table.header[i] for i in label_at)
        if not variables:
            raise WeightingInputError(
                [
                    RowError(
                        1,
                        None,
                        _(
                            "The file needs the columns variable, level and target, or one "
                            "column per variable and a target column."
                        ),
                    )
                ]
            )
        for i, name in enumerate(table.header):
            if i in label_at and name == "":
                errors.append(RowError(1, None, _("A column has no name.")))
    if errors:
        raise WeightingInputError(errors)
    rows: list[TargetRow] = []
    refused: list[tuple[str, ...]] = []
    names = ("variable", "level") if layout == "long" else variables
    for number, cells in table.rows:
        labels = tuple(cells[i] for i in label_at)
        text = cells[target_at]
        if layout == "long" and labels[1:] == (MISSING,) and not text.strip():
            continue  # "no answer" left blank: its respondents keep their share (check)
        target = _number(text)
        found = len(errors)
        for name, label in zip(names, labels, strict=True):
            if label == "" and not (layout == "long" and name == "level"):
                errors.append(RowError(number, name, _("This cell is empty.")))
        if isinstance(target, str):
            errors.append(RowError(number, TARGET, target))
        elif target < 0:
            errors.append(
                RowError(number, TARGET, _("The target %(value)s is negative.", value=text))
            )
        if len(errors) > found:
            refused.append(labels)
        else:
            rows.append(TargetRow(number, labels, target))
    if not rows and not errors:
        raise WeightingInputError([RowError(None, None, _("The file has no rows of targets."))])
    return TargetRows(layout, variables, tuple(rows), tuple(errors), tuple(refused))
