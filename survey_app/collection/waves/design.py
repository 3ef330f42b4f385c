"""A wave's declared design as the estimators read it: the lonely-PSU rule in words,
each stratum's number of PSUs in the population (the fpc) from the sample frame, and
whether two waves are a panel."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import LonelyPSU, Wave, WaveFrameUnit

#: What each lonely-PSU rule does, in words: the wave form's choices and the wave page.
LONELY_RULE_TEXTS = {
    LonelyPSU.ADJUST: _l("adjust: centre the lonely PSU at the overall mean (R's adjust)"),
    LonelyPSU.AVERAGE: _l("average: the average variance of the other strata"),
    LonelyPSU.REMOVE: _l("remove: the stratum adds no variance"),
    LonelyPSU.CERTAINTY: _l("certainty: the PSU was taken with certainty"),
    LonelyPSU.FAIL: _l("fail: no figure until the design is corrected"),
}


def lonely_rule_text(rule: LonelyPSU) -> str:
    """What a wave's lonely-PSU rule does, in words (the wave form's texts)."""
    return str(LONELY_RULE_TEXTS.get(LonelyPSU(rule), rule))


def stratum_psus(wave: Wave) -> dict[str, int]:
    """The number of PSUs in each stratum's population, from the wave's sample frame
    (strata whose frame rows state one number; others are unknown)."""
    found: dict[str, set[int]] = {}
    for stratum, count in db.session.execute(
        select(WaveFrameUnit.stratum, WaveFrameUnit.stratum_psus).where(
            WaveFrameUnit.wave_id == wave.id, WaveFrameUnit.stratum_psus.is_not(None)
        )
    ):
        found.setdefault(stratum, set()).add(int(count))
    return {stratum: counts.pop() for stratum, counts in found.items() if len(counts) == 1}


def panel_pair(first: Wave, second: Wave) -> bool:
    """Whether two waves are declared a panel (one follows the other, directly or not)."""

    def chain(wave: Wave) -> set[int]:
        ids, current = set(), wave
        while current.panel_of_id is not None and current.panel_of_id not in ids:
            ids.add(current.panel_of_id)
            current = db.session.get(Wave, current.panel_of_id)  # type: ignore[assignment]
            if current is None:
                break
        return ids

    return first.id in chain(second) or second.id in chain(first)
