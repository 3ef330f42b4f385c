"""The error of every wave command: :class:`WaveError`, with every reason at once."""

from __future__ import annotations

from collections.abc import Sequence


class WaveError(ValueError):
    """A wave cannot be created or changed; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)
