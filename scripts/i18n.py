"""Keep the Vietnamese catalogue in step with the code, safely from several shells.

Usage::

    .venv/bin/python scripts/i18n.py update [--domain analysis] [TRANSLATIONS.json]
    .venv/bin/python scripts/i18n.py missing [--domain analysis]

``update`` extracts every message from ``survey_app/``, merges it into
``survey_app/translations/vi/LC_MESSAGES/messages.po`` (keeping existing
translations), fills empty entries from the optional JSON file (``{"English msgid":
"bản dịch tiếng Việt"}``), writes the catalogue at width 100 and compiles it. With
``--domain analysis`` it does the same for the statistics library's messages
(``analysis/``, catalogue ``analysis/translations/vi/LC_MESSAGES/analysis.po``). It
holds an exclusive lock on ``/tmp/survey-i18n.lock`` throughout, so two people updating
at once cannot lose each other's translations. ``missing`` lists untranslated msgids.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCK = Path("/tmp/survey-i18n.lock")


@dataclass(frozen=True)
class Domain:
    """One catalogue: the package its messages are extracted from, and how."""

    name: str
    package: str
    extract: tuple[str, ...]

    @property
    def translations(self) -> str:
        return f"{self.package}/translations"

    @property
    def po(self) -> Path:
        return ROOT / self.translations / "vi" / "LC_MESSAGES" / f"{self.name}.po"


DOMAINS = {
    "messages": Domain(
        "messages", "survey_app", ("-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext")
    ),
    "analysis": Domain("analysis", "analysis", ("-k", "N_")),
}
PO = DOMAINS["messages"].po


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


def update(translations: dict[str, str], domain: Domain = DOMAINS["messages"]) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        pot = Path(folder) / f"{domain.name}.pot"
        _babel("extract", *domain.extract, "-o", str(pot), domain.package)
        if not domain.po.exists():
            _babel("init", "-D", domain.name, "-i", str(pot), "-d", domain.translations, "-l", "vi")
        _babel(
            "update",
            "-D",
            domain.name,
            "-i",
            str(pot),
            "-d",
            domain.translations,
            "--no-fuzzy-matching",
            "-w",
            "100",
        )
    with domain.po.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        if not message.string and message.id in translations:
            message.string = translations[message.id]
        if not message.string:
            missing.append(str(message.id))
    with domain.po.open("wb") as handle:
        write_po(handle, catalog, width=100)
    _babel("compile", "-D", domain.name, "-d", domain.translations)
    return missing


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"update", "missing"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    domain = DOMAINS["messages"]
    if rest[:1] == ["--domain"] and len(rest) > 1 and rest[1] in DOMAINS:
        domain, rest = DOMAINS[rest[1]], rest[2:]
    LOCK.touch(exist_ok=True)
    with LOCK.open("r") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if command == "update":
            extra = json.loads(Path(rest[0]).read_text(encoding="utf-8")) if rest else {}
            missing = update(extra, domain)
        else:
            with domain.po.open("rb") as handle:
                missing = [str(m.id) for m in read_po(handle, locale="vi") if m.id and not m.string]
    for msgid in missing:
        print("untranslated:", msgid)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
