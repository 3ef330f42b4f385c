"""The whole questionnaire (:class:`Questionnaire`: canonical form, checksum) and the
parser that turns a file's data into one (:class:`QuestionnaireParser`: the top
level, with the sections and items of :mod:`.parsing_items` and the index of
:mod:`.parsing_index`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from types import MappingProxyType
from typing import Any

from flask_babel import gettext as _

from survey_app.collection.questionnaire.errors import QuestionnaireError
from survey_app.collection.questionnaire.index import IndexDefinition
from survey_app.collection.questionnaire.model import SLUG_RE, Item, Label, Section
from survey_app.collection.questionnaire.parsing import PLACEHOLDER
from survey_app.collection.questionnaire.parsing_index import IndexParser
from survey_app.collection.questionnaire.parsing_items import ItemParser


@dataclass(frozen=True)
class Questionnaire:
    """A validated questionnaire definition.

    Attributes
    ----------
    slug : str
    version : int
        Bumped whenever the content changes once responses exist.
    title : Label
    sections : tuple of Section
    description : Label or None
    index : IndexDefinition or None
    source : str
        File it was loaded from (not part of the definition, equality or checksum).
    """

    slug: str
    version: int
    title: Label
    sections: tuple[Section, ...]
    description: Label | None = None
    index: IndexDefinition | None = None
    source: str = field(default="", compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (and deepcopy) the fields only, not the cached lookups."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @cached_property
    def items(self) -> tuple[Item, ...]:
        """All items in order."""
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def items_by_code(self) -> Mapping[str, Item]:
        """Read-only mapping item code → item."""
        return MappingProxyType({item.code: item for item in self.items})

    @property
    def item_codes(self) -> tuple[str, ...]:
        """Item codes in order."""
        return tuple(item.code for item in self.items)

    @property
    def demographic_items(self) -> tuple[Item, ...]:
        """Items flagged ``demographic: true`` (weighting variables)."""
        return tuple(item for item in self.items if item.demographic)

    def item(self, code: str) -> Item:
        """Return the item with ``code`` (KeyError if absent)."""
        return self.items_by_code[code]

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical definition: the file format with every default written out.

        ``Questionnaire.from_dict(q.to_dict()) == q``; the result is JSON-serialisable.
        """
        d: dict[str, Any] = {
            "slug": self.slug,
            "version": self.version,
            "title": self.title.to_dict(),
        }
        if self.description is not None:
            d["description"] = self.description.to_dict()
        d["sections"] = [s.to_dict() for s in self.sections]
        if self.index is not None:
            d["index"] = self.index.to_dict()
        return d

    @cached_property
    def canonical_json(self) -> str:
        """Canonical JSON of :meth:`to_dict` (sorted keys, no spaces, UTF-8 text)."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @cached_property
    def checksum(self) -> str:
        """SHA-256 (hex) of :attr:`canonical_json`.

        Comments, key order, quoting, layout and defaults written out or left
        implicit do not change it; any change of code, label, rule or order does.
        """
        return hashlib.sha256(self.canonical_json.encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> Questionnaire:
        """Validate a parsed definition (file content or :meth:`to_dict` output).

        Raises
        ------
        QuestionnaireError
            With every problem found.
        """
        return QuestionnaireParser(source).questionnaire(data)


class QuestionnaireParser(ItemParser, IndexParser):
    """Turns raw data into a :class:`Questionnaire`, collecting every error."""

    def questionnaire(self, data: Any) -> Questionnaire:
        d = self.mapping(
            data,
            "",
            ("slug", "version", "title", "sections"),
            # audio: recorded voices, read by collection/audio.py; not part of the definition.
            ("description", "index", "audio"),
        )
        if d is None:
            raise QuestionnaireError(self.errors)
        slug = self.code(d.get("slug"), "slug", SLUG_RE, _("slug")) if "slug" in d else None
        version = None
        if "version" in d:
            version = self.integer(d, "version", "", 1, 1_000_000)
        title = self.label(d["title"], "title") if "title" in d else PLACEHOLDER
        description = self.opt_label(d, "description", "")
        sections = self.sections(d.get("sections"), "sections") if "sections" in d else ()
        index = self.index(d["index"], "index") if "index" in d else None
        if self.errors or slug is None or version is None:
            raise QuestionnaireError(self.errors)
        return Questionnaire(
            slug=slug,
            version=version,
            title=title,
            sections=sections,
            description=description,
            index=index,
            source=self.file,
        )
