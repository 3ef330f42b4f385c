"""The command line speaks the user's language (issue 16): Vietnamese by default,
English with ``--lang en`` or ``SURVEY_LANG=en``; what scripts read (the exported
data, ``waves list``, the desk token) is the same in both.

The weighting and export cases reuse the scripting tests' wave (``build_wave``: 60
paper questionnaires in two strata) and their raking targets.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from tests.helpers.cli_setup import RAKING_TARGETS, WAVE, build_wave, import_units, targets_csv
from tests.helpers.languages import english_in, vietnamese_in


def test_vietnamese_by_default_english_when_chosen(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SURVEY_LANG", raising=False)
    assert "đã tạo 4 đơn vị, cập nhật 0 đơn vị" in import_units(runner, tmp_path).output
    english = runner.invoke(args=["units", "import", "--lang", "en", str(tmp_path / "units.csv")])
    assert english.exit_code == 0 and english.output == "0 units created, 4 updated\n"
    # The refusals too, headed by the language's own word for an error.
    bad = ["desks", "create", "Q1", "--unit", "NOPE", "--name", "Quầy"]
    vi = runner.invoke(args=bad)
    assert vi.exit_code == 1 and vi.output == "Lỗi: không có đơn vị mã 'NOPE'\n"
    en = runner.invoke(args=[*bad, "--lang", "en"])
    assert en.exit_code == 1 and en.output == "Error: unknown unit code 'NOPE'\n"
    short = ["users", "create", "x", "--role", "admin", "--password-stdin"]
    assert "Mật khẩu phải có ít nhất 10 ký tự." in runner.invoke(args=short, input="ngắn\n").output
    # An option's own refusal is in the chosen language whatever its place on the line
    # (--lang is read first).
    trim = ["weights", "apply", "W", str(tmp_path / "units.csv"), "--method", "rake"]
    refused = runner.invoke(args=[*trim, "--trim", "a,3", "--lang", "vi"])
    assert refused.exit_code == 2 and "“a” is not a number." not in refused.output
    assert "“a” không phải là số." in refused.output


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("en", "0 units created"), ("en_US.UTF-8", "0 units created"), ("vi_VN", "đã tạo 0")],
)
def test_the_environment_variable_sets_the_default(
    runner: FlaskCliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    expected: str,
) -> None:
    import_units(runner, tmp_path)
    monkeypatch.setenv("SURVEY_LANG", setting)
    assert expected in import_units(runner, tmp_path).output
    # --lang wins over the variable.
    other = "vi" if setting.startswith("en") else "en"
    path = str(tmp_path / "units.csv")
    chosen = runner.invoke(args=["units", "import", "--lang", other, path]).output
    assert expected not in chosen


def test_an_unknown_language_is_refused_in_both(
    runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SURVEY_LANG", "fr")
    result = runner.invoke(args=["waves", "list"])
    assert result.exit_code == 2
    assert "SURVEY_LANG=fr: chọn vi hoặc en / choose vi or en" in result.output


def numbers_in(text: str) -> list[str]:
    return re.findall(r"\d+(?:[.,]\d+)*", text)


def variables(book: list[list[str]]) -> list[str]:
    """The codebook's variable names: the first column up to the first empty row."""
    names = []
    for row in book[1:]:
        if not any(row):
            break
        names.append(row[0])
    return names


