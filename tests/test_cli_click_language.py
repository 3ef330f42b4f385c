"""Click's own words speak the command line's language too (issue 16): the usage lines,
the help of every group, command and option, and click's refusals (a missing or unknown
option, an invalid choice, a file that is not there), in Vietnamese by default and in
English with ``--lang en`` or ``SURVEY_LANG=en``.

English is found as in the pages' test (tests/web/test_vietnamese_everywhere.py): any
three-word phrase of a catalogue msgid, or three common English words in a row.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from gettext import gettext
from pathlib import Path

import click
import pytest
from babel.messages.extract import extract, extract_from_dir
from flask import Flask
from flask.testing import FlaskCliRunner

from survey_app.cli.language import (
    CLICK_MESSAGES,
    HELP_OPTION_TEXT,
    SurveyGroup,
    click_plurals,
    speak,
)
from tests.helpers.languages import english_in, vietnamese_in

ROOT = Path(__file__).resolve().parent.parent
PROG = "survey_app"  # the test runner's name for the flask command (app.cli's name)

# Click's msgids a user of our commands cannot meet: we declare no such parameter or
# prompt (version and confirmation options, nargs > 1, executable paths, booleans,
# UUIDs, choice prompts), or they are about click's own machinery (shell completion,
# the editor, Windows consoles, colours, deprecation, mistakes in declaring options).
NOT_MET = {
    "d", "{editor}: Editing failed", "{editor}: Editing failed: {e}", "Windows error: {error}",
    "deprecated", "DeprecationWarning: The command {name!r} is deprecated.{extra_message}",
    "Value must be an iterable.", ("Takes {nargs} values but 1 was given.",
    "Takes {nargs} values but {len} were given."),
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}",
    "Name '{name}' defined twice", "Boolean option {decl!r} cannot use the same flag for "
    "true/false.", "Could not determine name for option with declarations {decls!r}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument "
    "instead? Did you mean to pass '--{name}'?", "env var: {var}", "(dynamic)",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.",
    "Do you want to continue?", "Confirm the action without prompting.",
    "%(prog)s, version %(version)s", "Show the version and exit.",
    "Invalid start character for option ({option})", "Argument {name!r} takes {nargs} values.",
    "Shell completion is not supported for Bash versions older than 4.4.",
    "Couldn't detect Bash version, shell completion is not supported.",
    "Unknown color {colour!r}", "Press any key to continue...", "Choose from:\n\t{choices}",
    "Choice({choices})", "{value!r} is not a valid boolean. Recognized values: {states}",
    "{value!r} is not a valid UUID.", "{name} {filename!r} is not executable.",
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."),
    "Unknown standard stream '{name}'",
    "Repeat for confirmation",  # click's default; ours is in the catalogue as our own
}  # fmt: skip


@pytest.fixture(autouse=True)
def _language_stays_in_the_test(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A command line keeps its language for the rest of the process; not past a test."""
    monkeypatch.delenv("SURVEY_LANG", raising=False)
    monkeypatch.setenv("LANGUAGE", os.environ.get("LANGUAGE", ""))
    yield


def our_commands(app: Flask) -> Iterator[list[str]]:
    """Every group and command registered by survey_app.cli, as a command line."""
    groups = [g for g in app.cli.commands.values() if isinstance(g, SurveyGroup)]
    assert len(groups) == 12
    for group in groups:
        assert group.name
        yield [group.name]
        for name in group.commands:
            yield [group.name, name]


