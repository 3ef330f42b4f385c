"""Administrative units: importing the hierarchy from CSV and keeping paths right."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from survey_app import audit, spreadsheets
from survey_app.extensions import db
from survey_app.models import Unit, UnitKind
from survey_app.spreadsheets import RowError

REQUIRED_COLUMNS = ("code", "name_vi", "name_en", "kind", "parent_code")
# Bounds of an uploaded units file (the form states them; the view reads at most 1 MB).
LIMITS = spreadsheets.Limits(rows=20_000, columns=20, cell_chars=500, max_bytes=1024 * 1024)


class UnitImportError(ValueError):
    """The file was refused whole; ``errors`` lists every problem by row and column."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


def _validate_rows(rows: list[dict[str, str]], existing: set[str]) -> list[RowError]:
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    kinds = {kind.value for kind in UnitKind}
    for number, row in enumerate(rows, start=2):
        code = row["code"]
        if not code or len(code) > 32:
            errors.append(RowError(number, "code", _("must be 1 to 32 characters")))
        elif code in seen:
            errors.append(RowError(number, "code", _("duplicate of row %(row)s", row=seen[code])))
        else:
            seen[code] = number
        for column in ("name_vi", "name_en"):
            if not row[column]:
                errors.append(RowError(number, column, _("must not be empty")))
        if row["kind"] not in kinds:
            errors.append(
                RowError(
                    number, "kind", _("must be one of %(values)s", values=", ".join(sorted(kinds)))
                )
            )
        parent = row["parent_code"]
        if parent and parent not in seen and parent not in existing:
            errors.append(
                RowError(
                    number,
                    "parent_code",
                    _("unknown unit %(code)s (parents must come first)", code=parent),
                )
            )
        if parent and parent == code:
            errors.append(RowError(number, "parent_code", _("a unit cannot be its own parent")))
    return errors


def read_units_csv(text: str) -> list[dict[str, str]]:
    """The rows of a units CSV within :data:`LIMITS` (blank rows skipped).

    Raises :class:`UnitImportError` for a file beyond the limits, control characters
    or missing columns, naming the row and column of each problem.
    """
    try:
        rows = spreadsheets.read_text(text, LIMITS)
    except spreadsheets.SpreadsheetError as error:
        raise UnitImportError(
            [
                RowError(p.row or 0, get_column_letter(p.column) if p.column else "", p.message)
                for p in error.problems
            ]
        ) from None
    header = [cell.strip() for cell in rows[0]] if rows else []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise UnitImportError([RowError(1, c, _("column is missing")) for c in missing])
    positions = {c: header.index(c) for c in REQUIRED_COLUMNS}
    return [
        {c: (row[i] if i < len(row) else "").strip() for c, i in positions.items()}
        for row in rows[1:]
        if any(cell.strip() for cell in row)
    ]


def import_units(rows: Iterable[dict[str, str]]) -> tuple[int, int]:
    """Create or update units by code; all rows or none. Returns (created, updated)."""
    rows = list(rows)
    existing = {u.code: u for u in db.session.scalars(select(Unit))}
    errors = _validate_rows(rows, set(existing))
    if errors:
        raise UnitImportError(errors)
    created = updated = 0
    for row in rows:
        unit = existing.get(row["code"])
        if unit is None:
            unit = Unit(code=row["code"], path="/")
            db.session.add(unit)
            existing[row["code"]] = unit
            created += 1
        else:
            updated += 1
        unit.name_vi = row["name_vi"]
        unit.name_en = row["name_en"]
        unit.kind = UnitKind(row["kind"])
        unit.parent = existing[row["parent_code"]] if row["parent_code"] else None
    db.session.flush()
    refresh_paths()
    audit.record("units.import", details={"created": created, "updated": updated})
    db.session.commit()
    return created, updated


def refresh_paths() -> None:
    """Recompute every unit's materialised path from the parent links (no commit)."""
    units = {u.id: u for u in db.session.scalars(select(Unit))}

    def path_of(unit: Unit, depth: int = 0) -> str:
        if depth > len(units):
            raise UnitImportError(
                [RowError(0, "parent_code", _("cycle at unit %(code)s", code=unit.code))]
            )
        if unit.parent_id is None:
            return f"/{unit.id}/"
        return path_of(units[unit.parent_id], depth + 1) + f"{unit.id}/"

    for unit in units.values():
        unit.path = path_of(unit)
