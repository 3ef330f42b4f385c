"""The XLSForm's columns and languages and the reading of a cell, shared by reading
and writing: ``label::Vietnamese (vi)``-style language columns, our own ``x_``
columns, the ``indices`` sheet, Unicode-composed cell text and numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

#: Language names written on export (``label::Vietnamese (vi)``).
LANGUAGE_COLUMNS: Mapping[str, str] = {"vi": "Vietnamese (vi)", "en": "English (en)"}

#: Our own survey-sheet columns (ignored by ODK and Kobo, kept in the form).
EXTRA_COLUMNS: tuple[str, ...] = ("x_type", "x_demographic", "x_unit", "x_warning")

#: Our own sheet with the satisfaction index (ignored by ODK and Kobo).
INDEX_SHEET = "indices"

_LANG_SUFFIX_RE = re.compile(r"\((vi|en)\)\s*$", re.IGNORECASE)


def lang_code(name: str) -> str | None:
    """``vi`` / ``en`` for ``vi``, ``Vietnamese (vi)``, ``English (en)``…; else None."""
    name = name.strip()
    if name.lower() in LANGUAGE_COLUMNS:
        return name.lower()
    match = _LANG_SUFFIX_RE.search(name)
    return match.group(1).lower() if match else None


def cell_text(value: Any) -> str:
    """Cell text in Unicode NFC (Vietnamese typed on some systems arrives decomposed)."""
    return unicodedata.normalize("NFC", str(value)).strip()


INT_RE = re.compile(r"^-?\d+$")
NUMBER_RE = re.compile(r"^-?\d+(?:\.\d+)?$")


def parse_number(text: str) -> int | float:
    return int(text) if INT_RE.match(text) else float(text)
