"""The weighting console's two refusals.

:class:`WeightingInputError` lists every problem of an upload or of the options, by row
and column where there is one (the page shows them as a table); :class:`SchemeError`
says why a scheme cannot be found, named, activated or published. Both are
``ValueError``: the views answer them with a 4xx and the message.
"""

from __future__ import annotations

from collections.abc import Sequence

from survey_app.spreadsheets import RowError


class WeightingInputError(ValueError):
    """The targets or options were refused; ``errors`` lists every problem."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors))


class SchemeError(ValueError):
    """A scheme cannot be found, named or activated; the message says why."""
