"""The shape of a submission, checked with the JSON Schema of the OpenAPI document.

The schema ``Submission`` of :mod:`survey_app.openapi.submissions` (with
``QuestionnaireRef`` and ``Answers``) is the one source of a submission's shape: the
API serves it at ``/api/v1/openapi.json`` and :func:`shape_problems` validates payloads
with it (``jsonschema``, draft 2020-12, the dialect of OpenAPI 3.1). Its limits are read
from it too (:func:`max_length`). What a schema cannot say (that the desk and the
questionnaire exist, the times' bounds, the answers against their questionnaire) is
checked afterwards by :mod:`.fields`.

Each schema error becomes one problem at one field (``desk``, ``questionnaire.slug``,
``answers.<item>``), with a stable code:

- ``required`` → ``required``, ``type`` → ``wrong_type``, ``additionalProperties:
  false`` → ``unknown_field`` for each unknown key;
- any other constraint → the ``x-error-code`` of the schema that holds it, else
  ``invalid_choice`` for ``enum`` and ``too_long`` for ``maxLength``. A constraint with
  neither is refused when the validator is built (:func:`validator`), not at a request.

A field can fail several constraints (``["kiosk"]`` is neither text nor a channel): its
type error is the one kept, else the first. Integers are JSON integers without a
fraction (``1.0`` is not a version), as the document says.

A valid payload is let through by :func:`fits`, the same schema compiled to Python
code by ``fastjsonschema`` (0.02 ms against ``jsonschema``'s 0.2–0.5 ms, most of a
kiosk submission's validation); only a payload it refuses is walked by ``jsonschema``
for its problems. Where ``fastjsonschema`` reads the schema more loosely than the
validator, :func:`fits` is made stricter, never looser: ``1.0`` is refused where only
an integer is allowed, and ``uuid`` is checked by ``jsonschema``'s own format check
(``tests/web/test_submission_schema.py`` checks that whatever :func:`fits` accepts the
validator accepts too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

from survey_app import openapi

#: The schema of a submission in the document's components.
SCHEMA_NAME = "Submission"
#: Codes of the constraints that need no ``x-error-code``.
DEFAULT_CODES: Mapping[str, str] = {
    "required": "required",
    "type": "wrong_type",
    "additionalProperties": "unknown_field",
    "enum": "invalid_choice",
    "maxLength": "too_long",
}
#: Keywords that only describe.
ANNOTATIONS = frozenset({"description", "examples", "example", "title", "x-error-code"})
#: Formats the validator checks; the others (``date-time``) describe only: ISO 8601
#: times are read by :mod:`.times`, which says why one is refused (no offset, in the
#: future) better than a format error could.
CHECKED_FORMATS = ("uuid",)

_StrictValidator = extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


@dataclass(frozen=True)
class ShapeProblem:
    """One field that does not fit the schema: its name, the code and the values the
    message names (``kind``, ``choices``, ``max``)."""

    field: str
    code: str
    values: Mapping[str, Any] = field(default_factory=dict)


@cache
def components() -> dict[str, Any]:
    """The document's schemas (built once; :func:`reload` after changing the document)."""
    return openapi.document()["components"]["schemas"]


def submission_schema() -> dict[str, Any]:
    return components()[SCHEMA_NAME]


@cache
def validator() -> Validator:
    """The validator of ``Submission``, its references resolved within the document.

    Raises
    ------
    LookupError
        If a constraint of the schema has no error code (see the module docstring).
    """
    root = {"$ref": f"#/components/schemas/{SCHEMA_NAME}", "components": {"schemas": components()}}
    for where, keyword in constraints():
        schema = _at(where)
        if keyword not in DEFAULT_CODES and "x-error-code" not in schema:
            raise LookupError(f"{'/'.join(where)}: {keyword!r} has no x-error-code")
    return _StrictValidator(root, format_checker=FormatChecker(formats=CHECKED_FORMATS))


def reload() -> None:
    """Forget the built schema and validators (after the document changed)."""
    components.cache_clear()
    validator.cache_clear()
    _compiled.cache_clear()


