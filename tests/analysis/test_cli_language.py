"""``python -m analysis`` speaks Vietnamese unless asked for English: its help, argparse's
own messages, the library's refusals and notes, in process and as a real command line."""

from __future__ import annotations

import argparse
import gettext
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import Design
from analysis.cli import ARGPARSE_MESSAGES, main
from analysis.i18n import language, speaking

ROOT = Path(__file__).resolve().parents[2]
CLUS1 = str(ROOT / "tests" / "reference" / "data" / "apiclus1.csv")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's help and usage errors
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_help_is_vietnamese_by_default_and_english_when_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SURVEY_LANG", raising=False)
    status, out, _err = run(["estimate", "--help"], capsys)
    assert status == 0
    assert out.startswith("cách dùng: python -m analysis estimate")
    assert "tùy chọn:" in out and "hiện trợ giúp này rồi thoát" in out
    assert "trọng số mẫu" in out and "sample weights" not in out
    for argv in (["--lang", "en", "estimate", "--help"], ["estimate", "--help", "--lang=en"]):
        status, out, _err = run(argv, capsys)
        assert out.startswith("usage: python -m analysis estimate"), argv
        assert "sample weights" in out and "trọng số" not in out
    monkeypatch.setenv("SURVEY_LANG", "en_US.UTF-8")
    status, out, _err = run(["fh", "--help"], capsys)
    assert out.startswith("usage:") and "direct estimates" in out


def test_refusals_are_vietnamese_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SURVEY_LANG", raising=False)
    # argparse's own refusal
    status, _out, err = run(["estimate", CLUS1, "--mean", "api00"], capsys)
    assert status == 2
    assert "lỗi: thiếu các đối số bắt buộc sau: --weights" in err
    # the library's refusal, through the command
    status, _out, err = run(["estimate", CLUS1, "--weights", "pw", "--mean", "nope"], capsys)
    assert (status, err) == (2, "lỗi: cột y 'nope' không có trong dữ liệu\n")
    status, _out, err = run(["weight", CLUS1, "--weights", "pw", "--out", "x.csv"], capsys)
    assert status == 2 and "hãy chọn một phương pháp" in err
    # the same in English
    status, _out, err = run(
        ["estimate", CLUS1, "--weights", "pw", "--mean", "nope", "--lang", "en"], capsys
    )
    assert (status, err) == (2, "error: y column 'nope' is not in the data\n")


def test_an_unknown_language_is_refused_in_both(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SURVEY_LANG", "fr")
    status, _out, err = run(["estimate", "--help"], capsys)
    assert status == 2 and "chọn vi hoặc en / choose vi or en" in err
    monkeypatch.delenv("SURVEY_LANG")
    status, _out, err = run(["--lang", "fr", "estimate", "--help"], capsys)
    assert status == 2 and "lựa chọn không hợp lệ: 'fr'" in err  # argparse's, in Vietnamese


def test_the_command_puts_gettext_and_the_language_back(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Click (the web app's commands) and argparse share the standard library's global
    text domain: the command must leave it, and LANGUAGE, as it found them."""
    monkeypatch.setenv("LANGUAGE", "en")
    domain = gettext.textdomain()
    run(["estimate", "--help"], capsys)
    run(["estimate", CLUS1, "--weights", "pw", "--mean", "nope"], capsys)
    assert gettext.textdomain() == domain and os.environ["LANGUAGE"] == "en"
    assert language() == "en"  # the library's own default for programs


def test_a_real_command_line_speaks_vietnamese(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"SURVEY_LANG", "LANGUAGE"}}
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "estimate", CLUS1, "--weights", "pw",
         "--mean", "api00", "--ci-method", "nope"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("lỗi: "), done.stderr


def test_argparse_still_has_the_messages_we_translate() -> None:
    """A new Python whose argparse words them differently would print them in English:
    every msgid of ARGPARSE_MESSAGES is in argparse's source."""
    source = inspect.getsource(argparse)
    missing = [m for m in ARGPARSE_MESSAGES if repr(m)[1:-1] not in source and m not in source]
    assert missing == []


def test_the_library_speaks_the_language_it_is_given() -> None:
    def refusal() -> str:
        with pytest.raises(ValueError) as raised:
            Design.from_arrays([1.0, 2.0], strata=[1])
        return str(raised.value)

    english = refusal()
    with speaking("vi"):
        vietnamese = refusal()
    assert english != vietnamese and refusal() == english
    with pytest.raises(ValueError, match="choose vi or en"), speaking("fr"):
        pass


def test_a_catalogue_not_compiled_is_refused_with_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the compiled Vietnamese catalogue the command and the web app refuse to
    start, naming what to run, instead of failing inside an error message."""
    from flask import Flask

    from analysis import i18n
    from survey_app.i18n import register

    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)  # a folder with no catalogue
    i18n.catalogue.cache_clear()
    try:
        status, out, err = run(["--lang", "vi", "estimate", "x.csv"], capsys)
        assert (status, out) == (2, "")
        assert "not compiled" in err and "pybabel compile -D analysis" in err
        # English needs no catalogue
        assert run(["--lang", "en", "estimate", CLUS1, "--weights", "pw", "--mean", "api00"],
                   capsys)[0] == 0  # fmt: skip
        with pytest.raises(RuntimeError, match="pybabel compile -D analysis"):
            register(Flask(__name__))
    finally:
        i18n.catalogue.cache_clear()
