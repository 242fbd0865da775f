"""Open pages follow a letter live, in a real browser, without a reload.

Two visitors watch a letter, one on its page and one on the full list, while a third
signs and confirms it through the real form and the real email; what the third did
must reach both open pages within 10 seconds, with no navigation in between.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import SLUG, Live, expect, sign_in_browser

if TYPE_CHECKING:  # without Playwright the fixtures skip (or fail in CI) with the reason
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.slow

ORGANIZATION = "Coastal Fisheries Alliance"
EMAIL = "ana@coastal-fisheries.example.org"
LIVE_UPDATE_SECONDS = 10


def watch(page: Page, path: str) -> list[str]:
    """Open ``path`` and note every later navigation of the page; the list it fills.

    A marker on ``window`` survives only as long as the document does: a reload or any
    navigation, however it came about, drops it.
    """
    page.goto(path)
    page.evaluate("window.__watching = 'since the first load'")
    navigations: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
    )
    return navigations


def still_the_same_document(page: Page, navigations: list[str]) -> None:
    assert navigations == [], f"the page navigated: {navigations}"
    assert page.evaluate("window.__watching") == "since the first load", "the page was reloaded"


def remaining_ms(deadline: float) -> float:
    # At least 1 ms: Playwright reads a timeout of 0 as "wait for ever".
    return max(0.001, deadline - time.monotonic()) * 1000


def test_a_signature_confirmed_in_one_browser_appears_in_the_others_open_pages(
    live: Live, new_context: Callable[..., BrowserContext]
):
    letter_page = new_context().new_page()
    list_page = new_context().new_page()
    letter_navigations = watch(letter_page, f"/letters/{SLUG}")
    list_navigations = watch(list_page, f"/letters/{SLUG}/signatories")
    expect(letter_page.locator(".meta .count")).to_have_text("0")
    expect(list_page.get_by_text(ORGANIZATION)).to_have_count(0)

    signer = new_context().new_page()
    sign_in_browser(
        signer,
        SLUG,
        organization=ORGANIZATION,
        email=EMAIL,
        website="https://coastal-fisheries.example.org",
    )
    signer.goto(live.mail_to(EMAIL, "confirm"))
    # The clock starts as the signer presses the button that publishes the signature.
    deadline = time.monotonic() + LIVE_UPDATE_SECONDS
    signer.get_by_role("button", name="Confirm my signature").click()
    expect(
        signer.get_by_role("heading", name=re.compile("your signature is confirmed"))
    ).to_be_visible(timeout=remaining_ms(deadline))

    latest = letter_page.get_by_role("region", name="Latest signatories")
    expect(latest.get_by_role("listitem").filter(has_text=ORGANIZATION)).to_be_visible(
        timeout=remaining_ms(deadline)
    )
    expect(letter_page.locator(".meta .count")).to_have_text("1", timeout=remaining_ms(deadline))
    organizations = list_page.get_by_role("table", name="Organizations")
    expect(organizations.get_by_role("row").filter(has_text=ORGANIZATION)).to_be_visible(
        timeout=remaining_ms(deadline)
    )
    expect(list_page.locator(".meta .count").first).to_have_text(
        "1", timeout=remaining_ms(deadline)
    )

    still_the_same_document(letter_page, letter_navigations)
    still_the_same_document(list_page, list_navigations)


def test_the_live_endpoint_answers_304_with_an_empty_body_while_nothing_changes(
    live: Live, new_context: Callable[..., BrowserContext]
):
    page = new_context().new_page()
    page.goto(f"/letters/{SLUG}")
    # From the page itself, as its script polls: same origin, the browser's own stack.
    answers = page.evaluate(
        """async (url) => {
            const first = await fetch(url, {cache: "no-store"});
            const etag = first.headers.get("ETag");
            await first.text();
            const again = await fetch(url, {headers: {"If-None-Match": etag}});
            const other = await fetch(url, {headers: {"If-None-Match": '"not-the-current-one"'}});
            return {
                etag: etag,
                first: first.status,
                again: again.status,
                againBody: await again.text(),
                againEtag: again.headers.get("ETag"),
                cacheControl: again.headers.get("Cache-Control"),
                other: other.status,
            };
        }""",
        f"/letters/{SLUG}/live.json",
    )
    assert answers["first"] == 200 and answers["etag"], answers
    assert answers["again"] == 304, answers
    assert answers["againBody"] == ""
    assert answers["againEtag"] == answers["etag"]
    assert "public" in answers["cacheControl"] and "max-age=" in answers["cacheControl"]
    assert answers["other"] == 200, "an ETag that is not current must get the full answer"
