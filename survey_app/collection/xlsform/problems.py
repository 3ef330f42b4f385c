"""Why an XLSForm cannot be imported: every problem with its sheet, row and column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext


@dataclass(frozen=True)
class Location:
    """A place in an XLSForm workbook.

    Attributes
    ----------
    sheet : str
        ``survey``, ``choices``, ``settings`` or ``indices``; empty for the
        whole workbook.
    row : int or None
        Row number as the spreadsheet shows it (the header is row 1).
    column : str or None
        Column header, e.g. ``relevant`` or ``label::English (en)``.
    """

    sheet: str
    row: int | None = None
    column: str | None = None

    def with_column(self, column: str | None) -> Location:
        """Return the same row with another column."""
        return Location(self.sheet, self.row, column)

    def __str__(self) -> str:
        if not self.sheet:
            return _("the workbook")
        parts = [_("%(sheet)s sheet", sheet=self.sheet)]
        if self.row is not None:
            parts.append(_("row %(row)s", row=self.row))
        if self.column:
            parts.append(_("column %(column)s", column=self.column))
        return ", ".join(parts)


@dataclass(frozen=True)
class XLSFormProblem:
    """One reason why an XLSForm cannot be imported."""

    location: Location
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class XLSFormError(ValueError):
    """An XLSForm cannot be imported; :attr:`problems` lists every problem found.

    Attributes
    ----------
    file : str
    problems : list of XLSFormProblem
    """

    def __init__(self, file: str, problems: Iterable[XLSFormProblem]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = ngettext(
            "%(num)d problem in XLSForm %(file)s",
            "%(num)d problems in XLSForm %(file)s",
            n,
            file=self.file,
        )
        return head + ":\n" + "\n".join(f"  {p}" for p in self.problems)
