"""Signing with the keyboard alone: every stop shows where focus is, errors are linked.

Only key presses and typing into the focused element: no clicks, no ``fill``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import SLUG, expect

if TYPE_CHECKING:  # without Playwright the fixtures skip (or fail in CI) with the reason
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.slow

MAX_TABS = 60
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
