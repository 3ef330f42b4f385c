"""The command line's language for what click itself prints, and for our commands' help.

Our own messages go through Flask-Babel (the other files of ``survey_app.cli``). Click's
messages ("Usage:", "Error: Missing option '--unit'.", "Try '... --help' for help.") do
not: click calls the
standard library's ``gettext.gettext``/``ngettext`` in the global text domain
``messages``. That function finds its catalogue from ``gettext.bindtextdomain`` and picks
the language from the environment (``LANGUAGE``, then ``LC_ALL``, ``LC_MESSAGES``,
``LANG``) on every call; ``gettext.install`` would only set ``builtins._``, which click
does not read. So :func:`speak` binds ``messages`` to our catalogue
(``survey_app/translations``, the one the web pages use) and sets ``LANGUAGE`` to the
chosen language; with ``en`` no catalogue is found and click's English msgids stay.

The language must be known before click parses a command line, because a missing or
unknown option is refused while parsing, before any option's callback runs, and the
refusal is printed after every context has closed. :class:`SurveyGroup` chooses it when
one of our groups is entered: ``--lang`` found on the rest of the line, else
``SURVEY_LANG``, else Vietnamese. It stays for the rest of the process: a command line is
one process (tests that run several commands in one process choose again each time).

The help texts of our commands and options are written in English and marked with
:func:`N_`, so that ``pybabel extract`` (and ``scripts/i18n.py update``) keeps them in the
catalogue; :class:`SurveyCommand` translates them when the help is shown. Click's own
msgids that a user of our commands can meet are listed in :data:`CLICK_MESSAGES` for the
same reason (``tests/test_cli_language.py`` checks them against click's source).
"""

from __future__ import annotations

import gettext
import inspect
import os
import sys
from pathlib import Path
from typing import Any

import click

from analysis import i18n as library_language

#: The standard library's default text domain, the one click's messages are looked up in.
DOMAIN = "messages"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def N_(text: str) -> str:  # noqa: N802 (the gettext name for a no-op marker)
    """Mark ``text`` for extraction; it is translated where it is shown."""
    return text


def cli_language(chosen: str | None = None) -> str:
    """``--lang`` if given, else ``SURVEY_LANG`` (``vi``, ``en``, ``en_US.UTF-8``...),
    else Vietnamese (:func:`analysis.i18n.language_from_environment`)."""
    if chosen:
        return chosen
    try:
        return library_language.language_from_environment()
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def speak(lang: str) -> None:
    """Click's messages (and :func:`translate`) in ``lang`` from now on in this process."""
    gettext.bindtextdomain(DOMAIN, str(TRANSLATIONS))
    os.environ["LANGUAGE"] = lang


def translate(text: str) -> str:
    """``text`` in the language click speaks (:func:`speak`)."""
    return gettext.gettext(text)


#: The help option's text; click keeps the option it made first, with the text of the
#: language of that moment, so it is reset to the msgid before each help is shown.
HELP_OPTION_TEXT = N_("Show this message and exit.")


class SurveyCommand(click.Command):
    """One of our commands: its help and its options' help translated when shown."""

    # click.Command stores ``help`` unprocessed and reads it when the help is shown.
    @property  # type: ignore[override]
    def help(self) -> str | None:
        return translate(self._english_help) if self._english_help else self._english_help

    @help.setter
    def help(self, text: str | None) -> None:
        self._english_help = inspect.cleandoc(text) if text else text

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own, with each option's help translated (its "[default: ...]" already
        is)."""
        rows = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None or not isinstance(param, click.Option):
                continue
            spec, text = record
            own = param.help
            if own and text.startswith(own):
                text = translate(own) + text[len(own) :]
            rows.append((spec, text))
        if rows:
            with formatter.section(translate("Options")):
                formatter.write_dl(rows)


class SurveyGroup(SurveyCommand, click.Group):
    """One of our command groups: chooses the language before click reads the line."""

    command_class = SurveyCommand

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        lang = cli_language(library_language.language_in(args))
        speak(lang)
        ctx = super().make_context(info_name, args, parent, **extra)
        # the statistics library's messages too, until the command ends
        token = library_language.set_language(lang)
        ctx.call_on_close(lambda: library_language.reset_language(token))
        return ctx

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)  # the translated options (not click.Group's)
        self.format_commands(ctx, formatter)


class ReadFile(click.File):
    """``click.File`` for reading whose refusals follow the command line's language.

    click.File puts the system's English reason in its refusal ("'x.csv': No such file
    or directory"); click.Path's checks say it with click's msgids first."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str | os.PathLike) and os.fspath(value) != "-":
            click.Path(exists=True, dir_okay=False, readable=True).convert(value, param, ctx)
        return super().convert(value, param, ctx)


