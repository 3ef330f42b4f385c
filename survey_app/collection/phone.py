"""The phone form: one section per page, answers kept in the session until sent.

The state of a phone survey lives in the signed session cookie under ``phone``: the
client UUID generated when the citizen starts, the desk, the questionnaire version,
the start time and the answers so far. Nothing is stored in the database until the
last page, which hands the whole response to ``submissions.entry.submit``.

The last page also carries the survey so far in a signed hidden field
(:func:`resume_token`), with ``submitted_at`` fixed when the page is rendered. A double
tap, a resend by the page's script after a dropped connection, or a send after the
session cookie was lost therefore repeats exactly the same submission (same client id,
same content): the server answers 200 and stores it once.
"""

from __future__ import annotations

import itertools
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict

from survey_app.collection import questionnaire as spec
from survey_app.collection.kiosk import FormQuestionnaire
from survey_app.models import Desk
from survey_app.numbers import NumberError, parse_number

SESSION_KEY = "phone"
RESUME_SALT = "survey_app.phone.resume"


def now_iso() -> str:
    """The current time, ISO 8601 with its UTC offset."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def current_state(
    session: Any, desk_code: str, form: FormQuestionnaire, *, restart: bool = False
) -> dict[str, Any]:
    """The session's survey for this desk and questionnaire version, started if needed."""
    state = session.get(SESSION_KEY)
    if (
        restart
        or not isinstance(state, dict)
        or state.get("desk") != desk_code
        or state.get("questionnaire") != form.ref
    ):
        state = {
            "id": str(uuid.uuid4()),
            "desk": desk_code,
            "questionnaire": form.ref,
            "started_at": now_iso(),
            "answers": {},
        }
        session[SESSION_KEY] = state
    return state


def _resume_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.secret_key), salt=RESUME_SALT)


def resume_token(state: Mapping[str, Any]) -> str:
    """The survey so far, signed, with the time of sending fixed now (the last page)."""
    return _resume_serializer().dumps({**state, "submitted_at": now_iso()})


def resumed_state(token: str, desk_code: str, form: FormQuestionnaire) -> dict[str, Any] | None:
    """The state a last page carried, if its signature holds and it is this survey's."""
    if not token:
        return None
    try:
        state = _resume_serializer().loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(state, dict)
        or state.get("desk") != desk_code
        or state.get("questionnaire") != form.ref
        or not isinstance(state.get("answers"), dict)
    ):
        return None
    return state


def save_answers(session: Any, state: dict[str, Any], answers: dict[str, Any]) -> None:
    state["answers"] = answers
    session[SESSION_KEY] = state
    session.modified = True


SENT_KEY = "phone_sent"


def finish(session: Any) -> None:
    """The response was stored: forget it, and remember that a form was just sent."""
    session.pop(SESSION_KEY, None)
    session[SENT_KEY] = True


def just_sent(session: Any) -> bool:
    """Whether the last thing this browser did was send a form (asked once)."""
    return bool(session.pop(SENT_KEY, False))


def pages(q: spec.Questionnaire, answers: Mapping[str, Any]) -> list[spec.Section]:
    """The sections shown, given the answers so far: those with a visible item."""
    shown = spec.visible_items(q, answers)
    return [s for s in q.sections if any(item.code in shown for item in s.items)]


#: Beyond this many combinations of unanswered branching answers, count every item
#: whose condition could still hold (an upper bound) instead of trying each one.
MAX_BRANCH_TRIALS = 512


def most_shown(
    q: spec.Questionnaire,
    answers: Mapping[str, Any],
    measure: Callable[[frozenset[str]], int],
) -> int:
    """The largest ``measure(visible items)`` over the answers still to be given.

    A form's step count ("page 2 of 3") uses it so that the total does not change as
    the citizen answers: answered items are fixed, each unanswered item that steers
    skip logic is tried with every value a condition names (and left blank unless it
    is required), and the largest count wins. The same rule runs in the kiosk's
    script (``static/kiosk/kiosk.js``, ``mostShown``).
    """
    conditions = [s.show_if for s in q.sections] + [i.show_if for i in q.items]
    named: dict[str, list[Any]] = {}
    for condition in conditions:
        if condition is not None:
            named.setdefault(condition.item, []).extend(condition.values)
    open_codes = [
        code for code in q.item_codes if code in named and spec.is_blank(answers.get(code))
    ]
    choices: list[list[Any]] = []
    for code in open_codes:
        item = q.item(code)
        values = list(dict.fromkeys(named[code]))
        options: list[Any] = [values] if item.type == "multiple" else values
        choices.append(options if item.required else [*options, None])
    trials = 1
    for options in choices:
        trials *= len(options)
    if trials > MAX_BRANCH_TRIALS:
        shown = {i.code for i in q.items}
        return measure(frozenset(shown))
    best = 0
    for combination in itertools.product(*choices):
        trial = dict(answers)
        trial.update({c: v for c, v in zip(open_codes, combination, strict=True) if v is not None})
        best = max(best, measure(spec.visible_items(q, trial)))
    return best


def page_count(q: spec.Questionnaire, answers: Mapping[str, Any]) -> int:
    """The phone form's number of pages: the most it can still have (see most_shown)."""
    return most_shown(
        q, answers, lambda shown: sum(any(i.code in shown for i in s.items) for s in q.sections)
    )


