"""Importing an XLSForm: pyxform reads the workbook, :class:`Importer` maps its JSON
survey onto our definition (groups become sections) and
:meth:`~survey_app.collection.questionnaire.definition.Questionnaire.from_dict`
validates it; every problem is reported with its sheet, row and column.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from survey_app.collection.questionnaire.definition import Questionnaire
from survey_app.collection.questionnaire.errors import QuestionnaireError
from survey_app.collection.xlsform.problems import Location, XLSFormError, XLSFormProblem
from survey_app.collection.xlsform.reading_base import BIND_COLUMNS
from survey_app.collection.xlsform.reading_indices import IndexReader
from survey_app.collection.xlsform.reading_items import ItemReader
from survey_app.collection.xlsform.sheets import INT_RE

#: XLSForm types recording metadata about the device or the session; they are
#: not questions and are skipped on import (the platform records its own).
METADATA_TYPES: frozenset[str] = frozenset(
    {
        "start",
        "end",
        "today",
        "deviceid",
        "phonenumber",
        "username",
        "email",
        "simserial",
        "subscriberid",
        "audit",
        "start-geopoint",
        "background-audio",
    }
)

_GROUP_KEYS = frozenset({"type", "name", "label", "hint", "bind", "control", "children"})


@dataclass(frozen=True)
class ImportResult:
    """An imported questionnaire and the rows that were skipped.

    Attributes
    ----------
    questionnaire : Questionnaire
    skipped : tuple of str
        One line per metadata row left out (e.g. ``survey sheet, row 2: start``).
    """

    questionnaire: Questionnaire
    skipped: tuple[str, ...] = ()


class Importer(ItemReader, IndexReader):
    """Maps pyxform's JSON survey onto our definition dict, collecting problems."""

    def read(self, path: Path, slug: str | None, version: int | None) -> ImportResult:
        if path.suffix.lower() != ".xlsx":
            raise XLSFormError(
                self.file,
                [XLSFormProblem(Location(""), _("only .xlsx files are supported"))],
            )
        if not _is_workbook(path):
            # pyxform's own reason for this ("'definition' was not recognized as a
            # supported type. Must be one of: .xlsx, ...") names the wrong cause
            raise XLSFormError(
                self.file,
                [XLSFormProblem(Location(""), _("not a readable Excel workbook (.xlsx)"))],
            )
        try:
            book = get_xlsform(xlsform=str(path))
            warnings: list[str] = []
            form = workbook_to_json(
                workbook_dict=book,
                fallback_form_name=book.fallback_form_name,
                warnings=warnings,
            )
        except PyXFormError as exc:
            raise XLSFormError(self.file, [_pyxform_problem(exc)]) from exc
        self.index_sheet(book)
        data = self.questionnaire(form, book, path, slug, version)
        if self.problems:
            raise XLSFormError(self.file, self.problems)
        try:
            q = Questionnaire.from_dict(data, source=self.file)
        except QuestionnaireError as exc:
            raise XLSFormError(
                self.file, [self.place(e.path, e.reason) for e in exc.errors]
            ) from exc
        return ImportResult(q, tuple(self.skipped))

    def index_sheet(self, book: Any) -> None:
        for sheet, header, rows in (
            (self.survey, book.survey_header, book.survey),
            (self.choices, book.choices_header, book.choices),
            (self.settings, book.settings_header, book.settings),
        ):
            sheet.columns = list(header[0]) if header else []
            for number, row in enumerate(rows or [], start=2):
                if sheet is self.survey and row.get("name"):
                    self.rows.setdefault(str(row["name"]), number)
                    self.raw_types[str(row["name"])] = str(row.get("type", ""))
                if sheet is self.choices and row.get("name"):
                    key = (str(row.get("list_name", "")), str(row["name"]))
                    self.choice_rows.setdefault(key, number)

    def place(self, path: str, reason: str) -> XLSFormProblem:
        """Locate a questionnaire-parser error by its YAML path."""
        probe = path
        while probe and probe not in self.where:
            shorter = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", probe)
            probe = "" if shorter == probe else shorter
        return XLSFormProblem(self.where.get(probe, Location("survey")), reason)

    def questionnaire(
        self,
        form: Mapping[str, Any],
        book: Any,
        path: Path,
        slug: str | None,
        version: int | None,
    ) -> dict[str, Any]:
        settings = Location("settings", 2 if book.settings else None)
        data: dict[str, Any] = {}
        if slug is None:
            slug = str(form.get("id_string", ""))
            self.where["slug"] = settings.with_column(self.settings.column("form_id"))
        data["slug"] = slug
        if version is None:
            raw = form.get("version")
            where = settings.with_column("version")
            if raw is None:
                self.problem(
                    where, _("no version: add one to the settings sheet or pass --version")
                )
            elif not INT_RE.match(str(raw).strip()):
                self.problem(
                    where,
                    _("version %(value)s is not a whole number; pass --version", value=repr(raw)),
                )
            else:
                version = int(str(raw).strip())
            self.where["version"] = where
        data["version"] = version
        self.where["title"] = settings.with_column(self.settings.column("x_title", "vi"))
        data["title"] = self.label(form.get("x_title"), settings, self.settings, "x_title")
        if form.get("x_description"):
            self.where["description"] = settings.with_column(
                self.settings.column("x_description", "vi")
            )
            data["description"] = self.label(
                form.get("x_description"), settings, self.settings, "x_description"
            )
        data["sections"] = self.sections(form.get("children", []), data["title"])
        index = self.index(path)
        if index is not None:
            data["index"] = index
        return data

    def sections(self, children: list[dict[str, Any]], title: Any) -> list[dict[str, Any]]:
        sections: list[dict[str, Any]] = []
        loose: list[dict[str, Any]] = []
        names = {str(c.get("name")) for c in children}

        def flush() -> None:
            if not loose:
                return
            n = len(sections) + 1
            code = f"section_{n}"
            while code in names:
                code += "_"
            path = f"sections[{len(sections)}]"
            self.where[path] = self.at(str(loose[0].get("name")))
            items = [self.item(c, f"{path}.items[{j}]") for j, c in enumerate(loose)]
            sections.append({"code": code, "title": title, "items": items})
            loose.clear()

        for child in children:
            kind = child.get("type")
            name = str(child.get("name", ""))
            if kind == "group" and name == "meta" and child.get("control", {}).get("bodyless"):
                continue  # pyxform's own instanceID
            if kind in METADATA_TYPES:
                self.skipped.append(f"{self.at(name)}: {kind} ({name})")
            elif kind == "group":
                flush()
                sections.append(self.section(child, f"sections[{len(sections)}]"))
            elif kind == "repeat":
                self.problem(
                    self.at(name, "type"), _("repeat groups cannot be represented (begin_repeat)")
                )
            else:
                loose.append(child)
        flush()
        return sections

    def section(self, group: dict[str, Any], path: str) -> dict[str, Any]:
        name = str(group.get("name", ""))
        loc = self.at(name)
        self.where[path] = loc
        self.where[f"{path}.code"] = loc.with_column("name")
        self.where[f"{path}.title"] = loc.with_column(self.survey.column("label", "vi"))
        self.check_keys(group, _GROUP_KEYS, loc)
        d: dict[str, Any] = {"code": name}
        self.label_and_hint(group, loc, path, d, ("title", "description"))
        bind = group.get("bind", {})
        for key in bind:
            if key != "relevant":
                self.problem(
                    loc.with_column(BIND_COLUMNS.get(key, key)),
                    _(
                        "%(column)s on a group cannot be represented",
                        column=BIND_COLUMNS.get(key, key),
                    ),
                )
        if bind.get("relevant"):
            d["show_if"] = self.show_if(bind["relevant"], loc, f"{path}.show_if")
        items = []
        for child in group.get("children", []):
            kind = child.get("type")
            cname = str(child.get("name", ""))
            if kind in ("group", "repeat"):
                self.problem(
                    self.at(cname, "type"),
                    _(
                        "a %(kind)s inside the group %(name)s: sections cannot be nested",
                        kind=kind,
                        name=repr(name),
                    ),
                )
            elif kind in METADATA_TYPES:
                self.skipped.append(f"{self.at(cname)}: {kind} ({cname})")
            else:
                items.append(self.item(child, f"{path}.items[{len(items)}]"))
        d["items"] = items
        return d


