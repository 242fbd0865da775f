"""Rate limits, tried as an attacker would: floods of signs, links and sign-ins, forged
forwarding headers, a limiter whose storage is down, and two gunicorn workers at once.

Each test runs on the embedded default, the SQLite file store in the instance folder,
unless it says otherwise.
"""

from __future__ import annotations

import http.client
import logging
import re
import sqlite3
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import gettext, ngettext
from sqlalchemy import select
from werkzeug.test import TestResponse

from signatory import create_app
from signatory.core.config import ConfigError
from signatory.core.extensions import db
from signatory.models import Signature
from tests.conftest import SECRET, SMTPServer, csrf_token_from, fetch_csrf, free_port, queued_mail
from tests.factories import PASSWORD, make_coordinator, make_letter
from tests.stack import SLUG, Stack

FLOODER = "192.0.2.10"
NEIGHBOUR = "198.51.100.7"


@pytest.fixture
def letter(app: Flask) -> str:
    with app.app_context():
        slug = make_letter(db.session, slug="civic-space").slug
        db.session.commit()
        return slug


def individual(number: int, domain: str | None = None) -> dict[str, str]:
    """A valid individual signature; each number at a domain of its own unless ``domain``."""
    return {
        "kind": "individual",
        "name": f"Person {number}",
        "country": "FR",
        "organization_type": "",
        "email": f"person{number}@{domain or f'org{number}.example'}",
    }


def sign(client: FlaskClient, address: str, form: dict[str, str], **options: Any) -> TestResponse:
    token = fetch_csrf(client, "/letters/civic-space")
    return client.post(
        "/letters/civic-space/sign",
        data={"csrf_token": token, **form},
        environ_base={"REMOTE_ADDR": address},
        **options,
    )


def signatures(app: Flask) -> list[Signature]:
    with app.app_context():
        rows = list(db.session.scalars(select(Signature).order_by(Signature.id)))
        db.session.expunge_all()
        return rows


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def retry_after(response: TestResponse) -> int:
    return int(response.headers["Retry-After"])


# --- The sign form ------------------------------------------------------------------------


@pytest.mark.usefixtures("letter")
def test_sixty_signs_from_one_address_are_cut_off_while_another_address_signs(
    app: Flask, client: FlaskClient
) -> None:
    statuses = [sign(client, FLOODER, individual(n)).status_code for n in range(60)]

    assert statuses == [303] * 10 + [429] * 50  # SIGN_RATE_LIMIT: 10 per minute
    assert sign(client, NEIGHBOUR, individual(99)).status_code == 303
    assert len(signatures(app)) == 11
    assert len(queued_mail(app, "confirm_request")) == 11


@pytest.mark.usefixtures("letter")
def test_a_limited_sign_shows_the_letter_again_with_the_form_filled_and_why(
    app: Flask, client: FlaskClient
) -> None:
    app.config["SIGN_RATE_LIMIT"] = "1 per hour"
    sign(client, FLOODER, individual(1))

    response = sign(client, FLOODER, {**individual(2), "name": "Ada O'Brien"})

    page = text(response)
    assert response.status_code == 429
    assert 3500 < retry_after(response) <= 3600
    assert response.headers["Cache-Control"] == "no-store"
    assert "Protect civic space in the treaty" in page  # the letter page, not an error page
    assert 'value="Ada O&#39;Brien"' in page and 'value="person2@org2.example"' in page
    assert "The sign form has been sent many times from your address" in page
    assert "Wait 60 minutes, then try again." in page
    assert "Nothing was saved" in page
    assert [s.email for s in signatures(app)] == ["person1@org1.example"]


@pytest.mark.usefixtures("letter")
def test_the_limited_sign_page_is_in_the_readers_language(app: Flask, client: FlaskClient) -> None:
    app.config["SIGN_RATE_LIMIT"] = "1 per hour"
    sign(client, FLOODER, individual(1))

    response = sign(client, FLOODER, individual(2), headers={"Accept-Language": "fr"})

    page = text(response)
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        reason = gettext(
            "The sign form has been sent many times from your address in a short while."
        )
        wait = ngettext(
            "Wait a minute, then try again.", "Wait %(num)d minutes, then try again.", 60
        )
        name_label = gettext("Your name")
    assert response.status_code == 429
    assert '<html lang="fr"' in page
    assert name_label == "Votre nom" and name_label in page
    assert reason in page and wait in page
    assert 'value="person2@org2.example"' in page