def _inlined(schema: Any) -> Any:
    """``schema`` with every ``$ref`` replaced by the schema it names (the submission's
    schemas do not refer to themselves), so that no reader's rule about keywords beside
    a ``$ref`` matters."""
    if isinstance(schema, Mapping):
        if "$ref" in schema:
            named = components()[str(schema["$ref"]).rsplit("/", 1)[-1]]
            rest = {key: value for key, value in schema.items() if key != "$ref"}
            return _inlined({**named, **rest})
        return {key: _inlined(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inlined(value) for value in schema]
    return schema


def _integer_paths(schema: Mapping[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The property paths whose schema allows integers but no other number."""
    found = []
    kinds = schema.get("type", ())
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    if "integer" in kinds and "number" not in kinds:
        found.append(path)
    for keyword, value in schema.items():
        if keyword == "properties":
            for name, sub in value.items():
                found.extend(_integer_paths(sub, (*path, name)))
        elif isinstance(value, Mapping) and keyword not in ANNOTATIONS and _integer_paths(value):
            raise LookupError(f"{'/'.join(path)}/{keyword}: an integer the fast check misses")
    return found


def _formats(schema: Any) -> set[str]:
    if isinstance(schema, Mapping):
        named = {str(schema["format"])} if isinstance(schema.get("format"), str) else set()
        return named.union(*(_formats(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_formats(value) for value in schema))
    return set()


@cache
def _compiled() -> tuple[Callable[[Any], Any], tuple[tuple[str, ...], ...]]:
    """The fast validator of ``Submission`` and the paths of its integer-only fields."""
    validator()  # the same refusal of a constraint without an error code
    inlined = _inlined(submission_schema())
    checker = FormatChecker(formats=CHECKED_FORMATS)
    formats: dict[str, Callable[[Any], bool]] = {
        name: (lambda value, name=name: checker.conforms(value, name))
        if name in CHECKED_FORMATS
        else (lambda _value: True)
        for name in _formats(inlined)
    }
    compiled = fastjsonschema.compile(
        {"$schema": "http://json-schema.org/draft-07/schema#", **inlined}, formats=formats
    )
    return compiled, tuple(_integer_paths(inlined))


def fits(payload: Any) -> bool:
    """Whether ``payload`` fits the schema, by the fast validator (see the module
    docstring); False may still be a fit, True always is."""
    compiled, integer_paths = _compiled()
    try:
        compiled(payload)
    except fastjsonschema.JsonSchemaException:
        return False
    for path in integer_paths:
        value: Any = payload
        for step in path:
            value = value.get(step) if isinstance(value, Mapping) else None
        if isinstance(value, float):
            return False
    return True


def constraints() -> list[tuple[tuple[str, ...], str]]:
    """Every constraint of the submission's schemas: (where, keyword).

    ``where`` is the path of the schema holding it from ``components/schemas``, e.g.
    ``("Submission", "properties", "id")``; a referenced schema is walked once, under
    its own name. Applicators (``properties``, ``items``, ``propertyNames``, an
    ``additionalProperties`` schema, ``$ref``) are walked into, not listed.
    """
    found: list[tuple[tuple[str, ...], str]] = []
    seen = {SCHEMA_NAME}

    def walk(schema: Mapping[str, Any], where: tuple[str, ...]) -> None:
        for keyword, value in schema.items():
            if keyword in ANNOTATIONS or (keyword == "format" and value not in CHECKED_FORMATS):
                continue
            if keyword == "$ref":
                name = str(value).rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    walk(components()[name], (name,))
            elif keyword == "properties":
                for name, sub in value.items():
                    walk(sub, (*where, "properties", name))
            elif keyword in ("items", "propertyNames") or (
                keyword == "additionalProperties" and isinstance(value, Mapping)
            ):
                walk(value, (*where, keyword))
            else:
                found.append((where, keyword))

    walk(submission_schema(), (SCHEMA_NAME,))
    return found


def _at(where: tuple[str, ...]) -> Mapping[str, Any]:
    schema: Mapping[str, Any] = components()
    for step in where:
        schema = schema[step]
    return schema


def property_names() -> tuple[str, ...]:
    """The top-level fields of a submission, in the schema's order."""
    return tuple(submission_schema()["properties"])


def max_length(*path: str) -> int:
    """A ``maxLength`` of the schema, e.g. ``max_length("desk")`` or
    ``max_length("questionnaire", "slug")`` (through the reference)."""
    schema: Mapping[str, Any] = submission_schema()
    for name in path:
        schema = schema["properties"][name]
        if "$ref" in schema:
            schema = components()[str(schema["$ref"]).rsplit("/", 1)[-1]]
    return int(schema["maxLength"])


def shape_problems(payload: Mapping[str, Any]) -> list[ShapeProblem]:
    """Every field of ``payload`` that does not fit the schema, one problem per field."""
    if fits(payload):
        return []
    problems: dict[str, ShapeProblem] = {}
    for error in validator().iter_errors(payload):
        for problem in _problems(error):
            kept = problems.get(problem.field)
            if kept is None or (problem.code == "wrong_type" and kept.code != "wrong_type"):
                problems[problem.field] = problem
    return list(problems.values())


def _field(path: list[Any]) -> str:
    """``desk``, ``questionnaire.slug``, ``answers.<item>`` (an item's list is one field)."""
    return ".".join(str(step) for step in path[:2])


def _problems(error: ValidationError) -> Iterator[ShapeProblem]:
    path = list(error.absolute_path)
    keyword = str(error.validator)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    instance = error.instance
    if keyword == "required" and isinstance(instance, Mapping):
        for name in error.validator_value:
            if name not in instance:
                yield ShapeProblem(_field([*path, name]), "required")
    elif keyword == "additionalProperties" and isinstance(instance, Mapping):
        known = schema.get("properties", {})
        for name in instance:
            if name not in known:
                yield ShapeProblem(_field([*path, name]), "unknown_field")
    elif keyword == "type":
        kinds = error.validator_value
        kinds = [kinds] if isinstance(kinds, str) else [k for k in kinds if k != "null"]
        yield ShapeProblem(_field(path), "wrong_type", {"kinds": tuple(kinds)})
    else:
        if "propertyNames" in error.absolute_schema_path:
            path = [*path, instance]  # the name is the instance, not a step of the path
        code = schema.get("x-error-code") or DEFAULT_CODES[keyword]
        values: dict[str, Any] = {}
        if keyword == "enum":
            values["choices"] = ", ".join(str(choice) for choice in error.validator_value)
        elif keyword == "maxLength":
            values["max"] = error.validator_value
        yield ShapeProblem(_field(path), code, values)