def test_every_help_is_vietnamese_by_default(app: Flask, runner: FlaskCliRunner) -> None:
    seen = 0
    for line in our_commands(app):
        result = runner.invoke(args=[*line, "--help"])
        assert result.exit_code == 0, (line, result.output)
        text = result.output
        assert text.startswith(f"Cách dùng: {PROG} {' '.join(line)} "), text
        assert "\nTùy chọn:\n" in text and "Hiện hướng dẫn này rồi thoát." in text
        assert english_in(text) == [], (line, english_in(text))
        seen += 1
    assert seen > 30  # 12 groups and their commands
    desks = runner.invoke(args=["desks", "create", "--help"]).output
    for said in ("Tạo một quầy thuộc một đơn vị.", "Mã đơn vị của quầy.  [bắt buộc]", "[mặc\n",
                 "định: 60]", "Ngôn ngữ của thông báo: vi (mặc định) hoặc en"):  # fmt: skip
        assert said in desks, said
    group = runner.invoke(args=["waves", "--help"]).output
    assert "\nLệnh:\n" in group and "Tạo một đợt điều tra thực địa cùng thiết kế mẫu." in group


@pytest.mark.parametrize("choice", ["--lang", "SURVEY_LANG"])
def test_every_help_is_english_when_chosen(
    app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch, choice: str
) -> None:
    if choice == "SURVEY_LANG":
        monkeypatch.setenv("SURVEY_LANG", "en_US.UTF-8")
    extra = ["--lang", "en"] if choice == "--lang" else []
    for line in our_commands(app):
        # --lang before --help or after: the language is read before click parses.
        text = runner.invoke(args=[*line, "--help", *extra]).output
        assert text.startswith(f"Usage: {PROG} {' '.join(line)} "), text
        assert "\nOptions:\n" in text and "Show this message and exit." in text
        assert vietnamese_in(text) == [], (line, vietnamese_in(text))
    desks = runner.invoke(args=["desks", "create", *extra, "--help"]).output
    assert "Create a desk belonging to a unit." in desks
    assert "Code of the unit of the desk.  [required]" in desks


def test_a_groups_language_holds_for_its_command(app: Flask, runner: FlaskCliRunner) -> None:
    line = ["create", "Q1", "--unit", "NOPE", "--name", "Quầy"]
    english = runner.invoke(args=["desks", "--lang", "en", *line])
    assert english.exit_code == 1 and english.output == "Error: unknown unit code 'NOPE'\n"
    # The command's own choice wins.
    chosen = runner.invoke(args=["desks", "--lang", "en", *line, "--lang", "vi"])
    assert chosen.output == "Lỗi: không có đơn vị mã 'NOPE'\n"


