"""XLSForm import and export (survey_app/collection/xlsform/) and the two CLI commands.

The XLSForms are written by the tests with openpyxl (no binary fixtures): each
row is a mapping from column header to cell, in the style of a form built in
KoboToolbox.
"""

from __future__ import annotations

import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask.testing import FlaskCliRunner
from pyxform.xls2xform import convert

from survey_app.collection.questionnaire import LIKERT5_LABELS, load_questionnaire
from survey_app.collection.xlsform.problems import XLSFormError
from survey_app.collection.xlsform.reading import read_xlsform
from survey_app.collection.xlsform.writing import (
    dump_yaml,
    questionnaire_to_workbook,
    write_xlsform,
)
from tests.helpers.xlsform_files import (
    CHOICES,
    EN,
    KOBO_SURVEY,
    SETTINGS,
    VI,
    make_xlsform,
    replace,
)

QUESTIONNAIRES = Path(__file__).resolve().parent.parent / "questionnaires"


def problems(path: Path, **kwargs: Any) -> list[str]:
    with pytest.raises(XLSFormError) as info:
        read_xlsform(path, **kwargs)
    return [str(p) for p in info.value.problems]


# ---------------------------------------------------------------------------
# Round trip of the shipped questionnaires
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sipas", "kiosk_quick"])
def test_export_converts_with_pyxform_and_imports_back_equal(name: str, tmp_path: Path) -> None:
    q = load_questionnaire(QUESTIONNAIRES / f"{name}.yaml")
    path = tmp_path / f"{name}.xlsx"
    write_xlsform(q, path)

    converted = convert(str(path))  # the XForm ODK Collect and Kobo would serve
    assert converted.warnings == []
    assert 'lang="Vietnamese (vi)"' in converted.xform
    assert 'lang="English (en)"' in converted.xform

    result = read_xlsform(path)
    assert result.skipped == ()
    back = result.questionnaire
    # Same items, types, labels, options, show_if, sections, index: the whole definition.
    assert back.to_dict() == q.to_dict()
    assert back.checksum == q.checksum


def test_exported_sheets_use_both_language_columns(tmp_path: Path) -> None:
    q = load_questionnaire(QUESTIONNAIRES / "kiosk_quick.yaml")
    book = questionnaire_to_workbook(q)
    assert book.sheetnames == ["survey", "choices", "settings", "indices"]
    survey = list(book["survey"].iter_rows(values_only=True))
    header = survey[0]
    assert {VI, EN, "relevant", "x_type"} <= set(header)
    rows = [dict(zip(header, r, strict=True)) for r in survey[1:]]
    mood = next(r for r in rows if r["name"] == "mood")
    assert (mood["type"], mood["x_type"], mood["required"]) == (
        "select_one smiley5",
        "smiley",
        "yes",
    )
    problems_row = next(r for r in rows if r["name"] == "problems")
    assert problems_row["relevant"] == "${mood} = '1' or ${mood} = '2' or ${mood} = '3'"
    choices = list(book["choices"].iter_rows(values_only=True))
    assert ("smiley5", "5", "Rất hài lòng", "Very satisfied") in choices
    settings = list(book["settings"].iter_rows(values_only=True))
    assert dict(zip(*settings, strict=True))["form_id"] == "kiosk_quick"


