"""The comparison page: two waves of one unit, or two units in one wave."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from analysis.indices import Difference
from survey_app.collection.scoring import IndexRequestError
from survey_app.extensions import db
from survey_app.models import Unit, User, Wave, WaveKind
from survey_app.reporting import visibility
from survey_app.reporting.comparisons import changes, wording
from survey_app.reporting.dashboard.figures import (
    cell_points,
    definition_of,
    figure_cells,
    figure_headers,
    index_choices,
)
from survey_app.reporting.dashboard.scope import (
    ScopeError,
    WaveInfo,
    children,
    focus_unit,
    scope_tops,
    series_of,
    unit_in_scope,
    wave_in,
    waves_of,
)
from survey_app.reporting.indices.figures import IndexFigure
from survey_app.reporting.tables import Table


@dataclass(frozen=True)
class ComparisonPage:
    mode: str  # "waves" or "units"
    units: tuple[Unit, ...]  # units the user can pick
    waves: tuple[WaveInfo, ...]
    unit_a: Unit | None
    unit_b: Unit | None
    wave_a: Wave | None
    wave_b: Wave | None
    index_code: str
    index_label: str
    choices: tuple[tuple[str, str], ...]
    first: IndexFigure | None
    second: IndexFigure | None
    difference: Difference | None
    sentence: str | None
    message: str | None

    def table(self, lang: str) -> Table:
        headers = (_("Unit"), _("Wave"), *figure_headers())
        rows: list[tuple[object, ...]] = []
        labels = self.labels(lang)
        for (unit_name, wave_name), figure in zip(labels, (self.first, self.second), strict=True):
            rows.append((unit_name, wave_name, *figure_cells(figure)))
        if self.difference is not None and self.first is not None:
            kind = self.first.kind
            rows.append(
                (
                    _("Difference"),
                    "",
                    cell_points(self.difference.value, kind),
                    cell_points(self.difference.ci_low, kind),
                    cell_points(self.difference.ci_high, kind),
                    None,
                    None,
                    None,
                    None,
                    f"p = {self.difference.p_value:.4f}",
                )
            )
        return Table("comparison", _("Comparison"), headers, tuple(rows), frozenset({2, 3, 4}))

    def labels(self, lang: str) -> list[tuple[str, str]]:
        def name(item: Unit | Wave | None) -> str:
            return item.name(lang) if item is not None else ""

        if self.mode == "waves":
            return [(name(self.unit_a), name(self.wave_a)), (name(self.unit_a), name(self.wave_b))]
        return [(name(self.unit_a), name(self.wave_a)), (name(self.unit_b), name(self.wave_a))]


def comparison_page(
    user: User,
    mode: str | None,
    unit_a: str | None,
    unit_b: str | None,
    wave_a: str | None,
    wave_b: str | None,
    index_code: str | None,
    lang: str,
) -> ComparisonPage:
    """Two waves of one unit, or two units in one wave: difference, CI, p and sentence.

    Two waves of one unit with none chosen compare its last two field surveys (the
    change the overview reports), so the page never opens empty where there is one.
    """
    mode = mode or "waves"
    if mode not in ("waves", "units"):
        raise ScopeError(404, f"mode {mode}")
    top = focus_unit(user, None)
    a = unit_in_scope(user, unit_a) if unit_a else top
    b = unit_in_scope(user, unit_b) if unit_b else None
    pickable = _pickable_units(user)
    infos = waves_of(a) if mode == "waves" else waves_of(_common_ancestor(a, b) if b else a)
    wa = wave_in(infos, wave_a) if wave_a else None
    wb = wave_in(infos, wave_b) if (wave_b and mode == "waves") else None
    if mode == "waves" and wa is None and wb is None:
        # Opened without waves (the tab, or another unit chosen): the unit's latest
        # change, as the overview tells it: its last two field surveys of one series.
        series = series_of(infos, WaveKind.FIELD_SURVEY)
        if len(series) >= 2:
            wa, wb = series[-2], series[-1]
    code = index_code or "overall"
    first = second = None
    diff = None
    sentence = message = None
    choices: list[tuple[str, str]] = []
    label = ""
    if wa is not None:
        choices = index_choices(definition_of(wa), lang)
        if code not in dict(choices):
            raise ScopeError(404, f"index {code}")
        label = dict(choices)[code]
    try:
        if mode == "waves" and wa is not None and wb is not None:
            if wa.id == wb.id:
                message = _("Choose two different waves.")
            else:
                change = changes.change(a, wa, wb, code=code)
                first, second, diff = change.before, change.after, change.difference
                sentence = _(
                    "From %(before)s to %(after)s, %(unit)s %(change)s.",
                    before=wa.name(lang),
                    after=wb.name(lang),
                    unit=a.name(lang),
                    change=change.sentence(),
                )
        elif mode == "units" and b is not None and wa is not None:
            if a.id == b.id:
                message = _("Choose two different units.")
            else:
                first, second, diff = changes.units_difference(a, b, wa, code=code)
                sentence = wording.units_sentence(a.name(lang), b.name(lang), diff, first.kind)
    except IndexRequestError as error:
        message = _("These two cannot be compared: %(reason)s", reason=str(error))
    except KeyError:
        message = _("There are no answers for one of the two.")
    first = visibility.visible(first, user) if first is not None else None
    second = visibility.visible(second, user) if second is not None else None
    if first is not None and second is not None and not (first.reportable and second.reportable):
        sentence = None
        message = _(
            "One of the two figures does not meet the reporting rule (not enough data), "
            "so no difference is reported."
        )
        diff = None
    return ComparisonPage(
        mode,
        tuple(pickable),
        tuple(infos),
        a,
        b,
        wa,
        wb,
        code,
        label,
        tuple(choices),
        first,
        second,
        diff,
        sentence,
        message,
    )


def _pickable_units(user: User) -> list[Unit]:
    """Units to offer in the pickers: the scope's top units and two levels below."""
    tops = scope_tops(user)
    units = list(tops)
    for top in tops:
        for kid in children(top):
            units.append(kid)
            units.extend(children(kid))
    return units


def _common_ancestor(a: Unit, b: Unit) -> Unit:
    first, second = a.path.strip("/").split("/"), b.path.strip("/").split("/")
    shared = [x for x, y in zip(first, second, strict=False) if x == y]
    if not shared:
        return a
    return db.session.get(Unit, int(shared[-1])) or a
