"""What the citizens' forms read aloud: the texts of the kiosk's and the phone form's
screens, the addresses of their audio, and the audio of every questionnaire file.

It joins the forms (:mod:`.kiosk`, :mod:`.phone`) to the speech files (:mod:`.audio`),
so that neither of those imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask_babel import force_locale

from survey_app.collection import audio
from survey_app.collection import phone as phone_service
from survey_app.collection import questionnaire as spec
from survey_app.collection.kiosk import (
    CHANNELS,
    FormQuestionnaire,
    kiosk_strings,
    not_ready_strings,
)
from survey_app.extensions import LANGUAGES


def spoken_texts(lang: str, channels: tuple[str, ...] = CHANNELS) -> list[str]:
    """The screen messages of the kiosk and/or the phone form that are read aloud."""
    texts: list[str] = []
    with force_locale(lang):
        if "kiosk" in channels:
            texts += [*kiosk_strings().values(), *not_ready_strings().values()]
        if "phone" in channels:
            texts += phone_service.spoken_strings().values()
    return audio.spoken(texts)


def audio_urls(
    form: FormQuestionnaire, url: Callable[[str], str], channel: str
) -> dict[str, dict[str, str]]:
    """``{lang: {text: address}}`` of the read-aloud files of a channel's form and screens."""
    return audio.urls_for(
        {
            lang: audio.questionnaire_texts(form.definition, lang) + spoken_texts(lang, (channel,))
            for lang in LANGUAGES
        },
        url,
    )


def build_folder(folder_path: Path) -> audio.BuildReport:
    """The audio of every questionnaire file in ``folder_path`` and of the forms' screens."""
    try:
        definitions = spec.load_directory(folder_path)
    except spec.QuestionnaireError as error:
        raise audio.AudioError(str(error)) from error
    return audio.build(definitions, spoken_texts)
