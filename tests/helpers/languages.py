"""Which phrases of a page's text are English and which Vietnamese: the detector behind the
tests that no page mixes its language with the other."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parents[2] / "survey_app/translations/vi/LC_MESSAGES/messages.po"

# Common English words. Left out: syllables that Vietnamese writes without diacritics
# ("a", "an", "to", "do", "in", "so", "no", "me", "can", "long", "tin", "hay", "con",
# "ban", "the" is kept: Vietnamese writes "thẻ", "thế", "thể").
ENGLISH_WORDS = """
    the be is are was were been being has have had having does did done will would should
    could may might must shall of and or not nor but if then than that this these those
    there their they them it its with without from by on at for into onto over under
    between about above below after before during again here where when what which who
    whom whose why how all any each every more most less least some such only own same
    other another very too also just please you your we our us he she his her enter
    select choose chosen file files upload uploaded download invalid error errors found
    missing exist exists make made get got see use used using name date time number
    numbers one two three first last new old none yes large small empty unknown allowed
    given already stored saved created updated deleted password user users unit units role
    active inactive survey surveys field fields continuous feedback analysed analyzed
    together length characters character choice choices integer decimal required positive
    negative greater equal should rate score index overall wave waves weight weights target
    targets questionnaire response responses desk desks trend change changes ranking rank
    significant higher lower interval confidence estimate sample show shows shown data
    page log access value values valid least long level levels row rows column columns
    cannot can't isn't doesn't don't wasn't must be being not enough computed reason
    because per out up down off show back total totals level least
"""

ENGLISH = frozenset(ENGLISH_WORDS.split())

REPR = re.compile(r"\b(?:None|True|False)\b|np\.float64|\bnan\b")

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdif]|%[sdif]|\{[^}]*\}|<[^>]+>")


def _fragments(text: str) -> Iterator[str]:
    """The parts of a message between its placeholders that have at least three words."""
    for part in PLACEHOLDER.split(text):
        part = part.strip(" .,:;()\"'“”…-–")
        if len(WORD.findall(part)) >= 3:
            yield part


@cache
def catalogue_phrases() -> tuple[frozenset[str], frozenset[str]]:
    """(English phrases, Vietnamese phrases) of every translated message."""
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    english: set[str] = set()
    vietnamese: set[str] = set()
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not message.id or not any(strings):
            continue
        for text in ids:
            if text not in strings:
                english.update(_fragments(text))
        for text in strings:
            if text and text not in ids:
                vietnamese.update(_fragments(text))
    return frozenset(english), frozenset(vietnamese)


def english_in(text: str) -> list[str]:
    """English found in a Vietnamese text: catalogue phrases, runs of English words, reprs."""
    found = [phrase for phrase in catalogue_phrases()[0] if phrase in text]
    run: list[str] = []
    for word in [*WORD.findall(text), ""]:
        if word.lower() in ENGLISH:
            run.append(word)
            continue
        if len(run) >= 3:
            found.append(" ".join(run))
        run = []
    found += REPR.findall(text)
    return found


def vietnamese_in(text: str) -> list[str]:
    return [phrase for phrase in catalogue_phrases()[1] if phrase in text]
