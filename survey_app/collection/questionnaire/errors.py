"""What is wrong with a questionnaire definition: every problem as (file, path, reason)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from flask_babel import ngettext


class ErrorDetail(NamedTuple):
    """One problem in a questionnaire file: ``(file, path, reason)``."""

    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.reason}"


class QuestionnaireError(ValueError):
    """A questionnaire definition is invalid.

    Attributes
    ----------
    errors : list of ErrorDetail
        Every problem found, as ``(file, path, reason)`` tuples; ``path`` looks
        like ``sections[2].items[0].options`` (empty for the whole file).
    """

    def __init__(self, errors: Iterable[tuple[str, str, str]]) -> None:
        self.errors: list[ErrorDetail] = [ErrorDetail(*e) for e in errors]
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.errors)
        head = ngettext(
            "%(num)d error in questionnaire definition",
            "%(num)d errors in questionnaire definition",
            n,
        )
        return head + ":\n" + "\n".join(f"  {e}" for e in self.errors)