def visible_in(q: spec.Questionnaire, section: spec.Section, answers: Mapping[str, Any]) -> list:
    shown = spec.visible_items(q, answers)
    return [item for item in section.items if item.code in shown]


def parse_section(section: spec.Section, form: MultiDict[str, str]) -> dict[str, Any]:
    """Turn the posted fields of one page into answer values (blank ones as None).

    A value that cannot be read (say, letters in a number field) is kept as text so
    that validation reports it as the wrong type instead of silently dropping it.
    """
    values: dict[str, Any] = {}
    for item in section.items:
        if item.type == "multiple":
            values[item.code] = form.getlist(item.code) or None
            continue
        raw = form.get(item.code, "").strip()
        if not raw:
            values[item.code] = None
        elif item.type in ("likert5", "smiley"):
            # ASCII digits only: str.isdigit() also accepts "²" or "④", which int() refuses.
            values[item.code] = int(raw) if raw.isascii() and raw.isdigit() else raw
        elif item.type == "number":
            values[item.code] = _number(raw)
        elif item.type == "text":
            values[item.code] = form.get(item.code, "")
        else:
            values[item.code] = raw
    return values


def _number(raw: str) -> Any:
    """A typed number by :func:`survey_app.numbers.parse_number` (``1,5``; ``150.000`` is
    Vietnamese for 150000); kept as text if it is none, or ambiguous (``150,000``)."""
    try:
        value = parse_number(raw)
    except NumberError:
        return raw
    return int(value) if value.is_integer() else value


def merge(
    answers: Mapping[str, Any], section: spec.Section, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The answers with this page's items replaced by ``values`` (blanks dropped)."""
    codes = {item.code for item in section.items}
    merged = {k: v for k, v in answers.items() if k not in codes}
    merged.update({k: v for k, v in values.items() if v is not None})
    return merged


def prune(q: spec.Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Only the answers to items still shown (skip logic may hide earlier answers)."""
    shown = spec.visible_items(q, answers)
    return {code: value for code, value in answers.items() if code in shown}


def errors_by_item(
    q: spec.Questionnaire, answers: Mapping[str, Any], codes: set[str] | None = None
) -> dict[str, spec.AnswerError]:
    """Validation errors of the shown answers, first per item, limited to ``codes``."""
    result: dict[str, spec.AnswerError] = {}
    for error in spec.validate_answers(q, prune(q, answers)):
        if (codes is None or error.field in codes) and error.field not in result:
            result[error.field] = error
    return result


def payload(
    state: Mapping[str, Any],
    q: spec.Questionnaire,
    *,
    lang: str,
    dossier: str | None,
) -> dict[str, Any]:
    """The submission, exactly as the API would receive it from a client."""
    body: dict[str, Any] = {
        "id": state["id"],
        "desk": state["desk"],
        "questionnaire": dict(state["questionnaire"]),
        "answers": prune(q, state["answers"]),
        "channel": "phone",
        "lang": lang,
        "started_at": state["started_at"],
        "submitted_at": state.get("submitted_at") or now_iso(),
    }
    if dossier:
        body["dossier"] = dossier
    return body


def page_texts(
    q: spec.Questionnaire,
    section: spec.Section,
    items: Iterable[spec.Item],
    lang: str,
    *,
    first: bool,
) -> list[str]:
    """What the speaker button of a phone page reads, in order."""
    labels: list[spec.Label | None] = [q.title, q.description] if first else []
    labels += [section.title, section.description]
    for item in items:
        labels += [item.label, item.help, *item.levels, *(o.label for o in item.options)]
    return [label.get(lang) for label in labels if label is not None]


def listen_urls(texts: Iterable[str], lang: str, url: Callable[[str], str]) -> list[str]:
    """The read-aloud files of ``texts`` in ``lang``, in order (texts without one skipped)."""
    from survey_app.collection import audio

    texts = [audio.normalise(text) for text in texts]
    found = audio.urls_for({lang: texts}, url).get(lang, {})
    return [found[text] for text in texts if text in found]


def spoken_strings() -> dict[str, str]:
    """The phone form's own messages that are read aloud (active language)."""
    return {
        "required": _("Please answer this question."),
        "check": _("Please check the answers marked below."),
        "thanks_title": _("Thank you!"),
        "thanks_text": _("Your answers have been recorded."),
        "dossier_label": _("Dossier code (optional)"),
        "dossier_help": _(
            "The code on your dossier receipt (mã hồ sơ). Each dossier can be rated once; "
            "only a protected fingerprint of the code is kept."
        ),
        "new_form": _("Rate again"),
    }


def folded(text: str) -> str:
    """Lower case without diacritics (đ as d): what a search compares."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def search_desks(desks: Iterable[Desk], query: str) -> list[Desk]:
    """The desks whose name, code or unit name (either language) contains every word."""
    words = folded(query).split()
    if not words:
        return list(desks)
    found = []
    for desk in desks:
        haystack = folded(
            " ".join([desk.name, desk.code, desk.unit.name("vi"), desk.unit.name("en")])
        )
        if all(word in haystack for word in words):
            found.append(desk)
    return found
