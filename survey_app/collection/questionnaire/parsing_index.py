"""Parsing the ``index`` block: satisfied levels, aspects, the overall rule and the
mean-score rule, checked against the items already read.
"""

from __future__ import annotations

import itertools
from typing import Any

from flask_babel import gettext as _

from survey_app.collection.questionnaire.index import (
    ASPECT_METHODS,
    DEFAULT_OVERALL_LABEL,
    MEAN_SCORE_RULES,
    OVERALL_METHODS,
    Aspect,
    IndexDefinition,
    MeanScoreRule,
    OverallRule,
)
from survey_app.collection.questionnaire.model import ITEM_CODE_RE, SCALE_TYPES
from survey_app.collection.questionnaire.parsing import PLACEHOLDER, DefinitionParser, sub_path
from survey_app.collection.questionnaire.values import is_number, norm_number


class IndexParser(DefinitionParser):
    """The index block, on top of :class:`DefinitionParser` (the items are read first)."""

    def index(self, raw: Any, path: str) -> IndexDefinition | None:
        d = self.mapping(
            raw, path, (), ("satisfied_levels", "aspect_method", "aspects", "overall", "mean_score")
        )
        if d is None:
            return None
        satisfied: tuple[int, ...] | None = (4, 5)
        if "satisfied_levels" in d:
            satisfied = self.levels(d["satisfied_levels"], sub_path(path, "satisfied_levels"), 1, 5)
        aspect_method = d.get("aspect_method", "pooled")
        if aspect_method not in ASPECT_METHODS:
            self.error(
                sub_path(path, "aspect_method"),
                _(
                    "unknown method %(method)s (allowed: %(allowed)s)",
                    method=repr(aspect_method),
                    allowed=", ".join(ASPECT_METHODS),
                ),
            )
        overall = self.overall(d.get("overall", {}), sub_path(path, "overall"), satisfied)
        weighted = overall is not None and overall.method == "weighted_mean_of_aspects"
        aspects = self.aspects(d.get("aspects", []), sub_path(path, "aspects"), weighted)
        if overall is not None and overall.method != "item" and not aspects:
            self.error(
                sub_path(path, "aspects"),
                _("the overall method '%(method)s' needs aspects", method=overall.method),
            )
        mean_score = self.mean_score(d.get("mean_score", {}), sub_path(path, "mean_score"), overall)
        if satisfied is None or overall is None or mean_score is None:
            return None
        return IndexDefinition(satisfied, aspect_method, aspects, overall, mean_score)

    def aspects(self, raw: Any, path: str, weighted: bool) -> tuple[Aspect, ...]:
        result = []
        codes: set[str] = set()
        owner: dict[str, str] = {}
        for i, raw_aspect in enumerate(self.seq(raw, path, min_len=0)):
            p = sub_path(path, i)
            d = self.mapping(raw_aspect, p, ("code", "label", "items"), ("weight",))
            if d is None:
                continue
            code = (
                self.code(d.get("code"), sub_path(p, "code"), ITEM_CODE_RE, _("aspect code")) or ""
            )
            if code in codes:
                self.error(sub_path(p, "code"), _("duplicate aspect code '%(code)s'", code=code))
            codes.add(code)
            label = self.label(d["label"], sub_path(p, "label")) if "label" in d else PLACEHOLDER
            ipath = sub_path(p, "items")
            items = self.seq(d.get("items"), ipath) if "items" in d else []
            for j, item_code in enumerate(items):
                item = self.items.get(item_code) if isinstance(item_code, str) else None
                if item is None:
                    if item_code not in self.broken:
                        self.error(
                            sub_path(ipath, j), _("unknown item %(code)s", code=repr(item_code))
                        )
                elif item.type != "likert5":
                    self.error(
                        sub_path(ipath, j),
                        _(
                            "item '%(code)s' is %(type)s; aspects take likert5 items",
                            code=item_code,
                            type=item.type,
                        ),
                    )
                elif item_code in owner:
                    self.error(
                        sub_path(ipath, j),
                        _(
                            "item '%(code)s' is already in aspect '%(aspect)s'",
                            code=item_code,
                            aspect=owner[item_code],
                        ),
                    )
                else:
                    owner[item_code] = code
            weight = None
            if "weight" in d:
                weight = d["weight"]
                if not weighted:
                    self.error(
                        sub_path(p, "weight"),
                        _("weights are used only with overall method 'weighted_mean_of_aspects'"),
                    )
                elif not is_number(weight) or weight <= 0:
                    self.error(
                        sub_path(p, "weight"),
                        _("must be a positive number, got %(value)s", value=repr(weight)),
                    )
                else:
                    weight = norm_number(weight)
            elif weighted:
                self.error(
                    p, _("missing 'weight' (the overall method is 'weighted_mean_of_aspects')")
                )
            result.append(
                Aspect(code, label, tuple(c for c in items if isinstance(c, str)), weight)
            )
        return tuple(result)

    def overall(self, raw: Any, path: str, satisfied: tuple[int, ...] | None) -> OverallRule | None:
        d = self.mapping(raw, path, (), ("method", "label", "item", "satisfied_levels"))
        if d is None:
            return None
        method = d.get("method", "mean_of_aspects")
        if method not in OVERALL_METHODS:
            self.error(
                sub_path(path, "method"),
                _(
                    "unknown method %(method)s (allowed: %(allowed)s)",
                    method=repr(method),
                    allowed=", ".join(OVERALL_METHODS),
                ),
            )
            return None
        label = self.opt_label(d, "label", path) or DEFAULT_OVERALL_LABEL
        if method != "item":
            for key in ("item", "satisfied_levels"):
                if key in d:
                    self.error(sub_path(path, key), _("used only with method 'item'"))
            return OverallRule(method, label)
        if "item" not in d:
            self.error(path, _("method 'item' needs 'item'"))
            return None
        item = self.items.get(d["item"]) if isinstance(d["item"], str) else None
        if item is None or item.type not in SCALE_TYPES:
            self.error(
                sub_path(path, "item"),
                _(
                    "must be the code of a likert5 or smiley item, got %(value)s",
                    value=repr(d["item"]),
                ),
            )
            return None
        k = len(item.levels)
        if "satisfied_levels" in d:
            levels = self.levels(d["satisfied_levels"], sub_path(path, "satisfied_levels"), 1, k)
        elif k == 5:
            levels = satisfied  # the index's satisfied levels
        else:  # the levels above the midpoint
            levels = tuple(range(k - k // 2 + 1, k + 1))
        if levels is None:
            return None
        return OverallRule("item", label, item.code, levels)

    def mean_score(self, raw: Any, path: str, overall: OverallRule | None) -> MeanScoreRule | None:
        d = self.mapping(raw, path, (), ("rule", "points"))
        if d is None:
            return None
        rule = d.get("rule", "linear_0_100")
        if rule not in MEAN_SCORE_RULES:
            self.error(
                sub_path(path, "rule"),
                _(
                    "unknown rule %(rule)s (allowed: %(allowed)s)",
                    rule=repr(rule),
                    allowed=", ".join(MEAN_SCORE_RULES),
                ),
            )
            return None
        if rule == "linear_0_100":
            if "points" in d:
                self.error(sub_path(path, "points"), _("used only with rule 'points'"))
            return MeanScoreRule()
        ppath = sub_path(path, "points")
        points = self.seq(d.get("points"), ppath) if "points" in d else []
        if "points" not in d:
            self.error(path, _("rule 'points' needs 'points'"))
        bad = [p for p in points if not is_number(p)]
        if bad:
            self.error(ppath, _("must be numbers, got %(value)s", value=repr(bad[0])))
        elif points and len(points) != 5:
            self.error(
                ppath,
                _(
                    "needs one score per level of the 5-level scale, got %(count)s",
                    count=len(points),
                ),
            )
        elif points and any(a > b for a, b in itertools.pairwise(points)):
            self.error(ppath, _("scores must not decrease from level 1 to level 5"))
        if overall is not None and overall.item is not None:
            k = len(self.items[overall.item].levels)
            if k != 5:
                self.error(
                    ppath,
                    _(
                        "rule 'points' needs 5-level items; '%(code)s' has %(count)s",
                        code=overall.item,
                        count=k,
                    ),
                )
        return MeanScoreRule("points", tuple(norm_number(p) for p in points if is_number(p)))
