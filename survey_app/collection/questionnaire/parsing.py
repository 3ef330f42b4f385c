"""The base of the definition parser: every error collected with its path, and the
checks of one field (mappings, lists, bilingual labels, codes, booleans, integers,
satisfied levels).  :mod:`.parsing_items` and :mod:`.parsing_index` build on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext

from survey_app.collection.questionnaire.errors import ErrorDetail
from survey_app.collection.questionnaire.model import (
    ITEM_CODE_RE,
    LANGUAGES,
    OPTION_CODE_RE,
    SLUG_RE,
    Item,
    Label,
)
from survey_app.collection.questionnaire.values import is_int, kind_of, number_text

PLACEHOLDER = Label("?", "?")
# Lazy: translated when a message is made, in the language of that moment.
_COMMA_HINT = lazy_gettext(
    "; a comma inside {vi: ..., en: ...} ends the text there: put texts with commas in quotes"
)
_CODE_RULES: Mapping[re.Pattern[str], Any] = {
    ITEM_CODE_RE: lazy_gettext(
        "use lowercase letters, digits and _, starting with a letter, at most 32 long"
    ),
    OPTION_CODE_RE: lazy_gettext("use lowercase letters, digits and _, at most 32 long"),
    SLUG_RE: lazy_gettext(
        "use lowercase letters, digits, _ and -, starting with a letter, at most 64 long"
    ),
}


def sub_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class DefinitionParser:
    """Collects every error of a definition, with the checks of one field."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[ErrorDetail] = []
        self.items: dict[str, Item] = {}
        # Codes of items too broken to build (unknown type): references to them are
        # not reported again.
        self.broken: set[str] = set()

    def error(self, path: str, reason: str) -> None:
        self.errors.append(ErrorDetail(self.file, path, reason))

    def mapping(
        self,
        value: Any,
        path: str,
        required: Iterable[str],
        optional: Iterable[str] = (),
        hint: Any = "",
    ) -> dict[str, Any] | None:
        required = tuple(required)
        allowed = set(required) | set(optional)
        if not isinstance(value, dict):
            self.error(path, _("must be a mapping, got %(kind)s", kind=kind_of(value)))
            return None
        for key in value:
            if key not in allowed:
                self.error(
                    sub_path(path, str(key)),
                    _(
                        "unknown key '%(key)s' (allowed: %(allowed)s)%(hint)s",
                        key=key,
                        allowed=", ".join(sorted(allowed)),
                        hint=str(hint),
                    ),
                )
        for key in required:
            if key not in value:
                self.error(path, _("missing required key '%(key)s'", key=key))
        return value

    def seq(self, value: Any, path: str, *, min_len: int = 1) -> list[Any]:
        if not isinstance(value, list):
            self.error(path, _("must be a list, got %(kind)s", kind=kind_of(value)))
            return []
        if len(value) < min_len:
            self.error(
                path,
                ngettext(
                    "must have at least %(num)d entry",
                    "must have at least %(num)d entries",
                    min_len,
                ),
            )
        return value

    def label(self, value: Any, path: str) -> Label:
        d = self.mapping(value, path, LANGUAGES, hint=_COMMA_HINT)
        if d is None:
            return PLACEHOLDER
        texts = []
        for lang in LANGUAGES:
            text = d.get(lang)
            if lang in d and not (isinstance(text, str) and text.strip()):
                self.error(
                    sub_path(path, lang),
                    _("must be a non-empty string, got %(kind)s", kind=kind_of(text)),
                )
            texts.append(text.strip() if isinstance(text, str) and text.strip() else "?")
        return Label(*texts)

    def opt_label(self, d: dict[str, Any], key: str, path: str) -> Label | None:
        return self.label(d[key], sub_path(path, key)) if key in d else None

    def code(self, value: Any, path: str, pattern: re.Pattern[str], what: str) -> str | None:
        if not isinstance(value, str):
            self.error(
                path,
                _(
                    "%(what)s must be a string, got %(kind)s; quote it",
                    what=what,
                    kind=kind_of(value),
                ),
            )
            return None
        if not pattern.match(value):
            self.error(
                path,
                _(
                    "%(what)s '%(value)s' is invalid: %(rule)s",
                    what=what,
                    value=value,
                    rule=str(_CODE_RULES[pattern]),
                ),
            )
            return None
        return value

    def boolean(self, d: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = d.get(key, default)
        if not isinstance(value, bool):
            self.error(
                sub_path(path, key), _("must be true or false, got %(kind)s", kind=kind_of(value))
            )
            return default
        return value

    def integer(self, d: dict[str, Any], key: str, path: str, lo: int, hi: int) -> int | None:
        value = d[key]
        if not is_int(value):
            self.error(
                sub_path(path, key), _("must be an integer, got %(kind)s", kind=kind_of(value))
            )
            return None
        if not lo <= value <= hi:
            self.error(
                sub_path(path, key),
                _(
                    "must be between %(lo)s and %(hi)s, got %(value)s",
                    lo=number_text(lo),
                    hi=number_text(hi),
                    value=number_text(value),
                ),
            )
            return None
        return value

    def levels(self, value: Any, path: str, lo: int, hi: int) -> tuple[int, ...] | None:
        """A non-empty list of distinct levels within lo..hi, not all of them."""
        values = self.seq(value, path)
        ok = True
        for i, v in enumerate(values):
            if not is_int(v) or not lo <= v <= hi:
                self.error(
                    sub_path(path, i),
                    _(
                        "must be a level between %(lo)s and %(hi)s, got %(value)s",
                        lo=lo,
                        hi=hi,
                        value=repr(v),
                    ),
                )
                ok = False
        if not ok or not values:
            return None
        if len(set(values)) != len(values):
            self.error(path, _("levels must be distinct"))
            return None
        if len(values) == hi - lo + 1:
            self.error(path, _("cannot count every level as satisfied"))
            return None
        return tuple(sorted(values))
