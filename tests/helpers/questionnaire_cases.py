"""Questionnaire definitions for the format's tests: a minimal valid one, the invalid cases
with the error each must give, and helpers to read the errors and items."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from survey_app.collection.questionnaire import (
    Questionnaire,
    QuestionnaireError,
)


def lab(vi: str, en: str) -> dict[str, str]:
    return {"vi": vi, "en": en}


def opt(code: str, vi: str, en: str) -> dict[str, Any]:
    return {"code": code, "label": lab(vi, en)}


def one_section(slug: str, title: dict[str, str], items: list[dict[str, Any]]) -> dict[str, Any]:
    """Version 1 of a questionnaire ``slug`` whose ``items`` are in one section, "main"."""
    return {
        "slug": slug,
        "version": 1,
        "title": title,
        "sections": [{"code": "main", "title": lab("Phần chính", "Main part"), "items": items}],
    }


def minimal() -> dict[str, Any]:
    """A small valid definition using every item type, skip logic and an index."""
    return {
        "slug": "demo",
        "version": 1,
        "title": lab("Khảo sát thử", "Test survey"),
        "sections": [
            {
                "code": "main",
                "title": lab("Phần chính", "Main part"),
                "items": [
                    {"code": "q1", "type": "likert5", "required": True,
                     "label": lab("Câu một", "Question one")},
                    {"code": "q2", "type": "likert5", "label": lab("Câu hai", "Question two")},
                    {"code": "mood", "type": "smiley", "faces": 3,
                     "label": lab("Cảm nhận", "Feeling")},
                    {"code": "gave", "type": "single", "required": True,
                     "label": lab("Có góp ý không?", "Any feedback?"),
                     "options": [opt("yes", "Có", "Yes"), opt("no", "Không", "No")]},
                    {"code": "why", "type": "multiple", "max_choices": 2,
                     "show_if": {"item": "gave", "equals": "yes"},
                     "label": lab("Vì sao?", "Why?"),
                     "options": [opt("wait", "Chờ lâu", "Long wait"),
                                 opt("rude", "Thái độ", "Attitude"),
                                 opt("papers", "Giấy tờ", "Paperwork")]},
                    {"code": "age", "type": "number", "min": 18, "max": 100,
                     "label": lab("Tuổi", "Age")},
                    {"code": "hours", "type": "number", "min": 0, "max": 24, "integer": False,
                     "label": lab("Số giờ chờ", "Hours waited")},
                    {"code": "note", "type": "text", "max_length": 20,
                     "label": lab("Góp ý", "Comment")},
                    {"code": "sex", "type": "single", "demographic": True,
                     "label": lab("Giới tính", "Sex"),
                     "options": [opt("nam", "Nam", "Male"), opt("nu", "Nữ", "Female")]},
                ],
            },
            {
                "code": "more",
                "title": lab("Phần thêm", "Extra part"),
                "show_if": {"item": "gave", "in": ["yes"]},
                "items": [
                    {"code": "q3", "type": "likert5", "required": True,
                     "label": lab("Câu ba", "Question three")},
                ],
            },
        ],
        "index": {
            "aspects": [
                {"code": "a", "label": lab("Khía cạnh A", "Aspect A"), "items": ["q1", "q2"]},
                {"code": "b", "label": lab("Khía cạnh B", "Aspect B"), "items": ["q3"]},
            ]
        },
    }  # fmt: skip


def errors_of(data: Any) -> list[tuple[str, str, str]]:
    with pytest.raises(QuestionnaireError) as info:
        Questionnaire.from_dict(data, source="demo.yaml")
    return info.value.errors


Mutation = Callable[[dict[str, Any]], Any]


def item_of(d: dict[str, Any], i: int, section: int = 0) -> dict[str, Any]:
    return d["sections"][section]["items"][i]


CASES: list[tuple[str, Mutation, str, str]] = [
    ("unknown_top_key", lambda d: d.update(colour="red"), "colour", "unknown key 'colour'"),
    ("missing_slug", lambda d: d.pop("slug"), "", "missing required key 'slug'"),
    ("bad_slug", lambda d: d.update(slug="Bad Slug"), "slug", "slug 'Bad Slug' is invalid"),
    ("version_zero", lambda d: d.update(version=0), "version", "between 1 and"),
    ("version_text", lambda d: d.update(version="1"), "version", "must be an integer"),
    ("missing_vi", lambda d: item_of(d, 0)["label"].pop("vi"),
     "sections[0].items[0].label", "missing required key 'vi'"),
    ("empty_en", lambda d: item_of(d, 0)["label"].update(en="  "),
     "sections[0].items[0].label.en", "non-empty string"),
    ("third_language", lambda d: d["title"].update(fr="Enquête"), "title.fr", "unknown key 'fr'"),
    ("label_not_mapping", lambda d: d.update(title="Khảo sát"), "title", "must be a mapping"),
    ("unknown_item_key", lambda d: item_of(d, 0).update(colour="red"),
     "sections[0].items[0].colour", "unknown key 'colour'"),
    ("key_of_other_type", lambda d: item_of(d, 0).update(max_length=3),
     "sections[0].items[0].max_length", "unknown key"),
    ("unknown_type", lambda d: item_of(d, 0).update(type="likert7"),
     "sections[0].items[0].type", "unknown item type 'likert7'"),
    ("duplicate_item_code", lambda d: item_of(d, 1).update(code="q1"),
     "sections[0].items[1].code", "duplicate item code 'q1'"),
    ("bad_item_code", lambda d: item_of(d, 1).update(code="2nd"),
     "sections[0].items[1].code", "starting with a letter"),
    ("duplicate_section_code", lambda d: d["sections"][1].update(code="main"),
     "sections[1].code", "duplicate section code"),
    ("no_items", lambda d: d["sections"][1].update(items=[]),
     "sections[1].items", "at least 1"),
    ("required_not_bool", lambda d: item_of(d, 0).update(required="yes"),
     "sections[0].items[0].required", "must be true or false"),
    ("duplicate_option", lambda d: item_of(d, 4)["options"][1].update(code="wait"),
     "sections[0].items[4].options[1].code", "duplicate option code 'wait'"),
    ("option_code_number", lambda d: item_of(d, 4)["options"][1].update(code=2),
     "sections[0].items[4].options[1].code", "quote it"),
    ("one_option", lambda d: item_of(d, 8).update(options=[opt("nam", "Nam", "Male")]),
     "sections[0].items[8].options", "at least 2"),
    ("max_choices_range", lambda d: item_of(d, 4).update(max_choices=4),
     "sections[0].items[4].max_choices", "between 1 and 3"),
    ("min_over_max", lambda d: item_of(d, 4).update(min_choices=3),
     "sections[0].items[4].min_choices", "exceeds max_choices"),
    ("smiley_faces", lambda d: item_of(d, 2).update(faces=9),
     "sections[0].items[2].faces", "between 2 and 5"),
    ("smiley_labels_count", lambda d: item_of(d, 2).update(labels=[lab("Buồn", "Sad")]),
     "sections[0].items[2].labels", "one label per level: 3"),
    ("number_min_max", lambda d: item_of(d, 5).update(min=50, max=20),
     "sections[0].items[5].max", "greater than min"),
    ("number_missing_max", lambda d: item_of(d, 5).pop("max"),
     "sections[0].items[5]", "need max"),
    ("number_fraction_bound", lambda d: item_of(d, 5).update(min=1.5),
     "sections[0].items[5].min", "whole number"),
    ("number_bool_bound", lambda d: item_of(d, 5).update(max=True),
     "sections[0].items[5].max", "must be a number"),
    ("text_length", lambda d: item_of(d, 7).update(max_length=0),
     "sections[0].items[7].max_length", "between 1 and"),
    ("demographic_likert", lambda d: item_of(d, 0).update(demographic=True),
     "sections[0].items[0].demographic", "only single-choice"),
    ("show_if_later_item", lambda d: item_of(d, 0).update(show_if={"item": "q2", "equals": 1}),
     "sections[0].items[0].show_if.item", "not an item defined earlier"),
    ("show_if_self", lambda d: item_of(d, 1).update(show_if={"item": "q2", "equals": 1}),
     "sections[0].items[1].show_if.item", "not an item defined earlier"),
    ("show_if_unknown_option", lambda d: item_of(d, 4)["show_if"].update(equals="maybe"),
     "sections[0].items[4].show_if.equals", "unknown option"),
    ("show_if_level_range", lambda d: item_of(d, 3).update(show_if={"item": "mood", "in": [1, 4]}),
     "sections[0].items[3].show_if.in[1]", "expected a level 1..3"),
    ("show_if_both_ops", lambda d: item_of(d, 4)["show_if"].update({"in": ["no"]}),
     "sections[0].items[4].show_if", "exactly one of"),
    ("show_if_text", lambda d: d["sections"][1].update(show_if={"item": "note", "equals": "x"}),
     "sections[1].show_if.item", "free-text"),
    ("show_if_unknown_key", lambda d: item_of(d, 4)["show_if"].update(op="eq"),
     "sections[0].items[4].show_if.op", "unknown key 'op'"),
    ("aspect_unknown_item", lambda d: d["index"]["aspects"][0]["items"].append("q9"),
     "index.aspects[0].items[2]", "unknown item 'q9'"),
    ("aspect_not_likert", lambda d: d["index"]["aspects"][0]["items"].append("mood"),
     "index.aspects[0].items[2]", "aspects take likert5 items"),
    ("aspect_item_twice", lambda d: d["index"]["aspects"][1]["items"].append("q1"),
     "index.aspects[1].items[1]", "already in aspect 'a'"),
    ("aspect_duplicate", lambda d: d["index"]["aspects"][1].update(code="a"),
     "index.aspects[1].code", "duplicate aspect code"),
    ("satisfied_range", lambda d: d["index"].update(satisfied_levels=[4, 6]),
     "index.satisfied_levels[1]", "between 1 and 5"),
    ("satisfied_all", lambda d: d["index"].update(satisfied_levels=[1, 2, 3, 4, 5]),
     "index.satisfied_levels", "every level"),
    ("aspect_method", lambda d: d["index"].update(aspect_method="median"),
     "index.aspect_method", "unknown method 'median'"),
    ("overall_method", lambda d: d["index"].update(overall={"method": "geometric"}),
     "index.overall.method", "unknown method 'geometric'"),
    ("weights_missing", lambda d: d["index"].update(overall={"method": "weighted_mean_of_aspects"}),
     "index.aspects[0]", "missing 'weight'"),
    ("weight_unused", lambda d: d["index"]["aspects"][0].update(weight=2),
     "index.aspects[0].weight", "only with overall method"),
    ("overall_item_text", lambda d: d["index"].update(overall={"method": "item", "item": "note"}),
     "index.overall.item", "likert5 or smiley"),
    ("points_count", lambda d: d["index"].update(mean_score={"rule": "points", "points": [0, 1]}),
     "index.mean_score.points", "one score per level"),
    ("points_decreasing",
     lambda d: d["index"].update(mean_score={"rule": "points", "points": [0, 50, 40, 75, 100]}),
     "index.mean_score.points", "must not decrease"),
]  # fmt: skip
