"""Static files cached for a year under an address that names their content.

``url_for("static", filename=...)`` adds ``v=<12 hex digits of the file's SHA-256>``
(:class:`SurveyFlask`), so each page names its stylesheets and scripts by content, and
a request that carries ``v`` is answered with a year-long cache: a changed file gets a
new address. A request without it (an old bookmark, a hand-typed address) is answered
as before, with ``no-cache``. Before, every staff page asked again for each of its
three to six static files (a 304 each, a round trip apiece on a phone's connection).

The digest is read once per file and kept while the file's size and modification time
stay the same (a file edited while the app runs gets a new address at once).
"""

from __future__ import annotations

import hashlib
import os
import stat
from functools import lru_cache
from typing import Any

from flask import Flask, request
from werkzeug.security import safe_join

#: The cache lifetime of anything named by its content (static files, plotly.js, the
#: read-aloud files): 31,536,000 s.
ONE_YEAR = 365 * 24 * 3600
#: The query argument that names a static file's content.
VERSION_ARG = "v"


@lru_cache(maxsize=1024)
def _digest(path: str, modified_ns: int, size: int) -> str:
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()[:12]


def version(folder: str, filename: str) -> str | None:
    """The content digest of ``filename`` in ``folder``; None if it is not a file there."""
    path = safe_join(folder, filename)
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return _digest(path, info.st_mtime_ns, info.st_size)


class SurveyFlask(Flask):
    """Flask with content-addressed static files (see the module docstring)."""

    def url_for(self, /, endpoint: str, **values: Any) -> str:
        if endpoint == "static" and VERSION_ARG not in values and self.static_folder:
            found = version(self.static_folder, str(values.get("filename", "")))
            if found is not None:
                values[VERSION_ARG] = found
        return super().url_for(endpoint, **values)

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        if request.endpoint == "static" and request.args.get(VERSION_ARG):
            return ONE_YEAR
        return super().get_send_file_max_age(filename)
