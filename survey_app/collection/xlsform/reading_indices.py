"""Reading our ``indices`` sheet (openpyxl; pyxform ignores it) into the ``index``
block of a definition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
from flask_babel import gettext as _

from survey_app.collection.xlsform.problems import Location
from survey_app.collection.xlsform.reading_base import WorkbookReader
from survey_app.collection.xlsform.sheets import (
    INDEX_SHEET,
    NUMBER_RE,
    cell_text,
    lang_code,
    parse_number,
)

_INDEX_COLUMNS = ("type", "name", "items", "weight", "values")
_INDEX_ROW_TYPES = ("satisfied_levels", "aspect_method", "aspect", "overall", "mean_score")


class IndexReader(WorkbookReader):
    """The rows of the ``indices`` sheet."""

    def index(self, path: Path) -> dict[str, Any] | None:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            names = {name.lower(): name for name in book.sheetnames}
            if INDEX_SHEET not in names:
                return None
            rows = [list(r) for r in book[names[INDEX_SHEET]].iter_rows(values_only=True)]
        finally:
            book.close()
        if not rows:
            return None
        header = ["" if h is None else cell_text(h) for h in rows[0]]
        self.indices.columns = header
        known = set(_INDEX_COLUMNS)
        for col in header:
            head, _, lang = col.partition("::")
            if col and col not in known and not (head == "label" and lang_code(lang)):
                self.problem(
                    Location(INDEX_SHEET, 1, col),
                    _(
                        "unknown column (allowed: %(allowed)s, label::<language>)",
                        allowed=", ".join(_INDEX_COLUMNS),
                    ),
                )
        index: dict[str, Any] = {}
        for number, raw in enumerate(rows[1:], start=2):
            cells = {h: v for h, v in zip(header, raw, strict=False) if h and v not in (None, "")}
            if cells:
                self.index_row(index, cells, Location(INDEX_SHEET, number))
        return index

    def index_row(self, index: dict[str, Any], cells: dict[str, Any], loc: Location) -> None:
        kind = cell_text(cells.get("type", ""))
        name = cell_text(cells["name"]) if "name" in cells else None
        labels = {k.partition("::")[2]: v for k, v in cells.items() if k.startswith("label::")}
        label = self.label(labels, loc, self.indices, "label", required=False) if labels else None
        if kind not in _INDEX_ROW_TYPES:
            self.problem(
                loc.with_column("type"),
                _(
                    "unknown row type %(kind)s (allowed: %(allowed)s)",
                    kind=repr(kind),
                    allowed=", ".join(_INDEX_ROW_TYPES),
                ),
            )
            return
        if kind != "aspect" and kind in index:
            self.problem(loc.with_column("type"), _("%(key)s is given twice", key=kind))
            return
        values = self.numbers(cells.get("values"), loc.with_column("values"))
        items = cell_text(cells["items"]).split() if "items" in cells else []
        if kind == "satisfied_levels":
            self.where["index.satisfied_levels"] = loc.with_column("values")
            index[kind] = values
        elif kind == "aspect_method":
            self.where["index.aspect_method"] = loc.with_column("name")
            index[kind] = name
        elif kind == "aspect":
            aspects = index.setdefault("aspects", [])
            p = f"index.aspects[{len(aspects)}]"
            self.where[p] = loc
            self.where[f"{p}.code"] = loc.with_column("name")
            self.where[f"{p}.label"] = loc.with_column(self.indices.column("label", "vi"))
            self.where[f"{p}.items"] = loc.with_column("items")
            self.where[f"{p}.weight"] = loc.with_column("weight")
            aspect: dict[str, Any] = {"code": name, "label": label, "items": items}
            if "weight" in cells:
                aspect["weight"] = self.numbers(cells["weight"], loc.with_column("weight"))[0]
            aspects.append(aspect)
        elif kind == "overall":
            self.where["index.overall"] = loc
            self.where["index.overall.method"] = loc.with_column("name")
            self.where["index.overall.item"] = loc.with_column("items")
            self.where["index.overall.satisfied_levels"] = loc.with_column("values")
            self.where["index.overall.label"] = loc.with_column(self.indices.column("label", "vi"))
            overall: dict[str, Any] = {}
            if name is not None:
                overall["method"] = name
            if label is not None:
                overall["label"] = label
            if items:
                overall["item"] = items[0] if len(items) == 1 else items
            if values:
                overall["satisfied_levels"] = values
            index[kind] = overall
        else:  # mean_score
            self.where["index.mean_score"] = loc
            self.where["index.mean_score.rule"] = loc.with_column("name")
            self.where["index.mean_score.points"] = loc.with_column("values")
            rule: dict[str, Any] = {"rule": name} if name is not None else {}
            if values:
                rule["points"] = values
            index[kind] = rule

    def numbers(self, value: Any, loc: Location) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, int | float) and not isinstance(value, bool):
            return [int(value) if float(value).is_integer() else value]
        result: list[Any] = []
        for token in str(value).replace(",", " ").split():
            if not NUMBER_RE.match(token):
                self.problem(loc, _("%(value)s is not a number", value=repr(token)))
                continue
            result.append(parse_number(token))
        return result
