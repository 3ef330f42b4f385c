"""The data file of ``python -m analysis estimate``, read while the libraries import.

Importing pandas and scipy keeps one core busy for about a quarter of a second, as
long as Arrow takes to read a million-row file. Arrow's CSV reader releases the
interpreter's lock, so ``python -m analysis`` starts reading the file on a thread
(:func:`start`, one Arrow thread: the other core is importing) before it imports them.

The file is a guess made before the arguments are parsed (:func:`guess`): the first
argument after ``estimate`` that names a file. :func:`analysis.cli.read_data` uses the
table (:func:`take`) only for the same path, unchanged since (device, inode, size,
modification time and first bytes, so also the dialect it finds itself); otherwise, or
when the guess failed in any way, it reads the file as usual and reports what is wrong
with it.

This module imports nothing heavy at import time; pyarrow is imported by :func:`start`
before the thread starts, never by two threads at once.
"""

from __future__ import annotations

import codecs
import os
import stat
import sys
import threading
from collections.abc import Sequence
from typing import Any

from analysis import csv_dialect

#: Below this a file reads in milliseconds; above it one Arrow thread would outlast
#: the imports, and two threads after them are faster.
MIN_BYTES = 4 << 20
MAX_BYTES = 128 << 20

#: What :func:`analysis.cli.read_data` reads of a file to find its dialect.
HEAD_BYTES = 65536

UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def dialect(head: bytes) -> tuple[str, str]:
    """The delimiter and the decimal sign of a file that begins with ``head``."""
    sep = csv_dialect.delimiter(head.decode("utf-8", errors="replace"))
    return sep, csv_dialect.decimal_sign(sep)


def arrow_table(path: str, head: bytes, *, use_threads: bool = True) -> Any:
    """The file read by Arrow in the dialect of its first bytes ``head``.

    Raises
    ------
    ValueError
        Where pandas must read the file instead: UTF-16 (Arrow reads UTF-8 only), or
        bytes that are not UTF-8 (Arrow returns them as binary columns).
    """
    if head.startswith(UTF16_MARKS):
        raise ValueError("UTF-16: pandas reads it once decoded")
    import pyarrow as pa  # pandas' optional engine; imported only to read
    from pyarrow import csv

    sep, decimal = dialect(head)
    table = csv.read_csv(
        path,
        read_options=csv.ReadOptions(use_threads=use_threads),
        parse_options=csv.ParseOptions(delimiter=sep),
        convert_options=csv.ConvertOptions(decimal_point=decimal),
    )
    if any(pa.types.is_binary(field.type) for field in table.schema):
        raise ValueError("not UTF-8: Arrow read bytes")
    return table


def _identity(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def guess(argv: Sequence[str]) -> str | None:
    """The data file of an ``estimate`` command line, or None: the first argument after
    ``estimate`` that is not an option and names a regular file of a size worth reading
    ahead (:data:`MIN_BYTES` to :data:`MAX_BYTES`). None when the command asks for help."""
    args = list(argv)
    if "estimate" not in args or "-h" in args or "--help" in args:
        return None
    for token in args[args.index("estimate") + 1 :]:
        if token.startswith("-"):
            continue
        try:
            st = os.stat(token)
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(st.st_mode):
            return token if MIN_BYTES <= st.st_size <= MAX_BYTES else None
    return None


class ReadAhead:
    """One file read by Arrow on a thread of its own."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.identity = _identity(path)
        self.head = b""
        self.table: Any = None
        self._thread = threading.Thread(target=self._read, name="read-ahead", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with open(self.path, "rb") as file:
                self.head = file.read(HEAD_BYTES)
            self.table = arrow_table(self.path, self.head, use_threads=False)
        except Exception:  # a failed guess is dropped: the usual read reports the problem
            self.table = None

    def result(self, path: str, head: bytes) -> Any:
        """The table, if it is of ``path`` as it is now and began with ``head``."""
        if path != self.path:
            return None
        self._thread.join()
        if self.table is None or self.head != head or _identity(path) != self.identity:
            return None
        return self.table


_pending: ReadAhead | None = None


def start(argv: Sequence[str] | None = None) -> None:
    """Start reading the data file of this command line, if it has one worth it."""
    global _pending
    path = guess(sys.argv[1:] if argv is None else argv)
    if path is None:
        return
    try:
        import pyarrow.csv  # noqa: F401 - imported here, before the thread uses it
    except ImportError:
        return
    _pending = ReadAhead(path)


def take(path: str, head: bytes) -> Any:
    """The table read ahead for ``path`` (beginning with ``head``), or None; either
    way the read-ahead is over."""
    global _pending
    pending, _pending = _pending, None
    return None if pending is None else pending.result(path, head)
