"""What the citizens' forms (kiosk and phone) need: the questionnaire, the desk, strings.

The kiosk page runs in the browser: it gets the questionnaire definition and every
text it shows as JSON data embedded in the page (never as executable script), in both
languages, so the tablet can switch language and work offline without the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from survey_app import questionnaire as spec
from survey_app.extensions import LANGUAGES, db
from survey_app.models import Desk, Questionnaire
from survey_app.services import questionnaires


@dataclass(frozen=True)
class FormQuestionnaire:
    """The stored version a form shows, and its validated definition."""

    row: Questionnaire
    definition: spec.Questionnaire

    @property
    def ref(self) -> dict[str, Any]:
        """``{"slug", "version"}`` as the submission API expects it."""
        return {"slug": self.row.slug, "version": self.row.version}


def form_questionnaire(slug: str) -> FormQuestionnaire | None:
    """The latest stored version of ``slug``, or None if it was never loaded."""
    row = questionnaires.latest(slug)
    if row is None:
        return None
    return FormQuestionnaire(row, questionnaires.parsed(row))


def active_desk(desk_code: str) -> Desk | None:
    """The desk with this code if it exists and is active."""
    desk = db.session.scalar(select(Desk).where(Desk.code == desk_code))
    return desk if desk is not None and desk.active else None


def in_both_languages(texts: Callable[[], dict[str, str]]) -> dict[str, dict[str, str]]:
    """Call ``texts`` once per language, with that language's translations active."""
    result: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        with force_locale(lang):
            result[lang] = texts()
    return result


def kiosk_strings() -> dict[str, str]:
    """Every text the kiosk's script shows, in the active language."""
    return {
        "site": _("Citizen satisfaction survey"),
        "footer": _("Answers are anonymous. No personal data is required."),
        "progress": _("Question %(n)s of %(total)s"),
        "progress_label": _("Progress"),
        "back": _("Back"),
        "next": _("Next"),
        "skip": _("Skip"),
        "send": _("Send"),
        "send_now": _("Finish and send"),
        "required": _("Please answer this question."),
        "choose_many": _("Choose as many as apply, then tap Next."),
        "tap_face": _("Tap the face that fits best."),
        "number_placeholder": _("Enter a number"),
        "decrease": _("Less"),
        "increase": _("More"),
        "comment_placeholder": _("Write here (optional)"),
        "thanks_title": _("Thank you!"),
        "thanks_text": _("Your answers have been recorded."),
        "thanks_next": _("The screen returns to the start in a few seconds."),
        "queued": _("Waiting to be sent: %(count)s"),
        "rejected": _("Not accepted by the server: %(count)s"),
        "checking": _("Checking this tablet…"),
    }


def enrol_strings() -> dict[str, str]:
    """The explanation shown on a tablet that is not (or no longer) enrolled."""
    return {
        "title": _("This tablet is not enrolled as a kiosk"),
        "text": _("It accepts no answers until an administrator enrols it for this desk."),
        "step1": _(
            "An administrator opens Admin → Desks, chooses this desk and issues a kiosk token "
            "(or runs: flask desks token DESK_CODE)."
        ),
        "step2": _(
            "Scan the enrolment QR code with this tablet, or open the kiosk address "
            "followed by #token= and the token."
        ),
        "step3": _("The tablet keeps the token. Issuing a new token disables the old one."),
    }


def client_config(
    desk: Desk,
    form: FormQuestionnaire,
    *,
    lang: str,
    urls: dict[str, str],
    timeouts: dict[str, float],
) -> dict[str, Any]:
    """The JSON data the kiosk page embeds for its script."""
    return {
        "desk": desk.code,
        "lang": lang,
        "questionnaire": form.ref,
        "definition": form.definition.to_dict(),
        "strings": in_both_languages(kiosk_strings),
        "urls": urls,
        "timeouts": timeouts,
    }


def desks_under(prefix: str | None) -> list[Desk]:
    """Every desk (active or not) of the units under ``prefix`` (all when None), by code."""
    from survey_app.models import Unit

    query = select(Desk).join(Unit, Desk.unit_id == Unit.id).order_by(Desk.code)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    return list(db.session.scalars(query))
