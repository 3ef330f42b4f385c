"""How a CSV file from a spreadsheet program is written: its encoding, its delimiter and
its decimal sign.

One rule for every reader of CSV files, the app's uploads
(:mod:`survey_app.spreadsheets`) and the analysts' command line (``python -m
analysis``) alike:

- **Encoding** (:func:`decode`): UTF-8, with or without Excel's BOM; UTF-16 with its
  BOM (Excel's "Unicode text"); otherwise Windows-1258, the code page of Vietnamese
  Windows, which Excel uses for a plain "CSV (comma delimited)" there. Windows-1258
  writes most accented letters as a base letter and a combining tone mark, so the text
  is normalised to NFC (one code point per letter, as typed). Bytes that are text in
  none of these (control characters, undefined code points) raise :class:`NotTextError`.
- **Delimiter** (:func:`delimiter`): ``,``, ``;`` or tab, whichever the first line
  uses most (``;`` or tab on a tie with ``,``). Excel writes ``;`` where the decimal
  sign is a comma (Vietnamese settings among them).
- **Decimal sign** (:func:`decimal_sign`), for the command line's numbers: a comma in a
  file delimited by ``;``, a point otherwise, as R reads such files (``read.csv2``
  against ``read.csv``). The app's uploads read each number by itself instead
  (``survey_app/numbers.py``), since a person typed them.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from analysis.i18n import _

__all__ = ["CONTROL", "DELIMITERS", "NotTextError", "decimal_sign", "decode", "delimiter"]

DELIMITERS = (",", ";", "\t")
# Not text in any encoding above: C0 controls except tab, line feed and carriage return;
# DEL; C1 controls; lone surrogates; the non-characters U+FFFE and U+FFFF.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class NotTextError(ValueError):
    """The bytes are not text in UTF-8, UTF-16 (with its BOM) or Windows-1258."""

    def __init__(self) -> None:
        super().__init__(_("not text in UTF-8, UTF-16 (with its BOM) or Windows-1258"))


def decode(data: bytes) -> str:
    """The text of a CSV file in the encodings Vietnamese offices produce, without a BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise NotTextError() from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError:
        raise NotTextError() from None
    if CONTROL.search(text):  # binary data, not a legacy-encoded sheet
        raise NotTextError()
    return unicodedata.normalize("NFC", text)


def delimiter(text: str) -> str:
    """``,``, ``;`` or tab: the one the first line of ``text`` uses most; on a tie ``;``
    or tab (a column name of a ``;`` file may hold a comma, not the reverse), and ``,``
    when the line has none of them (one column)."""
    first = text.split("\n", 1)[0]
    return max(DELIMITERS, key=lambda d: (first.count(d), d != "," and d in first))


def decimal_sign(delimiter: str) -> str:
    """The decimal sign of numbers in a file with this delimiter: ``,`` after ``;``."""
    return "," if delimiter == ";" else "."
