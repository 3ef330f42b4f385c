"""Leader, analyst and admin pages in Chromium (issue 16): the charts' PNG download
works under the app's CSP, every leader page fits a 390 px phone without sideways
scrolling, and axe-core finds no serious or critical violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page

from survey_app.admin import accounts
from survey_app.models import Role
from tests.helpers.browser import assert_accessible, drawn, foreign_fonts, page_errors

pytestmark = [pytest.mark.browser, pytest.mark.demo]

PASSWORD = "leader-screens-password"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def new_page(browser: Browser, lang: str, width: int, height: int) -> tuple[Page, list[str]]:
    context = browser.new_context(
        locale="vi-VN" if lang == "vi" else "en-GB",
        viewport={"width": width, "height": height},
        accept_downloads=True,
    )
    page = context.new_page()
    errors = page_errors(page)
    return page, errors


def log_in(page: Page, server: Any, app: Flask, role: Role, unit: str | None, lang: str) -> None:
    name = f"screens_{role.value}_{lang}"
    with app.app_context():
        accounts.create_user(name, PASSWORD, role, unit)
    page.goto(f"{server.url}/auth/login?lang={lang}")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def pages(browser: Browser) -> Iterator[Any]:
    opened: list[Page] = []

    def make(lang: str = "vi", width: int = 1366, height: int = 768) -> tuple[Page, list[str]]:
        page, errors = new_page(browser, lang, width, height)
        opened.append(page)
        return page, errors

    yield make
    for page in opened:
        page.context.close()


@pytest.mark.same_on_every_database("lang")
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_camera_button_saves_a_png_under_the_csp(
    live_server: Any, live_app: Flask, pages: Any, lang: str
) -> None:
    page, errors = pages(lang)
    log_in(page, live_server, live_app, Role.LEADER, "NA-HM", lang)
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#trend-chart .main-svg")
    button = page.locator("#trend-chart .modebar-btn[data-title*='png' i]")
    page.hover("#trend-chart")
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename.endswith(".png")
    with open(download.path(), "rb") as handle:
        data = handle.read()
    assert data[:8] == PNG_MAGIC and len(data) > 5000
    assert not [e for e in errors if "Content Security Policy" in e], errors


def pages_of(app: Flask, role: Role, but_not: Role | None = None) -> list[str]:
    """Every GET page of ``role`` in app.url_map on the demo (downloads left out),
    without those ``but_not`` may see too."""
    from tests.helpers.demo_paths import build_path, demo_values

    paths = []
    with app.app_context():
        demo = demo_values()
        demo.inside["user"] = "1"
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            roles = getattr(app.view_functions[rule.endpoint], "required_roles", None)
            if "GET" not in (rule.methods or ()) or roles is None or role not in roles:
                continue
            if but_not is not None and but_not in roles:
                continue
            try:
                path = build_path(rule, demo, "inside")
            except KeyError:  # a parameter the access map does not know yet
                continue
            if "." not in path.rsplit("/", 1)[-1]:
                paths.append(path)
    return paths


def overflow(page: Page) -> dict[str, Any] | None:
    """The page's widths when it scrolls sideways (None when it fits)."""
    widths = page.evaluate(
        "() => ({body: document.body.scrollWidth, client: document.body.clientWidth,"
        " doc: document.documentElement.scrollWidth,"
        " view: document.documentElement.clientWidth,"
        " wide: [...document.querySelectorAll('body *')].filter(e =>"
        "   e.getBoundingClientRect().right > document.documentElement.clientWidth + 1"
        "   && e.parentElement && e.parentElement.getBoundingClientRect().right <="
        "   document.documentElement.clientWidth + 1).slice(0, 4).map(e => e.tagName +"
        "   (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.') + ' '"
        "   + Math.round(e.getBoundingClientRect().right))})"
    )
    widths["wide"] = " | ".join(widths["wide"])  # the outermost elements sticking out
    fits = widths["body"] <= widths["client"] and widths["doc"] <= widths["view"]
    return None if fits else widths


def unreachable_scrollers(page: Page) -> list[str]:
    """Boxes that scroll sideways at this width (a wide table on a phone) but that a
    keyboard cannot reach or a screen reader cannot name: each must be focusable
    (``tabindex="0"``), a region, and named, by a heading that exists or by its own
    label (WCAG 2.1.1; axe's scrollable-region-focusable)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')].filter(e => {
            const x = getComputedStyle(e).overflowX;
            return (x === 'auto' || x === 'scroll') && e.scrollWidth > e.clientWidth + 1;
          }).filter(e => {
            const named = e.getAttribute('aria-labelledby');
            const heading = named && document.getElementById(named);
            const name = heading ? heading.textContent : e.getAttribute('aria-label');
            return !(e.tabIndex >= 0 && e.getAttribute('role') === 'region'
                     && name && name.trim());
          }).map(e => e.tagName + '.' + [...e.classList].join('.') + ' > '
                      + (e.firstElementChild ? e.firstElementChild.tagName
                         + (e.firstElementChild.id ? '#' + e.firstElementChild.id : '') : ''))"""
    )


