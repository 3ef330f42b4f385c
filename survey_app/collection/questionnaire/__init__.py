"""Declarative, bilingual, versioned questionnaires and answer validation.

A questionnaire is a YAML (or JSON) file in ``questionnaires/``; its format is
documented in ``questionnaires/README.md``.  This package needs no Flask application:
it imports the standard library, PyYAML and Flask-Babel (gettext and Babel's number
format), so the CLI, the service layer, the paper import and the tests can all use it
without one (``tests/test_questionnaire.py`` checks every file). Its messages are in
the current language inside an application (Vietnamese unless chosen otherwise,
``extensions.select_locale``) and in English (the msgids) outside one.

Files, from the bottom up (each imports only files above it in this list):

- :mod:`.model`: the definition objects (``Label``, ``Option``, ``Condition``,
  ``Item``, ``Section``; frozen dataclasses), item types and code rules.
- :mod:`.index`: the satisfaction index (``IndexDefinition``, ``Aspect``,
  ``OverallRule``, ``MeanScoreRule``).
- :mod:`.errors`: ``ErrorDetail`` and ``QuestionnaireError``.
- :mod:`.values`: raw values (their kind in messages, numbers in range, a number in
  a message).
- :mod:`.parsing`: the parser's base, the checks of one field; :mod:`.parsing_items`:
  sections, items and their skip logic (``show_if``); :mod:`.parsing_index`: the
  ``index`` block.
- :mod:`.definition`: ``Questionnaire`` (canonical form, checksum, ``from_dict``) and
  the parser of a whole definition.
- :mod:`.loading`: reading files strictly, ``load_questionnaire``, ``load_directory``,
  ``assert_same_version_unchanged``.
- :mod:`.answers`: one answer against its item (``AnswerError``, the stable error
  codes, ``InvalidAnswersError``); :mod:`.validation`: a set of answers in order with
  skip logic (``validate_answers``, ``clean_answers``, ``visible_items``);
  :mod:`.coding`: answers as integer-coded rows and back.

The names below are re-exported here because dozens of callers write
``from survey_app.collection import questionnaire as spec`` and ``spec.Questionnaire``;
new code may import them from here or from the file that holds them.

Public API
----------
load_questionnaire(path) -> Questionnaire
load_directory(directory) -> list[Questionnaire]
Questionnaire.from_dict(data) / Questionnaire.to_dict() / Questionnaire.checksum
assert_same_version_unchanged(old_checksum, new)
validate_answers(q, answers) -> list[AnswerError]
clean_answers(q, answers) -> dict        (raises InvalidAnswersError)
encode_answers(q, answers) -> list[tuple[str, int]]
decode_answers(q, rows) -> dict
visible_items(q, answers) -> frozenset[str]
"""

from __future__ import annotations

from survey_app.collection.questionnaire.answers import (
    ANSWER_ERROR_CODES,
    AnswerError,
    InvalidAnswersError,
    is_blank,
)
from survey_app.collection.questionnaire.coding import decode_answers, encode_answers
from survey_app.collection.questionnaire.definition import Questionnaire
from survey_app.collection.questionnaire.errors import ErrorDetail, QuestionnaireError
from survey_app.collection.questionnaire.index import (
    Aspect,
    IndexDefinition,
    MeanScoreRule,
    OverallRule,
)
from survey_app.collection.questionnaire.loading import (
    assert_same_version_unchanged,
    load_directory,
    load_questionnaire,
    read_file,
)
from survey_app.collection.questionnaire.model import (
    CHOICE_TYPES,
    DEFAULT_TEXT_WARNING,
    ITEM_TYPES,
    LIKERT5_LABELS,
    MAX_TEXT_LENGTH,
    SCALE_TYPES,
    Condition,
    Item,
    Label,
    Option,
    Section,
)
from survey_app.collection.questionnaire.validation import (
    clean_answers,
    validate_answers,
    visible_items,
)

__all__ = [
    "ANSWER_ERROR_CODES",
    "CHOICE_TYPES",
    "DEFAULT_TEXT_WARNING",
    "ITEM_TYPES",
    "LIKERT5_LABELS",
    "MAX_TEXT_LENGTH",
    "SCALE_TYPES",
    "AnswerError",
    "Aspect",
    "Condition",
    "ErrorDetail",
    "IndexDefinition",
    "InvalidAnswersError",
    "Item",
    "Label",
    "MeanScoreRule",
    "Option",
    "OverallRule",
    "Questionnaire",
    "QuestionnaireError",
    "Section",
    "assert_same_version_unchanged",
    "clean_answers",
    "decode_answers",
    "encode_answers",
    "is_blank",
    "load_directory",
    "load_questionnaire",
    "read_file",
    "validate_answers",
    "visible_items",
]
