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
    sys.stdout.flush()
    sys.stderr.flush()
except OSError:  # e.g. a closed pipe: let Python report it as it always does
    raise SystemExit(status) from None
os._exit(status)
