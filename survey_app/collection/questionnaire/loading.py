"""Reading questionnaire files (YAML or JSON, strictly: no duplicate keys, only
true/false as booleans), loading one file or a directory, and refusing a changed
definition stored under an existing version.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from flask_babel import gettext as _

from survey_app.collection.questionnaire.definition import Questionnaire, QuestionnaireParser
from survey_app.collection.questionnaire.errors import ErrorDetail, QuestionnaireError

QUESTIONNAIRE_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".json")


def assert_same_version_unchanged(old_checksum: str, new: Questionnaire) -> None:
    """Refuse a changed definition stored under an existing slug and version.

    Parameters
    ----------
    old_checksum : str
        :attr:`Questionnaire.checksum` of the definition already stored for
        ``(new.slug, new.version)``.
    new : Questionnaire
        The definition just loaded.

    Raises
    ------
    QuestionnaireError
        If the checksums differ.
    """
    if old_checksum != new.checksum:
        raise QuestionnaireError(
            [
                (
                    new.source or new.slug,
                    "version",
                    _(
                        "questionnaire '%(slug)s' version %(version)s is already stored with "
                        "different content (stored checksum %(stored)s…, file %(file)s…); "
                        "answers may refer to it, so do not edit it: save the changes under a "
                        "new version (version: %(next)s)",
                        slug=new.slug,
                        version=new.version,
                        stored=old_checksum[:12],
                        file=new.checksum[:12],
                        next=new.version + 1,
                    ),
                )
            ]
        )


# libyaml's parser where PyYAML was built with it (the wheels are): the same safe
# construction in Python, about ten times faster to read the shipped questionnaires.
_SafeLoader: type[yaml.SafeLoader | yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


class _StrictLoader(_SafeLoader):
    """SafeLoader that refuses duplicate keys and reads only true/false as booleans.

    YAML 1.1 reads ``yes``, ``no``, ``on`` and ``off`` as booleans, which would
    silently turn an option code ``no`` into ``False``.
    """


_StrictLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def read_file(path: Path) -> Any:
    """The parsed content of a questionnaire file (YAML or JSON), before validation."""
    return _decode(path.read_text(encoding="utf-8"), path.suffix)


def _decode(text: str, suffix: str) -> Any:
    if suffix == ".json":
        return json.loads(text, object_pairs_hook=_json_object)
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe


class _UnreadableError(Exception):
    """The file's text is not valid YAML or JSON."""


@lru_cache(maxsize=64)
def _validated(name: str, suffix: str, text: str) -> Questionnaire:
    """A file's text decoded and validated, kept per process by file name and text.

    A questionnaire is immutable (frozen dataclasses of tuples) and depends only on
    these three, so the same files loaded again (every app start, every reload, each
    desk set up in the tests) are not decoded again: the YAML constructor was 3.5 % of a
    test run's CPU. Failures are not kept: their messages follow the reader's language.
    """
    try:
        data = _decode(text, suffix)
    except (ValueError, yaml.YAMLError) as exc:
        raise _UnreadableError(str(exc)) from exc
    return QuestionnaireParser(name).questionnaire(data)


def _load(path: Path) -> tuple[Questionnaire | None, list[ErrorDetail]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        return None, _unreadable(name, exc)
    try:
        return _validated(name, path.suffix, text), []
    except _UnreadableError as exc:
        return None, _unreadable(name, exc)
    except QuestionnaireError as exc:
        return None, exc.errors


def _unreadable(name: str, exc: Exception) -> list[ErrorDetail]:
    reason = " ".join(str(exc).split())
    return [ErrorDetail(name, "", _("cannot read the file: %(reason)s", reason=reason))]


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Load and validate one questionnaire file (``.yaml``, ``.yml`` or ``.json``).

    Raises
    ------
    QuestionnaireError
        Listing every problem as (file, path, reason).
    """
    q, errors = _load(Path(path))
    if errors or q is None:
        raise QuestionnaireError(errors)
    return q


def load_directory(directory: str | Path) -> list[Questionnaire]:
    """Load every questionnaire file of ``directory`` (not recursive).

    Returns the questionnaires sorted by (slug, version).  Errors of all files,
    and any (slug, version) declared by two files, are reported together.

    Raises
    ------
    QuestionnaireError
    """
    directory = Path(directory)
    errors: list[ErrorDetail] = []
    found: dict[tuple[str, int], Questionnaire] = {}
    if not directory.is_dir():
        raise QuestionnaireError([(str(directory), "", _("not a directory"))])
    for path in sorted(directory.iterdir()):
        if path.suffix not in QUESTIONNAIRE_SUFFIXES or not path.is_file():
            continue
        q, file_errors = _load(path)
        errors.extend(file_errors)
        if q is None:
            continue
        key = (q.slug, q.version)
        if key in found:
            errors.append(
                ErrorDetail(
                    str(path),
                    "version",
                    _(
                        "'%(slug)s' version %(version)s is also defined in %(other)s",
                        slug=q.slug,
                        version=q.version,
                        other=found[key].source,
                    ),
                )
            )
        else:
            found[key] = q
    if errors:
        raise QuestionnaireError(errors)
    return [found[key] for key in sorted(found)]