def test_yaml_written_by_the_import_loads_to_the_same_definition(tmp_path: Path) -> None:
    q = load_questionnaire(QUESTIONNAIRES / "sipas.yaml")
    path = tmp_path / "copy.yaml"
    path.write_text(dump_yaml(q, "A header\nof two lines"), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# A header\n# of two lines\n")
    assert "code: 'yes'" in text  # quoted, so it stays text
    assert "Rất hài lòng" in dump_yaml(load_questionnaire(QUESTIONNAIRES / "kiosk_quick.yaml"))
    assert load_questionnaire(path) == q


# ---------------------------------------------------------------------------
# Import of a form built in KoboToolbox
# ---------------------------------------------------------------------------


def test_import_maps_a_kobo_form(tmp_path: Path) -> None:
    result = read_xlsform(make_xlsform(tmp_path))
    q = result.questionnaire
    assert result.skipped == (
        "survey sheet, row 2: start (start)",
        "survey sheet, row 3: end (end)",
    )
    assert (q.slug, q.version) == ("kobo_test", 2)
    assert q.title.en == "Quick survey at the one-stop desk"
    assert q.index is None

    # Grouped rows form a section; rows outside any group form one titled like the form.
    assert [s.code for s in q.sections] == ["service", "section_2"]
    assert q.sections[0].title.vi == "Dịch vụ"
    assert q.sections[1].title == q.title
    types = {i.code: i.type for i in q.items}
    assert types == {
        "field": "single",
        "wait": "likert5",
        "staff": "likert5",
        "reasons": "multiple",
        "trips": "number",
        "cost": "number",
        "comment": "text",
    }
    wait = q.item("wait")
    assert wait.levels == LIKERT5_LABELS and wait.required
    assert q.item("field").option_codes == ("dat_dai", "ho_tich")
    assert q.item("field").options[0].label.vi == "Đất đai"

    shows = {i.code: i.show_if.to_dict() for i in q.items if i.show_if}
    assert shows == {
        "staff": {"item": "field", "equals": "dat_dai"},
        "reasons": {"item": "wait", "in": [1, 2]},
        "trips": {"item": "reasons", "in": ["cho_lau", "thai_do"]},
        "cost": {"item": "trips", "equals": 3},
    }
    reasons = q.item("reasons")
    assert (reasons.min_choices, reasons.max_choices) == (1, 2)
    trips, cost = q.item("trips"), q.item("cost")
    assert (trips.min_value, trips.max_value, trips.integer) == (1, 30, True)
    assert (cost.min_value, cost.max_value, cost.integer) == (0, 1000.5, False)
    comment = q.item("comment")
    assert comment.max_length == 300
    assert comment.help is not None and comment.help.en == "Do not write names."


def test_vietnamese_text_is_normalised_to_composed_form(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Thời gian chờ đến lượt")
    survey = replace(KOBO_SURVEY, 4, **{VI: decomposed})
    q = read_xlsform(make_xlsform(tmp_path, survey)).questionnaire
    assert q.item("wait").label.vi == unicodedata.normalize("NFC", decomposed)
    assert unicodedata.is_normalized("NFC", q.item("wait").levels[4].vi)


def test_short_language_columns_and_overrides(tmp_path: Path) -> None:
    survey = [
        {"type": "begin_group", "name": "main", "label::vi": "Chung", "label::en": "General"},
        {"type": "select_one yn", "name": "ok", "label::vi": "Được không?", "label::en": "OK?"},
        {"type": "end_group"},
    ]
    choices = [
        {"list_name": "yn", "name": "yes", "label::vi": "Có", "label::en": "Yes"},
        {"list_name": "yn", "name": "no", "label::vi": "Không", "label::en": "No"},
    ]
    settings = {**SETTINGS, "version": "2024052101 (Kobo)"}
    path = make_xlsform(tmp_path, survey, choices, settings)
    q = read_xlsform(path, slug="renamed", version=7).questionnaire
    assert (q.slug, q.version) == ("renamed", 7)
    assert q.item("ok").option_codes == ("yes", "no")
    assert problems(path) == [
        "settings sheet, row 2, column version: version '2024052101 (Kobo)' is not a whole "
        "number; pass --version"
    ]


def test_likert5_rule(tmp_path: Path) -> None:
    """1..5 with other wording stays single unless x_type says likert5."""
    agree = [
        {"list_name": "agree", "name": str(v), VI: vi, EN: en}
        for v, (vi, en) in enumerate(
            [
                ("Hoàn toàn không đồng ý", "Strongly disagree"),
                ("Không đồng ý", "Disagree"),
                ("Phân vân", "Unsure"),
                ("Đồng ý", "Agree"),
                ("Hoàn toàn đồng ý", "Strongly agree"),
            ],
            start=1,
        )
    ]
    survey = [
        {"type": "select_one agree", "name": "a1", VI: "Câu một", EN: "One"},
        {"type": "select_one agree", "name": "a2", VI: "Câu hai", EN: "Two", "x_type": "likert5"},
        {"type": "select_one agree", "name": "a3", VI: "Câu ba", EN: "Three", "x_type": "smiley"},
    ]
    q = read_xlsform(make_xlsform(tmp_path, survey, agree)).questionnaire
    assert q.item("a1").type == "single"
    assert q.item("a1").option_codes == ("1", "2", "3", "4", "5")
    assert q.item("a2").type == "likert5"
    assert q.item("a2").levels[0].vi == "Hoàn toàn không đồng ý"
    assert (q.item("a3").type, q.item("a3").scale_size) == ("smiley", 5)


def test_indices_sheet_gives_the_index(tmp_path: Path) -> None:
    label_vi, label_en = "label::Vietnamese (vi)", "label::English (en)"
    indices = [
        {"type": "satisfied_levels", "values": "4 5"},
        {
            "type": "aspect",
            "name": "time",
            label_vi: "Thời gian",
            label_en: "Time",
            "items": "wait",
        },
        {"type": "aspect", "name": "people", label_vi: "Con người", label_en: "People"}
        | {"items": "staff"},
        {"type": "overall", "name": "mean_of_aspects"},
        {"type": "mean_score", "name": "points", "values": "0, 0, 50, 100, 100"},
    ]
    q = read_xlsform(make_xlsform(tmp_path, indices=indices)).questionnaire
    assert q.index is not None
    assert [(a.code, a.items) for a in q.index.aspects] == [
        ("time", ("wait",)),
        ("people", ("staff",)),
    ]
    assert q.index.aspects[1].label.vi == "Con người"
    assert q.index.mean_score.points == (0, 0, 50, 100, 100)

    bad = [*indices[:1], {**indices[1], "items": "wait field"}, {"type": "aspekt"}]
    assert problems(make_xlsform(tmp_path, indices=bad, name="bad.xlsx")) == [
        "indices sheet, row 4, column type: unknown row type 'aspekt' (allowed: "
        "satisfied_levels, aspect_method, aspect, overall, mean_score)",
    ]
    bad = [indices[0], {**indices[1], "items": "wait field"}]
    assert problems(make_xlsform(tmp_path, indices=bad, name="bad2.xlsx")) == [
        "indices sheet, row 3, column items: item 'field' is single; aspects take likert5 items",
    ]


# ---------------------------------------------------------------------------
# Errors: sheet, row, column and what is unsupported
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "changes", "expected"),
    [
        (
            6,
            {EN: None},
            "survey sheet, row 6, column label::English (en): missing the English label",
        ),
        (
            7,
            {"relevant": "${field} != 'dat_dai'"},
            "survey sheet, row 7, column relevant: cannot represent \"${field} != 'dat_dai'\"",
        ),
        (
            7,
            {"relevant": "${field} = 'dat_dai' and ${wait} = '5'"},
            "survey sheet, row 7, column relevant: cannot represent",
        ),
        (
            10,
            {"relevant": "${wait} = '1' or ${field} = 'ho_tich'"},
            "survey sheet, row 10, column relevant: 'or' joins tests of different questions",
        ),
        (
            11,
            {"relevant": "${reasons} = 'cho_lau'"},
            "survey sheet, row 11, column relevant: ${reasons} = ... on the select_multiple "
            "question 'reasons' means 'exactly this choice'; write selected(${reasons}, 'v')",
        ),
        (
            11,
            {"constraint": ". > 0"},
            "survey sheet, row 11, column constraint: cannot represent '. > 0' "
            "(supported: . >= MIN and . <= MAX)",
        ),
        (
            11,
            {"constraint": None},
            "survey sheet, row 11, column constraint: number items need min and max",
        ),
        (
            5,
            {"type": "note"},
            "survey sheet, row 5, column type: type 'note' cannot be represented",
        ),
        (
            11,
            {"type": "calculate", "calculation": "1 + 1"},
            "survey sheet, row 11, column type: type 'calculate' cannot be represented",
        ),
        (
            5,
            {"required": "${wait} = '1'"},
            "survey sheet, row 5, column required: \"${wait} = '1'\" is not yes or no",
        ),
        (
            7,
            {"name": "Staff"},
            "survey sheet, row 7, column name: item code 'Staff' is invalid",
        ),
        (
            5,
            {"default": "dat_dai"},
            "survey sheet, row 5, column default: column default cannot be represented",
        ),
        (
            5,
            {"type": "select_one field or_other"},
            "survey sheet, row 5, column type: 'select_one field or_other': or_other cannot "
            "be represented",
        ),
        (
            7,
            {"relevant": "selected(${reasons}, 'khac')"},
            "survey sheet, row 7, column relevant: refers to 'reasons', which is not an item "
            "defined earlier in the file",
        ),
        (
            7,
            {"relevant": "${later} = 'x'"},
            "survey sheet, row 7: pyxform: the 'relevant' value is invalid. Reference variables "
            "must contain a name from the 'survey' sheet. Could not find the name 'later'.",
        ),
    ],
)
def test_errors_name_sheet_row_and_column(
    tmp_path: Path, row: int, changes: dict[str, Any], expected: str
) -> None:
    survey = replace(KOBO_SURVEY, row - 2, **changes)
    found = problems(make_xlsform(tmp_path, survey))
    assert any(p.startswith(expected) for p in found), found


