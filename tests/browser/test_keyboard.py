"""Signing, confirming, withdrawing and moderating with the keyboard alone.

Every stop shows where focus is and errors are linked to their fields. Only key presses
and typing into the focused element: no clicks, no ``fill`` (opening an emailed link is
typing its address, so ``goto`` stands for it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import PASSWORD, SLUG, Live, expect, sign_in_browser

if TYPE_CHECKING:  # without Playwright the fixtures skip (or fail in CI) with the reason
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.slow

MAX_TABS = 80
PHONE = {"width": 390, "height": 800}

# The focused element: what it is, and whether its focus ring shows (outline or ring).
FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {
        tag: el.tagName, id: el.id, name: el.name || "",
        text: (el.textContent || "").trim().slice(0, 60),
        focusVisible: el.matches(":focus-visible"),
        outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
        ring: style.boxShadow !== "none",
    };
}"""


def tab_to(page: Page, text: str) -> dict:
    """Press Tab until the control reading ``text`` has a visible focus; what was focused."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["tag"] in ("A", "BUTTON", "INPUT", "SELECT", "TEXTAREA", "SUMMARY"):
            assert focused["focusVisible"] and focused["outline"] and focused["ring"], focused
        if focused["text"] == text or focused["id"] == text:
            return focused
    raise AssertionError(f"Tab never reached {text!r}")


@pytest.mark.parametrize("javascript", [True, False])
def test_a_first_send_with_errors_focuses_the_summary_whose_links_focus_the_fields(
    new_context: Callable[..., BrowserContext], javascript: bool
):
    page = new_context(java_script_enabled=javascript, viewport=PHONE).new_page()
    page.goto(f"/letters/{SLUG}")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["text"] == "Skip to content"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    tab_to(page, "Sign this letter")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "kind", "the jump link did not lead to the form"

    tab_to(page, "Sign the letter")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    summary = page.get_by_role("alert").filter(has_text="Please correct")
    expect(summary).to_be_focused()
    page.keyboard.press("Tab")
    link = page.evaluate(FOCUSED)
    assert link["tag"] == "A" and link["focusVisible"] and link["outline"], link
    page.keyboard.press("Enter")
    expect(page.locator("#organization")).to_be_focused()
    assert page.evaluate(FOCUSED)["focusVisible"]


def test_the_summary_link_of_a_radio_group_focuses_its_first_button(
    new_context: Callable[..., BrowserContext],
):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(f"/letters/{SLUG}")
    # A tampered kind (no choice sent) is reported against the radio group.
    page.evaluate("document.querySelectorAll('input[name=kind]').forEach(r => r.remove())")
    page.locator("#sign-form, form.sign-form, form:has(#organization)").first.evaluate(
        "form => form.requestSubmit()"
    )
    page.wait_for_load_state()
    link = page.get_by_role("alert").locator("a[href^='#kind']")
    expect(link).to_have_count(1)
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("input[name=kind]").first).to_be_focused()


def press_on(page: Page, text: str, key: str = "Enter") -> None:
    """Tab to the control reading ``text`` and press ``key`` on it, awaiting the next page."""
    tab_to(page, text)
    with page.expect_navigation():
        page.keyboard.press(key)


@pytest.mark.parametrize("javascript", [True, False])
def test_a_signer_confirms_and_later_withdraws_by_keyboard(
    live: Live, new_context: Callable[..., BrowserContext], javascript: bool
):
    email = f"kim{int(javascript)}@keyboard-coalition.example.org"
    organization = f"Keyboard Coalition {int(javascript)}"
    sign_in_browser(new_context().new_page(), SLUG, organization=organization, email=email)

    page = new_context(java_script_enabled=javascript, viewport=PHONE).new_page()
    page.goto(live.mail_to(email, "confirm"))
    press_on(page, "Confirm my signature")
    expect(
        page.get_by_role("heading", name="Thank you, your signature is confirmed")
    ).to_be_visible()

    page.goto(live.mail_to(email, "withdraw"))
    press_on(page, "Withdraw my signature")
    expect(page.get_by_role("heading", name="Your signature is withdrawn")).to_be_visible()
    page.goto(f"/letters/{SLUG}/signatories")
    expect(page.get_by_text(organization)).to_have_count(0)


def test_a_coordinator_signs_in_and_works_through_a_queue_by_keyboard(
    live: Live, new_context: Callable[..., BrowserContext]
):
    coordinator = live.new_coordinator("keys@coalition.example", "Kai Keys")
    slug = live.new_letter(
        "keyboard-queue", "A queue by keyboard", owner=coordinator, moderation=True
    )
    names = ["Tidewater Cooperative", "Northern Lights Trust", "Spam Company Ltd"]
    for number, name in enumerate(names):
        email = f"signer{number}@queue{number}.example.org"
        sign_in_browser(new_context().new_page(), slug, organization=name, email=email)
        signer = new_context().new_page()
        signer.goto(live.mail_to(email, "confirm"))
        signer.get_by_role("button", name="Confirm my signature").click()

    page = new_context(viewport=PHONE).new_page()
    page.goto("/manage/login")
    tab_to(page, "email")
    page.keyboard.type(coordinator)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    press_on(page, "A queue by keyboard")
    press_on(page, "Moderation")
    expect(page.get_by_role("heading", name=re.compile("Awaiting review"))).to_be_visible()

    # Space ticks the two to keep, and Approve acts on exactly those.
    for name in names[:2]:
        tab_to(page, f"select-{signature_id(page, name)}")
        page.keyboard.press("Space")
    press_on(page, "Approve selected")
    expect(
        page.get_by_role("status").or_(page.locator(".notice")).filter(has_text="Approved").first
    ).to_be_visible()
    queue = page.locator("ol.queue")
    for name in names[:2]:
        expect(queue.get_by_text(name)).to_have_count(0)

    # The one left: a reason typed into the decision bar, then Reject.
    tab_to(page, f"select-{signature_id(page, names[2])}")
    page.keyboard.press("Space")
    tab_to(page, "reason")
    page.keyboard.type("Not an organization that exists.")
    press_on(page, "Reject selected")
    expect(page.get_by_text("Nothing is awaiting review")).to_be_visible()

    public = new_context().new_page()
    public.goto(f"/letters/{slug}/signatories")
    for name in names[:2]:
        expect(public.get_by_text(name)).to_be_visible()
    expect(public.get_by_text(names[2])).to_have_count(0)


def signature_id(page: Page, organization: str) -> str:
    """The id of the queue item for ``organization`` (its checkbox is ``select-<id>``)."""
    item = page.locator("li.queue-item").filter(has_text=organization)
    return (item.get_attribute("id") or "").removeprefix("signature-")
