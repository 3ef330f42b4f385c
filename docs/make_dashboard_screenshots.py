"""Write the README screenshots of the leaders' dashboard.

    .venv/bin/python docs/make_dashboard_screenshots.py

Seeds the simulated demo (``flask demo seed``) into a throwaway SQLite database in a
temporary folder, starts the app, logs in as a leader and photographs, in Debian's
headless Chromium at 1280 pixels wide:

- ``docs/screenshots/dashboard.png``: the overview of Hoàng Mai town (leader scoped to
  NA-HM) with two wards added to the trend chart;
- ``docs/screenshots/scorecard.png``: the town's scorecard for December 2018 as it
  prints on A4;
- ``docs/screenshots/ranking.png``: the ranking of Quảng Ngãi's departments in 2022
  against 2021 (leader scoped to QNG); every department has n = 90, so the chart is the
  caterpillar plot (estimates with their intervals, ordered);
- ``docs/screenshots/kiosk-monitor.png``: the kiosk monitor's small multiples, one
  panel per desk of Hoàng Mai town;
- ``docs/screenshots/dashboard-phone.png``: the overview on a 390 x 844 phone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from throwaway_app import OUT, chromium, served_app

if TYPE_CHECKING:
    from flask import Flask
    from playwright.sync_api import Page

PASSWORD = "screenshots-only-password"


def seed_demo(app: Flask, folder: str) -> None:
    """The simulated demo, a leader of Hoàng Mai town and one of Quảng Ngãi."""
    from survey_app.admin import accounts
    from survey_app.models import Role

    result = app.test_cli_runner().invoke(
        args=["demo", "seed", "--credentials", f"{folder}/credentials.txt"]
    )
    if result.exit_code != 0:
        raise SystemExit(result.output)
    accounts.create_user("town_leader", PASSWORD, Role.LEADER, "NA-HM")
    accounts.create_user("province_leader", PASSWORD, Role.LEADER, "QNG")


def main() -> None:
    with served_app(seed_demo) as (url, _), chromium() as browser:

        def login(page: Page, username: str) -> None:
            page.goto(f"{url}/auth/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")

        def chart_page(page: Page, path: str, chart: str, name: str, *, full: bool = True) -> None:
            """Open ``path``, wait until Plotly has drawn ``#chart``, photograph it."""
            page.goto(f"{url}{path}")
            page.wait_for_selector(f"#{chart} .main-svg")
            page.wait_for_timeout(500)
            page.screenshot(path=str(OUT / name), full_page=full)

        size = {"width": 1280, "height": 900}
        town = browser.new_page(locale="vi-VN", viewport=size)
        login(town, "town_leader")
        chart_page(town, "/dashboard/?units=HM-QT&units=HM-QTr", "trend-chart", "dashboard.png")
        town.goto(f"{url}/scorecard/NA-HM/HM-2018-12")
        town.emulate_media(media="print")
        town.wait_for_timeout(300)
        town.screenshot(path=str(OUT / "scorecard.png"), full_page=True)
        town.emulate_media(media="screen")
        chart_page(town, "/dashboard/kiosk", "rate-chart", "kiosk-monitor.png")
        phone = browser.new_page(locale="vi-VN", viewport={"width": 390, "height": 844})
        login(phone, "town_leader")
        chart_page(phone, "/dashboard/", "trend-chart", "dashboard-phone.png", full=False)
        province = browser.new_page(locale="vi-VN", viewport=size)
        login(province, "province_leader")
        ranking = "/dashboard/ranking?unit=QNG&group=department&wave=QN-2022"
        chart_page(province, ranking, "caterpillar-chart", "ranking.png")
    print(
        "wrote dashboard.png, scorecard.png, ranking.png, kiosk-monitor.png and "
        f"dashboard-phone.png in {OUT}"
    )


if __name__ == "__main__":
    main()