_PYXFORM_ROW_RE = re.compile(r"^\[row : (\d+)\]\s*(?:On the '(\w+)' sheet, )?")


def _pyxform_problem(exc: PyXFormError) -> XLSFormProblem:
    """pyxform's own error, located when its message names a row."""
    reason = " ".join(str(exc).split())
    match = _PYXFORM_ROW_RE.match(reason)
    if match is None:
        return XLSFormProblem(Location(""), _("pyxform cannot read it: %(reason)s", reason=reason))
    location = Location(match.group(2) or "survey", int(match.group(1)))
    return XLSFormProblem(location, f"pyxform: {reason[match.end() :]}")


def _is_workbook(path: Path) -> bool:
    """Whether ``path`` is a zip archive holding a workbook part (an ``.xlsx`` file),
    not a damaged file or another format renamed."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def read_xlsform(
    path: str | Path, *, slug: str | None = None, version: int | None = None
) -> ImportResult:
    """Import an XLSForm (``.xlsx``) as a validated questionnaire.

    Parameters
    ----------
    path : str or Path
        The XLSForm workbook.
    slug : str, optional
        Overrides the settings sheet's ``form_id``.
    version : int, optional
        Overrides the settings sheet's ``version`` (needed when that is not a
        whole number).

    Returns
    -------
    ImportResult

    Raises
    ------
    XLSFormError
        Listing every problem found, each with sheet, row and column.

    Notes
    -----
    The mapping (documented in ``questionnaires/README.md``): ``select_one`` →
    ``single``, or ``likert5`` when its choices are the standard five-level
    satisfaction scale 1…5 (or ``x_type`` says ``likert5`` / ``smiley``);
    ``select_multiple`` → ``multiple``; ``integer`` / ``decimal`` → ``number``;
    ``text`` → ``text``; groups → sections; ``relevant`` → ``show_if``.
    """
    path = Path(path)
    return Importer(path).read(path, slug, version)
