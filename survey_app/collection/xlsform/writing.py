"""Exporting a questionnaire: an XLSForm workbook (survey, choices, settings and our
indices sheet) that pyxform converts and that imports back to the same definition,
and the YAML text of a questionnaire file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import openpyxl
import yaml

from survey_app.collection.questionnaire.definition import Questionnaire
from survey_app.collection.questionnaire.index import DEFAULT_OVERALL_LABEL
from survey_app.collection.questionnaire.model import (
    DEFAULT_TEXT_WARNING,
    LIKERT5_LABELS,
    SCALE_TYPES,
    SMILEY_DEFAULT_LABELS,
    Item,
    Label,
)
from survey_app.collection.xlsform.expressions import condition_expr
from survey_app.collection.xlsform.sheets import INDEX_SHEET, LANGUAGE_COLUMNS


def _lang_columns(base: str) -> list[str]:
    return [f"{base}::{LANGUAGE_COLUMNS[lang]}" for lang in LANGUAGE_COLUMNS]


_SURVEY_COLUMNS = [
    "type",
    "name",
    *_lang_columns("label"),
    *_lang_columns("hint"),
    "required",
    "relevant",
    "constraint",
    "appearance",
    "x_type",
    "x_demographic",
    *_lang_columns("x_unit"),
    *_lang_columns("x_warning"),
]
_CHOICE_COLUMNS = ["list_name", "name", *_lang_columns("label")]


def _texts(base: str, label: Label | None) -> dict[str, str]:
    if label is None:
        return {}
    return {f"{base}::{LANGUAGE_COLUMNS[lang]}": label.get(lang) for lang in LANGUAGE_COLUMNS}


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


class _Exporter:
    """Builds the survey, choices, settings and indices rows of a questionnaire."""

    def __init__(self, q: Questionnaire) -> None:
        self.q = q
        self.survey: list[dict[str, Any]] = []
        self.choices: list[dict[str, Any]] = []
        self.lists: dict[tuple[Any, ...], str] = {}
        self.taken: set[str] = {i.code for i in q.items if i.type in ("single", "multiple")}

    def choice_list(self, item: Item) -> str:
        if item.type in ("single", "multiple"):
            rows = [(o.code, o.label) for o in item.options]
            name = item.code
        else:
            rows = [(str(v), lab) for v, lab in enumerate(item.levels, start=1)]
            default = LIKERT5_LABELS if item.type == "likert5" else SMILEY_DEFAULT_LABELS[len(rows)]
            key = (item.type, item.levels)
            if key in self.lists:
                return self.lists[key]
            shared = item.levels == default
            base = "likert5" if item.type == "likert5" else f"smiley{len(rows)}"
            name = _unique(base if shared else f"{item.code}_scale", self.taken)
            self.lists[key] = name
        for code, label in rows:
            self.choices.append({"list_name": name, "name": code, **_texts("label", label)})
        return name

    def item(self, item: Item) -> dict[str, Any]:
        row: dict[str, Any] = {"name": item.code, **_texts("label", item.label)}
        row.update(_texts("hint", item.help))
        if item.required:
            row["required"] = "yes"
        if item.demographic:
            row["x_demographic"] = "yes"
        if item.show_if is not None:
            row["relevant"] = condition_expr(item.show_if, self.q.item(item.show_if.item))
        if item.type in SCALE_TYPES:
            row["type"] = f"select_one {self.choice_list(item)}"
            row["x_type"] = item.type
            row["appearance"] = "likert"
        elif item.type == "single":
            row["type"] = f"select_one {self.choice_list(item)}"
        elif item.type == "multiple":
            row["type"] = f"select_multiple {self.choice_list(item)}"
            parts = []
            if item.min_choices not in (None, 1):
                parts.append(f"count-selected(.) >= {item.min_choices}")
            if item.max_choices not in (None, len(item.options)):
                parts.append(f"count-selected(.) <= {item.max_choices}")
            if parts:
                row["constraint"] = " and ".join(parts)
        elif item.type == "number":
            row["type"] = "integer" if item.integer else "decimal"
            row["constraint"] = f". >= {item.min_value} and . <= {item.max_value}"
            row.update(_texts("x_unit", item.unit))
        else:
            row["type"] = "text"
            row["constraint"] = f"string-length(.) <= {item.max_length}"
            if item.warning != DEFAULT_TEXT_WARNING:
                row.update(_texts("x_warning", item.warning))
        return row

    def build(self) -> None:
        for section in self.q.sections:
            group = {"type": "begin_group", "name": section.code, "appearance": "field-list"}
            group.update(_texts("label", section.title))
            group.update(_texts("hint", section.description))
            if section.show_if is not None:
                target = self.q.item(section.show_if.item)
                group["relevant"] = condition_expr(section.show_if, target)
            self.survey.append(group)
            self.survey.extend(self.item(item) for item in section.items)
            self.survey.append({"type": "end_group", "name": section.code})

    def settings(self) -> dict[str, Any]:
        q = self.q
        row: dict[str, Any] = {
            "form_title": q.title.vi,
            "form_id": q.slug,
            "version": q.version,
            "default_language": LANGUAGE_COLUMNS["vi"],
        }
        row.update(_texts("x_title", q.title))
        row.update(_texts("x_description", q.description))
        return row

    def indices(self) -> list[dict[str, Any]]:
        index = self.q.index
        if index is None:
            return []

        def join(values: Iterable[Any]) -> str:
            return " ".join(str(v) for v in values)

        rows: list[dict[str, Any]] = [
            {"type": "satisfied_levels", "values": join(index.satisfied_levels)},
            {"type": "aspect_method", "name": index.aspect_method},
        ]
        for aspect in index.aspects:
            row = {"type": "aspect", "name": aspect.code, **_texts("label", aspect.label)}
            row["items"] = join(aspect.items)
            if aspect.weight is not None:
                row["weight"] = aspect.weight
            rows.append(row)
        overall = index.overall
        row = {"type": "overall", "name": overall.method}
        if overall.label != DEFAULT_OVERALL_LABEL:
            row.update(_texts("label", overall.label))
        if overall.item is not None:
            row["items"] = overall.item
            row["values"] = join(overall.satisfied_levels or ())
        rows.append(row)
        rows.append(
            {
                "type": "mean_score",
                "name": index.mean_score.rule,
                "values": join(index.mean_score.points),
            }
        )
        return rows


def _sheet(book: openpyxl.Workbook, title: str, columns: list[str], rows: list[dict]) -> None:
    sheet = book.create_sheet(title)
    used = [c for c in columns if c in ("type", "name", "list_name") or any(c in r for r in rows)]
    sheet.append(used)
    for row in rows:
        sheet.append([row.get(c, "") for c in used])


def questionnaire_to_workbook(q: Questionnaire) -> openpyxl.Workbook:
    """Write a questionnaire as an XLSForm workbook.

    Parameters
    ----------
    q : Questionnaire

    Returns
    -------
    openpyxl.Workbook
        Sheets ``survey``, ``choices``, ``settings`` and, when ``q`` has an
        index, ``indices``; every text in Vietnamese and English columns.
        :func:`read_xlsform` turns it back into an equal definition.
    """
    exporter = _Exporter(q)
    exporter.build()
    book = openpyxl.Workbook()
    book.remove(book.active)
    _sheet(book, "survey", _SURVEY_COLUMNS, exporter.survey)
    _sheet(book, "choices", _CHOICE_COLUMNS, exporter.choices)
    settings = exporter.settings()
    _sheet(book, "settings", list(settings), [settings])
    indices = exporter.indices()
    if indices:
        columns = ["type", "name", *_lang_columns("label"), "items", "weight", "values"]
        _sheet(book, INDEX_SHEET, columns, indices)
    return book


def write_xlsform(q: Questionnaire, path: str | Path) -> None:
    """Save :func:`questionnaire_to_workbook` of ``q`` to ``path`` (``.xlsx``)."""
    questionnaire_to_workbook(q).save(Path(path))


class _Dumper(yaml.SafeDumper):
    """Block style; never a YAML alias for repeated labels."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(q: Questionnaire, header: str = "") -> str:
    """Return the questionnaire file text (canonical form) with an optional comment header.

    Strings the questionnaire loader would not read back as text (``yes``,
    ``no``, ``01``) are quoted by the YAML emitter.
    """
    body = yaml.dump(q.to_dict(), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    lines = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    return lines + ("\n" if lines else "") + body
