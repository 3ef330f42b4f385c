"""Loading questionnaire files into the database.

A file is identified by (slug, version). Loading the same content again changes
nothing; a changed file under an existing version is accepted only while no response
uses that version, after which a new version number is required.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from survey_app import audit, formatting
from survey_app.collection import questionnaire as spec
from survey_app.extensions import db
from survey_app.models import Questionnaire, QuestionnaireItem, Response


class QuestionnaireLoadError(ValueError):
    """A file was invalid or changed under a version in use; nothing was loaded."""


def load_folder(folder: Path) -> list[str]:
    """Validate every file in ``folder`` and load them all, or none. Returns a report."""
    try:
        parsed = spec.load_directory(folder)
    except spec.QuestionnaireError as error:
        raise QuestionnaireLoadError(str(error)) from error
    report = [upsert(definition) for definition in parsed]
    db.session.commit()
    return report


def upsert(definition: spec.Questionnaire) -> str:
    """Add or refresh one questionnaire version (no commit). Returns a report line."""
    label = f"{definition.slug} v{definition.version}"
    row = db.session.scalar(
        select(Questionnaire).where(
            Questionnaire.slug == definition.slug, Questionnaire.version == definition.version
        )
    )
    if row is not None and row.checksum == definition.checksum:
        return _("%(label)s: unchanged", label=label)
    if row is not None:
        used = db.session.scalar(
            select(func.count()).select_from(Response).where(Response.questionnaire_id == row.id)
        )
        if used:
            db.session.rollback()
            raise QuestionnaireLoadError(
                _(
                    "%(label)s: the file changed but %(used)s responses use this version; "
                    "give the changed file a new version number",
                    label=label,
                    used=formatting.number(used),
                )
            )
    if row is None:
        row = Questionnaire(slug=definition.slug, version=definition.version)
        db.session.add(row)
        status = "loaded"
    else:
        status = "updated"
    row.checksum = definition.checksum
    row.title_vi = definition.title.vi
    row.title_en = definition.title.en
    row.definition = definition.to_dict()
    db.session.flush()
    _sync_items(row, definition)
    audit.record(
        "questionnaire." + status,
        target=f"questionnaire:{label}",
        details={"checksum": definition.checksum},
    )
    if status == "loaded":
        return _("%(label)s: loaded", label=label)
    return _("%(label)s: updated", label=label)


def _sync_items(row: Questionnaire, definition: spec.Questionnaire) -> None:
    existing = {item.code: item for item in row.items}
    for position, item in enumerate(definition.items, start=1):
        stored = existing.get(item.code)
        if stored is None:
            stored = QuestionnaireItem(questionnaire_id=row.id, code=item.code)
            db.session.add(stored)
        stored.kind = item.type
        stored.position = position
    db.session.flush()


#: Parsed definitions by checksum, shared by every request of the process: parsing a
#: definition costs more than storing a response, and a checksum names one content.
_PARSED: dict[str, spec.Questionnaire] = {}
_PARSED_MAX = 64


def parsed(row: Questionnaire) -> spec.Questionnaire:
    """The parsed definition of a stored questionnaire, cached by its checksum."""
    definition = _PARSED.get(row.checksum)
    if definition is None:
        definition = spec.Questionnaire.from_dict(
            row.definition, source=f"db:{row.slug} v{row.version}"
        )
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[row.checksum] = definition
    return definition


@dataclass(frozen=True)
class Codebook:
    """What storing a response needs of a questionnaire version: its parsed
    definition and the database id of each item code."""

    questionnaire_id: int
    checksum: str
    definition: spec.Questionnaire
    item_ids: dict[str, int]


def codebook(questionnaire_id: int, checksum: str) -> Codebook | None:
    """The codebook of a stored questionnaire, cached per app by (id, checksum).

    The checksum names the content and the items of that content (a changed file gets
    a new checksum and possibly new items), so a cached entry is never stale. The
    cache belongs to the app, that is to one database. Returns None if no
    questionnaire has this id and checksum.
    """
    cache: dict[tuple[int, str], Codebook] = current_app.extensions.setdefault(
        "survey.codebooks", {}
    )
    key = (questionnaire_id, checksum)
    found = cache.get(key)
    if found is None:
        row = db.session.get(Questionnaire, questionnaire_id)
        if row is None or row.checksum != checksum:
            return None
        item_ids = db.session.execute(
            select(QuestionnaireItem.code, QuestionnaireItem.id).where(
                QuestionnaireItem.questionnaire_id == questionnaire_id
            )
        ).all()
        found = Codebook(questionnaire_id, checksum, parsed(row), dict(item_ids))
        if len(cache) >= _PARSED_MAX:
            cache.clear()
        cache[key] = found
    return found


def get(slug: str, version: int) -> Questionnaire | None:
    return db.session.scalar(
        select(Questionnaire).where(Questionnaire.slug == slug, Questionnaire.version == version)
    )


def latest(slug: str) -> Questionnaire | None:
    return db.session.scalar(
        select(Questionnaire)
        .where(Questionnaire.slug == slug)
        .order_by(Questionnaire.version.desc())
        .limit(1)
    )


def all_versions() -> list[Questionnaire]:
    """Every loaded questionnaire version, by slug and newest version first."""
    return list(
        db.session.scalars(
            select(Questionnaire).order_by(Questionnaire.slug, Questionnaire.version.desc())
        )
    )
