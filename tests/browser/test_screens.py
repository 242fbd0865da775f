"""Every page at a phone's width and a desktop's, as evidence: a screenshot of each, and a
failure when a page scrolls sideways or cuts visible content off at 390 px.

The screenshots go to ``docs/screenshots/<width>/<page>.jpg`` (README, "Screenshots"), so
a reviewer sees every page without running anything. The pages are the demo letter's
(``flask demo``: signatories, a queue, two versions) and its coordinator's workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from signatory.demo import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD
from signatory.demo.loader import DEMO_SLUG
from tests.browser.conftest import PASSWORD, Live, confirm_in, expect, sign_in_browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
DEMO = DEMO_SLUG

PUBLIC_PAGES = {
    "home": "/",
    "letter": f"/letters/{DEMO}",
    "letter-in-arabic": f"/letters/{DEMO}?text=ar",
    "signatories": f"/letters/{DEMO}/signatories",
    "signatories-by-name": f"/letters/{DEMO}/signatories?sort=name",
    "charts": f"/letters/{DEMO}/stats",
    "versions": f"/letters/{DEMO}/versions",
    "version-1": f"/letters/{DEMO}/versions/1",
    "versions-compared": f"/letters/{DEMO}/versions/compare?from=1&to=2",
    "widget": f"/letters/{DEMO}/widget",
    "logo-wall": f"/letters/{DEMO}/logos",
    "updates": f"/letters/{DEMO}/updates",
    "privacy": "/privacy",
    "my-signature": "/my-signature",
    "api-docs": "/api/v1/docs",
    "not-found": "/letters/no-such-letter",
    "bad-link": "/confirm/not-a-real-token",
    "login": "/manage/login",
    "forgot-password": "/manage/forgot",
}
WORKSPACE_PAGES = {
    "dashboard": "/manage/",
    "letter-overview": f"/manage/letters/{DEMO}/",
    "letter-edit": f"/manage/letters/{DEMO}/edit",
    "letter-settings": f"/manage/letters/{DEMO}/settings",
    "moderation": f"/manage/letters/{DEMO}/moderation",
    "workspace-signatures": f"/manage/letters/{DEMO}/signatures",
    "workspace-versions": f"/manage/letters/{DEMO}/versions",
    "translations": f"/manage/letters/{DEMO}/translations",
    "team": f"/manage/letters/{DEMO}/team",
    "traffic": f"/manage/letters/{DEMO}/traffic",
    "export": f"/manage/letters/{DEMO}/export",
    "delivery": f"/manage/letters/{DEMO}/delivery",
    "audit": f"/manage/letters/{DEMO}/audit",
    "workspace-updates": f"/manage/letters/{DEMO}/updates",
    "logo-queue": f"/manage/letters/{DEMO}/logos",
    "leads": f"/manage/letters/{DEMO}/leads",
    "invitations": f"/manage/letters/{DEMO}/invitations",
    "import": f"/manage/letters/{DEMO}/import",
    "reconfirmation": f"/manage/letters/{DEMO}/reconfirmation",
    "account": "/manage/account",
}

# Visible boxes that end past the right edge of the window, outside any element that
# scrolls (a scroll box shows that it scrolls; a page that scrolls sideways is caught
# separately). Visually hidden text (1 px, clipped) and the skip link are not content.
CUT_OFF = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const rect = el.getBoundingClientRect();
    if (rect.width <= 1 || rect.height <= 1 || rect.right <= width + 1) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "contents") continue;
    if (el.closest(".visually-hidden, .skip-link, .sign-trap")) continue;
    let scrolled = false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if (overflow === "auto" || overflow === "scroll" || overflow === "hidden") {
        scrolled = true; break;
      }
    }
    if (scrolled) continue;
    const name = el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
      ? "." + el.className.trim().split(/\\s+/).join(".") : "");
    found.push(`${name} ends at ${Math.round(rect.right)} px`);
  }
  return found.slice(0, 10);
}"""
# Tables and charts that a phone would have to scroll: content the reader may never find.
SCROLLED_AWAY = """() => {
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const overflow = getComputedStyle(el).overflowX;
    if ((overflow === "auto" || overflow === "scroll") && el.scrollWidth > el.clientWidth + 1
        && el.getBoundingClientRect().height > 1 && !el.matches("textarea, pre")) {
      found.push(`${el.tagName.toLowerCase()}.${el.className} holds ${el.scrollWidth} px`
        + ` in ${el.clientWidth}`);
    }
  }
  return found.slice(0, 10);
}"""


@pytest.fixture(scope="module")
def demo(live: Live) -> Live:
    live.stack.flask("demo")
    return live