#: The smallest a form control may be drawn, in CSS pixels: a touch target of 44 px
#: (WCAG 2.5.5) less what a browser's own rounding takes; a box to tick of 18 px; text
#: of 16 px (the root is 18 px). Buttons drawn as links (``button.link``) are text;
#: plotly.js's own toolbar over a chart (``.modebar``) is left to plotly.js.
SMALLEST = {"target": 40, "box": 18, "text": 16}


def small_controls(page: Page) -> list[str]:
    """The form controls of the page's main part drawn smaller than :data:`SMALLEST`."""
    return page.evaluate(
        """(least) => [...document.querySelectorAll(
              'main button, main select, main textarea, main input')]
            .filter(e => e.type !== 'hidden' && !e.classList.contains('link')
                         && !e.closest('.modebar') && e.getClientRects().length > 0)
            .map(e => {
              const box = e.getBoundingClientRect();
              const font = parseFloat(getComputedStyle(e).fontSize);
              const tick = e.type === 'checkbox' || e.type === 'radio';
              const small = tick ? Math.min(box.width, box.height) < least.box
                : box.height < least.target || font < least.text;
              return small ? `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}`
                + `[${e.name || e.type}] ${Math.round(box.width)}x${Math.round(box.height)}`
                + ` ${font}px` : null;
            }).filter(Boolean)""",
        SMALLEST,
    )


def broken_buttons(page: Page) -> list[str]:
    """The buttons of the page's main part whose label is drawn on more than one line
    ("Xác / nhận" in the alerts' table). Buttons drawn as links wrap as links do; text
    hidden for screen readers (a 1-px box) is left out."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main button:not(.link)')]
          .filter(e => e.getClientRects().length > 0 && !e.closest('.modebar'))
          .filter(e => {
            const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
            const boxes = [];
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
              if (!node.textContent.trim()
                  || node.parentElement.getBoundingClientRect().width <= 1) continue;
              const range = document.createRange();
              range.selectNodeContents(node);
              boxes.push(...[...range.getClientRects()].filter(r => r.width > 0));
            }
            return boxes.length > 0 && Math.max(...boxes.map(r => r.top))
              >= Math.min(...boxes.map(r => r.bottom)) - 1;
          })
          .map(e => e.textContent.trim())"""
    )


def touching_cards(page: Page) -> list[str]:
    """Cards (and data tables) one under another in the page's main part with no space
    between them (the small-area page's sections touched)."""
    return page.evaluate(
        """() => {
          const shown = [...document.querySelector('main').children]
            .filter(e => e.getClientRects().length > 0);
          const card = e => e.classList.contains('card') || e.matches('table.data');
          return shown.slice(1).map((e, i) => [shown[i], e])
            .filter(([a, b]) => card(a) && card(b)
                    && b.getBoundingClientRect().top - a.getBoundingClientRect().bottom < 8)
            .map(([a, b]) => `${a.tagName.toLowerCase()}.${a.className} / `
                             + `${b.tagName.toLowerCase()}.${b.className}`);
        }"""
    )


def broken_menu_items(page: Page) -> list[str]:
    """The header's menu texts drawn on more than one line ("Bảng điều / khiển": the
    staff menu once squeezed every item to wrap inside itself)."""
    return page.evaluate(
        """() => {
          const walker = document.createTreeWalker(
            document.querySelector('.site-header'), NodeFilter.SHOW_TEXT);
          const broken = [];
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.textContent.trim()) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            const tops = [...range.getClientRects()].map(r => r.top);
            if (tops.length && Math.max(...tops) - Math.min(...tops) > 2)
              broken.push(node.textContent.trim());
          }
          return broken;
        }"""
    )


#: Who is looked at on which screen: a leader on a phone in both languages and on a
#: tablet held upright (768 px: in English, the ranking's and the kiosk page's tables
#: once widened the page), an administrator on both, the tablet in English (the users'
#: list once did, by the text it keeps for screen readers and by its width; so did a
#: questionnaire's checksum, the poster's QR code and, in English, the bursts table).
NARROW_SCREENS = [
    (Role.LEADER, 390, "vi"),
    (Role.LEADER, 390, "en"),
    (Role.LEADER, 768, "en"),
    (Role.ADMIN, 390, "vi"),
    (Role.ADMIN, 768, "en"),
]


