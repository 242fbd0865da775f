"""The public pages and the workspace as people use them, in a real browser.

Without JavaScript the sign form still signs; with it, the form shows only the fields
that apply; a keyboard alone reaches every control and always shows where it is; and a
coordinator moderates with a click.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import (
    PASSWORD,
    SLUG,
    Live,
    confirm_in,
    expect,
    sign_in_browser,
)

if TYPE_CHECKING:  # without Playwright the fixtures skip (or fail in CI) with the reason
    from playwright.sync_api import BrowserContext, Locator, Page

pytestmark = pytest.mark.slow

# Far more presses than the letter page has stops before the end of its sign form.
MAX_TABS = 80

# One name per control, a radio group counting once: Tab visits a group once.
CONTROL_KEY = """el => el.type === "radio" ? "radio " + el.name
    : el.tagName === "BUTTON" ? "button " + el.textContent.trim()
    : el.tagName.toLowerCase() + " " + el.name"""


def organizations_table(page: Page) -> Locator:
    return page.get_by_role("table", name="Organizations")


def test_signing_without_javascript_puts_the_organization_on_the_list_after_a_reload(
    live: Live, new_context: Callable[..., BrowserContext]
):
    organization = "Sin Guion Cooperative"
    email = "luz@sin-guion.example.org"
    context = new_context(java_script_enabled=False)
    listing = context.new_page()
    listing.goto(f"/letters/{SLUG}/signatories")
    expect(listing.get_by_text(organization)).to_have_count(0)

    signer = context.new_page()
    sign_in_browser(
        signer,
        SLUG,
        organization=organization,
        email=email,
        website="https://sin-guion.example.org",
    )
    confirm_in(signer, live.mail_to(email, "confirm"))

    listing.reload()
    expect(
        organizations_table(listing).get_by_role("row").filter(has_text=organization)
    ).to_be_visible()


def test_choosing_as_an_individual_hides_the_organization_only_fields(
    new_context: Callable[..., BrowserContext],
):
    page = new_context().new_page()
    page.goto(f"/letters/{SLUG}")
    organization_type = page.get_by_label("Type of organization")
    website = page.get_by_label("Organization website")
    expect(organization_type).to_be_visible()
    expect(website).to_be_visible()

    page.get_by_label("as an individual").check()

    expect(organization_type).to_be_hidden()
    expect(website).to_be_hidden()
    expect(page.get_by_role("textbox", name=re.compile(r"^Affiliation"))).to_be_visible()
    expect(page.get_by_role("textbox", name=re.compile(r"^Organization \("))).to_have_count(0)

    page.get_by_label("on behalf of an organization").check()
    expect(organization_type).to_be_visible()
    expect(website).to_be_visible()
    expect(page.get_by_role("textbox", name=re.compile(r"^Organization \("))).to_be_visible()


def test_tab_reaches_every_control_of_the_sign_form_with_a_visible_focus(
    new_context: Callable[..., BrowserContext],
):
    page = new_context().new_page()
    page.goto(f"/letters/{SLUG}")
    form = page.locator("form[data-sign-form]")
    controls = form.evaluate(
        f"""form => {{
            const key = {CONTROL_KEY};
            const keys = [];
            for (const el of form.querySelectorAll("input, select, textarea, button")) {{
                if (el.type === "hidden" || el.disabled || !el.checkVisibility()) continue;
                // The honeypot for scripts is no control of a person's: it must stay out
                // of the tab order (checked below), and of the screen reader's tree.
                if (el.closest('[aria-hidden="true"]')) continue;
                if (!keys.includes(key(el))) keys.push(key(el));
            }}
            return keys;
        }}"""
    )
    assert "button Sign the letter" in controls and "input email" in controls, controls

    reached: list[str] = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            f"""() => {{
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return {{
                    key: ({CONTROL_KEY})(el),
                    inForm: el.closest("form[data-sign-form]") !== null,
                    focusVisible: el.matches(":focus-visible"),
                    outline: style.outlineStyle + " " + style.outlineWidth,
                }};
            }}"""
        )
        if not focused["inForm"]:
            continue
        assert focused["focusVisible"], f"{focused['key']} has focus but not :focus-visible"
        style, width = focused["outline"].split()
        assert style != "none" and width != "0px", f"no visible focus on {focused['key']}"
        reached.append(focused["key"])
        if focused["key"] == "button Sign the letter":
            break
    assert reached == controls, "Tab did not visit every control of the sign form in order"
    assert "input reference_code" not in reached, "Tab reached the honeypot"
    trap = form.locator("input[name=reference_code]")
    assert trap.get_attribute("tabindex") == "-1"
    assert trap.evaluate("el => el.closest('[aria-hidden=\"true\"]') !== null")


def test_sending_the_form_by_keyboard_with_errors_moves_focus_to_the_summary(
    new_context: Callable[..., BrowserContext],
):
    page = new_context().new_page()
    page.goto(f"/letters/{SLUG}")
    page.get_by_role("button", name="Sign the letter").focus()
    page.keyboard.press("Enter")
    summary = page.get_by_role("alert").filter(has_text="Please correct")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="Enter your email address.")).to_be_visible()


def test_a_coordinator_approves_a_pending_signature_and_the_public_list_shows_it(
    live: Live, new_context: Callable[..., BrowserContext]
):
    coordinator = live.new_coordinator("moderator@coalition.example", "Mona Moderator")
    slug = live.new_letter(
        "reviewed-letter", "A reviewed letter", owner=coordinator, moderation=True
    )
    organization = "Harbour Workers Union"
    email = "ivo@harbour-workers.example.org"
    signer = new_context().new_page()
    sign_in_browser(
        signer,
        slug,
        organization=organization,
        email=email,
        website="https://harbour-workers.example.org",
    )
    confirm_in(signer, live.mail_to(email, "confirm"))
    expect(signer.get_by_text("review signatures before they appear")).to_be_visible()
    public = new_context().new_page()
    public.goto(f"/letters/{slug}/signatories")
    expect(public.get_by_text(organization)).to_have_count(0)

    workspace = new_context().new_page()
    workspace.goto("/manage/login")
    workspace.get_by_label("Email").fill(coordinator)
    workspace.get_by_label("Password").fill(PASSWORD)
    workspace.get_by_role("button", name="Sign in").click()
    workspace.get_by_role("link", name="A reviewed letter").click()
    workspace.get_by_role("navigation", name="This letter").get_by_role(
        "link", name="Moderation"
    ).click()
    workspace.get_by_label(f"Select {organization}").check()
    workspace.get_by_role("button", name="Approve selected").click()

    expect(workspace.get_by_text(f"Approved “{organization}”")).to_be_visible()
    expect(workspace.get_by_text("Nothing is awaiting review")).to_be_visible()
    public.reload()
    expect(
        organizations_table(public).get_by_role("row").filter(has_text=organization)
    ).to_be_visible()
