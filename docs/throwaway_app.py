"""What the docs scripts share: a throwaway app on a new SQLite database in a
temporary folder (served on a free port for the screenshots, or with the simulated
demo seeded for the README's stories) and Debian's headless Chromium.

``make_screenshots.py`` (kiosk and phone) and ``make_dashboard_screenshots.py``
(leaders' pages) differ only in what they put into the database and which pages
they photograph; ``hoang_mai_story.py`` and ``small_area_story.py`` only in what they
print from the seeded demo. They run as scripts (``.venv/bin/python docs/...``), so
this module is imported from the script's own folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from flask import Flask
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

T = TypeVar("T")

sys.path.insert(0, str(ROOT))  # the scripts run from docs/; the app lives above it


@contextmanager
def _new_app(database: str) -> Iterator[tuple[Flask, str]]:
    """The app on a new, migrated SQLite database in a temporary folder, and the folder;
    the database is closed on the way out."""
    from flask_migrate import upgrade

    from survey_app import create_app
    from survey_app.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        os.environ["SURVEY_INSTANCE_PATH"] = folder
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/{database}",
             "SECRET_KEY": "docs-only", "RATELIMIT_ENABLED": False}
        )  # fmt: skip
        with app.app_context():
            upgrade()
        try:
            yield app, folder
        finally:
            with app.app_context():
                db.engine.dispose()


@contextmanager
def demo_app(rng_seed: int = 20181231) -> Iterator[Flask]:
    """A throwaway app with the simulated demo seeded (``demo.seed``, default seed)."""
    with _new_app("story.sqlite3") as (app, folder), app.app_context():
        from survey_app import demo

        demo.seed(rng_seed=rng_seed, credentials_path=Path(folder) / "credentials.txt")
        yield app


@contextmanager
def served_app(prepare: Callable[[Flask, str], T]) -> Iterator[tuple[str, T]]:
    """An app on a new SQLite database in a temporary folder, migrated, then filled by
    ``prepare(app, folder)`` inside an app context, and served on a free local port.

    Yields the base URL and what ``prepare`` returned; stops the server and closes the
    database on the way out.
    """
    from werkzeug.serving import make_server

    from survey_app.extensions import db

    with _new_app("shots.sqlite3") as (app, folder):
        with app.app_context():
            prepared = prepare(app, folder)
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", prepared
        finally:
            server.shutdown()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
