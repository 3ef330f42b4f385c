"""OpenAPI description of the read endpoints: indices, changes, trends and rankings."""

from __future__ import annotations

from typing import Any

from survey_app.openapi.common import error_response

_NUMBER_OR_NULL = {"type": ["number", "null"]}


def _query(
    name: str,
    description: str,
    *,
    required: bool = False,
    many: bool = False,
    enum: list[str] | None = None,
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if enum:
        schema["enum"] = enum
    if many:
        schema = {"type": "array", "items": schema}
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
        "explode": True,
    }


INDEX = _query("index", "`overall` (default) or `aspect:<code>` of the questionnaire.")
KIND = _query(
    "kind", "`rate` (share satisfied, 0-1; default) or `score` (0-100).", enum=["rate", "score"]
)
LANG = _query(
    "lang", "Language of messages and sentences (default: Accept-Language, vi).", enum=["vi", "en"]
)

ERRORS: dict[str, Any] = {
    "400": error_response("A parameter is missing or invalid."),
    "401": error_response("Not logged in (the API uses the dashboard's session)."),
    "403": error_response("The user's role may not read indices."),
    "404": error_response("A unit or wave is unknown or outside the user's scope."),
    "422": error_response("The request cannot be computed (e.g. waves of different kinds)."),
}


def _get(summary: str, description: str, parameters: list[dict[str, Any]], schema: str) -> dict:
    return {
        "get": {
            "summary": summary,
            "description": description,
            "security": [{"session": []}],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "The result.",
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                    },
                },
                **ERRORS,
            },
        }
    }


PATHS: dict[str, Any] = {
    "/indices": _get(
        "Satisfaction indices with confidence intervals",
        "Each unit includes every unit below it. Field surveys (design-based) and "
        "continuous feedback (model-based) are never pooled.",
        [
            _query("unit", "Unit code(s).", required=True, many=True),
            _query("wave", "Wave code(s).", required=True, many=True),
            INDEX,
            KIND,
            _query(
                "by",
                "Break down by procedure field and/or channel.",
                many=True,
                enum=["field", "channel"],
            ),
            _query("field", "Only this procedure field (code)."),
            _query("channel", "Only this channel.", enum=["kiosk", "phone", "field", "paper"]),
            LANG,
        ],
        "IndexTable",
    ),
    "/changes": _get(
        "Change of an index between two waves",
        "Difference with CI and p-value; the joint covariance is used when the waves "
        "share PSUs, independence otherwise.",
        [
            _query("unit", "Unit code.", required=True),
            _query("from", "Earlier wave code.", required=True),
            _query("to", "Later wave code.", required=True),
            INDEX,
            KIND,
            LANG,
        ],
        "Change",
    ),
    "/trends": _get(
        "Trend of an index across three or more waves",
        "Weighted least-squares slope per year (svyglm-style) with a design-based SE.",
        [
            _query("unit", "Unit code.", required=True),
            _query("wave", "Three or more wave codes.", required=True, many=True),
            INDEX,
            KIND,
            LANG,
        ],
        "Trend",
    ),
    "/rankings": _get(
        "Ranking of the units under a parent, with rank intervals",
        "Rank intervals are simulated from the joint distribution of the estimates with a "
        "fixed seed; flags compare each unit with the parent's figure after Holm's "
        "adjustment for multiple comparisons.",
        [
            _query("parent", "Code of the parent unit.", required=True),
            _query("wave", "Wave code.", required=True),
            _query(
                "unit_kind",
                "Only children of this kind.",
                enum=["district", "commune", "department"],
            ),
            _query("previous", "Earlier wave for rank changes."),
            INDEX,
            KIND,
            LANG,
        ],
        "Ranking",
    ),
}

