"""Headless Chromium (Debian's package) driven by Playwright, against a live server.

Playwright's own browser download is never used: the launch points at
``/usr/bin/chromium``, which ``scripts/test.sh`` installs with apt.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from survey_app import create_app
from survey_app.extensions import db
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class LiveServer:
    """The app served by werkzeug in a background thread on a free loopback port.

    ``stop`` waits up to 3 s for the app to finish the requests it is still answering
    (the browser may leave one in flight when a test closes its page): the test then
    disposes the app's engines, and a request finishing later would hand its connection
    to a pool that is gone, leaving it to the garbage collector (a ResourceWarning in a
    later test). Sending the answer is not waited for: the app is done with it by then.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._answering = 0  # requests the app is still working on
        self._idle = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self._counted, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # serve_forever looks for shutdown() every poll_interval (0.5 s by default), so
        # each test's teardown waited up to half a second for the server to stop.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _counted(self, environ: dict, start_response: Any) -> Any:
        with self._idle:
            self._answering += 1
        try:
            body = self.app(environ, start_response)
            try:
                # Read whole and closed here: werkzeug's server skips the close of what
                # the app returned when the browser drops the connection (its clean-up
                # fails on the dead socket first), leaving a static file's handle to the
                # garbage collector (a ResourceWarning in whichever test runs then).
                # No response of the app is endless, and these are small.
                return [b"".join(body)]
            finally:
                if hasattr(body, "close"):
                    body.close()
        finally:
            with self._idle:
                self._answering -= 1
                self._idle.notify_all()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        with self._idle:
            self._idle.wait_for(lambda: self._answering == 0, timeout=3)


@pytest.fixture
def live_app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """A separate app instance for the server thread (CSRF on, as in production)."""
    app_config["WTF_CSRF_ENABLED"] = True
    application = create_app(app_config)
    yield application
    with application.app_context():
        for engine in db.engines.values():  # the submissions engine too
            engine.dispose()


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(live_app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="vi-VN")
    tab = context.new_page()
    yield tab
    context.close()
