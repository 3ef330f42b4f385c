"""XLSForm (ODK, KoboToolbox) import and export of questionnaire definitions.

Pure: no Flask application, no database (Flask-Babel's gettext makes the messages:
the reader's language inside an application, English outside one).  pyxform parses
an XLSForm into its JSON survey structure, which is mapped onto the dictionary form of
:class:`~survey_app.collection.questionnaire.Questionnaire` and validated by
:meth:`Questionnaire.from_dict`; openpyxl writes our definitions out as an
XLSForm that pyxform converts and that imports back to the same definition.
The rules are documented in ``questionnaires/README.md`` (section "XLSForm").

Public API
----------
read_xlsform(path, slug=None, version=None) -> ImportResult
questionnaire_to_workbook(q) -> openpyxl.Workbook
write_xlsform(q, path)
dump_yaml(q, header="") -> str
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import yaml
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from pyxform.aliases import yes_no
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from survey_app.collection.questionnaire import (
    DEFAULT_OVERALL_LABEL,
    DEFAULT_TEXT_WARNING,
    LIKERT5_LABELS,
    SCALE_TYPES,
    SMILEY_DEFAULT_LABELS,
    Condition,
    Item,
    Label,
    Questionnaire,
    QuestionnaireError,
)

__all__ = [
    "EXTRA_COLUMNS",
    "LANGUAGE_COLUMNS",
    "ImportResult",
    "Location",
    "XLSFormError",
    "XLSFormProblem",
    "dump_yaml",
    "questionnaire_to_workbook",
    "read_xlsform",
    "write_xlsform",
]

#: Language names written on export (``label::Vietnamese (vi)``).
LANGUAGE_COLUMNS: Mapping[str, str] = {"vi": "Vietnamese (vi)", "en": "English (en)"}

#: Our own survey-sheet columns (ignored by ODK and Kobo, kept in the form).
EXTRA_COLUMNS: tuple[str, ...] = ("x_type", "x_demographic", "x_unit", "x_warning")

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

_SUPPORTED_TYPES = (
    "select_one, select_multiple, integer, decimal, text, begin_group/end_group"
    " (metadata such as start and end are skipped)"
)
_QUESTION_KEYS = frozenset(
    {"type", "name", "label", "hint", "bind", "control", "parameters", "itemset", "list_name"}
    | {"choices", *EXTRA_COLUMNS}
)
_GROUP_KEYS = frozenset({"type", "name", "label", "hint", "bind", "control", "children"})
#: bind keys we read; constraint and required messages are ignored (the platform
#: has its own bilingual messages).
_BIND_KEYS = frozenset({"relevant", "required", "constraint", "jr:constraintMsg", "jr:requiredMsg"})
_BIND_COLUMNS: Mapping[str, str] = {
    "readonly": "read_only",
    "calculate": "calculation",
    "jr:preload": "type",
    "jr:constraintMsg": "constraint_message",
    "jr:requiredMsg": "required_message",
}
_CONTROL_KEYS = frozenset({"appearance"})
_INDEX_SHEET = "indices"
_INDEX_COLUMNS = ("type", "name", "items", "weight", "values")
_INDEX_ROW_TYPES = ("satisfied_levels", "aspect_method", "aspect", "overall", "mean_score")


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Languages and texts
# ---------------------------------------------------------------------------

_LANG_SUFFIX_RE = re.compile(r"\((vi|en)\)\s*$", re.IGNORECASE)


def _lang_code(name: str) -> str | None:
    """``vi`` / ``en`` for ``vi``, ``Vietnamese (vi)``, ``English (en)``…; else None."""
    name = name.strip()
    if name.lower() in LANGUAGE_COLUMNS:
        return name.lower()
    match = _LANG_SUFFIX_RE.search(name)
    return match.group(1).lower() if match else None


def _text(value: Any) -> str:
    """Cell text in Unicode NFC (Vietnamese typed on some systems arrives decomposed)."""
    return unicodedata.normalize("NFC", str(value)).strip()


def _norm(text: str) -> str:
    """Comparison form: NFC, case-folded, single spaces, no final full stop."""
    return " ".join(_text(text).casefold().split()).rstrip(".")


_INT_RE = re.compile(r"^-?\d+$")
_NUMBER_RE = re.compile(r"^-?\d+(?:\.\d+)?$")


def _number(text: str) -> int | float:
    return int(text) if _INT_RE.match(text) else float(text)


# ---------------------------------------------------------------------------
# Expressions: relevant and constraint
# ---------------------------------------------------------------------------

_REF = r"\$\{\s*(?P<item>[A-Za-z_][A-Za-z0-9_.-]*)\s*\}"
_LITERAL = r"(?P<value>'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?)"
_EQUALS_RE = re.compile(rf"^{_REF}\s*=\s*{_LITERAL}$")
_SELECTED_RE = re.compile(rf"^selected\(\s*{_REF}\s*,\s*{_LITERAL}\s*\)$")
_OR_RE = re.compile(r"\s+or\s+")
_AND_RE = re.compile(r"\s+and\s+")
_BOUND_RE = re.compile(r"^\.\s*(?P<op>>=|<=)\s*(?P<value>-?\d+(?:\.\d+)?)$")
_LENGTH_RE = re.compile(r"^string-length\(\s*\.\s*\)\s*<=\s*(?P<value>\d+)$")
_COUNT_RE = re.compile(r"^count-selected\(\s*\.\s*\)\s*(?P<op>>=|<=)\s*(?P<value>\d+)$")

_RELEVANT_HELP = lazy_gettext(
    "supported: ${q} = 'v', ${q} = n, selected(${q}, 'v'), and several of these on the "
    "same question joined by 'or'"
)


def _strip_parens(expr: str) -> str:
    """Remove parentheses wrapping the whole expression."""
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for i, ch in enumerate(expr):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(expr) - 1:
                return expr
        expr = expr[1:-1].strip()
    return expr


def _unquote(literal: str) -> tuple[str, bool]:
    if literal[:1] in "'\"":
        return literal[1:-1], True
    return literal, False


class _UnsupportedError(ValueError):
    """An expression outside the supported subset (message says why)."""


def _parse_relevant(expr: str, types: Mapping[str, str]) -> dict[str, Any]:
    """Turn a ``relevant`` expression into a ``show_if`` mapping.

    Parameters
    ----------
    expr : str
        The XLSForm expression.
    types : mapping of str to str
        Our type of every item read so far (to type the values).

    Raises
    ------
    _UnsupportedError
    """
    target: str | None = None
    values: list[Any] = []
    for part in _OR_RE.split(_strip_parens(expr)):
        atom = _strip_parens(part)
        equals = _EQUALS_RE.match(atom)
        selected = _SELECTED_RE.match(atom)
        match = equals or selected
        if match is None:
            raise _UnsupportedError(
                _("cannot represent %(expr)s (%(help)s)", expr=repr(atom), help=str(_RELEVANT_HELP))
            )
        item = match.group("item")
        if target is not None and item != target:
            raise _UnsupportedError(
                _(
                    "'or' joins tests of different questions (%(first)s and %(second)s); "
                    "a condition may test only one earlier question",
                    first=repr(target),
                    second=repr(item),
                )
            )
        target = item
        item_type = types.get(item)
        if equals and item_type == "multiple":
            raise _UnsupportedError(
                _(
                    "%(ref)s = ... on the select_multiple question %(item)s means 'exactly "
                    "this choice'; write selected(%(ref)s, 'v') instead",
                    ref=f"${{{item}}}",
                    item=repr(item),
                )
            )
        if selected and item_type in ("number", "text"):
            raise _UnsupportedError(
                _("selected() applies to select questions, not to %(item)s", item=repr(item))
            )
        raw, quoted = _unquote(match.group("value"))
        if item_type in SCALE_TYPES and _INT_RE.match(raw):
            values.append(int(raw))
        elif item_type == "number" and _NUMBER_RE.match(raw):
            values.append(_number(raw))
        elif item_type in ("single", "multiple") or quoted:
            values.append(raw)
        else:
            values.append(_number(raw))
    assert target is not None  # split() yields at least one part
    if len(values) == 1:
        return {"item": target, "equals": values[0]}
    return {"item": target, "in": values}


def _condition_expr(cond: Condition, target: Item) -> str:
    """The XLSForm ``relevant`` expression of a condition."""
    parts = []
    for value in cond.values:
        if target.type == "multiple":
            parts.append(f"selected(${{{cond.item}}}, '{value}')")
        elif target.type == "number":
            parts.append(f"${{{cond.item}}} = {value}")
        else:
            parts.append(f"${{{cond.item}}} = '{value}'")
    return " or ".join(parts)


def _parse_constraint(expr: str, item_type: str) -> dict[str, Any]:
    """Read a ``constraint`` into our keys (bounds, max_length, choice counts).

    Raises
    ------
    _UnsupportedError
    """
    if item_type == "number":
        pattern, keys, form = _BOUND_RE, {">=": "min", "<=": "max"}, ". >= MIN and . <= MAX"
    elif item_type == "text":
        pattern, keys, form = _LENGTH_RE, {}, "string-length(.) <= N"
    elif item_type == "multiple":
        pattern, keys = _COUNT_RE, {">=": "min_choices", "<=": "max_choices"}
        form = "count-selected(.) >= N and count-selected(.) <= M"
    else:
        raise _UnsupportedError(
            _("constraints on %(type)s items cannot be represented", type=item_type)
        )
    result: dict[str, Any] = {}
    for part in _AND_RE.split(_strip_parens(expr)):
        match = pattern.match(_strip_parens(part))
        if match is None:
            raise _UnsupportedError(
                _(
                    "cannot represent %(expr)s (supported: %(form)s)",
                    expr=repr(part.strip()),
                    form=form,
                )
            )
        key = keys[match.group("op")] if keys else "max_length"
        if key in result:
            raise _UnsupportedError(_("%(key)s is given twice", key=key))
        result[key] = _number(match.group("value"))
    return result


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------


@dataclass
class _Sheet:
    """Header and row numbers of one sheet, for error locations."""

    name: str
    columns: list[str] = field(default_factory=list)

    def column(self, base: str, lang: str | None = None) -> str:
        """The header of ``base`` (in language ``lang``), or the name to add."""
        for col in self.columns:
            head, _, suffix = col.partition("::")
            if head.strip() != base:
                continue
            if lang is None or _lang_code(suffix) == lang:
                return col
        return f"{base}::{LANGUAGE_COLUMNS[lang]}" if lang else base


class _Importer:
    """Maps pyxform's JSON survey onto our definition dict, collecting problems."""

    def __init__(self, path: Path) -> None:
        self.file = str(path)
        self.problems: list[XLSFormProblem] = []
        self.skipped: list[str] = []
        self.types: dict[str, str] = {}
        # YAML path -> location, to place the questionnaire parser's errors.
        self.where: dict[str, Location] = {}
        self.survey = _Sheet("survey")
        self.choices = _Sheet("choices")
        self.settings = _Sheet("settings")
        self.indices = _Sheet(_INDEX_SHEET)
        self.rows: dict[str, int] = {}
        self.choice_rows: dict[tuple[str, str], int] = {}
        self.raw_types: dict[str, str] = {}

    def problem(self, location: Location, reason: str) -> None:
        self.problems.append(XLSFormProblem(location, reason))

    def at(self, name: str, column: str | None = None) -> Location:
        return Location("survey", self.rows.get(name), column)

    # -- texts ------------------------------------------------------------------

    def label(
        self, value: Any, loc: Location, sheet: _Sheet, base: str, *, required: bool = True
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
            code = _lang_code(str(name))
            if code is not None and _text(text):
                found[code].append(_text(text))
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

    # -- reading ----------------------------------------------------------------

    def read(self, path: Path, slug: str | None, version: int | None) -> ImportResult:
        if path.suffix.lower() != ".xlsx":
            raise XLSFormError(
                self.file,
                [XLSFormProblem(Location(""), _("only .xlsx files are supported"))],
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

    # -- top level --------------------------------------------------------------

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
            elif not _INT_RE.match(str(raw).strip()):
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
                    loc.with_column(_BIND_COLUMNS.get(key, key)),
                    _(
                        "%(column)s on a group cannot be represented",
                        column=_BIND_COLUMNS.get(key, key),
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

    # -- items ------------------------------------------------------------------

    def item(self, q: dict[str, Any], path: str) -> dict[str, Any]:
        name = str(q.get("name", ""))
        loc = self.at(name)
        raw_type = self.raw_types.get(name, str(q.get("type", "")))
        self.where[path] = loc
        self.where[f"{path}.code"] = loc.with_column("name")
        self.where[f"{path}.label"] = loc.with_column(self.survey.column("label", "vi"))
        d: dict[str, Any] = {"code": name}
        our_type = self.item_type(q, loc, raw_type)
        if our_type is None:
            return d
        d["type"] = our_type
        self.check_keys(q, _QUESTION_KEYS, loc)
        self.label_and_hint(q, loc, path, d, ("label", "help"))
        bind = q.get("bind", {})
        for key in bind:
            if key not in _BIND_KEYS:
                column = _BIND_COLUMNS.get(key, key)
                self.problem(
                    loc.with_column(column), _("%(column)s cannot be represented", column=column)
                )
        if "required" in bind:
            self.where[f"{path}.required"] = loc.with_column("required")
            d["required"] = self.yes_no(bind["required"], loc.with_column("required"))
        if "x_demographic" in q:
            self.where[f"{path}.demographic"] = loc.with_column("x_demographic")
            d["demographic"] = self.yes_no(q["x_demographic"], loc.with_column("x_demographic"))
        if bind.get("relevant"):
            d["show_if"] = self.show_if(bind["relevant"], loc, f"{path}.show_if")
        if our_type in SCALE_TYPES:
            self.scale(q, d, loc, path)
        elif our_type in ("single", "multiple"):
            self.where[f"{path}.options"] = loc.with_column("type")
            d["options"] = self.options(q, path)
        if bind.get("constraint"):
            column = loc.with_column("constraint")
            for key in ("min", "max", "max_length", "min_choices", "max_choices"):
                self.where[f"{path}.{key}"] = column
            try:
                d.update(_parse_constraint(str(bind["constraint"]), our_type))
            except _UnsupportedError as exc:
                self.problem(column, str(exc))
        elif our_type == "number":
            self.where[path] = loc.with_column("constraint")
        if our_type == "number":
            d["integer"] = q["type"] == "integer"
        for key, base, owner in (("unit", "x_unit", "number"), ("warning", "x_warning", "text")):
            if base in q:
                if our_type != owner:
                    self.problem(
                        loc.with_column(base),
                        _("%(column)s is only for %(type)s questions", column=base, type=owner),
                    )
                    continue
                self.where[f"{path}.{key}"] = loc.with_column(self.survey.column(base, "vi"))
                d[key] = self.label(q[base], loc, self.survey, base)
        self.types[name] = our_type
        return d

    def item_type(self, q: Mapping[str, Any], loc: Location, raw_type: str) -> str | None:
        kind = q.get("type")
        column = loc.with_column("type")
        if "or_other" in raw_type.split():
            self.problem(column, _("'%(type)s': or_other cannot be represented", type=raw_type))
            return None
        explicit = q.get("x_type")
        if kind == "select one" and "choices" in q:
            if explicit is None:
                return "likert5" if _is_likert5(q["choices"]) else "single"
            if explicit in SCALE_TYPES:
                return str(explicit)
            self.problem(
                loc.with_column("x_type"),
                _(
                    "x_type %(value)s is not allowed (select_one: likert5 or smiley)",
                    value=repr(explicit),
                ),
            )
            return None
        base = {
            "select all that apply": "multiple",
            "integer": "number",
            "decimal": "number",
            "text": "text",
        }.get(str(kind))
        if base is None or (base == "multiple" and "choices" not in q):
            self.problem(
                column,
                _(
                    "type '%(type)s' cannot be represented (supported: %(supported)s)",
                    type=raw_type,
                    supported=_SUPPORTED_TYPES,
                ),
            )
            return None
        if explicit is not None:
            self.problem(
                loc.with_column("x_type"),
                _("%(column)s is only for %(type)s questions", column="x_type", type="select_one"),
            )
        return base

    def yes_no(self, value: Any, loc: Location) -> bool:
        result = yes_no.get(str(value).strip())
        if result is None:
            self.problem(
                loc,
                _(
                    "%(value)s is not yes or no (conditions here cannot be represented)",
                    value=repr(value),
                ),
            )
            return False
        return result

    def show_if(self, expr: Any, loc: Location, path: str) -> dict[str, Any] | None:
        column = loc.with_column("relevant")
        self.where[path] = column
        try:
            return _parse_relevant(str(expr), self.types)
        except _UnsupportedError as exc:
            self.problem(column, str(exc))
            return None

    def choice_loc(self, q: Mapping[str, Any], choice: Mapping[str, Any]) -> Location:
        key = (str(q.get("list_name", "")), str(choice.get("name", "")))
        return Location("choices", self.choice_rows.get(key))

    def options(self, q: Mapping[str, Any], path: str) -> list[dict[str, Any]]:
        result = []
        for k, choice in enumerate(q.get("choices", [])):
            loc = self.choice_loc(q, choice)
            self.where[f"{path}.options[{k}]"] = loc
            self.where[f"{path}.options[{k}].code"] = loc.with_column("name")
            self.check_keys(choice, frozenset({"name", "label"}), loc)
            result.append(
                {
                    "code": str(choice.get("name", "")),
                    "label": self.label(choice.get("label"), loc, self.choices, "label"),
                }
            )
        return result

    def scale(self, q: Mapping[str, Any], d: dict[str, Any], loc: Location, path: str) -> None:
        choices = q.get("choices", [])
        names = [str(c.get("name", "")) for c in choices]
        k = len(names)
        column = loc.with_column("x_type" if "x_type" in q else "type")
        self.where[f"{path}.faces"] = column
        self.where[f"{path}.labels"] = column
        if d["type"] == "likert5" and names != [str(v) for v in range(1, 6)]:
            self.problem(
                column,
                _("likert5 needs the choices 1 2 3 4 5 in order, got %(names)s", names=names),
            )
            return
        if d["type"] == "smiley" and names != [str(v) for v in range(1, k + 1)]:
            self.problem(
                column, _("smiley needs the choices 1 … k in order, got %(names)s", names=names)
            )
            return
        labels = []
        for v, choice in enumerate(choices):
            loc_v = self.choice_loc(q, choice)
            self.where[f"{path}.labels[{v}]"] = loc_v
            self.check_keys(choice, frozenset({"name", "label"}), loc_v)
            labels.append(self.label(choice.get("label"), loc_v, self.choices, "label"))
        if d["type"] == "smiley":
            d["faces"] = k
        default = LIKERT5_LABELS if d["type"] == "likert5" else SMILEY_DEFAULT_LABELS.get(k, ())
        if labels != [lab.to_dict() for lab in default]:
            d["labels"] = labels

    # -- index ------------------------------------------------------------------

    def index(self, path: Path) -> dict[str, Any] | None:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            names = {name.lower(): name for name in book.sheetnames}
            if _INDEX_SHEET not in names:
                return None
            rows = [list(r) for r in book[names[_INDEX_SHEET]].iter_rows(values_only=True)]
        finally:
            book.close()
        if not rows:
            return None
        header = ["" if h is None else _text(h) for h in rows[0]]
        self.indices.columns = header
        known = set(_INDEX_COLUMNS)
        for col in header:
            head, _, lang = col.partition("::")
            if col and col not in known and not (head == "label" and _lang_code(lang)):
                self.problem(
                    Location(_INDEX_SHEET, 1, col),
                    _(
                        "unknown column (allowed: %(allowed)s, label::<language>)",
                        allowed=", ".join(_INDEX_COLUMNS),
                    ),
                )
        index: dict[str, Any] = {}
        for number, raw in enumerate(rows[1:], start=2):
            cells = {h: v for h, v in zip(header, raw, strict=False) if h and v not in (None, "")}
            if cells:
                self.index_row(index, cells, Location(_INDEX_SHEET, number))
        return index

    def index_row(self, index: dict[str, Any], cells: dict[str, Any], loc: Location) -> None:
        kind = _text(cells.get("type", ""))
        name = _text(cells["name"]) if "name" in cells else None
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
        items = _text(cells["items"]).split() if "items" in cells else []
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
            if not _NUMBER_RE.match(token):
                self.problem(loc, _("%(value)s is not a number", value=repr(token)))
                continue
            result.append(_number(token))
        return result


_PYXFORM_ROW_RE = re.compile(r"^\[row : (\d+)\]\s*(?:On the '(\w+)' sheet, )?")


def _pyxform_problem(exc: PyXFormError) -> XLSFormProblem:
    """pyxform's own error, located when its message names a row."""
    reason = " ".join(str(exc).split())
    match = _PYXFORM_ROW_RE.match(reason)
    if match is None:
        return XLSFormProblem(Location(""), _("pyxform cannot read it: %(reason)s", reason=reason))
    location = Location(match.group(2) or "survey", int(match.group(1)))
    return XLSFormProblem(location, f"pyxform: {reason[match.end() :]}")


def _is_likert5(choices: list[Mapping[str, Any]]) -> bool:
    """Whether a select_one list is the five-level satisfaction scale.

    True when the choice names are ``1`` … ``5`` in this order and the
    Vietnamese labels are the standard levels (Rất không hài lòng … Rất hài
    lòng), compared without case, extra spaces or a final full stop.
    """
    if [str(c.get("name", "")) for c in choices] != ["1", "2", "3", "4", "5"]:
        return False
    for choice, level in zip(choices, LIKERT5_LABELS, strict=True):
        label = choice.get("label")
        texts = (
            [t for lang, t in label.items() if _lang_code(str(lang)) == "vi"]
            if isinstance(label, dict)
            else []
        )
        if not texts or _norm(str(texts[0])) != _norm(level.vi):
            return False
    return True


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
    return _Importer(path).read(path, slug, version)


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


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
            row["relevant"] = _condition_expr(item.show_if, self.q.item(item.show_if.item))
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
                group["relevant"] = _condition_expr(section.show_if, target)
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
        _sheet(book, _INDEX_SHEET, columns, indices)
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
