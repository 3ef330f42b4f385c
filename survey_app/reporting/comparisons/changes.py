"""A unit's change between two waves, the changes of many units (those a leader may
read among them), and two units' difference in one wave; whether two waves are a panel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from analysis.indices import Difference
from survey_app.collection.scoring import IndexRequestError
from survey_app.collection.waves.design import panel_pair
from survey_app.models import Unit, Wave, WaveKind
from survey_app.reporting.comparisons.wording import SIGNIFICANCE, change_sentence
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey, IndexFigure, IndexResult


def waves_share_psus(first: Wave, second: Wave) -> bool:
    """Whether two field-survey waves are declared a panel (the same PSUs interviewed again).

    Declared by the survey team on the wave (``panel_of``), never inferred from PSU
    labels, which repeat by chance across independently drawn samples. Independent
    waves get a zero covariance; a panel is analysed as one joint design.
    """
    if first.kind != WaveKind.FIELD_SURVEY or second.kind != WaveKind.FIELD_SURVEY:
        return False
    return panel_pair(first, second)


@dataclass(frozen=True)
class Change:
    unit: Unit
    before: IndexFigure
    after: IndexFigure
    difference: Difference
    shared_psus: bool

    @property
    def significant(self) -> bool:
        return self.difference.p_value < SIGNIFICANCE

    def sentence(self) -> str:
        return change_sentence(self.difference, self.after.kind)


def require_answers(result: IndexResult, unit: Unit, waves: Sequence[Wave]) -> None:
    """Refuse (IndexRequestError) a comparison of waves in which the unit has no answers.

    The estimators need a figure in every wave; without this the request would fail
    inside them (a trend of fewer than two distinct times, a figure that is missing).
    """
    present = {domain.wave_id for domain in result.domains if domain.unit_id == unit.id}
    missing = [wave.code for wave in waves if wave.id not in present]
    if missing:
        raise IndexRequestError(
            _(
                "%(unit)s has no answers in wave %(waves)s: nothing to compare there.",
                unit=unit.code,
                waves=", ".join(missing),
            )
        )


def change(
    unit: Unit,
    before: Wave,
    after: Wave,
    *,
    code: str = "overall",
    kind: str = "rate",
    within: IndexResult | None = None,
) -> Change:
    """The change of an index of a unit between two waves, with CI and p-value.

    Independent waves get a zero covariance; waves that share PSUs are analysed as
    one design so the covariance of the two estimates is used. ``within`` is a page's
    figures already computed for the unit in both waves, each an independent sample
    (the default ``shared_psus=False``): independent waves are compared there, not
    computed again.
    """
    shared = waves_share_psus(before, after)
    if within is not None and not shared:
        result = within
    else:
        result = compute([before, after], [unit], shared_psus=shared)
    require_answers(result, unit, [before, after])
    return _change_in(result, unit, before, after, code, kind, shared)


def changes(
    units: Sequence[Unit], before: Wave, after: Wave, *, code: str = "overall", kind: str = "rate"
) -> list[Change]:
    """The change of each unit between two waves: the estimate of :func:`change`, but for
    every unit from one computation instead of one per unit. Units without a response
    in one of the two waves are left out."""
    shared = waves_share_psus(before, after)
    result = compute([before, after], units, shared_psus=shared)
    found = []
    for unit in units:
        try:
            line = _change_in(result, unit, before, after, code, kind, shared)
        except KeyError:  # the unit has no answers in one of the waves
            continue
        if line.before.n and line.after.n:
            found.append(line)
    return found


def reportable_changes(
    units: Sequence[Unit], before: Wave, after: Wave, *, code: str = "overall", kind: str = "rate"
) -> list[Change]:
    """The changes of :func:`changes` whose figures meet the reporting rule in both
    waves: the changes a leader may read (the overview, the digest, the index-drop
    alert)."""
    return [
        change
        for change in changes(units, before, after, code=code, kind=kind)
        if change.before.reportable and change.after.reportable
    ]


def _change_in(
    result: IndexResult,
    unit: Unit,
    before: Wave,
    after: Wave,
    code: str,
    kind: str,
    shared: bool,
) -> Change:
    first = result.figure(DomainKey(unit.id, before.id), code, kind)
    second = result.figure(DomainKey(unit.id, after.id), code, kind)
    return Change(unit, first, second, result.difference(second, first), shared)


def units_difference(
    first: Unit, second: Unit, wave: Wave, *, code: str = "overall", kind: str = "rate"
) -> tuple[IndexFigure, IndexFigure, Difference]:
    """Two units' figures in one wave and ``first - second``: both units are domains of
    one computation, so the covariance of the two estimates is used (one unit may
    contain the other)."""
    result = compute([wave], [first, second])
    a = result.figure(DomainKey(first.id, wave.id), code, kind)
    b = result.figure(DomainKey(second.id, wave.id), code, kind)
    return a, b, result.difference(a, b)
