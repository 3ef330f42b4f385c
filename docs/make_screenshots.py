"""Write the README screenshots of the kiosk and phone screens.

    .venv/bin/python docs/make_screenshots.py

Starts the app on a throwaway SQLite database in a temporary folder, enrols a demo desk,
and photographs the pages in Debian's headless Chromium:

- ``docs/screenshots/kiosk.png``: the kiosk's first question on a 1024×768 tablet;
- ``docs/screenshots/phone.png``: the phone form's first page on a 390×844 phone.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from survey_app import create_app
    from survey_app.admin import units
    from survey_app.collection import desks, questionnaires
    from survey_app.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        os.environ["SURVEY_INSTANCE_PATH"] = folder
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/shots.sqlite3",
             "SECRET_KEY": "screenshots-only", "RATELIMIT_ENABLED": False}
        )  # fmt: skip
        with app.app_context():
            upgrade()
            units.import_units([{"code": "HM-QT", "name_vi": "Phường Quỳnh Thiện",
                                 "name_en": "Quynh Thien ward", "kind": "commune",
                                 "parent_code": ""}])  # fmt: skip
            questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
            desks.create_desk("QT-01", "HM-QT", "Bộ phận một cửa phường Quỳnh Thiện")
            token = desks.issue_token("QT-01")
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        url = f"http://127.0.0.1:{server.server_port}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                tablet = browser.new_page(locale="vi-VN", viewport={"width": 1024, "height": 768})
                tablet.goto(f"{url}/kiosk/QT-01#token={token}")
                tablet.wait_for_selector("#kiosk[data-state=survey]")
                tablet.wait_for_timeout(300)
                tablet.screenshot(path=str(OUT / "kiosk.png"))
                phone = browser.new_page(
                    locale="vi-VN", viewport={"width": 390, "height": 844}, is_mobile=True
                )
                phone.goto(f"{url}/s/QT-01")
                phone.screenshot(path=str(OUT / "phone.png"))
                browser.close()
        finally:
            server.shutdown()
            with app.app_context():
                db.engine.dispose()
    print(f"wrote {OUT / 'kiosk.png'} and {OUT / 'phone.png'}")


if __name__ == "__main__":
    main()