# A refusal of click's, the Vietnamese line and the English one.
REFUSALS = [
    (["desks", "create", "Q1"], "Lỗi: Thiếu tùy chọn '--unit'.", "Error: Missing option '--unit'."),
    (["desks", "create", "Q1", "--bogus"], "Lỗi: Không có tùy chọn '--bogus'.",
     "Error: No such option '--bogus'."),
    (["desks", "create", "Q1", "--unti", "X"],
     "Lỗi: Không có tùy chọn '--unti'. (Có phải ý bạn là: '--unit'?)",
     "Error: No such option '--unti'. Did you mean '--unit'?"),
    (["users", "create", "x", "--role", "boss"],
     "Lỗi: Giá trị không hợp lệ cho '--role': 'boss' không thuộc các lựa chọn: 'admin', "
     "'analyst', 'leader', 'kiosk'.",
     "Error: Invalid value for '--role': 'boss' is not one of 'admin', 'analyst', 'leader', "
     "'kiosk'."),
    (["desks", "create", "Q1", "--unit", "U", "--name", "N", "--timeout", "soon"],
     "Lỗi: Giá trị không hợp lệ cho '--timeout': 'soon' không phải là số hợp lệ.",
     "Error: Invalid value for '--timeout': 'soon' is not a valid integer."),
    (["waves", "create", "W", "--start", "2024/1/1"],
     "Lỗi: Giá trị không hợp lệ cho '--start': '2024/1/1' không đúng định dạng '%Y-%m-%d'.",
     "Error: Invalid value for '--start': '2024/1/1' does not match the format '%Y-%m-%d'."),
    (["weights", "apply", "W", "/no/such/targets.csv", "--method", "rake"],
     "Lỗi: Giá trị không hợp lệ cho 'TARGETS.csv': Không tìm thấy '/no/such/targets.csv'.",
     "Error: Invalid value for 'TARGETS.csv': File '/no/such/targets.csv' does not exist."),
    (["units", "import", "/no/such/units.csv"],
     "Lỗi: Giá trị không hợp lệ cho 'FILE': Không tìm thấy '/no/such/units.csv'.",
     "Error: Invalid value for 'FILE': File '/no/such/units.csv' does not exist."),
    (["waves", "create", "W", "--frame", "/"],
     "Lỗi: Giá trị không hợp lệ cho '--frame': '/' là một thư mục, không phải tệp.",
     "Error: Invalid value for '--frame': File '/' is a directory."),
    (["desks", "token"], "Lỗi: Thiếu đối số 'CODE'.", "Error: Missing argument 'CODE'."),
    (["desks", "token", "a", "b"], "Lỗi: Có đối số thừa không mong đợi (b)",
     "Error: Got unexpected extra argument (b)"),
    (["desks", "create", "Q1", "--unit"], "Lỗi: Tùy chọn '--unit' cần 1 giá trị.",
     "Error: Option '--unit' requires an argument."),
    (["desks", "bogus"], "Lỗi: Không có lệnh 'bogus'.", "Error: No such command 'bogus'."),
    (["questionnaires", "export-xlsform", "s", "--out", "x.xlsx", "--version", "one"],
     "Lỗi: Giá trị không hợp lệ cho '--version': 'one' không phải là số hợp lệ.",
     "Error: Invalid value for '--version': 'one' is not a valid integer."),
]  # fmt: skip


@pytest.mark.parametrize(("args", "vietnamese", "english"), REFUSALS)
def test_click_refusals_in_the_chosen_language(
    app: Flask,
    runner: FlaskCliRunner,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    vietnamese: str,
    english: str,
) -> None:
    vi = runner.invoke(args=args)
    assert vi.exit_code == 2
    lines = vi.output.splitlines()
    assert lines[-1] == vietnamese, vi.output
    assert english_in(vi.output) == [], english_in(vi.output)
    # --lang is read even where click refuses the line before reading any option.
    en = runner.invoke(args=[*args[:2], "--lang", "en", *args[2:]])
    assert en.exit_code == 2 and en.output.splitlines()[-1] == english, en.output
    command = " ".join(args[:2]) if args[1] != "bogus" else args[0]
    if en.output.startswith("Usage:"):  # click shows the usage with most refusals
        assert en.output.startswith(f"Usage: {PROG} {command} ")
        assert f"Try '{PROG} {command} --help' for help." in en.output
        assert lines[0].startswith(f"Cách dùng: {PROG} {command} ")
        assert lines[1] == f"Chạy '{PROG} {command} --help' để xem hướng dẫn."
    assert len(lines) == len(en.output.splitlines())
    monkeypatch.setenv("SURVEY_LANG", "en")
    assert runner.invoke(args=args).output == en.output


def test_prompt_mismatch_and_abort_in_vietnamese(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["users", "create", "thu", "--role", "admin"], input="mot-mat-khau\nkhac-han\n"
    )
    assert result.exit_code == 1
    assert "Lỗi: hai giá trị đã nhập không khớp nhau." in result.output
    assert result.output.rstrip().endswith("Đã hủy!"), result.output
    assert english_in(result.output) == [], english_in(result.output)


