"""A body shorter than its Content-Length, or sent drop by drop, under a real gunicorn.

gunicorn's sync worker reads the body with a blocking socket: before the edge's body
timeout (survey_app/edge.py) it waited for the missing bytes until the arbiter killed
the worker at 30 s, and the client got no answer. Now the reply is a 408 within
BODY_READ_TIMEOUT_S seconds and the same (single) worker answers the next request at once.
"""

from __future__ import annotations

import http.client
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from survey_app.config import Config
from tests.helpers.served_app import HOST, Gunicorn

IDLE_S = 2.0  # BODY_READ_TIMEOUT_S for the served app


def raw_request(
    port: int, head: str, body_parts: list[bytes], pause: float = 0
) -> tuple[int, float]:
    """Send ``head`` and the parts (``pause`` seconds apart, stopping when the server has
    answered); the status and the seconds from the end of the headers to the reply."""
    with socket.create_connection((HOST, port), timeout=20) as sock:
        sock.sendall(head.encode("latin-1"))
        started = time.monotonic()
        for part in body_parts:
            try:
                sock.sendall(part)
            except OSError:  # the server answered and closed
                break
            if select.select([sock], [], [], pause)[0]:  # the reply is there
                break
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        elapsed = time.monotonic() - started
    status_line = reply.split(b"\r\n", 1)[0].decode("latin-1")
    assert status_line.startswith("HTTP/1."), reply[:200]
    return int(status_line.split()[1]), elapsed


def healthy(port: int) -> float:
    started = time.monotonic()
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        reply = connection.getresponse()
        reply.read()
        assert reply.status == 200
    finally:
        connection.close()
    return time.monotonic() - started


@pytest.fixture
def server(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gunicorn]:
    monkeypatch.setenv("BODY_READ_TIMEOUT_S", str(IDLE_S))
    instance = tmp_path / "served"
    instance.mkdir()
    served = Gunicorn(database_url, instance, tmp_path / "gunicorn.log", workers=1)
    yield served
    served.stop()


def head(path: str, content_type: str, length: int) -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )


def test_bodies_shorter_than_their_length_are_refused_quickly(server: Gunicorn) -> None:
    cases = [
        ("/api/v1/responses", "application/json", b'{"id": "'),
        ("/auth/login", "application/x-www-form-urlencoded", b"username=adm"),
        ("/s/QL-01", "multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disp"),
    ]
    for path, content_type, body in cases:
        status, elapsed = raw_request(server.port, head(path, content_type, 10_000), [body])
        assert status in (400, 408), (path, status)
        assert elapsed < IDLE_S + 3, (path, elapsed)
        # The only worker is free again: the next request is answered at once.
        assert healthy(server.port) < 2


def test_default_limits_answer_before_the_worker_timeout(tmp_path: Path) -> None:
    config = Config(str(tmp_path))
    assert config.BODY_READ_TIMEOUT_S <= 5  # gunicorn kills a silent worker at 30 s
