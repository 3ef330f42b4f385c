"""What a scheme is computed from: the method, its options and the targets.

:class:`WeightingSpec` is stored as the scheme's ``params`` (:meth:`WeightingSpec.to_json`)
and read back to re-run the scheme for the published figures
(:mod:`survey_app.weighting.published`) and for the export's codebook
(:mod:`survey_app.weighting.scheme_commands`). :data:`METHODS` names the methods the
console offers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey_app.spreadsheets import RowError
from survey_app.weighting.errors import WeightingInputError
from survey_app.weighting.targets import TargetRows

METHODS: dict[str, Any] = {
    "poststratify": _l("Post-stratification"),
    "rake": _l("Raking"),
    "calibrate-linear": _l("Linear calibration (GREG)"),
    "calibrate-raking": _l("Raking calibration"),
}


@dataclass(frozen=True)
class WeightingSpec:
    """Everything a scheme is computed from: method, options and targets."""

    method: str
    targets: TargetRows
    max_iter: int = 10
    epsilon: float = 1.0
    bounds: tuple[float, float] | None = None
    trim_lower: float | None = None
    trim_upper: float | None = None
    strict: bool = False
    filename: str = ""

    @property
    def trims(self) -> bool:
        return self.trim_lower is not None or self.trim_upper is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "base": "design weights",
            "targets": self.targets.to_json(),
            "max_iter": self.max_iter if self.method == "rake" else None,
            "epsilon": self.epsilon if self.method == "rake" else None,
            "bounds": list(self.bounds) if self.bounds else None,
            "trim": (
                {"lower": self.trim_lower, "upper": self.trim_upper, "strict": self.strict}
                if self.trims
                else None
            ),
            "file": self.filename,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WeightingSpec:
        try:
            trim = data.get("trim") or {}
            bounds = data.get("bounds")
            return cls(
                method=str(data["method"]),
                targets=TargetRows.from_json(data["targets"]),
                max_iter=int(data.get("max_iter") or 10),
                epsilon=float(data.get("epsilon") or 1.0),
                bounds=(float(bounds[0]), float(bounds[1])) if bounds else None,
                trim_lower=None if trim.get("lower") is None else float(trim["lower"]),
                trim_upper=None if trim.get("upper") is None else float(trim["upper"]),
                strict=bool(trim.get("strict")),
                filename=str(data.get("file") or ""),
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise WeightingInputError(
                [RowError(None, None, _("The form data is damaged."))]
            ) from None
