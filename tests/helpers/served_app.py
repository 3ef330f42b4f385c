"""The app under gunicorn in a child process, and a kiosk that submits to it.

Used by the reliability tests: the server runs as in production (its own processes,
its own database connections), so it can be killed with SIGKILL mid-request.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Gunicorn:
    """``gunicorn survey_app:create_app()`` on a free loopback port, in its own session."""

    def __init__(
        self,
        database_url: str,
        instance: Path,
        log: Path,
        workers: int = 2,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.log = log
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            SURVEY_INSTANCE_PATH=str(instance),
            SECRET_KEY="reliability-test-secret",
            RATELIMIT_SUBMIT_KIOSK="100000 per minute",
            PYTHONPATH=str(ROOT),
            **(settings or {}),
        )
        command = [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{self.port}",
                   "--workers", str(workers), "--preload", "--graceful-timeout", "1",
                   "survey_app:create_app()"]  # fmt: skip
        with log.open("ab") as handle:
            # A session of its own: SIGKILL goes to the master and every worker at once.
            self.process = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=handle, stderr=handle, start_new_session=True
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log.read_text()[-3000:])
            connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                connection.request("GET", "/healthz")
                reply = connection.getresponse()
                reply.read()
                if reply.status == 200:
                    return
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
            finally:
                connection.close()
        raise RuntimeError("gunicorn did not start:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL to the whole process group: no worker gets to finish anything."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def submission(desk: str, mood: int) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "id": str(uuid.uuid4()),
        "desk": desk,
        "questionnaire": {"slug": "kiosk_quick", "version": 1},
        "answers": {"mood": mood},
        "channel": "kiosk",
        "lang": "vi",
        "submitted_at": now,
    }


def post(port: int, payload: dict[str, Any], token: str, timeout: float = 5) -> int | None:
    """POST one submission; the status, or None when the connection failed."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(
            "POST",
            "/api/v1/responses",
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        reply = connection.getresponse()
        reply.read()
        return reply.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
