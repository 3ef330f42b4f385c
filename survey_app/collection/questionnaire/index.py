"""The satisfaction index a questionnaire declares: aspects, the overall rule and the
mean-score rule (frozen dataclasses).

How the file's ``index`` block becomes these objects is in :mod:`.parsing_index`;
how the figures are computed from them is in :mod:`survey_app.reporting.indices`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survey_app.collection.questionnaire.model import Label

ASPECT_METHODS: tuple[str, ...] = ("pooled", "mean_of_items")
OVERALL_METHODS: tuple[str, ...] = (
    "mean_of_aspects",
    "weighted_mean_of_aspects",
    "pooled_items",
    "item",
)
MEAN_SCORE_RULES: tuple[str, ...] = ("linear_0_100", "points")

DEFAULT_OVERALL_LABEL = Label("Chỉ số hài lòng chung", "Overall satisfaction index")


@dataclass(frozen=True)
class Aspect:
    """One aspect of the index: a group of ``likert5`` criteria.

    Attributes
    ----------
    code : str
    label : Label
    items : tuple of str
        Codes of ``likert5`` items; an item belongs to at most one aspect.
    weight : float or None
        Only with the overall method ``weighted_mean_of_aspects`` (then required).
    """

    code: str
    label: Label
    items: tuple[str, ...]
    weight: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical file form of the aspect."""
        d: dict[str, Any] = {
            "code": self.code,
            "label": self.label.to_dict(),
            "items": list(self.items),
        }
        if self.weight is not None:
            d["weight"] = self.weight
        return d


@dataclass(frozen=True)
class OverallRule:
    """How the overall index is formed.

    Attributes
    ----------
    method : str
        ``mean_of_aspects`` (SIPAS: unweighted mean of the aspect indices),
        ``weighted_mean_of_aspects`` (Σ w_a·I_a / Σ w_a with the aspects'
        weights), ``pooled_items`` (satisfied answers over all answers to all
        aspect criteria) or ``item`` (the satisfied share of one item).
    label : Label
    item : str or None
        The item of method ``item`` (a ``likert5`` or ``smiley`` item).
    satisfied_levels : tuple of int or None
        Method ``item`` only: levels of that item counting as satisfied.
    """

    method: str
    label: Label = DEFAULT_OVERALL_LABEL
    item: str | None = None
    satisfied_levels: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical file form."""
        d: dict[str, Any] = {"method": self.method, "label": self.label.to_dict()}
        if self.item is not None:
            d["item"] = self.item
            d["satisfied_levels"] = list(self.satisfied_levels or ())
        return d


@dataclass(frozen=True)
class MeanScoreRule:
    """How an answer is turned into a 0–100 score for the mean-score index.

    Attributes
    ----------
    rule : str
        ``linear_0_100``: level v of a k-level scale scores (v − 1)/(k − 1)·100;
        ``points``: level v scores ``points[v - 1]`` (5-level items only).
    points : tuple of float
        Only for rule ``points``.
    """

    rule: str = "linear_0_100"
    points: tuple[float, ...] = ()

    def points_for(self, levels: int) -> tuple[float, ...]:
        """Return the score of each level 1..``levels``.

        Notes
        -----
        The linear rule is (v − 1)/(k − 1)·100, so 1 → 0 and k → 100.
        """
        if self.rule == "points":
            if len(self.points) != levels:
                raise ValueError(f"the points rule has {len(self.points)} points, not {levels}")
            return self.points
        return tuple((v - 1) / (levels - 1) * 100.0 for v in range(1, levels + 1))

    def score(self, value: int, levels: int = 5) -> float:
        """Return the score of level ``value`` on a ``levels``-level scale."""
        if not 1 <= value <= levels:
            raise ValueError(f"level {value} is outside 1..{levels}")
        return self.points_for(levels)[value - 1]

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical file form."""
        d: dict[str, Any] = {"rule": self.rule}
        if self.rule == "points":
            d["points"] = list(self.points)
        return d


@dataclass(frozen=True)
class IndexDefinition:
    """The satisfaction index declared by a questionnaire.

    Attributes
    ----------
    satisfied_levels : tuple of int
        Levels of the ``likert5`` criteria counting as satisfied (default (4, 5)).
    aspect_method : str
        ``pooled`` (default): an aspect's index is the satisfied answers over all
        answers to its criteria; ``mean_of_items``: the unweighted mean of its
        criteria's satisfied shares.
    aspects : tuple of Aspect
    overall : OverallRule
    mean_score : MeanScoreRule
    """

    satisfied_levels: tuple[int, ...] = (4, 5)
    aspect_method: str = "pooled"
    aspects: tuple[Aspect, ...] = ()
    overall: OverallRule = OverallRule("mean_of_aspects")
    mean_score: MeanScoreRule = MeanScoreRule()

    def aspect(self, code: str) -> Aspect:
        """Return the aspect with ``code`` (KeyError if absent)."""
        for a in self.aspects:
            if a.code == code:
                return a
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical file form."""
        return {
            "satisfied_levels": list(self.satisfied_levels),
            "aspect_method": self.aspect_method,
            "aspects": [a.to_dict() for a in self.aspects],
            "overall": self.overall.to_dict(),
            "mean_score": self.mean_score.to_dict(),
        }