@pytest.fixture(scope="module")
def signed_in(browser: Browser, demo: Live) -> Iterator[Callable[..., BrowserContext]]:
    """Contexts of the demo coordinator, signed in once (the session cookie is shared)."""
    first = browser.new_context(base_url=demo.base, locale="en-US")
    page = first.new_page()
    page.goto("/manage/login")
    page.get_by_label("Email").fill(DEMO_COORDINATOR_EMAIL)
    page.get_by_label("Password").fill(DEMO_COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your letters")).to_be_visible()
    state = first.storage_state()
    first.close()
    opened: list[BrowserContext] = []

    def open_context(**options: Any) -> BrowserContext:
        context = browser.new_context(
            base_url=demo.base, locale="en-US", storage_state=state, **options
        )
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


def _looked_at(page: Page, name: str, path: str, width: str) -> list[str]:
    """Open ``path``, save its screenshot, and list what a reader at this width cannot see."""
    page.goto(path)
    page.wait_for_load_state("networkidle")
    target = SHOTS / width / f"{name}.jpg"
    target.parent.mkdir(parents=True, exist_ok=True)
    # JPEG: a fifth of a PNG's size for pages of text, and these are kept in the repository.
    page.screenshot(path=str(target), full_page=True, type="jpeg", quality=70)
    if width != "phone":
        return []
    problems: list[str] = []
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    client_width = page.evaluate("document.documentElement.clientWidth")
    if scroll_width > client_width + 1:
        problems.append(f"the page scrolls sideways: {scroll_width} px in {client_width}")
    problems += page.evaluate(CUT_OFF)
    problems += page.evaluate(SCROLLED_AWAY)
    return problems


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_pages_fit_the_screen(
    demo: Live, new_context: Callable[..., BrowserContext], name: str, width: str
) -> None:
    w, h = WIDTHS[width]
    page = new_context(viewport={"width": w, "height": h}).new_page()

    assert _looked_at(page, name, PUBLIC_PAGES[name], width) == []


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", WORKSPACE_PAGES)
def test_workspace_pages_fit_the_screen(
    signed_in: Callable[..., BrowserContext], name: str, width: str
) -> None:
    w, h = WIDTHS[width]
    page = signed_in(viewport={"width": w, "height": h}).new_page()

    assert _looked_at(page, name, WORKSPACE_PAGES[name], width) == []


# The frame sizes a site might give the widget: the embed code's own, and smaller ones.
WIDGET_FRAMES = [(360, 420), (320, 300), (280, 240)]


@pytest.mark.parametrize(("w", "h"), WIDGET_FRAMES)
def test_the_widget_keeps_its_count_and_button_inside_the_frame(
    demo: Live, new_context: Callable[..., BrowserContext], w: int, h: int
) -> None:
    page = new_context(viewport={"width": w, "height": h}).new_page()
    page.goto(PUBLIC_PAGES["widget"])
    button = page.get_by_role("link", name="Sign the letter")
    expect(button).to_be_visible()

    inside = """el => { const r = el.getBoundingClientRect();
        return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; }"""
    assert button.evaluate(inside), f"the button is cut off in a {w}×{h} frame"
    assert page.locator("[data-live-total]").evaluate(inside)
    # The page itself never scrolls: what does not fit is the list's, cut whole.
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 1")


def test_a_changed_paragraph_says_so_in_words_not_only_by_colour(
    demo: Live, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(PUBLIC_PAGES["versions-compared"])

    changed = page.locator(".diff-changed").first
    expect(changed.locator(".diff-label")).to_be_visible()
    expect(changed.locator(".diff-label")).to_have_text("Changed paragraph:")
    assert changed.locator(".diff-label").evaluate("el => el.getBoundingClientRect().width > 50")
    # Unchanged paragraphs carry no visible label.
    same = page.locator(".diff-same").first.locator(".diff-label")
    assert same.evaluate("el => el.getBoundingClientRect().width <= 1")


DELIVERED = "/letters/delivered-letter/delivered"


@pytest.fixture(scope="module")
def delivered(browser: Browser, demo: Live) -> str:
    """A second letter, signed once and delivered through the workspace; its public page."""
    slug = demo.new_letter("delivered-letter", "A delivered letter")
    context = browser.new_context(base_url=demo.base, locale="en-US")
    page = context.new_page()
    email = "ivo@harbour-workers.example.org"
    sign_in_browser(page, slug, organization="Harbour Workers Union", email=email)
    confirm_in(page, demo.mail_to(email, "confirm"))
    page.goto("/manage/login")
    page.get_by_label("Email").fill("chair@coalition.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/manage/letters/{slug}/delivery")
    page.get_by_label("How").fill("In person, at the Committee's session")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Mark delivered and freeze the list").click()
    expect(page.get_by_text("Delivered to")).to_be_visible()
    context.close()
    return DELIVERED


@pytest.mark.parametrize("width", WIDTHS)
def test_the_delivered_page_fits_the_screen(
    delivered: str, new_context: Callable[..., BrowserContext], width: str
) -> None:
    w, h = WIDTHS[width]
    page = new_context(viewport={"width": w, "height": h}).new_page()

    assert _looked_at(page, "delivered", delivered, width) == []


PRINTED = {
    "letter": PUBLIC_PAGES["letter"],
    "signatories": PUBLIC_PAGES["signatories"],
    "delivered": DELIVERED,
}
A4 = {"width": 794, "height": 1123}  # 210 mm at 96 px per inch


@pytest.mark.parametrize("name", PRINTED)
def test_the_letter_the_list_and_the_delivery_print_as_documents(
    demo: Live,
    new_context: Callable[..., BrowserContext],
    name: str,
    request: pytest.FixtureRequest,
) -> None:
    if name == "delivered":
        request.getfixturevalue("delivered")
    page = new_context(viewport=A4).new_page()
    page.goto(PRINTED[name])
    page.emulate_media(media="print")
    target = SHOTS / "print" / f"{name}.jpg"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True, type="jpeg", quality=70)

    # The site's controls stay on screen; the page says where it came from.
    for control in [".site-header", ".site-footer", ".sign-panel", ".filters", ".no-print"]:
        for element in page.locator(control).all():
            expect(element).to_be_hidden()
    source = page.locator(".print-source")
    expect(source).to_be_visible()
    expect(source).to_contain_text(f"{demo.base}{PRINTED[name]}")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    if name == "delivered":
        expect(page.locator(".delivered-proof")).to_be_visible()
        expect(page.get_by_text("Harbour Workers Union")).to_be_visible()
    elif name == "signatories":
        # On paper a list is a table whose header repeats on every sheet, never cards.
        table = page.get_by_role("table", name="Organizations").first
        assert table.evaluate("t => getComputedStyle(t.tHead).display") == "table-header-group"
        assert table.evaluate("t => getComputedStyle(t).display") == "table"
    else:
        expect(page.locator(".letter-body")).to_be_visible()


# A box that starts past the left edge of the window, outside any scroll box: what a
# right-to-left page would cut off (its overflow runs to the left).
CUT_OFF_LEFT = CUT_OFF.replace("rect.right <= width + 1", "rect.left >= -1").replace(
    "ends at ${Math.round(rect.right)}", "starts at ${Math.round(rect.left)}"
)


def test_an_arabic_translation_runs_from_the_right_inside_a_left_to_right_page(
    demo: Live, new_context: Callable[..., BrowserContext]
) -> None:
    w, h = WIDTHS["phone"]
    page = new_context(viewport={"width": w, "height": h}).new_page()
    page.goto(PUBLIC_PAGES["letter-in-arabic"])

    body = page.locator(".letter-body")
    assert body.evaluate("el => getComputedStyle(el).direction") == "rtl"
    # The salutation, one short line, sits against the right edge of the text.
    line = body.locator("p").first.evaluate(
        """p => { const range = document.createRange(); range.selectNodeContents(p);
            const line = range.getBoundingClientRect(), box = p.getBoundingClientRect();
            return {left: line.left - box.left, right: box.right - line.right}; }"""
    )
    assert line["right"] <= 2 and line["left"] > 50, line
    # The numbered requests: their numbers in the right margin.
    ol = body.locator("ol").first
    assert ol.evaluate("el => parseFloat(getComputedStyle(el).paddingRight)") > 10
    assert ol.evaluate("el => parseFloat(getComputedStyle(el).paddingLeft)") == 0
    # The interface around the text stays English, left to right.
    assert page.locator("h1").evaluate("el => getComputedStyle(el).direction") == "ltr"


@pytest.mark.parametrize(
    "name", ["letter-in-arabic", "signatories", "versions-compared", "privacy"]
)
def test_pages_lay_out_right_to_left_when_the_interface_does(
    demo: Live, new_context: Callable[..., BrowserContext], name: str
) -> None:
    """An interface language written right to left (none is translated yet) sets
    ``<html dir="rtl">`` (``core.i18n.text_direction``); every rule then mirrors, since
    the stylesheet speaks of start and end, never of left and right."""
    w, h = WIDTHS["phone"]
    page = new_context(viewport={"width": w, "height": h}).new_page()
    page.goto(PUBLIC_PAGES[name])
    page.evaluate("document.documentElement.dir = 'rtl'")

    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert page.evaluate(CUT_OFF_LEFT) == []
    assert page.evaluate(CUT_OFF) == []
    # Headings and notices hang from the right edge; a notice's rule is on its right.
    heading = page.locator("main h1").first
    assert heading.evaluate("el => el.getBoundingClientRect().right") >= w - 40
    notice = page.locator(".notice").first
    if name == "letter-in-arabic":  # "This is a translation."
        expect(notice).to_be_visible()
    if notice.count():
        side = notice.evaluate(
            "el => [getComputedStyle(el).borderRightWidth, getComputedStyle(el).borderLeftWidth]"
        )
        assert side[0] != "0px" and side[1] == "0px", side
