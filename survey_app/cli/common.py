"""What every command shares: the ``--lang`` option, counts and dates the reader's way,
refusals headed "Lỗi:"/"Error:", ISO moments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import IO, Any

import click
from flask_babel import force_locale
from flask_babel import gettext as _

from survey_app import formatting
from survey_app.cli.language import N_, cli_language
from survey_app.extensions import LANGUAGES
from survey_app.i18n import current_lang


def choose_language(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # A group's --lang (flask waves --lang en create ...) holds for its command too
    # (click shares ctx.meta down the line); the command's own --lang wins.
    if value:
        ctx.meta["survey_app.lang"] = value
    ctx.with_resource(force_locale(cli_language(value or ctx.meta.get("survey_app.lang"))))


def language_option() -> click.Option:
    # Eager: the language is set before the other options are read, so their
    # refusals are in it too. (Click's own messages chose it earlier: SurveyGroup.)
    return click.Option(
        ["--lang"],
        type=click.Choice(LANGUAGES),
        is_eager=True,
        expose_value=False,
        callback=choose_language,
        help=N_("Language of the messages: vi (default) or en; default from SURVEY_LANG."),
    )


def speaking_english() -> bool:
    return current_lang() == "en"


def count_text(value: int) -> str:
    """A count: 44.606 in Vietnamese; in English as before (44606)."""
    return str(value) if speaking_english() else formatting.number(value)


def day_text(value: date) -> str:
    """A date: 02/12/2026 in Vietnamese; in English as before (2026-12-02)."""
    return value.isoformat() if speaking_english() else formatting.day(value)


class CliError(click.ClickException):
    """A refusal in the chosen language, headed "Lỗi:" or "Error:"."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.head = _("Error")

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"{self.head}: {self.format_message()}", file=file, err=file is None)


def parse_moment(text: str | None) -> datetime | None:
    """An ISO date-time (UTC when no offset is given), or None for now."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            _("not an ISO date-time: %(text)s", text=text), param_hint="--now"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
