"""The drill-down page of one unit: its indices and those of the units below it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Channel, ProcedureField, Unit, UnitKind, User, Wave
from survey_app.reporting import visibility
from survey_app.reporting.dashboard.figures import (
    IndexLine,
    figure_cells,
    figure_headers,
    figure_of,
    index_lines,
    safe_compute,
)
from survey_app.reporting.dashboard.scope import (
    KIND_ORDER,
    ScopeError,
    WaveInfo,
    breadcrumbs,
    children,
    unit_in_scope,
    wave_in,
    waves_of,
)
from survey_app.reporting.indices.figures import DomainKey, IndexFigure
from survey_app.reporting.tables import Table


@dataclass(frozen=True)
class ChildRow:
    unit: Unit
    figure: IndexFigure | None
    has_children: bool


@dataclass(frozen=True)
class UnitPage:
    unit: Unit
    crumbs: tuple[Unit, ...]
    waves: tuple[WaveInfo, ...]
    wave: Wave | None
    fields: tuple[ProcedureField, ...]
    field: ProcedureField | None
    channels: tuple[str, ...]
    channel: str | None
    lines: tuple[IndexLine, ...]
    groups: tuple[tuple[UnitKind, tuple[ChildRow, ...]], ...]

    def table(self, lang: str) -> Table:
        headers = (_("Unit"), _("Index"), *figure_headers())
        rows: list[tuple[object, ...]] = []
        for line in self.lines:
            rows.append((self.unit.name(lang), line.label, *figure_cells(line.rate)))
        overall = self.lines[0].label if self.lines else ""
        for _kind, group in self.groups:
            for row in group:
                rows.append((row.unit.name(lang), overall, *figure_cells(row.figure)))
        wave = self.wave.code if self.wave else "none"
        return Table(
            f"{self.unit.code}-{wave}",
            self.unit.name(lang),
            headers,
            tuple(rows),
            frozenset({2, 3, 4}),
        )


def unit_page(
    user: User,
    unit_code: str,
    wave_code: str | None,
    field_code: str | None,
    channel: str | None,
    lang: str,
) -> UnitPage:
    unit = unit_in_scope(user, unit_code)
    infos = waves_of(unit)
    wave = wave_in(infos, wave_code) if wave_code else (infos[-1].wave if infos else None)
    fields = tuple(db.session.scalars(select(ProcedureField).order_by(ProcedureField.code)))
    chosen_field = None
    if field_code:
        chosen_field = next((f for f in fields if f.code == field_code), None)
        if chosen_field is None:
            raise ScopeError(404, f"field {field_code}")
    channels = tuple(c.value for c in Channel)
    if channel and channel not in channels:
        raise ScopeError(404, f"channel {channel}")
    kids = children(unit)
    lines: list[IndexLine] = []
    groups: dict[UnitKind, list[ChildRow]] = defaultdict(list)
    if wave is not None:
        result = safe_compute(
            [wave],
            [unit, *kids],
            field_id=chosen_field.id if chosen_field else None,
            channel=channel or None,
        )
        # a commune's small-area estimate stands in for a hidden figure of the whole
        # commune only, never for one procedure field or channel of it
        whole = chosen_field is None and not channel
        result = (
            visibility.for_viewer(result, user, small_area=whole) if result is not None else None
        )
        parents = _units_with_children([k.id for k in kids])
        for kid in kids:
            figure = figure_of(result, DomainKey(kid.id, wave.id)) if result else None
            groups[kid.kind].append(ChildRow(kid, figure, kid.id in parents))
        if result is not None:
            lines = index_lines(result, DomainKey(unit.id, wave.id), lang)
    return UnitPage(
        unit,
        tuple(breadcrumbs(user, unit)),
        tuple(infos),
        wave,
        fields,
        chosen_field,
        channels,
        channel or None,
        tuple(lines),
        tuple(
            (kind, tuple(rows))
            for kind, rows in sorted(groups.items(), key=lambda g: KIND_ORDER.index(g[0]))
        ),
    )


def _units_with_children(ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    query = select(Unit.parent_id).where(Unit.parent_id.in_(list(ids))).distinct()
    return {row for row in db.session.scalars(query)}