def test_weighting_and_export_in_vietnamese(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SURVEY_LANG", raising=False)
    build_wave(app, runner, tmp_path, with_fpc=True)
    targets = targets_csv(tmp_path, RAKING_TARGETS)
    args = ["weights", "apply", WAVE, str(targets), "--method", "rake", "--trim", "1,30"]
    vi = runner.invoke(args=args)
    assert vi.exit_code == 0, vi.output
    for line in (f"đợt {WAVE}: 60 phiếu trả lời, phương pháp rake", "hội tụ: có",
                 "sai số biên lớn nhất: ", "hệ số biến thiên (CV) của trọng số: ",
                 "cỡ mẫu hiệu dụng: ", "chỉ số chung (tỷ lệ, khoảng tin cậy 95%):",
                 "  không gia quyền: ", "  trọng số mới: ",
                 "đã lưu phương án cli-rake phiên bản 1",
                 "chưa áp dụng: thêm --activate"):  # fmt: skip
        assert line in vi.output, line
    assert english_in(vi.output) == [], english_in(vi.output)
    # Decimal commas, and the interval's bounds apart by ";".
    deff = re.search(r"^hiệu ứng thiết kế Kish \(deff\): (\S+)$", vi.output, re.MULTILINE)
    assert deff is not None and "," in deff.group(1) and "." not in deff.group(1)
    assert re.search(r"\[0,\d+; 0,\d+\], n = 60", vi.output), vi.output
    en = runner.invoke(args=[*args, "--lang", "en"])
    assert en.exit_code == 0 and "converged: yes" in en.output
    assert vietnamese_in(en.output) == []
    assert re.search(r"\[0\.\d+, 0\.\d+\], n = 60", en.output), en.output

    # The same figures, written each language's way.
    figures_vi = [n.replace(",", ".") for n in numbers_in(vi.output.split("chỉ số chung")[1])]
    figures_en = numbers_in(en.output.split("overall index")[1])
    assert figures_vi[:-2] == figures_en[:-2]  # the last: the schemes' versions and ids

    # What scripts read is the same: waves list, and the exported data.
    listed = {lang: runner.invoke(args=["waves", "list", "--lang", lang]) for lang in ("vi", "en")}
    assert listed["vi"].output == listed["en"].output and f"{WAVE}\tfield" in listed["vi"].output
    data, books, said = {}, {}, {}
    for lang in ("vi", "en"):
        out = tmp_path / f"{lang}.csv"
        result = runner.invoke(
            args=["export", "wave", WAVE, "--format", "csv", "--out", str(out), "--lang", lang]
        )
        assert result.exit_code == 0, result.output
        data[lang], said[lang] = out.read_bytes(), result.output
        book = (tmp_path / f"{lang}-codebook.csv").read_text(encoding="utf-8-sig")
        books[lang] = list(csv.reader(io.StringIO(book)))
    assert f"đã ghi {tmp_path / 'vi.csv'}: 60 phiếu trả lời của đợt {WAVE}" in said["vi"]
    assert f"wrote {tmp_path / 'en.csv'}: 60 responses of wave {WAVE}" in said["en"]
    assert data["vi"] == data["en"]
    # The codebook describes the same variables, with labels in the chosen language
    # (as the data page's download does).
    names = {lang: variables(book) for lang, book in books.items()}
    assert names["vi"] == names["en"] and "response_id" in names["vi"]
    assert books["vi"][1][:2] == ["response_id", "Số thứ tự phiếu"]
    unknown = runner.invoke(args=["export", "wave", "NOPE", "--format", "csv", "--out", "x.csv"])
    assert unknown.exit_code == 1 and unknown.output == "Lỗi: không có đợt NOPE\n"


def test_xlsform_problems_in_vietnamese(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The English lines are in test_xlsform (test_cli_import_reports_every_problem)."""
    from tests.helpers.xlsform_files import KOBO_SURVEY, make_xlsform, replace

    monkeypatch.delenv("SURVEY_LANG", raising=False)
    survey = replace(KOBO_SURVEY, 3, type="note")
    form = make_xlsform(tmp_path, replace(survey, 4, relevant="${trips} > 1"))
    out = tmp_path / "bad.yaml"
    result = runner.invoke(args=["questionnaires", "import-xlsform", str(form), "--out", str(out)])
    assert result.exit_code == 1 and not out.exists()
    lines = result.output.splitlines()
    assert f"{form}: trang survey, dòng 5, cột type: không thể biểu diễn loại 'note'" in lines[0]
    assert (
        f"{form}: trang survey, dòng 6, cột relevant: không thể biểu diễn '${{trips}} > 1'"
        in (lines[1])
    )
    assert lines[-1] == "Lỗi: không ghi gì cả: 2 vấn đề"
    # The file names and the XLSForm's own words (select_one, ${q}) are not sentences.
    prose = [re.sub(r"\(được hỗ trợ: [^)]*\)", "", line.replace(str(form), "")) for line in lines]
    assert [english_in(line) for line in prose] == [[]] * len(lines)
    good = make_xlsform(tmp_path, name="good.xlsx")
    written = runner.invoke(
        args=["questionnaires", "import-xlsform", str(good), "--out", str(tmp_path / "k.yaml")]
    )
    assert "đã bỏ qua dòng siêu dữ liệu: trang survey, dòng 2: start (start)" in written.output
    assert "'kobo_test' phiên bản 2, 2 phần, 7 câu hỏi" in written.output
