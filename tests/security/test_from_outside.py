"""The defences as an attacker meets them: gunicorn with two workers, the mail worker and a
real SMTP server, driven only over HTTP (tests/stack.py). The test plays the one trusted
reverse proxy (``SIGNATORY_PROXY_FIX=1``), so it can speak for many client addresses.

- a flood of sign POSTs from one client address is cut off with 429s, counted across both
  workers, while a signer from another address still signs;
- signing again and again with one email (from many addresses, so no address limit stops
  it) sends that inbox no more than the capped number of emails, while every answer is the
  same page;
- no public page, download, feed, widget or API answer contains a signer's email.
"""

from __future__ import annotations

import html
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.conftest import SMTPServer
from tests.stack import SLUG, Stack

pytestmark = pytest.mark.slow

# The defaults these tests rely on (signatory/core/config.py).
SIGNS_PER_MINUTE = 10
EMAILS_PER_SIGNATURE_PER_DAY = 5

_INPUT = re.compile(r"<input\b[^>]*>")
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    """The name and value of every hidden input of ``page``, whatever their attributes' order."""
    fields = {}
    for tag in _INPUT.findall(page):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if attributes.get("type") == "hidden" and "name" in attributes:
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
    return fields


class Client:
    """One visitor behind the proxy: its own cookies and its own ``X-Forwarded-For``."""

    def __init__(self, base: str, address: str) -> None:
        self.base = base
        self.address = address
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, bytes, dict]:
        return self.request_with(path, {}, data)

    def request_with(
        self, path: str, headers: dict[str, str], data: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict]:
        """``request`` with more headers (``If-None-Match``, say)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(
            self.base + path, data=body, headers={"X-Forwarded-For": self.address, **headers}
        )
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def sign(self, organization: str, email: str) -> tuple[int, str, dict]:
        status, page, _ = self.request(f"/letters/{SLUG}")
        assert status == 200
        # Every hidden field the page's form carries (the CSRF token, the fill-time stamp),
        # as a browser sends them.
        form = hidden_fields(page.decode("utf-8"))
        form.update(
            kind="organization", organization=organization, country="FR",
            organization_type="ngo", website=f"https://{email.split('@')[1]}",
            name="Camille Signer", email=email, authorised="y",
        )  # fmt: skip
        status, body, headers = self.request(f"/letters/{SLUG}/sign", form)
        return status, body.decode("utf-8"), headers


@pytest.fixture
def stack(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[Stack]:
    stack = Stack(tmp_path, smtp_server.port)
    stack.env["SIGNATORY_PROXY_FIX"] = "1"
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_a_flood_from_one_address_is_cut_off_while_another_address_still_signs(stack):
    flooder = Client(stack.base, "198.51.100.7")
    answers = [
        flooder.sign(f"Flood Org {i}", f"contact@flood{i}.example.org")[0] for i in range(25)
    ]
    assert answers[:SIGNS_PER_MINUTE] == [200] * SIGNS_PER_MINUTE  # the check-your-inbox page
    assert set(answers[SIGNS_PER_MINUTE:]) == {429}
    status, page, headers = flooder.sign("Flood Org 99", "contact@flood99.example.org")
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert "Flood Org 99" in html.unescape(page)  # what they typed is still in the form

    neighbour = Client(stack.base, "203.0.113.20")
    status, _, _ = neighbour.sign("Neighbour Org", "contact@neighbour.example.org")
    assert status == 200
    count = stack.count("signature")
    assert count == SIGNS_PER_MINUTE + 1


def test_one_inbox_gets_no_more_than_the_capped_emails_however_often_it_is_signed_for(
    stack, smtp_server
):
    victim = "victim@inbox.example.org"
    answers = [
        Client(stack.base, f"192.0.2.{i + 1}").sign("Someone's Org", victim)[0] for i in range(12)
    ]
    assert answers == [200] * 12  # the same answer every time
    smtp_server.wait_for(EMAILS_PER_SIGNATURE_PER_DAY, timeout=20)
    time.sleep(3)  # the worker polls every 0.2 s: anything more would have arrived by now
    to_victim = [m for m in smtp_server.messages if victim in m["To"]]
    assert len(to_victim) == EMAILS_PER_SIGNATURE_PER_DAY
    signatures = stack.count("signature")
    assert signatures == 1


def test_no_public_answer_contains_a_signers_email(stack, smtp_server):
    email = "rosa.private@transparency.example.org"
    signer = Client(stack.base, "203.0.113.30")
    assert signer.sign("Transparency Example", email)[0] == 200
    (message,) = smtp_server.wait_for(1, timeout=20)
    text = message.get_body(("plain",)).get_content()
    path = urllib.parse.urlsplit(re.search(r"https?://\S+/confirm/\S+", text).group(0)).path
    status, page, _ = signer.request(path)
    token = hidden_fields(page.decode())["csrf_token"]
    assert signer.request(path, {"csrf_token": token})[0] == 200

    reader = Client(stack.base, "203.0.113.31")
    # Pages that list the signature (so the test would see an email if one were there) ...
    listing = [
        f"/letters/{SLUG}", f"/letters/{SLUG}/signatories", f"/letters/{SLUG}/signatories.csv",
        f"/letters/{SLUG}/signatories.json", f"/letters/{SLUG}/feed.atom",
        f"/api/v1/letters/{SLUG}/signatures", f"/letters/{SLUG}/signatories?q=transparency",
    ]  # fmt: skip
    # ... and the others anyone can read.
    others = [
        "/", f"/letters/{SLUG}/widget", f"/letters/{SLUG}/stats", f"/letters/{SLUG}/live.json",
        f"/api/v1/letters/{SLUG}",
    ]  # fmt: skip
    forms = {email, urllib.parse.quote(email), "rosa.private"}
    for each in listing + others:
        status, body, _ = reader.request(each)
        assert status == 200, each
        text = html.unescape(body.decode("utf-8")).lower()
        if each in listing:
            assert "transparency example" in text, each
        assert not [f for f in forms if f.lower() in text], each
