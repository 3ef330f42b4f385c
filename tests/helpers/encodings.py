"""Text as Vietnamese offices' spreadsheet programs write it to a CSV file."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

#: The five combining tone marks Windows-1258 has (grave, acute, tilde, hook, dot below).
TONES = "\u0300\u0301\u0303\u0309\u0323"


def windows_1258(text: str) -> bytes:
    """``text`` as Vietnamese Windows writes it: a precomposed letter where the code page
    has one, else the letter without its tone mark followed by the combining tone."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            marks = unicodedata.normalize("NFD", char)
            tone = next(m for m in marks if m in TONES)
            base = unicodedata.normalize("NFC", marks.replace(tone, ""))
            out += (base + tone).encode("cp1258")
    return bytes(out)


#: How Vietnamese offices' programs encode a CSV file, by name (pytest ids).
OFFICE_ENCODINGS: dict[str, Callable[[str], bytes]] = {
    "UTF-8": lambda text: text.encode("utf-8"),
    "UTF-8 with BOM": lambda text: text.encode("utf-8-sig"),
    "UTF-16 (Excel's Unicode text)": lambda text: text.encode("utf-16"),
    "Windows-1258": windows_1258,
}
