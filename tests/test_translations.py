"""Every user-facing string of the app has a Vietnamese translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "survey_app" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


def extracted_ids(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "survey_app"],
        cwd=ROOT, check=True,
    )  # fmt: skip
    with pot.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


def test_every_string_is_translated_to_vietnamese(tmp_path: Path) -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    extracted = extracted_ids(tmp_path)
    assert "Log in" in extracted and len(extracted) > 40  # the extraction really ran
    missing = sorted(extracted - set(translated))
    assert missing == [], f"untranslated: {missing}"


def test_translations_keep_placeholders() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    for message in catalog:
        # A plural message has a tuple of ids and a tuple of strings (Vietnamese: one form).
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in ids:
            for name in str(text or "").split("%(")[1:]:
                placeholder = "%(" + name.split(")")[0] + ")"
                assert all(placeholder in string for string in strings), message.id
