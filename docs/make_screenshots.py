"""Write the README screenshots of the kiosk and phone screens.

    .venv/bin/python docs/make_screenshots.py

Starts the app on a throwaway SQLite database in a temporary folder, enrols a demo desk,
and photographs the pages in Debian's headless Chromium:

- ``docs/screenshots/kiosk.png``: the kiosk's first question on a 1024×768 tablet;
- ``docs/screenshots/phone.png``: the phone form's first page on a 390×844 phone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from throwaway_app import OUT, chromium, served_app

if TYPE_CHECKING:
    from flask import Flask


def enrol_desk(app: Flask, folder: str) -> str:
    """One ward, the questionnaires and one enrolled desk; the desk's kiosk token."""
    from survey_app.admin import units
    from survey_app.collection import desks, questionnaires

    units.import_units([{"code": "HM-QT", "name_vi": "Phường Quỳnh Thiện",
                         "name_en": "Quynh Thien ward", "kind": "commune",
                         "parent_code": ""}])  # fmt: skip
    questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    desks.create_desk("QT-01", "HM-QT", "Bộ phận một cửa phường Quỳnh Thiện")
    return desks.issue_token("QT-01")


def main() -> None:
    with served_app(enrol_desk) as (url, token), chromium() as browser:
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
    print(f"wrote {OUT / 'kiosk.png'} and {OUT / 'phone.png'}")


if __name__ == "__main__":
    main()
