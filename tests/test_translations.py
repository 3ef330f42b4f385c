"""Every user-facing string of the app has a Vietnamese translation."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def _catalogue_domains() -> dict[str, Any]:
    """``scripts/i18n.py``'s catalogues (where each is, what is extracted and how): the
    tests check the catalogues the script keeps."""
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module.DOMAINS


DOMAINS = _catalogue_domains()
PO = DOMAINS["messages"].po


def extracted_ids(tmp_path: Path, domain: str = "messages") -> set[str]:
    """The msgids marked in the code of ``domain``'s package, as the script extracts them."""
    catalogue = DOMAINS[domain]
    pot = tmp_path / f"{catalogue.name}.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", *catalogue.extract,
         "-o", str(pot), catalogue.package],
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


# ---------------------------------------------------------------- the statistics library

ANALYSIS_PO = DOMAINS["analysis"].po
#: Every placeholder of a printf-style message: ``%(name)s``, ``%s``, ``%r``, ``%%``...
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[srdifgeEx%]")


def test_every_message_of_the_library_is_translated(tmp_path: Path) -> None:
    """python -m analysis prints the library's messages in Vietnamese (analysis/i18n.py):
    each message marked in analysis/ has a translation that keeps its placeholders."""
    extracted = extracted_ids(tmp_path, "analysis")
    with ANALYSIS_PO.open("rb") as handle:
        catalog = {m.id: m for m in read_po(handle, locale="vi") if m.id}
    assert "usage: " in extracted and len(extracted) > 200  # the extraction really ran
    missing = sorted(i for i in extracted if i not in catalog or not catalog[i].string)
    assert missing == [], f"untranslated: {missing}"
    fuzzy = sorted(i for i in extracted if catalog[i].fuzzy)
    assert fuzzy == []
    for msgid in extracted:
        string = catalog[msgid].string
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(string)), msgid
        assert unicodedata.is_normalized("NFC", string), msgid


def test_no_code_of_the_library_hides_its_translator() -> None:
    """A module that imports ``_`` (analysis/i18n.py) must not also bind the name ``_``
    (``q, r, _ = ...``, ``for _ in``): inside such a function ``_("...")`` is the local
    variable, and the refusal it should word fails with UnboundLocalError or TypeError."""
    hidden = []
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not any(
            isinstance(node, ast.ImportFrom) and any(alias.name == "_" for alias in node.names)
            for node in tree.body
        ):
            continue
        hidden += [
            f"{path.relative_to(ROOT)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store)
        ]
    assert hidden == []
