"""Which plotly.js bundle the charts load: plotly.js's "basic" bundle when installed.

The app draws only scatter and bar traces (line charts, confidence bands, error bars),
which plotly.js's basic bundle holds. That bundle is 1.2 MB against 4.8 MB for the
full bundle shipped inside the ``plotly`` Python package, so a leader's phone
downloads and compiles a quarter of the JavaScript on every page with a chart
(measured in headless Chromium: the leader sweeps used 17-20 % less CPU).

``scripts/fetch_plotly.py`` installs the basic bundle into ``survey_app/vendor/``
(``scripts/run.sh`` and ``scripts/test.sh`` run it; a deployment runs it after
``pip install``, docs/operations.md). It is used only when its version is the one of
the bundle inside the installed ``plotly`` package, which built the figures on the
server; otherwise (not installed, or ``plotly`` upgraded since) the full bundle is
served, so the charts always match the server's figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

#: Where ``scripts/fetch_plotly.py`` puts the basic bundle (git ignores it).
VENDOR = Path(__file__).resolve().parent / "vendor"

_VERSION = re.compile(rb"plotly\.js(?: \(basic - minified\))? v(\d+\.\d+\.\d+)")


@dataclass(frozen=True)
class Bundle:
    """One plotly.js file: its path, its plotly.js version and its kind."""

    path: Path
    version: str
    kind: str  # "basic" or "full"

    @property
    def tag(self) -> str:
        """What the page's address names: a new version or kind is a new address."""
        return f"{self.version}-{self.kind}"


def version_in(bundle: bytes) -> str | None:
    """The plotly.js version in the banner at the top of a bundle (None if none)."""
    found = _VERSION.search(bundle[:512])
    return found.group(1).decode() if found else None


def version_of(path: Path) -> str | None:
    """:func:`version_in` of a file (None if it cannot be read)."""
    try:
        with path.open("rb") as file:
            return version_in(file.read(512))
    except OSError:
        return None


def full_bundle() -> Bundle:
    """The full bundle inside the installed ``plotly`` Python package."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    version = version_of(path)
    if version is None:
        raise RuntimeError(f"{path} names no plotly.js version in its first line")
    return Bundle(path, version, "full")


def basic_path(version: str, folder: Path = VENDOR) -> Path:
    """Where the basic bundle of ``version`` is installed."""
    return folder / f"plotly-basic-{version}.min.js"


def served_bundle(folder: Path = VENDOR) -> Bundle:
    """The basic bundle if installed for the full bundle's version, else the full one."""
    full = full_bundle()
    basic = basic_path(full.version, folder)
    if version_of(basic) == full.version:
        return Bundle(basic, full.version, "basic")
    return full
