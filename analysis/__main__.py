"""``python -m analysis``: see :mod:`analysis.cli`.

The process ends without Python's finalization once the command's output is flushed,
as mypy's command line does: with numpy, scipy and pandas loaded, freeing every module
and array at exit takes 70-90 ms here, about as long as estimating 200 domain means on
1,000,000 rows. Every file the command writes is closed before :func:`main` returns.

Before it imports them, it starts reading the data file of an ``estimate`` command
(:mod:`analysis.read_ahead`).
"""

import os
import sys

from analysis import read_ahead

read_ahead.start()

from analysis.cli import main  # noqa: E402 - after the read has started

status = main()
try:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None: the process was started without it
            stream.flush()
except (OSError, ValueError):  # a closed pipe or file: let Python report it as always
    raise SystemExit(status) from None
os._exit(status)
