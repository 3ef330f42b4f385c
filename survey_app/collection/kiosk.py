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

from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.extensions import LANGUAGES, db
from survey_app.models import Desk, Questionnaire


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
        "send_now": _("Review and send"),
        "required": _("Please answer this question."),
        "choose_many": _("Choose as many as apply, then tap Next."),
        "tap_face": _("Tap the face that fits best."),
        "number_placeholder": _("Enter a number"),
        "decrease": _("Less"),
        "increase": _("More"),
        "comment_placeholder": _("Write here (optional)"),
        "review_title": _("Please check your answers"),
        "review_help": _("If everything is right, tap Send my answers."),
        "review_send": _("Send my answers"),
        "review_change": _("Change answers"),
        "not_answered": _("(not answered)"),
        "dossier_label": _("Dossier code (optional)"),
        "dossier_help": _(
            "The number on your dossier receipt. Each dossier can be rated once; "
            "only a protected fingerprint of the code is kept."
        ),
        "dossier_delete": _("Delete the last digit"),
        "thanks_title": _("Thank you!"),
        "thanks_sending": _("Sending your answers…"),
        "thanks_text": _("Your answers have been recorded."),
        "thanks_saved": _(
            "Your answers are saved on this tablet. They will be sent automatically "
            "as soon as the connection is back."
        ),
        "thanks_duplicate": _(
            "An answer for this dossier code has already been recorded. "
            "Each dossier can be rated only once."
        ),
        "thanks_next": _("The screen returns to the start in a few seconds."),
        "queued": _("Waiting to be sent: %(count)s"),
        "rejected": _("Not accepted by the server: %(count)s"),
        "checking": _("Checking this tablet…"),
        **display_strings(),
    }


def display_strings() -> dict[str, str]:
    """The read-aloud and display buttons shared by the kiosk and the phone form."""
    return {
        "listen": _("Listen"),
        "stop": _("Stop"),
        "larger": _("Larger text"),
        "contrast": _("High contrast"),
        "tools": _("Reading and display"),
    }


def not_ready_strings() -> dict[str, str]:
    """What a citizen sees on a tablet that is not (or no longer) enrolled."""
    return {
        "title": _("This kiosk is not ready yet"),
        "text": _(
            "Please rate the service on your phone with the QR code at the desk, "
            "or ask the staff for a paper form."
        ),
        "staff": _(
            "For the staff: an administrator enrols this tablet from the desk's page "
            "in Administration → Desks."
        ),
    }


CHANNELS = ("kiosk", "phone")


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
        "settings": {
            "dossier": bool(desk.dossier_codes and desk.dossier_on_kiosk),
            "read_aloud_auto": bool(desk.read_aloud_auto),
        },
    }


def desks_under(prefix: str | None) -> list[Desk]:
    """Every desk (active or not) of the units under ``prefix`` (all when None), by code."""
    from survey_app.models import Unit

    query = select(Desk).join(Unit, Desk.unit_id == Unit.id).order_by(Desk.code)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    return list(db.session.scalars(query))


#: The citizens' settings of a desk that the administrator's desk page edits.
CITIZEN_SETTINGS = ("dossier_codes", "dossier_on_kiosk", "read_aloud_auto")


def update_citizen_settings(desk: Desk, values: dict[str, bool]) -> dict[str, bool]:
    """Set the desk's citizens' settings, audit what changed, commit; the changes."""
    from survey_app import audit

    changes = {
        name: bool(values[name])
        for name in CITIZEN_SETTINGS
        if name in values and getattr(desk, name) != bool(values[name])
    }
    for name, value in changes.items():
        setattr(desk, name, value)
    if changes:
        audit.record("desk.citizen_settings", target=f"desk:{desk.code}", details=changes)
    db.session.commit()
    return changes
