"""The whole service as an operator runs it, driven only through HTTP and a real SMTP server.

The service runs as real processes (``flask db upgrade``, the create commands, gunicorn on
``wsgi:app``, ``flask mail worker``); this module talks to it over HTTP and reads the
emails an aiosmtpd server on loopback receives. Nothing here calls into the package.
"""

from __future__ import annotations

import csv
import http.cookiejar
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import SMTPServer, free_port, text_part

ROOT = Path(__file__).resolve().parent.parent
SLUG = "open-the-room"
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
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert match, f"no csrf token on {path}"
        return match.group(1)

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
            **fields,
        }
        form["csrf_token"] = self.csrf(f"/letters/{SLUG}")
        status, page, _ = self.request(f"/letters/{SLUG}/sign", form)
        return status, page


class Stack:
    """Database, gunicorn and the mail worker, as separate processes."""

    def __init__(self, tmp: Path, smtp_port: int) -> None:
        self.web_port = free_port()
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.env = {
            **os.environ,
            "SIGNATORY_INSTANCE_PATH": str(tmp / "instance"),
            "SIGNATORY_DATABASE_URL": f"sqlite:///{tmp / 'e2e.sqlite3'}",
            "SIGNATORY_SECRET_KEY": "end-to-end-secret-key-" + "x" * 32,
            "SIGNATORY_MAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "SIGNATORY_MAIL_FROM": "letters@signatory.example",
            "SIGNATORY_BASE_URL": self.base,
            "SIGNATORY_MAIL_WORKER_INTERVAL": "0.2",
            "PYTHONUNBUFFERED": "1",
        }
        self.tmp = tmp
        self.processes: list[subprocess.Popen] = []
        self.logs_open: list[IO[str]] = []

    def flask(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "signatory", *args],
            cwd=ROOT, env=self.env, input=stdin, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout

    def start(self) -> Stack:
        body = self.tmp / "letter.md"
        body.write_text("We ask the Committee to keep its sessions **open**.\n", encoding="utf-8")
        self.flask("db", "upgrade")
        self.flask("coordinators", "create", "chair@coalition.example", "--name", "Coordinator",
                   stdin="correct horse battery staple\n")  # fmt: skip
        self.flask(
            "letters", "create", "--slug", SLUG, "--title", "Open the room",
            "--recipient", "Chair of the Ad Hoc Committee", "--body-file", str(body),
            "--owner", "chair@coalition.example", "--open",
        )  # fmt: skip
        self._spawn(
            "gunicorn",
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.web_port}",
             "--workers", "2", "wsgi:app"],
        )  # fmt: skip
        self._spawn(
            "worker", [sys.executable, "-m", "flask", "--app", "signatory", "mail", "worker"]
        )
        self._wait_until_serving()
        return self

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.tmp / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.logs_open.append(log)
        self.processes.append(
            subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        )

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not start:\n" + self.logs())

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in self.tmp.glob("*.log"))

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs_open:
            log.close()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def stack(tmp_path: Path, smtp: SMTPServer) -> Iterator[Stack]:
    stack = Stack(tmp_path, smtp.port)
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


def test_sign_confirm_and_appear_everywhere_without_the_email(stack: Stack, smtp: SMTPServer):
    browser = Browser(stack.base)
    status, page = browser.sign()
    assert status == 200 and "Check your inbox" in page

    [request] = smtp.wait_for(1)
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
    receipt = smtp.wait_for(2)[1]
    assert link_in(receipt, "withdraw")

    # A reused link changes nothing.
    status, page, _ = browser.request(confirm, {"csrf_token": csrf})
    assert status == 409 and "already been used" in page

    # Signing again with the same address never makes a second signature.
    status, page = browser.sign(email=EMAIL.upper())
    assert status == 200 and "Check your inbox" in page
    assert len(smtp.wait_for(3)) == 3
    assert api(browser, f"/letters/{SLUG}")["counts"]["total"] == 1
    assert len(api(browser, f"/letters/{SLUG}/signatures")["signatures"]) == 1


def test_hostile_input_gets_clear_4xx_answers(stack: Stack, smtp: SMTPServer):
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
    assert smtp.messages == []


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
