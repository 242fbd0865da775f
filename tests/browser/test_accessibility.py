"""axe-core on every public page, the error pages and the workspace, in English and French.

axe-core (Deque's rules engine, bundled by the ``axe-playwright-python`` test dependency
as ``axe.min.js``) is injected into each page as Debian's chromium renders it, and run
with the WCAG 2.0, 2.1 and 2.2 A and AA rules. A violation of impact "serious" or
"critical" fails the test with its rule, its help text and the elements it found, so the
reader can fix it without running anything else. Moderate and minor findings are printed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser import test_screens as screens
from tests.browser.conftest import _in_ci, expect

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

try:
    from axe_playwright_python.base import AXE_FILE_PATH
except ImportError:  # reported by the `axe` fixture: a skip locally, a failure in CI
    AXE_FILE_PATH = None

pytestmark = pytest.mark.slow

# The demo letter and its signed-in coordinator, as the screenshot tests have them.
demo = screens.demo
signed_in = screens.signed_in
delivered = screens.delivered

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING = ("serious", "critical")
LANGUAGES = {"en": "en", "fr": "fr"}
# Pages reached by sending a form: what a reader sees when something went wrong.
ERROR_FORMS = ("sign-with-errors", "login-refused")


@pytest.fixture(scope="session")
def axe() -> str:
    """The text of axe.min.js."""
    path = Path(AXE_FILE_PATH) if AXE_FILE_PATH else None
    if path is None or not path.is_file():
        reason = "axe-core is not installed (.venv/bin/pip install -e '.[test]')"
        if _in_ci():
            pytest.fail(f"the accessibility tests cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return path.read_text(encoding="utf-8")


def _in_language(context: BrowserContext, base: str, language: str) -> BrowserContext:
    # The language menu's cookie: it outranks Accept-Language, on public and workspace pages.
    context.add_cookies([{"name": "lang", "value": language, "url": base}])
    return context


def _url(path: str, language: str) -> str:
    # The widget takes its language from the URL alone (it is cached by URL).
    if path.endswith("/widget") and language != "en":
        return f"{path}?lang={language}"
    return path


def _checked(page: Page, axe: str, language: str) -> list[str]:
    """axe's serious and critical violations on ``page``, one readable line per element."""
    html_lang = page.evaluate("document.documentElement.lang")
    # The API's reference page is English only; every other page speaks the language asked.
    if "/api/" not in page.url:
        assert html_lang.split("-")[0] == language, f"{page.url} answered in {html_lang!r}"
    page.evaluate(axe)
    results: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    found: list[str] = []
    for violation in results["violations"]:
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        line = f"{violation['impact']}: {violation['id']} ({violation['help']}) at {targets}"
        if violation["impact"] in FAILING:
            found.append(line)
        else:
            print(f"{page.url}: {line}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", screens.PUBLIC_PAGES)
def test_public_pages_pass_axe(
    demo: Any, new_context: Callable[..., BrowserContext], axe: str, name: str, language: str
) -> None:
    context = _in_language(new_context(), demo.base, language)
    page = context.new_page()
    page.goto(_url(screens.PUBLIC_PAGES[name], language))

    assert _checked(page, axe, language) == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", screens.WORKSPACE_PAGES)
def test_workspace_pages_pass_axe(
    demo: Any,
    signed_in: Callable[..., BrowserContext],
    axe: str,
    name: str,
    language: str,
) -> None:
    page = _in_language(signed_in(), demo.base, language).new_page()
    page.goto(screens.WORKSPACE_PAGES[name])

    assert _checked(page, axe, language) == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", ERROR_FORMS)
def test_forms_sent_with_errors_pass_axe(
    demo: Any, new_context: Callable[..., BrowserContext], axe: str, name: str, language: str
) -> None:
    page = _in_language(new_context(), demo.base, language).new_page()
    if name == "sign-with-errors":
        page.goto(screens.PUBLIC_PAGES["letter"])
        # The sign form sends as it is (no browser validation): the server's errors show.
        page.locator("form:has(#organization)").first.evaluate("form => form.requestSubmit()")
    else:
        page.goto(screens.PUBLIC_PAGES["login"])
        page.locator("input[type=email]").fill("nobody@coalition.example")
        page.locator("input[type=password]").fill("not the password")
        page.locator("form button[type=submit], form input[type=submit]").first.click()
    expect(page.get_by_role("alert").first).to_be_visible()

    assert _checked(page, axe, language) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_delivered_page_passes_axe(
    delivered: str, demo: Any, new_context: Callable[..., BrowserContext], axe: str, language: str
) -> None:
    page = _in_language(new_context(), demo.base, language).new_page()
    page.goto(delivered)

    assert _checked(page, axe, language) == []