def test_choice_and_settings_errors_and_all_problems_at_once(tmp_path: Path) -> None:
    choices = replace(CHOICES, 1, **{VI: None})  # choices row 3
    choices = replace(choices, 8, name="Thai_do")  # choices row 10
    settings = {k: v for k, v in SETTINGS.items() if not k.startswith("x_title::English")}
    survey = replace(KOBO_SURVEY, 9, constraint=None)
    found = problems(make_xlsform(tmp_path, survey, choices, settings))
    assert found == [
        "settings sheet, row 2, column x_title::English (en): missing the English x_title",
        "choices sheet, row 3, column label::Vietnamese (vi): missing the Vietnamese label",
    ]
    # The questionnaire rules run once the XLSForm itself is readable.
    choices = replace(CHOICES, 8, name="Thai_do")
    assert problems(make_xlsform(tmp_path, survey, choices, name="b.xlsx")) == [
        "choices sheet, row 10, column name: option code 'Thai_do' is invalid: use lowercase "
        "letters, digits and _, at most 32 long",
        "survey sheet, row 10, column relevant: 'thai_do' is not a possible answer of 'reasons': "
        "unknown option (options: cho_lau, khac)",
        "survey sheet, row 11, column constraint: number items need min and max",
    ]


def test_labels_need_both_languages_in_language_columns(tmp_path: Path) -> None:
    survey = [{"type": "text", "name": "comment", "label": "Góp ý"}]
    assert problems(make_xlsform(tmp_path, survey, choices=[])) == [
        "survey sheet, row 2, column label: label has no language: use the columns "
        "label::Vietnamese (vi) and label::English (en)"
    ]
    no_title = make_xlsform(tmp_path, settings=None, name="untitled.xlsx")
    assert problems(no_title, version=1) == [
        "settings sheet, column x_title::Vietnamese (vi): missing x_title: give it in "
        "Vietnamese (x_title::Vietnamese (vi)) and English (x_title::English (en))"
    ]


