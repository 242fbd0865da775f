"""Fixtures for the real-browser tests: Debian's chromium driven by Playwright for Python.

The service runs as real processes, as tests/stack.py starts them (gunicorn on
``wsgi:app``, ``flask mail worker``, a real SMTP server on loopback), one stack per test
module; the browser is launched once per session and every test opens its own contexts
(separate cookies, caches and storage: separate visitors).

Playwright's own browser download is never used: the tests drive the chromium that
Debian packages (``apt-get install chromium``; .ci/run installs it). Without it, or
without Playwright, the tests skip with the reason on a developer's machine and fail in
CI (``CI`` set), where a skipped browser suite would pass for a tested one.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import SMTPServer, text_part
from tests.stack import SLUG, Stack

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
except ImportError:  # the `browser` fixture reports it: a skip locally, a failure in CI
    sync_playwright = None  # type: ignore[assignment]
    expect = None  # type: ignore[assignment]

__all__ = ["PASSWORD", "SLUG", "Live", "confirm_in", "expect", "sign_in_browser"]

CHROMIUM = os.environ.get("SIGNATORY_CHROMIUM", "/usr/bin/chromium")
# What lets chromium run as root, offline and quietly on a CI machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every wait is bounded: a locator that never matches fails within this.
TIMEOUT_MS = 10_000
MAIL_TIMEOUT = 15.0
if expect is not None:
    # Playwright's assertions wait 5 s by default; a live update may take up to 10.
    expect.set_options(timeout=TIMEOUT_MS)
COORDINATOR = "chair@coalition.example"  # created by Stack.start()
PASSWORD = "correct horse battery staple"  # noqa: S105 - Stack.start() gives it to COORDINATOR


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if sync_playwright is None:
        return "Playwright for Python is not installed (.venv/bin/pip install -e '.[test]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"no chromium at {CHROMIUM}: install Debian's (apt-get install chromium) "
            "or point SIGNATORY_CHROMIUM at one"
        )
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, shared by every test of the session."""
    reason = _unavailable()
    if reason is not None:
        if _in_ci():
            pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class Live:
    """The service as real processes, and the SMTP server its worker delivers to."""

    stack: Stack
    smtp: SMTPServer

    @property
    def base(self) -> str:
        return self.stack.base

    def new_letter(
        self, slug: str, title: str, *, owner: str = COORDINATOR, moderation: bool = False
    ) -> str:
        """Create and open a letter through the command line; its slug."""
        self.stack.flask(
            "letters", "create", "--slug", slug, "--title", title,
            "--recipient", "Chair of the Ad Hoc Committee",
            "--body-file", str(self.stack.tmp / "letter.md"), "--owner", owner, "--open",
            "--moderation" if moderation else "--no-moderation",
        )  # fmt: skip
        return slug

    def new_coordinator(self, email: str, name: str) -> str:
        """Create a coordinator through the command line, with PASSWORD; their email."""
        self.stack.flask("coordinators", "create", email, "--name", name, stdin=PASSWORD + "\n")
        return email

    def mail_to(self, address: str, link: str, timeout: float = MAIL_TIMEOUT) -> str:
        """The first ``/<link>/...`` URL emailed to ``address``, waiting for it to arrive."""
        pattern = re.compile(rf"(http://127\.0\.0\.1:\d+/{link}/[A-Za-z0-9._\-]+)")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in list(self.smtp.messages):
                if message["To"] == address and (found := pattern.search(text_part(message))):
                    return found.group(1)
            time.sleep(0.05)
        raise AssertionError(
            f"no email with a /{link}/ link reached {address} within {timeout:.0f} s; "
            f"the SMTP server received {len(self.smtp.messages)} message(s)"
        )


@pytest.fixture(scope="module")
def live(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One stack per test module: starting gunicorn and the worker costs seconds."""
    smtp = SMTPServer().start()
    stack = Stack(tmp_path_factory.mktemp("browser-stack"), smtp.port)
    try:
        yield Live(stack.start(), smtp)
    finally:
        stack.stop()
        smtp.stop()


@pytest.fixture
def new_context(browser: Browser, live: Live) -> Iterator[Callable[..., BrowserContext]]:
    """Open a fresh browser context (a separate visitor) on the live service; closed after."""
    opened: list[BrowserContext] = []

    def open_context(**options: Any) -> BrowserContext:
        # English pages whatever the machine's language, as the tests read them.
        options.setdefault("locale", "en-US")
        context = browser.new_context(base_url=live.base, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the service's logs (gunicorn, the worker) to a failing browser test's report."""
    report = yield
    live = getattr(item, "funcargs", {}).get("live")
    if report.failed and isinstance(live, Live):
        report.sections.append(("service logs (gunicorn, mail worker)", live.stack.logs()[-20000:]))
    return report


# --- What a visitor does, shared by the test modules ------------------------------------


def sign_in_browser(
    page: Page,
    slug: str,
    *,
    organization: str,
    email: str,
    country: str = "Chile",
    organization_type: str = "Non-governmental organization",
    website: str = "https://example.org",
    name: str = "Rosa Signer",
    title: str = "Directora",
) -> None:
    """Fill the real sign form on the letter page as an organization and send it."""
    page.goto(f"/letters/{slug}")
    page.get_by_label("on behalf of an organization").check()
    page.get_by_role("textbox", name=re.compile(r"^Organization \(")).fill(organization)
    page.get_by_label("Type of organization").select_option(label=organization_type)
    page.get_by_label("Organization website").fill(website)
    page.get_by_label("Country").select_option(label=country)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Your title or role").fill(title)
    page.get_by_label("Work email").fill(email)
    page.get_by_label("I am authorised to sign on behalf of this organization").check()
    page.get_by_role("button", name="Sign the letter").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()


def confirm_in(page: Page, link: str) -> None:
    """Open an emailed confirmation link and press its button, as the signer does."""
    page.goto(link)
    page.get_by_role("button", name="Confirm my signature").click()
    expect(
        page.get_by_role("heading", name=re.compile("your signature is confirmed"))
    ).to_be_visible()