FIGURE = {
    "type": "object",
    "required": ["unit", "wave", "index", "kind", "value", "n", "reportable", "inference"],
    "properties": {
        "unit": {"type": "string"},
        "wave": {"type": "string"},
        "field": {"type": ["integer", "null"]},
        "channel": {"type": ["string", "null"]},
        "index": {"type": "string"},
        "kind": {"enum": ["rate", "score"]},
        "value": _NUMBER_OR_NULL,
        "se": _NUMBER_OR_NULL,
        "ci_low": _NUMBER_OR_NULL,
        "ci_high": _NUMBER_OR_NULL,
        "df": _NUMBER_OR_NULL,
        "n": {"type": "integer"},
        "n_eff": _NUMBER_OR_NULL,
        "scheme": {"type": "string"},
        "inference": {
            "enum": ["design-based", "model-based", "small-area"],
            "description": "small-area: a commune's Fay–Herriot estimate (interval from "
            "its MSE, no df), shown where its direct figure is not reportable and the "
            "survey team switched small-area figures on for the wave.",
        },
        "lonely_psu": {
            "enum": ["fail", "remove", "adjust", "average", "certainty"],
            "description": "The wave's rule for strata with a single PSU (R's "
            "survey.lonely.psu), set by the survey team.",
        },
        "fpc": {
            "type": "boolean",
            "description": "Whether the finite population correction applies (the wave's "
            "sample frame states the PSUs of every sampled stratum).",
        },
        "reportable": {
            "type": "boolean",
            "description": "False below the minimum effective n or above the maximum CI "
            "half-width: show 'not enough data'. A leader then gets no value, se, CI or "
            "df (null); analysts and administrators get them, flagged.",
        },
    },
}
DIFFERENCE = {
    "type": "object",
    "properties": {
        k: {"type": "number"} for k in ("value", "se", "ci_low", "ci_high", "df", "p_value")
    },
}

SCHEMAS: dict[str, Any] = {
    "IndexFigure": FIGURE,
    "IndexTable": {
        "type": "object",
        "properties": {
            "figures": {"type": "array", "items": {"$ref": "#/components/schemas/IndexFigure"}},
            "no_data": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "unit": {"type": "string"},
                        "wave": {"type": "string"},
                        "message": {"type": "string"},
                    },
                    "required": ["unit", "wave", "message"],
                },
                "description": "Unit and wave pairs asked for that have no figure: the unit "
                "has no answers in the wave (or none of the `field` or `channel` asked for). "
                "Each with the reason in the request's language.",
            },
        },
        "required": ["figures", "no_data"],
    },
    "Change": {
        "type": "object",
        "properties": {
            "before": {"$ref": "#/components/schemas/IndexFigure"},
            "after": {"$ref": "#/components/schemas/IndexFigure"},
            "difference": {
                "oneOf": [DIFFERENCE, {"type": "null"}],
                "description": "null when a figure is hidden from the caller (reporting rule)",
            },
            "significant": {"type": ["boolean", "null"]},
            "shared_psus": {"type": "boolean"},
            "sentence": {"type": ["string", "null"]},
        },
    },
    "Trend": {
        "type": "object",
        "properties": {
            "figures": {"type": "array", "items": {"$ref": "#/components/schemas/IndexFigure"}},
            **{
                k: {
                    "type": ["number", "null"],
                    "description": "null when a figure is hidden from the caller",
                }
                for k in ("slope_per_year", "se", "ci_low", "ci_high", "p_value")
            },
            "sentence": {"type": ["string", "null"]},
        },
    },
    "Ranking": {
        "type": "object",
        "properties": {
            "overall": {"$ref": "#/components/schemas/IndexFigure"},
            "multiple_comparisons": {"const": "holm"},
            "rank_interval": {"type": "object"},
            "not_ranked": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Units left out of a leader's ranking: their figure fails "
                "the reporting rule (not enough data).",
            },
            "no_data": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Units under the parent with no answer in the wave: not "
                "ranked (as on the ranking page). Fewer than two units with answers: 422.",
            },
            "rows": {"type": "array", "items": {"type": "object"}},
            "funnel": {"type": "object"},
        },
    },
}