@pytest.mark.usefixtures("letter")
def test_each_email_domain_has_a_budget_whatever_the_address(
    app: Flask, client: FlaskClient
) -> None:
    app.config["SIGN_DOMAIN_RATE_LIMIT"] = "3 per hour"
    addresses = [f"203.0.113.{n}" for n in range(1, 6)]

    statuses = [
        sign(client, address, individual(n, "BigCorp.Example")).status_code
        for n, address in enumerate(addresses)
    ]

    assert statuses == [303, 303, 303, 429, 429]
    refused = sign(client, "203.0.113.9", individual(9, "bigcorp.example"))
    assert refused.status_code == 429
    assert "Many signatures have just come from addresses at this email domain" in text(refused)
    assert sign(client, "203.0.113.9", individual(10, "othercorp.example")).status_code == 303
    assert len(signatures(app)) == 4


@pytest.mark.usefixtures("letter")
def test_forms_with_mistakes_do_not_spend_their_domains_budget(
    app: Flask, client: FlaskClient
) -> None:
    app.config["SIGN_DOMAIN_RATE_LIMIT"] = "2 per hour"

    typos = [
        sign(client, f"203.0.113.{n}", {**individual(n, "bigcorp.example"), "name": ""})
        for n in range(5)
    ]
    valid = [sign(client, f"203.0.113.{n}", individual(n, "bigcorp.example")) for n in (7, 8)]

    assert [r.status_code for r in typos] == [400] * 5
    assert [r.status_code for r in valid] == [303, 303]
    assert sign(client, "203.0.113.9", individual(9, "bigcorp.example")).status_code == 429


@pytest.mark.usefixtures("letter")
def test_a_public_mail_provider_has_a_larger_budget_than_one_organization(
    app: Flask, client: FlaskClient
) -> None:
    app.config["SIGN_DOMAIN_RATE_LIMIT"] = "1 per hour"
    app.config["SIGN_PROVIDER_RATE_LIMIT"] = "3 per hour"

    gmail = [sign(client, f"203.0.113.{n}", individual(n, "gmail.com")) for n in range(4)]

    assert [r.status_code for r in gmail] == [303, 303, 303, 429]


@pytest.mark.usefixtures("letter")
def test_addresses_in_one_ipv6_64_share_a_budget(app: Flask, client: FlaskClient) -> None:
    app.config["SIGN_RATE_LIMIT"] = "1 per hour"

    assert sign(client, "2001:db8:1:2::1", individual(1)).status_code == 303
    assert sign(client, "2001:db8:1:2:ffff::9", individual(2)).status_code == 429
    assert sign(client, "2001:db8:1:3::1", individual(3)).status_code == 303


# --- Confirmation and withdrawal links ----------------------------------------------------


def test_two_hundred_garbage_confirm_tokens_end_in_429s(client: FlaskClient) -> None:
    responses = [
        client.get(f"/confirm/garbage-{n}", environ_base={"REMOTE_ADDR": FLOODER})
        for n in range(200)
    ]

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {400: 20, 429: 180}  # LINK_RATE_LIMIT: 20 per minute
    assert [r.status_code for r in responses[:20]] == [400] * 20
    last = responses[-1]
    assert 1 <= retry_after(last) <= 60
    assert "Many confirmation or withdrawal links have been opened" in text(last)
    wait = retry_after(last)
    expected = "Wait a minute" if wait == 60 else f"Wait {wait} second{'s' * (wait > 1)}"
    assert f"{expected}, then try again." in text(last)
    assert (
        client.get("/confirm/garbage", environ_base={"REMOTE_ADDR": NEIGHBOUR}).status_code == 400
    )


def test_garbage_withdraw_posts_end_in_429s(app: Flask, client: FlaskClient) -> None:
    app.config["LINK_RATE_LIMIT"] = "5 per hour"
    token = fetch_csrf(client, "/manage/login")  # any form's token: the session holds it

    statuses = [
        client.post(
            f"/withdraw/garbage-{n}",
            data={"csrf_token": token},
            environ_base={"REMOTE_ADDR": FLOODER},
        ).status_code
        for n in range(12)
    ]

    assert statuses == [400] * 5 + [429] * 7