def test_a_damaged_or_renamed_workbook_is_named_as_such(
    tmp_path: Path, runner: FlaskCliRunner
) -> None:
    """pyxform's reason for these was "'definition' was not recognized as a supported
    type. Must be one of: .xlsx, ..." for a file named .xlsx."""
    renamed = tmp_path / "renamed.xlsx"
    renamed.write_text("type,name\n", encoding="utf-8")
    other_zip = tmp_path / "other.xlsx"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("a.txt", "not a workbook")
    vi = "tệp bảng tính: không phải bảng tính Excel (.xlsx) đọc được"  # the app's default
    for path in (renamed, other_zip):
        assert problems(path) == [vi]
    out = tmp_path / "form.yaml"
    args = ["questionnaires", "import-xlsform", str(renamed), "--out", str(out)]
    for lang, expected in (("vi", vi), ("en", "the workbook: not a readable Excel workbook")):
        result = runner.invoke(args=[*args, "--lang", lang])
        assert result.exit_code == 1
        assert expected in result.output
        assert "pyxform" not in result.output
    assert not out.exists()


def test_unreadable_forms(tmp_path: Path) -> None:
    csv = tmp_path / "form.csv"
    csv.write_text("type,name\n", encoding="utf-8")
    assert problems(csv) == ["the workbook: only .xlsx files are supported"]
    book = openpyxl.Workbook()
    book.active.title = "questions"
    book.create_sheet("other")
    book.save(tmp_path / "nosurvey.xlsx")
    (found,) = problems(tmp_path / "nosurvey.xlsx")
    assert found.startswith("the workbook: pyxform cannot read it: You must have a sheet named")
    repeat = [
        {"type": "begin_repeat", "name": "people", VI: "Người", EN: "People"},
        {"type": "text", "name": "who", VI: "Ai", EN: "Who"},
        {"type": "end_repeat"},
    ]
    assert problems(make_xlsform(tmp_path, repeat, name="repeat.xlsx")) == [
        "survey sheet, row 2, column type: repeat groups cannot be represented (begin_repeat)"
    ]


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def test_cli_import_writes_a_loadable_file(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SURVEY_LANG", "en")  # the English output (Vietnamese: test_cli_language)
    form = make_xlsform(tmp_path)
    out = tmp_path / "kobo_test.yaml"
    result = runner.invoke(args=["questionnaires", "import-xlsform", str(form), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "skipped metadata row: survey sheet, row 2: start (start)" in result.output
    assert f"wrote {out}: 'kobo_test' version 2, 2 sections, 7 items" in result.output
    assert load_questionnaire(out) == read_xlsform(form).questionnaire

    again = runner.invoke(args=["questionnaires", "import-xlsform", str(form), "--out", str(out)])
    assert again.exit_code != 0 and "exists; pass --force" in again.output
    forced = runner.invoke(
        args=[
            *("questionnaires", "import-xlsform", str(form), "--out", str(out), "--force"),
            *("--slug", "other", "--version", "3"),
        ]
    )
    assert forced.exit_code == 0, forced.output
    assert (load_questionnaire(out).slug, load_questionnaire(out).version) == ("other", 3)


def test_cli_import_reports_every_problem(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SURVEY_LANG", "en")  # the English output (Vietnamese: test_cli_language)
    survey = replace(KOBO_SURVEY, 3, type="note")
    form = make_xlsform(tmp_path, replace(survey, 4, relevant="${trips} > 1"))
    out = tmp_path / "bad.yaml"
    result = runner.invoke(args=["questionnaires", "import-xlsform", str(form), "--out", str(out)])
    assert result.exit_code == 1
    assert f"{form}: survey sheet, row 5, column type: type 'note'" in result.output
    assert f"{form}: survey sheet, row 6, column relevant: cannot represent" in result.output
    assert "nothing was written: 2 problems" in result.output
    assert not out.exists()


def test_cli_export_round_trips(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SURVEY_LANG", "en")  # the English output (Vietnamese: test_cli_language)
    out = tmp_path / "sipas.xlsx"
    result = runner.invoke(
        args=[
            *("questionnaires", "export-xlsform", "sipas", "--dir", str(QUESTIONNAIRES)),
            *("--out", str(out)),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "'sipas' version 1" in result.output
    q = load_questionnaire(QUESTIONNAIRES / "sipas.yaml")
    assert read_xlsform(out).questionnaire == q

    missing = runner.invoke(
        args=[
            *("questionnaires", "export-xlsform", "sipas", "--version", "9"),
            *("--dir", str(QUESTIONNAIRES), "--out", str(out)),
        ]
    )
    assert missing.exit_code == 1
    assert "no questionnaire 'sipas' version 9" in missing.output
    assert "found: kiosk_quick v1, sipas v1" in missing.output