# Click's messages that a user of our commands can meet (tests/test_cli_click_language.py
# compares them with the installed click's). Marked here so that extraction keeps
# them in the catalogue; click translates them itself.
CLICK_MESSAGES = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Positional arguments"),
    N_("default: {default}"),
    N_("required"),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing {param_type}"),
    N_("Missing parameter: {param_name}"),
    N_("Missing command."),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("Option {name!r} does not take a value."),
    N_("unknown error"),
    N_("Could not open file {filename!r}: {message}"),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("Error: The two entered values do not match."),
    N_("Error: invalid input"),
    N_("Aborted!"),
)


def click_plurals(n: int) -> list[str]:
    """Click's messages with a plural (extracted from these calls), in the language
    click speaks."""
    return [
        gettext.ngettext(
            "Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", n
        ),
        gettext.ngettext(
            "Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", n
        ),
        gettext.ngettext(
            "Option {name!r} requires an argument.",
            "Option {name!r} requires {nargs} arguments.",
            n,
        ),
        gettext.ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", n),
        gettext.ngettext(
            "{value!r} does not match the format {format}.",
            "{value!r} does not match the formats {formats}.",
            n,
        ),
    ]


# Flask's own texts on the first screen of ``flask --help`` (its options and the
# one-line help of its commands and of Flask-Migrate's and Flask-Limiter's groups):
# plain strings in Flask, translated through the same catalogue by
# :func:`speak_on_flask_command_line`.
FLASK_TEXTS = (
    N_("Load environment variables from this file, taking precedence over those set by "
       "'.env' and '.flaskenv'. Variables set directly in the environment take highest "
       "precedence. python-dotenv must be installed."),
    N_("The Flask application or factory function to load, in the form 'module:name'. "
       "Module can be a dotted import or file path. Name is not required if it is 'app', "
       "'application', 'create_app', or 'make_app', and can be 'name(args)' to pass "
       "arguments."),
    N_("Set debug mode."),
    N_("Show the Flask version."),
    N_("A general utility script for Flask applications.\n\nAn application to load must be "
       "given with the '--app' option,\n'FLASK_APP' environment variable, or with a "
       "'wsgi.py' or 'app.py' file\nin the current directory."),
    N_("Run a development server."),
    N_("Run a shell in the app context."),
    N_("Show the routes for the app."),
    N_("Perform database migrations."),
    N_("Flask-Limiter maintenance & utility commands"),
)  # fmt: skip


def speak_on_flask_command_line(app_commands: click.Group) -> None:
    """On the ``flask`` command line, choose the language when the app is loaded.

    ``flask --help`` and an unknown command (``flask nosuch``) are answered by Flask's
    own group, which loads the app to list our groups but never enters one of them: so
    the language is chosen here too (``--lang`` anywhere on the line, else
    ``SURVEY_LANG``, else Vietnamese), and Flask's own texts of that screen are
    translated, with the help of the app's other commands (``app_commands``: Flask-Migrate's
    ``db``). Outside a ``flask`` command line (the web server, tests that build an
    app) this does nothing."""
    from flask.cli import FlaskGroup

    ctx = click.get_current_context(silent=True)
    if ctx is None or not isinstance(ctx.find_root().command, FlaskGroup):
        return
    try:
        lang = cli_language(library_language.language_in(sys.argv[1:]))
    except click.UsageError:
        lang = "vi"  # a wrong SURVEY_LANG is refused by the group the line enters
    speak(lang)
    root = ctx.find_root().command
    own = set(FLASK_TEXTS)
    pieces: list[Any] = [root, *root.params, *root.commands.values()]
    pieces += app_commands.commands.values()
    for piece in pieces:
        for attribute in ("help", "short_help"):
            text = getattr(piece, attribute, None)
            english = getattr(piece, f"_english_{attribute}", None) or (
                inspect.cleandoc(text) if isinstance(text, str) else None
            )
            if english in own:
                setattr(piece, f"_english_{attribute}", english)
                setattr(piece, attribute, translate(english))
