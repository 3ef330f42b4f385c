"""Install plotly.js's basic bundle for the charts (see survey_app/plotly_bundle.py).

Run with the project's interpreter after ``pip install``::

    .venv/bin/python scripts/fetch_plotly.py

It reads which plotly.js version the installed ``plotly`` package carries, downloads
that version of ``plotly.js-basic-dist-min`` from the npm registry (``NPM_CONFIG_REGISTRY``
names a mirror), checks the archive against the registry's SHA-512 integrity, and
writes the bundle and its licence into ``survey_app/vendor/``. Nothing is fetched at
run time: the app serves the file it finds there. Without it the app serves the full
bundle, so the charts still work (4.8 MB instead of 1.2 MB per phone).

Exit status 0 when the bundle is in place (already, or now), 1 when it could not be
fetched (the reason is printed).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from survey_app.plotly_bundle import (  # noqa: E402
    VENDOR,
    basic_path,
    full_bundle,
    version_in,
    version_of,
)

PACKAGE = "plotly.js-basic-dist-min"
MEMBERS = {"package/plotly-basic.min.js": "min.js", "package/LICENSE": "LICENSE"}


def registry() -> str:
    return os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org/").rstrip("/")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def checked(archive: bytes, integrity: str) -> None:
    """Refuse an archive whose SHA-512 is not the registry's (``sha512-<base64>``)."""
    kind, _, expected = integrity.partition("-")
    if kind != "sha512":
        raise ValueError(f"the registry gives a {kind} integrity, not sha512")
    actual = base64.b64encode(hashlib.sha512(archive).digest()).decode()
    if actual != expected:
        raise ValueError("the archive's SHA-512 is not the registry's: not installed")


def install(version: str, folder: Path = VENDOR) -> Path:
    """Download, check and write the basic bundle of ``version``; its path."""
    meta = json.loads(fetch(f"{registry()}/{PACKAGE}/{version}"))
    archive = fetch(meta["dist"]["tarball"])
    checked(archive, meta["dist"]["integrity"])
    contents: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member, suffix in MEMBERS.items():
            source = tar.extractfile(member)
            if source is None:
                raise ValueError(f"{member} is not a file in the archive")
            contents[suffix] = source.read()
    if version_in(contents["min.js"]) != version:
        raise ValueError(f"the bundle fetched does not say plotly.js v{version}")
    target = basic_path(version, folder)
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, data in sorted(contents.items()):  # the bundle last: it marks success
        path = target.with_name(f"plotly-basic-{version}.{suffix}")
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(data)
        os.replace(partial, path)
    return target


def main() -> int:
    version = full_bundle().version
    target = basic_path(version)
    if version_of(target) == version:
        return 0
    try:
        path = install(version)
    except (OSError, ValueError, KeyError, tarfile.TarError) as exc:
        print(f"plotly.js basic bundle v{version} not installed: {exc}", file=sys.stderr)
        print("the charts will load the full bundle (4.8 MB)", file=sys.stderr)
        return 1
    print(f"    plotly.js basic bundle v{version}: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
