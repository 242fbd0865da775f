"""The answers a stranger can get tell nothing about who has signed or has an account.

Each pair below differs only in whether the address (or the row a forged link names) is
known; the answers must be the same status and the same page apart from the per-session
CSRF token and the sign form's fill-time stamp.
"""

from __future__ import annotations

import re

import pytest
from itsdangerous import URLSafeTimedSerializer

from signatory.core.extensions import db
from tests.conftest import fetch_csrf, queued_mail
from tests.factories import make_coordinator, make_letter, make_signature

KNOWN = "known@digitalrights.example.org"
UNKNOWN = "nobody@elsewhere.example.org"
ORG_FORM = {
    "kind": "organization",
    "country": "AU",
    "organization_type": "ngo",
    "name": "Lizzie Signer",
    "title": "Chair",
    "authorised": "y",
}
# Values that change with every page drawn, whoever asks.
_PER_DRAW = re.compile(r'(name="(?:csrf_token|started)"[^>]*value=")[^"]*"')


def same_page(first: str, second: str) -> tuple[str, str]:
    return _PER_DRAW.sub(r'\1…"', first), _PER_DRAW.sub(r'\1…"', second)


@pytest.fixture
def world(app) -> int:
    """An open letter that ``KNOWN`` has signed (published), and an account for ``KNOWN``."""
    with app.app_context():
        letter = make_letter(db.session, slug="civic")
        signature = make_signature(
            db.session,
            letter,
            email=KNOWN,
            organization="Known Example",
            website="https://digitalrights.example.org",
        )
        make_coordinator(db.session, email=KNOWN)
        db.session.commit()
        return signature.id


def sign_as(client, email: str, organization: str):
    token = fetch_csrf(client, "/letters/civic")
    domain = email.split("@")[1]
    data = {
        **ORG_FORM,
        "organization": organization,
        "website": f"https://{domain}",
        "email": email,
        "csrf_token": token,
    }
    return client.post("/letters/civic/sign", data=data)


def test_signing_with_an_address_that_signed_answers_like_a_new_one(app, world):
    known = sign_as(app.test_client(), KNOWN, "Another Example")
    unknown = sign_as(app.test_client(), UNKNOWN, "Elsewhere Example")

    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    assert known.get_data() == unknown.get_data()
    # What differs goes only to the inbox of the address itself.
    assert {m.to_addr for m in queued_mail(app)} <= {KNOWN, UNKNOWN}


def test_the_check_your_inbox_page_is_the_same_for_everyone(app, world):
    known_client, unknown_client = app.test_client(), app.test_client()
    sign_as(known_client, KNOWN, "Another Example")
    sign_as(unknown_client, UNKNOWN, "Elsewhere Example")

    known = known_client.get("/letters/civic/signed")
    unknown = unknown_client.get("/letters/civic/signed")

    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()


def test_forgot_password_answers_the_same_for_an_account_and_a_stranger(app, world):
    def ask(email: str):
        client = app.test_client()
        token = fetch_csrf(client, "/manage/forgot")
        return client.post("/manage/forgot", data={"csrf_token": token, "email": email})

    known, unknown = ask(KNOWN), ask(UNKNOWN)

    assert known.status_code == unknown.status_code == 200
    known_page, unknown_page = same_page(
        known.get_data(as_text=True), unknown.get_data(as_text=True).replace(UNKNOWN, KNOWN)
    )
    assert known_page == unknown_page
    # Only the real account is sent a link.
    assert [m.to_addr for m in queued_mail(app)] == [KNOWN]


def test_sign_in_answers_the_same_for_an_unknown_address_and_a_wrong_password(app, world):
    def try_sign_in(email: str):
        client = app.test_client()
        token = fetch_csrf(client, "/manage/login")
        return client.post(
            "/manage/login", data={"csrf_token": token, "email": email, "password": "wrong guess"}
        )

    known, unknown = try_sign_in(KNOWN), try_sign_in(UNKNOWN)

    assert known.status_code == unknown.status_code == 400
    known_page, unknown_page = same_page(
        known.get_data(as_text=True), unknown.get_data(as_text=True).replace(UNKNOWN, KNOWN)
    )
    assert known_page == unknown_page
    assert "That email and password do not match an account." in known_page


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
def test_a_forged_link_page_is_the_same_whether_or_not_its_row_exists(app, client, world, purpose):
    # Without the secret key a stranger can only forge: sign a payload with a key of their own.
    forger = URLSafeTimedSerializer("not the site's key", salt=f"signatory.{purpose}")
    existing = forger.dumps({"id": world, "n": "guess"})
    missing = forger.dumps({"id": world + 1000, "n": "guess"})

    first = client.get(f"/{purpose}/{existing}")
    second = client.get(f"/{purpose}/{missing}")

    assert first.status_code == second.status_code == 400
    assert "This link is not valid" in first.get_data(as_text=True)
    first_page, second_page = same_page(
        first.get_data(as_text=True).replace(existing, "TOKEN"),
        second.get_data(as_text=True).replace(missing, "TOKEN"),
    )
    assert first_page == second_page
    assert "Known Example" not in first_page
