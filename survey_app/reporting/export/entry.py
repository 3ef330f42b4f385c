"""The entry points: an audited export for a web user, and the data file with its
codebook written to disk for the command line."""

from __future__ import annotations

import os
from typing import Any

from survey_app import audit
from survey_app.access import scope_prefix
from survey_app.extensions import db
from survey_app.models import (
    User,
    Wave,
)
from survey_app.reporting.export.rows import CODEBOOK_FORMATS, FORMATS, Microdata, microdata
from survey_app.reporting.export.writers import (
    codebook_csv,
    codebook_xlsx,
    to_csv,
    to_sav,
    workbook,
)

# ----------------------------------------------------------------------------- entry point


def export(
    wave: Wave, user: User, fmt: str, lang: str, *, codebook: bool = False
) -> tuple[bytes, str, str]:
    """The wave's microdata (or its codebook) in ``fmt``; returns (content, mimetype, name).

    The export is recorded in the audit log and committed.
    """
    valid = CODEBOOK_FORMATS if codebook else tuple(FORMATS)
    if fmt not in valid:
        raise ValueError(f"unknown format {fmt!r}; valid formats: {', '.join(valid)}")
    data = microdata(wave, user, lang)
    if codebook:
        data_file = f"{wave.code}.csv"
        content = codebook_csv(data, data_file) if fmt == "csv" else codebook_xlsx(data, data_file)
        name = f"{wave.code}-codebook.{fmt}"
    else:
        name = f"{wave.code}.{fmt}"
        content = _write(data, fmt, name)
    _audit(data, user, fmt, lang, codebook=codebook)
    return content, FORMATS[fmt], name


def codebook_path(path: str) -> tuple[str, str]:
    """The codebook written next to a data file: ``FILE`` with ``-codebook`` before the
    extension, in the same format (CSV beside an SPSS file); returns (path, format)."""
    stem, dot, extension = path.rpartition(".")
    if not dot or "/" in extension:
        stem, extension = path, ""
    fmt = extension.lower() if extension.lower() in CODEBOOK_FORMATS else "csv"
    return f"{stem}-codebook.{fmt}", fmt


def export_files(wave: Wave, fmt: str, out: str, lang: str = "en") -> tuple[str, int]:
    """Write every response of the wave to ``out`` in ``fmt`` and its codebook next to
    it (:func:`codebook_path`), for the command line (no user: the whole wave, audited
    as ``system``). Returns the codebook's path and the number of rows.

    Raises
    ------
    ValueError
        An unknown format.
    OSError
        A file that cannot be written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    data = microdata(wave, None, lang)
    name = os.path.basename(out)
    book_path, book_fmt = codebook_path(out)
    content = _write(data, fmt, name)
    book = codebook_csv(data, name) if book_fmt == "csv" else codebook_xlsx(data, name)
    with open(out, "wb") as handle:
        handle.write(content)
    with open(book_path, "wb") as handle:
        handle.write(book)
    _audit(data, None, fmt, lang, codebook=False, out=out)
    return book_path, len(data.frame)


def _write(data: Microdata, fmt: str, name: str) -> bytes:
    if fmt == "xlsx":
        return workbook(data, data, name)
    return {"csv": to_csv, "sav": to_sav}[fmt](data)


def _audit(
    data: Microdata,
    user: User | None,
    fmt: str,
    lang: str,
    *,
    codebook: bool,
    out: str | None = None,
) -> None:
    details: dict[str, Any] = {
        "format": fmt,
        "codebook": codebook,
        "rows": len(data.frame),
        "scope": (scope_prefix(user) if user is not None else None) or "/",
        "lang": lang,
    }
    if out is not None:
        details["file"] = out
    audit.record(
        "data.export",
        user=user,
        username=audit.SYSTEM_ACTOR if user is None else None,
        target=f"wave:{data.wave.code}",
        details=details,
    )
    db.session.commit()
