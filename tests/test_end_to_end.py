"""The whole service as an operator runs it, driven only through HTTP and a real SMTP server.

The service runs as real processes (``flask db upgrade``, the create commands, gunicorn on
``wsgi:app``, ``flask mail worker``: tests/stack.py); this module talks to it over HTTP and
reads the emails an aiosmtpd server on loopback receives. Nothing here calls into the package.
"""

from __future__ import annotations

import csv
import http.cookiejar
import io
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SMTPServer, csrf_token_from, free_port, text_part
from tests.stack import SLUG, Stack

ORG = "Transparency Network Example"
EMAIL = "rosa.signer@transparency-network.example.org"

pytestmark = pytest.mark.slow


class Browser:
    """A cookie-keeping HTTP client that reports status codes instead of raising."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, dict]:
        url = path if path.startswith("http") else self.base + path
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, data=body, timeout=15) as response:
                return response.status, response.read().decode("utf-8"), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8"), dict(error.headers)

    def csrf(self, path: str) -> str:
        status, page, _ = self.request(path)
        assert status == 200, f"GET {path} answered {status}"
        return csrf_token_from(page)

    def sign(self, **fields: str) -> tuple[int, str]:
        form = {
            "kind": "organization",
            "organization": ORG,
            "country": "CL",
            "organization_type": "ngo",
            "website": "https://transparency-network.example.org",
            "name": "Rosa Signer",
            "title": "Directora",
            "email": EMAIL,
            "authorised": "y",
            **fields,
        }
        form["csrf_token"] = self.csrf(f"/letters/{SLUG}")
        status, page, _ = self.request(f"/letters/{SLUG}/sign", form)
        return status, page


@pytest.fixture
def stack(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[Stack]:
    stack = Stack(tmp_path, smtp_server.port)
    try:
        yield stack.start()
    finally:
        stack.stop()


def link_in(message, kind: str) -> str:
    match = re.search(rf"(http://127\.0\.0\.1:\d+/{kind}/[A-Za-z0-9._\-]+)", text_part(message))
    assert match, f"no /{kind}/ link in the email:\n{text_part(message)}"
    return match.group(1)


def api(browser: Browser, path: str) -> dict:
    status, body, headers = browser.request(f"/api/v1{path}")
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)


def test_sign_confirm_and_appear_everywhere_without_the_email(
    stack: Stack, smtp_server: SMTPServer
):
    browser = Browser(stack.base)
    status, page = browser.sign()
    assert status == 200 and "Check your inbox" in page

    [request] = smtp_server.wait_for(1)
    assert request["To"] == EMAIL
    assert "Open the room" in request["Subject"]
    confirm = link_in(request, "confirm")
    assert confirm.startswith(stack.base)

    status, page, _ = browser.request(confirm)
    assert status == 200 and "Confirm my signature" in page
    assert api(browser, f"/letters/{SLUG}")["counts"]["total"] == 0, "a GET must not confirm"

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    status, page, _ = browser.request(confirm, {"csrf_token": csrf})
    assert status == 200 and "your signature is confirmed" in page

    status, listing, _ = browser.request(f"/letters/{SLUG}/signatories")
    assert status == 200 and ORG in listing
    signatures = api(browser, f"/letters/{SLUG}/signatures")["signatures"]
    assert [s["organization"] for s in signatures] == [ORG]
    assert signatures[0]["domain_verified"] is True
    status, csv_text, headers = browser.request(f"/letters/{SLUG}/signatories.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
    assert sum(ORG in row for row in rows) == 1

    for path in (f"/letters/{SLUG}", f"/letters/{SLUG}/signatories"):
        assert EMAIL not in browser.request(path)[1]
    assert EMAIL not in csv_text
    assert EMAIL not in json.dumps(api(browser, f"/letters/{SLUG}/signatures"))

    # The receipt carries the withdraw link.
    receipt = smtp_server.wait_for(2)[1]
    assert link_in(receipt, "withdraw")

    # A reused link changes nothing.
    status, page, _ = browser.request(confirm, {"csrf_token": csrf})
    assert status == 409 and "already been used" in page

    # Signing again with the same address never makes a second signature.
    status, page = browser.sign(email=EMAIL.upper())
    assert status == 200 and "Check your inbox" in page
    assert len(smtp_server.wait_for(3)) == 3
    assert api(browser, f"/letters/{SLUG}")["counts"]["total"] == 1
    assert len(api(browser, f"/letters/{SLUG}/signatures")["signatures"]) == 1


def test_hostile_input_gets_clear_4xx_answers(stack: Stack, smtp_server: SMTPServer):
    browser = Browser(stack.base)
    status, page, _ = browser.request(
        f"/letters/{SLUG}/sign", {"organization": "No CSRF", "email": "x@example.org"}
    )
    assert status == 400 and "Traceback" not in page
    status, page = browser.sign(organization='=HYPERLINK("http://evil")<b>', email="bad@")
    assert status == 400 and "valid email address" in page
    assert "<b>" not in page.split("Sign this letter")[1] or "&lt;b&gt;" in page
    assert browser.request("/confirm/garbage")[0] == 400
    assert browser.request("/withdraw/garbage")[0] == 400
    assert browser.request("/letters/nope")[0] == 404
    status, body, _ = browser.request("/api/v1/letters/nope")
    assert status == 404 and json.loads(body)["error"]["code"]
    assert browser.request(f"/api/v1/letters/{SLUG}/signatures?cursor=%%%")[0] == 400
    assert api(browser, f"/letters/{SLUG}")["counts"]["total"] == 0
    time.sleep(0.5)
    assert smtp_server.messages == []


def test_with_smtp_down_signing_succeeds_and_the_email_arrives_later(tmp_path: Path):
    smtp_port = free_port()
    stack = Stack(tmp_path, smtp_port)
    try:
        stack.start()
        browser = Browser(stack.base)
        status, page = browser.sign()
        assert status == 200 and "Check your inbox" in page
        time.sleep(1.0)  # the worker tries and fails at least once
        smtp = SMTPServer(port=smtp_port).start()
        try:
            # The first retry comes within 30 seconds, by the worker alone.
            [message] = smtp.wait_for(1, timeout=40)
            assert message["To"] == EMAIL
            assert link_in(message, "confirm")
        finally:
            smtp.stop()
    finally:
        stack.stop()