#: The province's pages, whose tables have the most rows and the longest names (the
#: demo paths above show a district's).
MANY_ROWS = ["/dashboard/ranking?unit=QNG", "/dashboard/kiosk?unit=QNG"]


@pytest.mark.same_on_every_database("lang", "width")
@pytest.mark.parametrize(("role", "width", "lang"), NARROW_SCREENS)
def test_every_page_fits_a_phone_and_a_tablet(
    live_server: Any, live_app: Flask, pages: Any, role: Role, width: int, lang: str
) -> None:
    page, _errors = pages(lang, width, 1024 if width > 390 else 844)
    log_in(page, live_server, live_app, role, None, lang)
    if role is Role.LEADER:
        paths = pages_of(live_app, role)
        assert "/dashboard/ranking" in paths and len(paths) >= 6
        paths += MANY_ROWS
    else:  # the leader's pages are the leader's runs' to look at
        paths = pages_of(live_app, role, but_not=Role.LEADER)
        assert "/admin/users/" in paths and "/dashboard/ranking" not in paths
    wide: dict[str, Any] = {}
    unreachable: dict[str, list[str]] = {}
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        drawn(page)
        if path == paths[0]:  # every page's header: one look is enough
            assert broken_menu_items(page) == []
        if (widths := overflow(page)) is not None:
            wide[path] = widths
        if boxes := unreachable_scrollers(page):
            unreachable[path] = boxes
    assert wide == {}, "\n".join(f"{p}: {w}" for p, w in wide.items())
    assert unreachable == {}, "\n".join(f"{p}: {b}" for p, b in unreachable.items())


# Pages every account meets that pages_of does not list: its own password form (open to
# any role), the ranking at equal n (the caterpillar plot, needs its query), an error page.
ALSO_MET = ["/auth/password", "/dashboard/ranking?unit=NA-HM&wave=HM-2018-12", "/no-such-page"]


@pytest.mark.parametrize("role", [Role.LEADER, Role.ANALYST, Role.ADMIN])
def test_every_page_fits_a_laptop_and_has_no_serious_accessibility_violation(
    live_server: Any, live_app: Flask, pages: Any, role: Role
) -> None:
    """1366 x 768 (the audit log's long details and the analysts' tables included),
    axe-core on the same visit of each page, form controls large enough to read and to
    tap (the wave, alert and small-area pages once drew the browser's own tiny selects,
    date fields and buttons) and written in the page's font, buttons whose labels stay
    on one line, cards apart, and a menu whose items each stay on one line."""
    page, _errors = pages("vi", 1366, 768)
    log_in(page, live_server, live_app, role, None, "vi")
    wide, inaccessible, tiny, other_font, two_lines, no_space = {}, {}, {}, {}, {}, {}
    for path in [*pages_of(live_app, role), *ALSO_MET]:
        page.goto(f"{live_server.url}{path}")
        drawn(page)
        if path == "/auth/password":  # every page's header: one look is enough
            assert broken_menu_items(page) == []
        if (widths := overflow(page)) is not None:
            wide[path] = widths
        if small := small_controls(page):
            tiny[path] = small
        if fonts := foreign_fonts(page):
            other_font[path] = fonts
        if broken := broken_buttons(page):
            two_lines[path] = broken
        if touching := touching_cards(page):
            no_space[path] = touching
        try:
            assert_accessible(page)
        except AssertionError as error:
            inaccessible[path] = str(error)[:600]
    assert wide == {}, "\n".join(f"{p}: {w}" for p, w in wide.items())
    assert inaccessible == {}
    assert tiny == {}, "\n".join(f"{p}: {c}" for p, c in tiny.items())
    assert other_font == {}, "\n".join(f"{p}: {c}" for p, c in other_font.items())
    assert two_lines == {}, "\n".join(f"{p}: {c}" for p, c in two_lines.items())
    assert no_space == {}, "\n".join(f"{p}: {c}" for p, c in no_space.items())


@pytest.mark.same_on_every_database("lang")
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_ranking_at_equal_n_is_a_caterpillar_plot(
    live_server: Any, live_app: Flask, pages: Any, lang: str
) -> None:
    """Hoàng Mai's ten communes, 48 respondents each: intervals, not a funnel."""
    page, errors = pages(lang)
    log_in(page, live_server, live_app, Role.ANALYST, None, lang)
    page.goto(f"{live_server.url}/dashboard/ranking?unit=NA-HM&wave=HM-2018-12")
    page.wait_for_selector("#caterpillar-chart .main-svg")
    assert page.locator("#funnel-chart").count() == 0
    rows = page.locator("#ranking-table tbody tr").count()
    assert rows == 10
    assert page.locator("#caterpillar-chart g.errorbar").count() == rows
    assert errors == []
