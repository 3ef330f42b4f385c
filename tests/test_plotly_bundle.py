"""plotly.js's basic bundle: installed by ``scripts/fetch_plotly.py``, served when its
version is the installed ``plotly`` package's, refused when the registry's integrity or
the bundle's version does not match."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from survey_app import plotly_bundle
from survey_app.plotly_bundle import basic_path, full_bundle, served_bundle

ROOT = Path(__file__).resolve().parents[1]


def fetch_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_plotly", ROOT / "scripts/fetch_plotly.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def banner(version: str) -> bytes:
    return f"/**\n* plotly.js (basic - minified) v{version}\n*/\nvar Plotly = {{}};\n".encode()


def test_the_basic_bundle_is_served_only_for_the_packages_version(tmp_path: Path) -> None:
    version = full_bundle().version
    assert served_bundle(tmp_path).kind == "full"  # not installed
    basic_path(version, tmp_path).write_bytes(banner("0.0.1"))  # plotly upgraded since
    assert served_bundle(tmp_path).kind == "full"
    basic_path(version, tmp_path).write_bytes(banner(version))
    bundle = served_bundle(tmp_path)
    assert (bundle.kind, bundle.version, bundle.tag) == ("basic", version, f"{version}-basic")


def test_this_installation_serves_the_basic_bundle() -> None:
    """scripts/run.sh and scripts/test.sh install it (scripts/fetch_plotly.py)."""
    bundle = served_bundle()
    assert bundle.kind == "basic", "run .venv/bin/python scripts/fetch_plotly.py"
    assert bundle.path.stat().st_size < full_bundle().path.stat().st_size / 3
    assert bundle.path.with_name(f"plotly-basic-{bundle.version}.LICENSE").is_file()


def archive(bundle: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in (("package/plotly-basic.min.js", bundle), ("package/LICENSE", b"MIT")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bytes]]:
    """A registry on loopback answering the package's metadata and tarball; the test
    fills in ``tarball`` (what is served) and ``integrity`` (what the metadata says)."""
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith(".tgz"):
                body = served["tarball"]
            else:
                tarball = f"http://127.0.0.1:{server.server_port}/p.tgz"
                dist = {"tarball": tarball, "integrity": served["integrity"].decode()}
                body = json.dumps({"dist": dist}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", f"http://127.0.0.1:{server.server_port}/")
    yield served
    server.shutdown()
    server.server_close()


def sha512(data: bytes) -> bytes:
    return b"sha512-" + base64.b64encode(hashlib.sha512(data).digest())


def test_fetch_installs_the_bundle_the_registry_vouches_for(
    registry: dict[str, bytes], tmp_path: Path
) -> None:
    script = fetch_script()
    registry["tarball"] = archive(banner("9.8.7"))
    registry["integrity"] = sha512(registry["tarball"])
    path = script.install("9.8.7", tmp_path)
    assert path == basic_path("9.8.7", tmp_path) and path.read_bytes() == banner("9.8.7")
    assert (tmp_path / "plotly-basic-9.8.7.LICENSE").read_bytes() == b"MIT"
    assert plotly_bundle.version_of(path) == "9.8.7"


def test_fetch_refuses_an_archive_the_registry_does_not_vouch_for(
    registry: dict[str, bytes], tmp_path: Path
) -> None:
    script = fetch_script()
    registry["tarball"] = archive(banner("9.8.7"))
    registry["integrity"] = sha512(archive(banner("9.8.6")))
    with pytest.raises(ValueError, match="SHA-512"):
        script.install("9.8.7", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_fetch_refuses_a_bundle_of_another_version(
    registry: dict[str, bytes], tmp_path: Path
) -> None:
    script = fetch_script()
    registry["tarball"] = archive(banner("9.8.6"))
    registry["integrity"] = sha512(registry["tarball"])
    with pytest.raises(ValueError, match=r"v9\.8\.7"):
        script.install("9.8.7", tmp_path)
    assert list(tmp_path.iterdir()) == []
