"""Keep the Vietnamese catalogue in step with the code, safely from several shells.

Usage::

    .venv/bin/python scripts/i18n.py update [TRANSLATIONS.json]
    .venv/bin/python scripts/i18n.py missing

``update`` extracts every message from ``survey_app/``, merges it into
``survey_app/translations/vi/LC_MESSAGES/messages.po`` (keeping existing
translations), fills empty entries from the optional JSON file (``{"English msgid":
"bản dịch tiếng Việt"}``), writes the catalogue at width 100 and compiles it. It holds
an exclusive lock on ``/tmp/survey-i18n.lock`` throughout, so two people updating at
once cannot lose each other's translations. ``missing`` lists untranslated msgids.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "survey_app" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
LOCK = Path("/tmp/survey-i18n.lock")


def _babel(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"pybabel {args[0]} failed")


def update(translations: dict[str, str]) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        pot = Path(folder) / "messages.pot"
        _babel(
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "survey_app",
        )
        _babel(
            "update",
            "-i",
            str(pot),
            "-d",
            "survey_app/translations",
            "--no-fuzzy-matching",
            "-w",
            "100",
        )
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        if not message.string and message.id in translations:
            message.string = translations[message.id]
        if not message.string:
            missing.append(str(message.id))
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100)
    _babel("compile", "-d", "survey_app/translations")
    return missing


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"update", "missing"}:
        print(__doc__)
        return 2
    LOCK.touch(exist_ok=True)
    with LOCK.open("r") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if argv[0] == "update":
            extra = json.loads(Path(argv[1]).read_text(encoding="utf-8")) if len(argv) > 1 else {}
            missing = update(extra)
        else:
            with PO.open("rb") as handle:
                missing = [str(m.id) for m in read_po(handle, locale="vi") if m.id and not m.string]
    for msgid in missing:
        print("untranslated:", msgid)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
