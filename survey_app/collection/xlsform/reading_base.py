"""The base of the XLSForm reader: the sheets' headers for error locations, the
problems found, a bilingual text read from its language columns, and the columns
that cannot be represented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from survey_app.collection.xlsform.problems import Location, XLSFormProblem
from survey_app.collection.xlsform.sheets import INDEX_SHEET, LANGUAGE_COLUMNS, cell_text, lang_code

BIND_COLUMNS: Mapping[str, str] = {
    "readonly": "read_only",
    "calculate": "calculation",
    "jr:preload": "type",
    "jr:constraintMsg": "constraint_message",
    "jr:requiredMsg": "required_message",
}
_CONTROL_KEYS = frozenset({"appearance"})


@dataclass
class Sheet:
    """Header and row numbers of one sheet, for error locations."""

    name: str
    columns: list[str] = field(default_factory=list)

    def column(self, base: str, lang: str | None = None) -> str:
        """The header of ``base`` (in language ``lang``), or the name to add."""
        for col in self.columns:
            head, _, suffix = col.partition("::")
            if head.strip() != base:
                continue
            if lang is None or lang_code(suffix) == lang:
                return col
        return f"{base}::{LANGUAGE_COLUMNS[lang]}" if lang else base


class WorkbookReader:
    """Where every problem is (sheet, row, column), and the texts of a row.

    :class:`~.reading_items.ItemReader` and :class:`~.reading_indices.IndexReader`
    build on it, :class:`~.reading.Importer` joins them.
    """

    def __init__(self, path: Path) -> None:
        self.file = str(path)
        self.problems: list[XLSFormProblem] = []
        self.skipped: list[str] = []
        self.types: dict[str, str] = {}
        # YAML path -> location, to place the questionnaire parser's errors.
        self.where: dict[str, Location] = {}
        self.survey = Sheet("survey")
        self.choices = Sheet("choices")
        self.settings = Sheet("settings")
        self.indices = Sheet(INDEX_SHEET)
        self.rows: dict[str, int] = {}
        self.choice_rows: dict[tuple[str, str], int] = {}
        self.raw_types: dict[str, str] = {}

    def problem(self, location: Location, reason: str) -> None:
        self.problems.append(XLSFormProblem(location, reason))

    def at(self, name: str, column: str | None = None) -> Location:
        return Location("survey", self.rows.get(name), column)

    def label(
        self, value: Any, loc: Location, sheet: Sheet, base: str, *, required: bool = True
    ) -> dict[str, str] | None:
        """``{"vi", "en"}`` from a pyxform translated text, or None (with a problem)."""
        if value is None or value == "" or value == {}:
            if required:
                self.problem(
                    loc.with_column(sheet.column(base, "vi")),
                    _(
                        "missing %(base)s: give it in Vietnamese (%(vi)s) and English (%(en)s)",
                        base=base,
                        vi=sheet.column(base, "vi"),
                        en=sheet.column(base, "en"),
                    ),
                )
            return None
        if not isinstance(value, dict):
            self.problem(
                loc.with_column(base),
                _(
                    "%(base)s has no language: use the columns %(vi)s and %(en)s",
                    base=base,
                    vi=f"{base}::{LANGUAGE_COLUMNS['vi']}",
                    en=f"{base}::{LANGUAGE_COLUMNS['en']}",
                ),
            )
            return None
        found: dict[str, list[str]] = {"vi": [], "en": []}
        for name, text in value.items():
            code = lang_code(str(name))
            if code is not None and cell_text(text):
                found[code].append(cell_text(text))
        result = {}
        for code, texts in found.items():
            column = sheet.column(base, code)
            if not texts:
                missing = (
                    _("missing the Vietnamese %(base)s", base=base)
                    if code == "vi"
                    else _("missing the English %(base)s", base=base)
                )
                self.problem(loc.with_column(column), missing)
            elif len(set(texts)) > 1:
                self.problem(
                    loc.with_column(column),
                    _(
                        "two %(base)s columns for language '%(code)s' with different texts",
                        base=base,
                        code=code,
                    ),
                )
            else:
                result[code] = texts[0]
        return result if len(result) == 2 else None

    def label_and_hint(
        self,
        element: Mapping[str, Any],
        loc: Location,
        path: str,
        d: dict[str, Any],
        keys: tuple[str, str],
    ) -> None:
        """Read ``label`` (required) and ``hint`` (optional) into ``d`` under ``keys``."""
        label_key, hint_key = keys
        d[label_key] = self.label(element.get("label"), loc, self.survey, "label")
        if element.get("hint"):
            self.where[f"{path}.{hint_key}"] = loc.with_column(self.survey.column("hint", "vi"))
            d[hint_key] = self.label(element.get("hint"), loc, self.survey, "hint")

    def check_keys(
        self, element: Mapping[str, Any], allowed: frozenset[str], loc: Location
    ) -> None:
        for key in element:
            if key in allowed or key.startswith("$"):  # $kuid etc.: KoboToolbox bookkeeping
                continue
            self.problem(
                loc.with_column(key), _("column %(column)s cannot be represented", column=key)
            )
        for key in element.get("control", {}) or {}:
            if key not in _CONTROL_KEYS:
                self.problem(
                    loc.with_column(f"body::{key}"),
                    _("%(column)s cannot be represented", column=key),
                )
        if element.get("parameters"):
            self.problem(
                loc.with_column("parameters"),
                _("%(column)s cannot be represented", column="parameters"),
            )
