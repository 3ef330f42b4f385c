"""Questionnaire-definition errors in the reader's language (issue 16).

An administrator reloading the questionnaires, or a survey team running ``flask
questionnaires load``, meets these messages. Inside the application they follow its
language (Vietnamese by default outside a request, ``extensions.select_locale``);
outside one (the pure tests of ``test_questionnaire.py``) they are the English msgids.
Every case of ``test_questionnaire.CASES`` is checked in both languages: in English the
same fragment as the pure test, in Vietnamese no English sentence (the detector of the
every-page test) and, for a few cases, the exact Vietnamese text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask_babel import force_locale

from survey_app.collection.questionnaire import QuestionnaireError, load_directory
from tests.helpers.languages import english_in
from tests.helpers.questionnaire_cases import CASES, errors_of, item_of, minimal

VIETNAMESE = {
    "missing_slug": "thiếu khóa bắt buộc 'slug'",
    "version_zero": "phải nằm trong khoảng từ 1 đến 1.000.000, nhưng nhận được 0",
    "duplicate_item_code": "mã câu hỏi 'q1' bị trùng",
    "label_not_mapping": "phải là một bảng khóa–giá trị (mapping), nhưng nhận được một chuỗi ký tự",
    "one_option": "phải có ít nhất 2 mục",
    "number_missing_max": "câu hỏi dạng số cần có max",
    "show_if_level_range": "cần một mức 1..3",
    "points_decreasing": "điểm không được giảm từ mức 1 đến mức 5",
}
ALLOWED = re.compile(r"\(được phép: [^)]*\)")


def reasons(mutate: object, path: str) -> list[str]:
    data = minimal()
    mutate(data)  # type: ignore[operator]
    return [e.reason for e in errors_of(data) if e.path == path]


def test_every_definition_error_is_vietnamese_in_the_app(app: Flask) -> None:
    assert set(VIETNAMESE) <= {case[0] for case in CASES}
    english = {}
    for name, mutate, path, _fragment in CASES:
        found = reasons(mutate, path)
        assert found, name
        # The allowed keys are the file's own words (required, show_if): not sentences.
        prose = [ALLOWED.sub("", text) for text in found]
        if leaked := [e for text in prose for e in english_in(text)]:
            english[name] = leaked
        if name in VIETNAMESE:
            assert any(VIETNAMESE[name] in text for text in found), (name, found)
    assert english == {}


def test_every_definition_error_is_english_when_chosen(app: Flask) -> None:
    with force_locale("en"):
        for name, mutate, path, fragment in CASES:
            assert any(fragment in text for text in reasons(mutate, path)), name
        assert "1,000,000" in reasons(CASES[3][1], "version")[0]  # version_zero


def test_the_summary_line_follows_the_language(app: Flask, tmp_path: Path) -> None:
    data = minimal()
    item_of(data, 1).update(code="q1")
    item_of(data, 0)["label"].pop("en")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    (tmp_path / "broken.yaml").write_text("slug: [unclosed\n", "utf-8")
    with pytest.raises(QuestionnaireError) as vi:
        load_directory(tmp_path)
    text = str(vi.value)
    assert text.startswith("4 lỗi trong định nghĩa phiếu khảo sát:")
    assert "bad.yaml: sections[0].items[1].code: mã câu hỏi 'q1' bị trùng" in text
    assert "broken.yaml: không đọc được tệp:" in text
    with force_locale("en"):
        with pytest.raises(QuestionnaireError) as en:
            load_directory(tmp_path)
        assert str(en.value).startswith("4 errors in questionnaire definition:")
        assert "broken.yaml: cannot read the file:" in str(en.value)