def test_opening_confirming_and_resending_links_share_one_budget(
    app: Flask, client: FlaskClient
) -> None:
    app.config["LINK_RATE_LIMIT"] = "4 per hour"
    token = fetch_csrf(client, "/manage/login")
    env = {"REMOTE_ADDR": FLOODER}

    answers = [
        client.get("/confirm/garbage", environ_base=env).status_code,
        client.post("/confirm/garbage", data={"csrf_token": token}, environ_base=env).status_code,
        client.get("/withdraw/garbage", environ_base=env).status_code,
        client.post(
            "/confirm/garbage/resend", data={"csrf_token": token}, environ_base=env
        ).status_code,
        client.post("/withdraw/garbage", data={"csrf_token": token}, environ_base=env).status_code,
    ]

    assert answers == [400, 400, 400, 400, 429]


# --- Coordinators' sign-in ----------------------------------------------------------------


@pytest.fixture
def coordinators(app: Flask) -> list[str]:
    with app.app_context():
        emails = [
            make_coordinator(db.session, email=f"c{n}@coalition.example").email for n in (1, 2)
        ]
        db.session.commit()
        return emails


def log_in(client: FlaskClient, address: str, email: str, password: str) -> TestResponse:
    token = fetch_csrf(client, "/manage/login")
    return client.post(
        "/manage/login",
        data={"csrf_token": token, "email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_sign_in_posts_are_limited_per_address(
    app: Flask, client: FlaskClient, coordinators: list[str]
) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    first, second = coordinators

    tries = [log_in(client, FLOODER, f"guess{n}@coalition.example", "wrong") for n in range(3)]
    limited = log_in(client, FLOODER, first, PASSWORD)

    assert [r.status_code for r in tries] == [400, 400, 400]
    page = text(limited)
    assert limited.status_code == 429
    assert 1 <= retry_after(limited) <= 60
    assert "Too many sign-in attempts have come from your address." in page
    assert f'value="{first}"' in page and PASSWORD not in page
    assert log_in(app.test_client(), NEIGHBOUR, second, PASSWORD).status_code == 303


def test_sign_in_posts_are_limited_per_account_from_any_address(
    app: Flask, client: FlaskClient, coordinators: list[str]
) -> None:
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "2 per minute"
    first, second = coordinators

    tries = [log_in(client, f"203.0.113.{n}", first.upper(), "wrong") for n in range(2)]
    # The right password does not get through either, until the window frees a place.
    limited = log_in(client, "203.0.113.50", first, PASSWORD)

    assert [r.status_code for r in tries] == [400, 400]
    assert limited.status_code == 429
    assert "Too many sign-in attempts have been made for this account." in text(limited)
    assert log_in(app.test_client(), "203.0.113.50", second, PASSWORD).status_code == 303


def test_forgot_password_posts_are_limited_per_address_and_the_page_keeps_the_email(
    app: Flask, client: FlaskClient, coordinators: list[str]
) -> None:
    app.config["FORGOT_RATE_LIMIT"] = "2 per hour"
    token = fetch_csrf(client, "/manage/forgot")

    def forgot(email: str, **options: Any) -> TestResponse:
        return client.post(
            "/manage/forgot",
            data={"csrf_token": token, "email": email},
            environ_base={"REMOTE_ADDR": FLOODER},
            **options,
        )

    assert [forgot(coordinators[0]).status_code for _ in range(2)] == [200, 200]
    limited = forgot(coordinators[1], headers={"Accept-Language": "fr"})

    page = text(limited)
    assert limited.status_code == 429
    assert '<html lang="fr"' in page
    assert "Aller à la liste des lettres ouvertes" in page
    assert f'<input type="hidden" name="email" value="{coordinators[1]}">' in page
    assert 'action="/manage/forgot"' in page
    assert len(queued_mail(app, "password_reset")) == 2


# --- The JSON API -------------------------------------------------------------------------


def test_the_api_limit_counts_in_the_file_store_with_headers_and_a_json_429(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    app.config["API_RATE_LIMIT"] = "3 per minute"
    env = {"REMOTE_ADDR": FLOODER}

    answers = [client.get("/api/v1/letters", environ_base=env) for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    refused = answers[3]
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert "the API allows 3 per minute" in refused.get_json()["error"]["message"]
    assert 1 <= retry_after(refused) <= 60
    assert refused.headers["Cache-Control"] == "no-store"
    with sqlite3.connect(tmp_path / "instance" / "ratelimits.sqlite3") as store:
        keys = [key for (key,) in store.execute("SELECT DISTINCT key FROM entry")]
    # Counted by a keyed hash of the address: the store never holds the address itself.
    assert len(keys) == 1 and re.fullmatch(r"LIMITER/[0-9a-f]{32}/api/3/1/minute", keys[0])
    assert client.get("/api/v1/letters", environ_base={"REMOTE_ADDR": NEIGHBOUR}).status_code == 200


@pytest.mark.usefixtures("letter")
def test_the_rate_limit_store_holds_no_address_domain_or_account(
    app: Flask, client: FlaskClient, coordinators: list[str], tmp_path: Path
) -> None:
    sign(client, FLOODER, individual(1, "bigcorp.example"))
    log_in(client, FLOODER, coordinators[0], "wrong")
    client.get("/api/v1/letters", environ_base={"REMOTE_ADDR": FLOODER})

    files = sorted((tmp_path / "instance").glob("ratelimits.sqlite3*"))
    stored = b"".join(path.read_bytes() for path in files)
    with sqlite3.connect(files[0]) as store:
        (entries,) = store.execute("SELECT COUNT(*) FROM entry").fetchone()
    assert entries >= 5  # sign (3 rates), its domain (2), sign-in (2 + 2), API (1)
    for private in (FLOODER, "bigcorp.example", coordinators[0]):
        assert private.encode() not in stored, f"{private} is in the rate-limit store"


# --- Whose address: trusted proxies only --------------------------------------------------


@pytest.mark.usefixtures("letter")
def test_a_forged_x_forwarded_for_is_ignored_without_trusted_proxies(
    app: Flask, client: FlaskClient
) -> None:
    app.config["SIGN_RATE_LIMIT"] = "1 per hour"

    first = sign(client, FLOODER, individual(1), headers={"X-Forwarded-For": "203.0.113.1"})
    second = sign(client, FLOODER, individual(2), headers={"X-Forwarded-For": "203.0.113.2"})

    assert (first.status_code, second.status_code) == (303, 429)


@pytest.mark.parametrize("hops", [1, 2])
def test_x_forwarded_for_is_read_through_exactly_the_trusted_proxies(
    request: pytest.FixtureRequest, app_config: dict[str, Any], hops: int
) -> None:
    app_config.update(PROXY_FIX=hops, LINK_RATE_LIMIT="1 per hour")
    app: Flask = request.getfixturevalue("app")

    def attempt(*forwarded: str) -> int:
        # Each proxy appends the address it saw; whatever comes before, the client wrote.
        headers = {"X-Forwarded-For": ", ".join(forwarded)}
        return app.test_client().get("/confirm/garbage", headers=headers).status_code

    inner = ["10.0.0.2"] * (hops - 1)  # what the proxies behind the first one saw
    assert attempt("203.0.113.1", "198.51.100.20", *inner) == 400
    # The same client behind the proxies, another forged entry: the same budget.
    assert attempt("203.0.113.99", "198.51.100.20", *inner) == 429
    # Another client behind the proxies: a budget of its own.
    assert attempt("198.51.100.20", "198.51.100.21", *inner) == 400


@pytest.mark.parametrize("value", [-1, True, 1.5, "2"])
def test_proxy_fix_must_be_a_whole_number_of_proxies(tmp_path: Path, value: object) -> None:
    with pytest.raises(ConfigError, match="SIGNATORY_PROXY_FIX"):
        _app(tmp_path, PROXY_FIX=value)


def test_the_limits_file_cannot_be_the_apps_database(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'signatory.sqlite3'}"

    with pytest.raises(ConfigError, match="file of its own"):
        _app(tmp_path, DATABASE_URL=database, RATELIMIT_STORAGE_URI=database)


def test_the_default_store_is_a_file_of_its_own_in_the_instance_folder(app: Flask) -> None:
    expected = f"sqlite:///{Path(app.instance_path) / 'ratelimits.sqlite3'}"

    assert app.config["RATELIMIT_STORAGE_URI"] == expected
    assert (Path(app.instance_path) / "ratelimits.sqlite3").exists()


# --- The limiter's storage down -----------------------------------------------------------


@pytest.fixture
def storage_down(app_config: dict[str, Any]) -> str:
    """Redis on a port where nothing listens."""
    uri = f"redis://127.0.0.1:{free_port()}/0"
    app_config["RATELIMIT_STORAGE_URI"] = uri
    return uri


@pytest.mark.usefixtures("storage_down", "letter")
def test_with_its_storage_down_signing_goes_on_and_limits_hold_per_process(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["SIGN_RATE_LIMIT"] = "2 per hour"

    with caplog.at_level(logging.WARNING, logger="signatory.ratelimits.budgets"):
        statuses = [sign(client, FLOODER, individual(n)).status_code for n in range(4)]

    assert statuses == [303, 303, 429, 429]
    assert sign(client, NEIGHBOUR, individual(9)).status_code == 303
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "signatory.ratelimits.budgets" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1, warnings  # once, then memory for STORAGE_RETRY_SECONDS
    assert "rate-limit storage redis://127.0.0.1" in warnings[0]
    assert "counting in this process's memory" in warnings[0]
    assert len(signatures(app)) == 3


@pytest.mark.usefixtures("storage_down")
def test_with_its_storage_down_the_api_answers_and_still_limits(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["API_RATE_LIMIT"] = "2 per minute"

    with caplog.at_level(logging.WARNING):
        statuses = [
            client.get("/api/v1/letters", environ_base={"REMOTE_ADDR": FLOODER}).status_code
            for _ in range(3)
        ]

    assert statuses == [200, 200, 429]
    assert any("falling back to in-memory storage" in r.getMessage() for r in caplog.records)


def _app(tmp_path: Path, **config: Any) -> Flask:
    """An app in ``tmp_path`` with ``config``, for tests about building one."""
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}",
            "SECRET_KEY": SECRET,
            **config,
        }
    )


# --- Two gunicorn workers -----------------------------------------------------------------


class Service:
    """HTTP to the running stack, as clients at addresses of our choice (PROXY_FIX=1)."""

    def __init__(self, stack: Stack) -> None:
        self.port = stack.web_port

    def request(
        self, method: str, path: str, *, client: str, body: str | None = None, cookie: str = ""
    ) -> tuple[int, str, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"X-Forwarded-For": client, "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if cookie:
            headers["Cookie"] = cookie
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            page = response.read().decode("utf-8")
            cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0] or cookie
            return response.status, page, cookie
        finally:
            connection.close()

    def sign(self, client: str, number: int) -> int:
        _, page, cookie = self.request("GET", f"/letters/{SLUG}", client=client)
        form = {"csrf_token": csrf_token_from(page), **individual(number)}
        status, _, _ = self.request(
            "POST",
            f"/letters/{SLUG}/sign",
            client=client,
            body=urllib.parse.urlencode(form),
            cookie=cookie,
        )
        return status


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    smtp = SMTPServer().start()
    stack = Stack(tmp_path_factory.mktemp("two-workers"), smtp.port)
    stack.env.update(
        SIGNATORY_PROXY_FIX="1",
        SIGNATORY_SIGN_RATE_LIMIT="5 per hour",
        SIGNATORY_LINK_RATE_LIMIT="7 per hour",
    )
    stack.start()
    try:
        yield Service(stack)
    finally:
        stack.stop()
        smtp.stop()


def _at_once(count: int, work: Any) -> list[int]:
    results: list[int] = [0] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.slow
def test_across_two_gunicorn_workers_a_link_flood_gets_exactly_the_limit(
    service: Service,
) -> None:
    statuses = _at_once(
        30, lambda n: service.request("GET", f"/confirm/garbage-{n}", client=FLOODER)[0]
    )

    assert Counter(statuses) == {400: 7, 429: 23}


@pytest.mark.slow
def test_across_two_gunicorn_workers_a_sign_flood_is_cut_off_while_another_address_signs(
    service: Service,
) -> None:
    statuses = _at_once(16, lambda n: service.sign("203.0.113.77", n))

    assert Counter(statuses) == {303: 5, 429: 11}
    assert service.sign("198.51.100.78", 100) == 303


def test_an_earlier_apps_default_limit_does_not_stay_in_force(tmp_path: Path, app: Flask) -> None:
    """One limiter serves every app of a process: each app's default limits are its own."""
    strict = _app(tmp_path / "strict", RATELIMIT_DEFAULT="2 per minute")
    assert [strict.test_client().get("/privacy").status_code for _ in range(3)][-1] == 429
    with strict.app_context():
        db.engine.dispose()

    relaxed = create_app({**app.config, "INSTANCE_PATH": app.instance_path})
    try:
        client = relaxed.test_client()
        assert {client.get("/privacy").status_code for _ in range(5)} == {200}
    finally:
        with relaxed.app_context():
            db.engine.dispose()
