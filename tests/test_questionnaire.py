"""Questionnaire files: format validation, checksum, round trip and answer validation.

Pure tests: no Flask fixtures, no database.  The expected values are written by hand
from the definitions below and from ``questionnaires/*.yaml``.
"""

from __future__ import annotations

import ast
import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from survey_app.collection.questionnaire import (
    ANSWER_ERROR_CODES,
    LIKERT5_LABELS,
    InvalidAnswersError,
    MeanScoreRule,
    Questionnaire,
    QuestionnaireError,
    assert_same_version_unchanged,
    clean_answers,
    decode_answers,
    encode_answers,
    load_directory,
    load_questionnaire,
    validate_answers,
    visible_items,
)
from tests.helpers.questionnaire_cases import CASES, Mutation, errors_of, item_of, minimal

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "questionnaires"
PACKAGE = ROOT / "survey_app" / "collection" / "questionnaire"
DATA = Path(__file__).resolve().parent / "data" / "questionnaires"


@pytest.fixture(scope="module")
def sipas() -> Questionnaire:
    return load_questionnaire(SHIPPED / "sipas.yaml")


@pytest.fixture(scope="module")
def kiosk() -> Questionnaire:
    return load_questionnaire(SHIPPED / "kiosk_quick.yaml")


@pytest.fixture(scope="module")
def demo() -> Questionnaire:
    return Questionnaire.from_dict(minimal())


def codes(errors: list[Any]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in errors]


# ---------------------------------------------------------------------------
# Shipped questionnaires
# ---------------------------------------------------------------------------


def test_shipped_directory_loads() -> None:
    loaded = load_directory(SHIPPED)
    assert [(q.slug, q.version) for q in loaded] == [("kiosk_quick", 1), ("sipas", 1)]


def test_sipas_structure(sipas: Questionnaire) -> None:
    index = sipas.index
    assert index is not None
    assert [a.code for a in index.aspects] == ["access", "process", "staff", "result", "feedback"]
    criteria = [c for a in index.aspects for c in a.items]
    assert len(criteria) == 23
    assert all(3 <= len(a.items) <= 6 for a in index.aspects)
    assert index.satisfied_levels == (4, 5)
    assert index.aspect_method == "pooled"
    assert index.overall.method == "mean_of_aspects"
    assert index.mean_score.points_for(5) == (0.0, 25.0, 50.0, 75.0, 100.0)
    assert [i.code for i in sipas.demographic_items] == [
        "gender",
        "age_group",
        "education",
        "occupation",
    ]
    assert sipas.item("overall").type == "likert5"
    assert "dat_dai" in sipas.item("field").option_codes
    feedback = next(s for s in sipas.sections if s.code == "feedback")
    assert feedback.show_if is not None
    assert (feedback.show_if.item, feedback.show_if.values) == ("gave_feedback", ("yes",))
    assert set(index.aspect("feedback").items) == {i.code for i in feedback.items}
    comment = sipas.item("comment")
    assert comment.type == "text" and comment.warning is not None
    assert "số điện thoại" in comment.warning.vi


def test_kiosk_structure(kiosk: Questionnaire) -> None:
    mood = kiosk.item("mood")
    assert (mood.type, mood.required, mood.scale_size) == ("smiley", True, 5)
    assert [i.code for i in kiosk.items if i.required] == ["mood"]
    assert kiosk.item("problems").type == "multiple"
    assert kiosk.index is not None
    assert kiosk.index.overall.method == "item"
    assert kiosk.index.overall.item == "mood"
    assert kiosk.index.overall.satisfied_levels == (4, 5)
    assert len(kiosk.index.aspects) == 3