def test_a_real_command_line_in_vietnamese(tmp_path: Path) -> None:
    """The path of ``flask --app survey_app ...``: the app is loaded inside Flask's own
    group, which prints the refusal after every context has closed."""
    env = {**os.environ, "SURVEY_INSTANCE_PATH": str(tmp_path)}
    env.pop("SURVEY_LANG", None)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    line = [sys.executable, "-m", "flask", "--app", "survey_app", "desks", "create", "Q1"]
    done = subprocess.run(line, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "Lỗi: Thiếu tùy chọn '--unit'.", done.stderr
    english = subprocess.run(
        [*line, "--lang", "en"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert english.stderr.splitlines()[-1] == "Error: Missing option '--unit'.", english.stderr


def click_msgids() -> set[str | tuple[str, str]]:
    """Every msgid in the installed click's source."""
    folder = Path(click.__file__).parent
    found: set[str | tuple[str, str]] = set()
    for _name, _line, message, _comments, _context in extract_from_dir(
        str(folder), method_map=[("**.py", "python")]
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def plural_msgids() -> set[tuple[str, str]]:
    """The (singular, plural) pairs of survey_app.cli.language.click_plurals."""
    module = ROOT / "survey_app" / "cli" / "language.py"
    found = set()
    with module.open("rb") as handle:
        messages = [message for _line, message, _comments, _context in extract("python", handle)]
    for message in messages:
        if isinstance(message, tuple):
            found.add((message[0], message[1]))
    return found


def test_the_listed_click_messages_are_clicks_and_cover_what_users_meet() -> None:
    """A click upgrade that renames or adds a message fails here, not on a user's screen."""
    clicks = click_msgids()
    ours: set[str | tuple[str, str]] = {*CLICK_MESSAGES, HELP_OPTION_TEXT, *plural_msgids()}
    assert len(plural_msgids()) == 5
    # "[required]" is translated through a variable: _(extra["required"]).
    assert ours - clicks == {"required"}
    # Every other message of click is one a user of our commands cannot meet.
    assert clicks - ours - NOT_MET == set()


def test_speak_sets_the_language_of_click() -> None:
    english = [form for pair in sorted(plural_msgids()) for form in pair]
    speak("vi")
    assert gettext("Usage:") == "Cách dùng:"
    # Every plural message of click is translated, in both forms.
    assert set(click_plurals(1) + click_plurals(2)).isdisjoint(english)
    speak("en")
    assert gettext("Usage:") == "Usage:"
    assert set(click_plurals(1) + click_plurals(2)) <= set(english)


def test_flasks_own_screen_lists_the_commands_and_refuses_in_vietnamese(tmp_path: Path) -> None:
    """``flask --help`` and an unknown command are answered by Flask's group, which never
    enters one of ours: the language is chosen when it loads the app. The commands'
    list (ours, Flask's and Flask-Migrate's) is Vietnamese by default, English with
    ``SURVEY_LANG=en``; so is the refusal of an unknown command."""
    env = {**os.environ, "SURVEY_INSTANCE_PATH": str(tmp_path)}
    env.pop("SURVEY_LANG", None)
    env.pop("LANGUAGE", None)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    flask = [sys.executable, "-m", "flask", "--app", "survey_app"]

    def run(*args: str, lang: str | None = None) -> subprocess.CompletedProcess[str]:
        extra = {"SURVEY_LANG": lang} if lang else {}
        return subprocess.run(
            [*flask, *args], capture_output=True, text=True, cwd=ROOT, env={**env, **extra},
            timeout=120,
        )  # fmt: skip

    listing = run("--help")
    assert listing.returncode == 0, listing.stderr
    commands = listing.stdout.split("\nLệnh:\n", 1)[1]
    assert "Nâng cấp lược đồ cơ sở dữ liệu" in commands  # Flask-Migrate's db
    assert "Chạy máy chủ phát triển." in commands  # Flask's run
    assert english_in(commands) == [], english_in(commands)
    unknown = run("nosuch")
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines()[-1] == "Lỗi: Không có lệnh 'nosuch'.", unknown.stderr

    english = run("--help", lang="en")
    assert "\nCommands:\n" in english.stdout and "Perform database migrations." in english.stdout
    assert run("nosuch", lang="en").stderr.splitlines()[-1] == "Error: No such command 'nosuch'."
