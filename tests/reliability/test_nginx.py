"""docs/nginx/survey.conf in front of gunicorn keeps the app available to slow clients.

Without a proxy, a few connections that send their headers and then trickle (or
stall) their body each hold one of gunicorn's sync workers: four of them made the
server unavailable for 44 s. This test runs a real nginx (Debian's ``nginx``, as a
non-daemon child with a temporary prefix) with the committed configuration, its
ports, certificate and upstream swapped for loopback ones, in front of the app under
gunicorn with two workers; opens slow-body connections; and checks that /healthz
and a kiosk submission are still answered meanwhile. The socket timeouts are
generous: this checks that requests are answered, it is not a timing test (the
latencies are printed for the record).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from flask import Flask

from survey_app.extensions import db
from tests.helpers.databases import dispose_engines
from tests.helpers.desks import commune_desk
from tests.helpers.served_app import HOST, ROOT, Gunicorn, free_port, submission

CONFIG = ROOT / "docs" / "nginx" / "survey.conf"
SLOW_CONNECTIONS = 8
TIMEOUT = 30  # seconds: generous, so that the test does not depend on timing

pytestmark = pytest.mark.slow


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (scripts/test.sh installs it)")
        pytest.skip("nginx is not installed")
    return found


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    return certificate, key


def templated(replacements: dict[str, str]) -> str:
    """The committed configuration with each placeholder line replaced exactly once."""
    text = CONFIG.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{old!r} should occur once in {CONFIG}"
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx with docs/nginx/survey.conf on two loopback ports, in the foreground."""

    def __init__(self, binary: str, upstream_port: int, folder: Path) -> None:
        folder.mkdir()
        (folder / "logs").mkdir()
        self.folder = folder
        self.http_port, self.https_port = free_port(), free_port()
        certificate, key = self_signed_certificate(folder)
        site = templated(
            {
                "server 127.0.0.1:8000;": f"server {HOST}:{upstream_port};",
                "listen 80;": f"listen {HOST}:{self.http_port};",
                "listen 443 ssl;": f"listen {HOST}:{self.https_port} ssl;",
                "/etc/ssl/certs/khaosat.example.gov.vn.pem": str(certificate),
                "/etc/ssl/private/khaosat.example.gov.vn.key": str(key),
            }
        )
        (folder / "survey.conf").write_text(site, encoding="utf-8")
        # As root, nginx's workers would run as "nobody", who cannot enter pytest's
        # private temporary folder.
        user = "user root root;" if os.geteuid() == 0 else ""
        temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        main = f"""
            daemon off;
            {user}
            worker_processes 1;
            pid {folder / "nginx.pid"};
            error_log {folder / "logs" / "error.log"} warn;
            events {{ worker_connections 512; }}
            http {{
                access_log {folder / "logs" / "access.log"};
                client_body_temp_path {temp["body"]};
                proxy_temp_path {temp["proxy"]};
                fastcgi_temp_path {temp["fastcgi"]};
                uwsgi_temp_path {temp["uwsgi"]};
                scgi_temp_path {temp["scgi"]};
                include {folder / "survey.conf"};
            }}
        """
        (folder / "nginx.conf").write_text(main, encoding="utf-8")
        self.log = folder / "logs" / "nginx.out"
        with self.log.open("wb") as handle:
            self.process = subprocess.Popen(
                [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"),
                 "-e", str(folder / "logs" / "error.log")],
                stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("nginx exited:\n" + self.output())
            try:
                socket.create_connection((HOST, self.https_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start:\n" + self.output())

    def output(self) -> str:
        error_log = self.folder / "logs" / "error.log"
        parts = [self.log.read_text(errors="replace")]
        if error_log.exists():
            parts.append(error_log.read_text(errors="replace"))
        return "\n".join(parts)[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: fast shutdown of master and worker
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    return context


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, dict[str, str], bytes, float]:
    """One HTTPS request through nginx: status, headers, body and seconds taken."""
    started = time.monotonic()
    connection = http.client.HTTPSConnection(HOST, port, timeout=TIMEOUT, context=tls_context())
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        data = reply.read()
        return reply.status, dict(reply.getheaders()), data, time.monotonic() - started
    finally:
        connection.close()


class SlowBody:
    """A client that sends its headers, then its body one byte at a time, or stalls."""

    def __init__(self, port: int, trickle: bool) -> None:
        raw = socket.create_connection((HOST, port), timeout=TIMEOUT)
        self.sock = tls_context().wrap_socket(raw, server_hostname="localhost")
        self.sock.sendall(
            b"POST /api/v1/responses HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True) if trickle else None
        if self.thread is not None:
            self.thread.start()

    def _trickle(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self.sock.sendall(b" ")
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.sock.close()


def seed(app: Flask) -> str:
    token = commune_desk(app, "NG", "NG-1")
    db.session.remove()
    dispose_engines()  # the submissions engine too
    return token


def test_slow_bodies_do_not_take_the_app_down_behind_nginx(
    app: Flask, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = nginx_binary()
    token = seed(app)
    server = Gunicorn(database_url, tmp_path / "instance", tmp_path / "gunicorn.log", workers=2)
    proxy: Nginx | None = None
    slow: list[SlowBody] = []
    try:
        proxy = Nginx(binary, server.port, tmp_path / "nginx")
        port = proxy.https_port

        # Plain HTTP is sent to HTTPS.
        plain = http.client.HTTPConnection(HOST, proxy.http_port, timeout=TIMEOUT)
        plain.request("GET", "/healthz", headers={"Host": "khaosat.example.gov.vn"})
        redirect = plain.getresponse()
        redirect.read()
        plain.close()
        assert redirect.status == 301
        assert redirect.getheader("Location") == "https://khaosat.example.gov.vn/healthz"

        # Twice as many slow clients as workers (half trickling, half stalled).
        slow = [SlowBody(port, trickle=i % 2 == 0) for i in range(SLOW_CONNECTIONS)]
        time.sleep(1)  # let them settle in: without nginx, every worker would be taken

        latencies: dict[str, float] = {}
        status, headers, _body, latencies["healthz"] = request(port, "GET", "/healthz")
        assert status == 200
        assert "max-age" in headers.get("Strict-Transport-Security", "")
        payload = submission("NG-1", 4)
        kiosk_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        body = json.dumps(payload).encode()
        status, _headers, answer, latencies["submission"] = request(
            port, "POST", "/api/v1/responses", body, kiosk_headers
        )
        assert status == 201, answer
        status, _headers, _answer, latencies["retry"] = request(
            port, "POST", "/api/v1/responses", body, kiosk_headers
        )
        assert status == 200
        # A body above client_max_body_size (= MAX_CONTENT_LENGTH) is refused by nginx.
        status, *_rest = request(
            port, "POST", "/api/v1/responses", b"x" * (2 * 1024 * 1024 + 1), kiosk_headers
        )
        assert status == 413
        assert all(client.sock.fileno() != -1 for client in slow)  # still open meanwhile
        with capsys.disabled():
            figures = ", ".join(
                f"{name} {seconds * 1000:.0f} ms" for name, seconds in latencies.items()
            )
            print(f"\n[nginx] with {SLOW_CONNECTIONS} slow-body connections open: {figures}")
    except Exception:
        if proxy is not None:
            print(proxy.output())
        raise
    finally:
        for client in slow:
            client.close()
        if proxy is not None:
            proxy.stop()
        server.stop()