def collect_labels(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every {vi, en} mapping in a definition, with its path."""
    found = []
    if isinstance(node, dict):
        if set(node) == {"vi", "en"}:
            return [(path, node)]
        for key, value in node.items():
            found += collect_labels(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += collect_labels(value, f"{path}[{i}]")
    return found


@pytest.mark.parametrize("name", ["sipas.yaml", "kiosk_quick.yaml"])
def test_shipped_labels_are_bilingual(name: str) -> None:
    raw = yaml.safe_load((SHIPPED / name).read_text(encoding="utf-8"))
    labels = collect_labels(raw)
    assert len(labels) > 10
    for path, label in labels:
        assert isinstance(label["vi"], str) and label["vi"].strip(), path
        assert isinstance(label["en"], str) and label["en"].strip(), path
        assert label["vi"].strip() != label["en"].strip(), f"{path}: not translated"


def test_likert_scale_labels() -> None:
    assert LIKERT5_LABELS[0].vi == "Rất không hài lòng"
    assert LIKERT5_LABELS[-1].vi == "Rất hài lòng"
    assert [lab.en for lab in LIKERT5_LABELS][::4] == ["Very dissatisfied", "Very satisfied"]


# ---------------------------------------------------------------------------
# Definition errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "path", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_definition_error_is_reported(mutate: Mutation, path: str, reason: str) -> None:
    data = minimal()
    mutate(data)
    errors = errors_of(data)
    assert any(e.path == path and reason in e.reason for e in errors), errors
    assert all(e.file == "demo.yaml" for e in errors)


def test_all_errors_are_collected_and_readable() -> None:
    data = minimal()
    item_of(data, 0)["label"].pop("en")
    item_of(data, 1).update(code="q1")
    data["index"]["aspects"][0]["items"].append("nope")
    errors = errors_of(data)
    assert [e.path for e in errors] == [
        "sections[0].items[0].label",
        "sections[0].items[1].code",
        "index.aspects[0].items[1]",  # there is no q2 any more
        "index.aspects[0].items[2]",
    ]
    file, path, _reason = errors[0]  # plain (file, path, reason) tuples
    assert (file, path) == ("demo.yaml", "sections[0].items[0].label")
    message = str(QuestionnaireError(errors))
    assert message.startswith("4 errors in questionnaire definition:")
    assert "demo.yaml: sections[0].items[1].code: duplicate item code 'q1'" in message


def test_weighted_and_points_rules_are_accepted() -> None:
    data = minimal()
    data["index"]["overall"] = {"method": "weighted_mean_of_aspects"}
    data["index"]["aspects"][0]["weight"] = 2
    data["index"]["aspects"][1]["weight"] = 0.5
    data["index"]["mean_score"] = {"rule": "points", "points": [0, 10, 50, 90, 100]}
    q = Questionnaire.from_dict(data)
    assert q.index is not None
    assert [a.weight for a in q.index.aspects] == [2, 0.5]
    assert q.index.mean_score.score(2) == 10
    with pytest.raises(ValueError, match="not 3"):
        q.index.mean_score.points_for(3)


def test_overall_item_default_levels() -> None:
    data = minimal()
    data["index"]["overall"] = {"method": "item", "item": "mood"}
    q = Questionnaire.from_dict(data)
    assert q.index is not None
    assert q.index.overall.satisfied_levels == (3,)  # the top face of three


def test_mean_score_linear_rule() -> None:
    rule = MeanScoreRule()
    assert rule.points_for(3) == (0.0, 50.0, 100.0)
    assert rule.score(4) == 75.0
    with pytest.raises(ValueError):
        rule.score(6)


# ---------------------------------------------------------------------------
# Files and directories
# ---------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    data = minimal()
    item_of(data, 0)["type"] = "stars"
    path = write(tmp_path / "bad.yaml", yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(path)
    assert info.value.errors == [
        (str(path), "sections[0].items[0].type", info.value.errors[0].reason)
    ]
    assert "unknown item type 'stars'" in str(info.value)


def test_yaml_syntax_and_duplicate_keys(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.yaml", "slug: [unclosed\n")
    dup = write(tmp_path / "dup.yaml", "slug: a\nversion: 1\nslug: b\n")
    for path in (broken, dup):
        with pytest.raises(QuestionnaireError) as info:
            load_questionnaire(path)
        (error,) = info.value.errors
        assert error.file == str(path) and error.path == ""
        assert "cannot read the file" in error.reason
    with pytest.raises(QuestionnaireError, match=r"duplicate key 'slug'.*line 3"):
        load_questionnaire(dup)


def test_yes_and_no_stay_strings_but_comma_is_explained(tmp_path: Path) -> None:
    text = yaml.safe_dump(minimal(), allow_unicode=True).replace("'yes'", "yes")
    text = text.replace("'no'", "no")
    assert "code: no" in text
    q = load_questionnaire(write(tmp_path / "yesno.yaml", text))
    assert q.item("gave").option_codes == ("yes", "no")
    data = minimal()
    del data["title"]
    flow = "title: {vi: Khảo sát, thử nghiệm, en: Test survey}\n" + yaml.safe_dump(data)
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(write(tmp_path / "comma.yaml", flow))
    (error,) = info.value.errors
    assert error.path == "title.thử nghiệm"
    assert "put texts with commas in quotes" in error.reason


def test_a_file_changed_in_place_is_read_again(tmp_path: Path) -> None:
    # Validated files are kept per process by name and text (loading._validated): the
    # same name with a new text, or a valid file made invalid, is never answered from
    # what was kept.
    data = minimal()
    path = write(tmp_path / "same.yaml", yaml.safe_dump(data, allow_unicode=True))
    assert load_questionnaire(path).version == 1
    data["version"] = 2
    write(path, yaml.safe_dump(data, allow_unicode=True))
    assert load_questionnaire(path).version == 2
    item_of(data, 0)["type"] = "stars"
    write(path, yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(QuestionnaireError, match="unknown item type 'stars'"):
        load_questionnaire(path)
    data = minimal()
    write(path, yaml.safe_dump(data, allow_unicode=True))
    assert load_questionnaire(path) == Questionnaire.from_dict(minimal())


def test_json_files_load(tmp_path: Path) -> None:
    path = write(tmp_path / "demo.json", json.dumps(minimal(), ensure_ascii=False))
    assert load_questionnaire(path) == Questionnaire.from_dict(minimal())


def test_directory_reports_every_file_and_duplicate_versions(tmp_path: Path) -> None:
    write(tmp_path / "README.md", "# not a questionnaire\n")
    dumped = yaml.safe_dump(minimal(), allow_unicode=True)
    write(tmp_path / "a.yaml", dumped)
    write(tmp_path / "b.yml", dumped)
    bad = minimal()
    bad["version"] = -1
    write(tmp_path / "c.yaml", yaml.safe_dump(bad, allow_unicode=True))
    with pytest.raises(QuestionnaireError) as info:
        load_directory(tmp_path)
    found = [(Path(e.file).name, e.path) for e in info.value.errors]
    assert found == [("b.yml", "version"), ("c.yaml", "version")]
    assert "also defined in" in info.value.errors[0].reason


def test_fixture_files_are_rejected() -> None:
    with pytest.raises(QuestionnaireError) as info:
        load_directory(DATA)
    reasons = {(Path(e.file).name, e.path): e.reason for e in info.value.errors}
    assert "must be a mapping" in reasons[("not_a_mapping.yaml", "")]
    assert "missing required key 'en'" in reasons[("missing_english.yaml", "title")]


# ---------------------------------------------------------------------------
# Canonical form, checksum and the same-version rule
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sipas.yaml", "kiosk_quick.yaml"])
def test_round_trip_through_json(name: str) -> None:
    q = load_questionnaire(SHIPPED / name)
    stored = json.loads(json.dumps(q.to_dict()))
    again = Questionnaire.from_dict(stored)
    assert again == q
    assert again.checksum == q.checksum
    assert again.to_dict() == q.to_dict()


def test_checksum_ignores_layout_comments_and_defaults(tmp_path: Path) -> None:
    original = (SHIPPED / "sipas.yaml").read_text(encoding="utf-8")
    q = load_questionnaire(SHIPPED / "sipas.yaml")
    reformatted = "# a new comment\n" + yaml.safe_dump(
        yaml.safe_load(original), allow_unicode=True, default_flow_style=True, width=60
    )
    assert load_questionnaire(write(tmp_path / "a.yaml", reformatted)).checksum == q.checksum
    explicit = q.to_dict()  # every default written out
    compact = minimal()
    explicit_demo = Questionnaire.from_dict(compact).to_dict()
    assert "required" not in compact["sections"][0]["items"][1]
    assert (
        Questionnaire.from_dict(explicit_demo).checksum == Questionnaire.from_dict(compact).checksum
    )
    assert Questionnaire.from_dict(explicit).checksum == q.checksum


def test_checksum_changes_with_content() -> None:
    base = Questionnaire.from_dict(minimal()).checksum
    assert len(base) == 64
    changed = minimal()
    item_of(changed, 0)["label"]["vi"] = "Câu thứ nhất"
    assert Questionnaire.from_dict(changed).checksum != base
    reordered = minimal()
    options = item_of(reordered, 8)["options"]
    options.reverse()
    assert Questionnaire.from_dict(reordered).checksum != base


def test_same_version_rule(demo: Questionnaire) -> None:
    assert_same_version_unchanged(demo.checksum, demo)  # unchanged: no error
    changed = minimal()
    changed["title"]["en"] = "Another title"
    new = Questionnaire.from_dict(changed, source="questionnaires/demo.yaml")
    with pytest.raises(QuestionnaireError) as info:
        assert_same_version_unchanged(demo.checksum, new)
    (error,) = info.value.errors
    assert error.file == "questionnaires/demo.yaml"
    assert "version 1 is already stored" in error.reason
    assert "version: 2" in error.reason


def test_from_dict_rejects_non_mapping() -> None:
    assert errors_of(["slug"])[0].reason == "must be a mapping, got a list"


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------


def full_answers() -> dict[str, Any]:
    return {
        "q1": 4,
        "q2": 2,
        "mood": 3,
        "gave": "yes",
        "why": ["papers", "wait"],
        "age": 40.0,
        "hours": 1.5,
        "note": "  Tốt  ",
        "sex": "nu",
        "q3": 5,
    }


def test_valid_answers(demo: Questionnaire) -> None:
    assert validate_answers(demo, full_answers()) == []
    assert validate_answers(demo, {"q1": 1, "gave": "no"}) == []


ANSWER_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    ("required", {"q1": None}, [("q1", "required")]),
    ("required_blank", {"q1": "  "}, [("q1", "required")]),
    ("unknown_item", {"zz": 1}, [("zz", "unknown_item")]),
    ("likert_range", {"q1": 6}, [("q1", "out_of_range")]),
    ("likert_zero", {"q1": 0}, [("q1", "out_of_range")]),
    ("smiley_range", {"mood": 4}, [("mood", "out_of_range")]),
    ("likert_string", {"q1": "4"}, [("q1", "wrong_type")]),
    ("likert_float", {"q1": 4.0}, [("q1", "wrong_type")]),
    ("likert_bool", {"q1": True}, [("q1", "wrong_type")]),
    ("single_unknown", {"sex": "x"}, [("sex", "unknown_option")]),
    ("single_list", {"sex": ["nam"]}, [("sex", "wrong_type")]),
    ("multiple_string", {"gave": "yes", "q3": 1, "why": "wait"}, [("why", "wrong_type")]),
    ("multiple_unknown", {"gave": "yes", "q3": 1, "why": ["wait", "noise"]},
     [("why", "unknown_option")]),
    ("multiple_duplicate", {"gave": "yes", "q3": 1, "why": ["wait", "wait"]},
     [("why", "duplicate_option")]),
    ("multiple_too_many", {"gave": "yes", "q3": 1, "why": ["wait", "rude", "papers"]},
     [("why", "too_many_choices")]),
    ("number_bool", {"age": True}, [("age", "wrong_type")]),
    ("number_string", {"age": "40"}, [("age", "wrong_type")]),
    ("number_nan", {"hours": float("nan")}, [("hours", "wrong_type")]),
    ("number_fraction", {"age": 40.5}, [("age", "not_integer")]),
    ("number_range", {"age": 17}, [("age", "out_of_range")]),
    ("number_float_range", {"hours": 24.5}, [("hours", "out_of_range")]),
    ("text_type", {"note": 5}, [("note", "wrong_type")]),
    ("text_too_long", {"note": "x" * 21}, [("note", "too_long")]),
    ("text_control", {"note": "a\x00b"}, [("note", "invalid_characters")]),
    ("hidden_item", {"gave": "no", "why": ["wait"]}, [("why", "hidden_item_answered")]),
    ("hidden_section", {"gave": "no", "q3": 4}, [("q3", "hidden_item_answered")]),
    ("shown_section_required", {"gave": "yes"}, [("q3", "required")]),
    ("invalid_answer_steers_nothing", {"gave": "perhaps", "q3": 4},
     [("gave", "unknown_option"), ("q3", "hidden_item_answered")]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("patch", "expected"), [c[1:] for c in ANSWER_CASES], ids=[c[0] for c in ANSWER_CASES]
)
def test_answer_errors(
    demo: Questionnaire, patch: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    answers = {"q1": 3, "gave": "no"} | patch
    errors = validate_answers(demo, answers)
    assert codes(errors) == expected
    assert all(e.message and e.code in ANSWER_ERROR_CODES for e in errors)


def test_answers_must_be_an_object(demo: Questionnaire) -> None:
    (error,) = validate_answers(demo, [("q1", 3)])
    assert (error.field, error.code) == ("answers", "wrong_type")
    assert error.to_dict() == {"field": "answers", "code": "wrong_type", "message": error.message}


def test_every_error_code_is_reported_in_one_pass(demo: Questionnaire) -> None:
    answers = {"q1": 9, "gave": "no", "why": ["wait"], "zz": 1, "note": "x" * 30}
    assert codes(validate_answers(demo, answers)) == [
        ("zz", "unknown_item"),
        ("q1", "out_of_range"),
        ("why", "hidden_item_answered"),
        ("note", "too_long"),
    ]


def test_paper_forms_may_skip_required(demo: Questionnaire) -> None:
    assert validate_answers(demo, {}, enforce_required=False) == []
    assert codes(validate_answers(demo, {})) == [("q1", "required"), ("gave", "required")]


def test_visible_items(demo: Questionnaire) -> None:
    assert "why" not in visible_items(demo, {"gave": "no"})
    assert {"why", "q3"} <= visible_items(demo, {"gave": "yes"})
    assert "q3" not in visible_items(demo, {})


def test_clean_answers(demo: Questionnaire) -> None:
    clean = clean_answers(demo, full_answers() | {"q2": None})
    assert clean == {
        "q1": 4,
        "mood": 3,
        "gave": "yes",
        "why": ["wait", "papers"],  # option order
        "age": 40,
        "hours": 1.5,
        "note": "Tốt",
        "sex": "nu",
        "q3": 5,
    }
    assert isinstance(clean["age"], int)
    with pytest.raises(InvalidAnswersError) as info:
        clean_answers(demo, {"q1": 7})
    assert codes(info.value.errors) == [("q1", "out_of_range"), ("gave", "required")]


def test_encode_and_decode(demo: Questionnaire) -> None:
    rows = encode_answers(demo, full_answers())
    assert rows == [
        ("q1", 4),
        ("q2", 2),
        ("mood", 3),
        ("gave", 1),
        ("why", 1),
        ("why", 3),
        ("age", 40),
        # hours = 1.5 is not whole: no row; note is text: no row
        ("sex", 2),
        ("q3", 5),
    ]
    assert decode_answers(demo, rows) == {
        "q1": 4,
        "q2": 2,
        "mood": 3,
        "gave": "yes",
        "why": ["wait", "papers"],
        "age": 40,
        "sex": "nu",
        "q3": 5,
    }
    with pytest.raises(InvalidAnswersError):
        encode_answers(demo, {"q1": "bad"})
    with pytest.raises(ValueError, match="out of range"):
        decode_answers(demo, [("sex", 3)])
    with pytest.raises(ValueError, match="no numeric code"):
        decode_answers(demo, [("note", 1)])


def test_value_labels(demo: Questionnaire, sipas: Questionnaire) -> None:
    assert demo.item("sex").value_labels("en") == {1: "Male", 2: "Female"}
    assert demo.item("mood").value_labels() == {
        1: "Không hài lòng",
        2: "Bình thường",
        3: "Hài lòng",
    }
    assert sipas.item("acc1").value_labels()[5] == "Rất hài lòng"
    assert demo.item("note").value_labels() == {}


def test_sipas_answers(sipas: Questionnaire) -> None:
    answers: dict[str, Any] = {code: 4 for code in sipas.item_codes if code[-1].isdigit()}
    answers |= {"field": "dat_dai", "gave_feedback": "yes", "overall": 5, "gender": "nu"}
    assert validate_answers(sipas, answers) == []
    answers["gave_feedback"] = "no"
    hidden = [e.field for e in validate_answers(sipas, answers)]
    assert hidden == ["fb1", "fb2", "fb3", "fb4"]
    for code in hidden:
        del answers[code]
    assert validate_answers(sipas, answers) == []
    assert ("field", 1) in encode_answers(sipas, answers)


def test_kiosk_answers(kiosk: Questionnaire) -> None:
    assert codes(validate_answers(kiosk, {})) == [("mood", "required")]
    assert validate_answers(kiosk, {"mood": 2, "problems": ["cho_lau", "tre_hen"]}) == []
    assert codes(validate_answers(kiosk, {"mood": 5, "problems": ["cho_lau"]})) == [
        ("problems", "hidden_item_answered")
    ]
    assert encode_answers(kiosk, {"mood": 5, "positives": ["nhanh"], "fu_wait": 4}) == [
        ("mood", 5),
        ("positives", 1),
        ("fu_wait", 4),
    ]


# ---------------------------------------------------------------------------
# Purity
# ---------------------------------------------------------------------------


def test_module_imports_only_stdlib_yaml_and_babel() -> None:
    """No Flask application needed: Flask-Babel's gettext translates the messages
    inside one and returns the English msgids outside one. Every file of the package
    imports only these and the package's own files."""
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) > 1 and PACKAGE / "__init__.py" in files
    own = "survey_app.collection.questionnaire"
    allowed = set(sys.stdlib_module_names) | {"yaml", "__future__", "babel", "flask_babel"}
    for path in files:
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: no relative imports"
                imported.add(node.module or "")
        outside = {m for m in imported if m != own and not m.startswith(own + ".")}
        assert {m.split(".")[0] for m in outside} - allowed == set(), path.name


def test_definition_objects_are_frozen(demo: Questionnaire) -> None:
    with pytest.raises(AttributeError):
        demo.slug = "other"  # type: ignore[misc]
    assert copy.deepcopy(demo) == demo


def test_more_skip_logic_and_choice_bounds() -> None:
    data = minimal()
    item_of(data, 4)["min_choices"] = 2
    item_of(data, 7)["show_if"] = {"item": "why", "in": ["rude"]}  # any chosen option
    item_of(data, 8)["show_if"] = {"item": "age", "equals": 18.0}
    q = Questionnaire.from_dict(data)
    assert q.item("sex").show_if is not None and q.item("sex").show_if.values == (18,)
    base = {"q1": 1, "gave": "yes", "q3": 2}
    assert codes(validate_answers(q, base | {"why": ["wait"]})) == [("why", "too_few_choices")]
    shown = visible_items(q, base | {"why": ["wait", "rude"], "age": 18})
    assert {"note", "sex"} <= shown
    assert not {"note", "sex"} & visible_items(q, base | {"why": ["wait", "papers"], "age": 19})
