"""The surface every answer shares: what may be cached, HSTS, and absolute links that come
from ``SIGNATORY_BASE_URL`` whatever ``Host`` the client sends."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from signatory.core.extensions import db
from signatory.models import Delivery
from signatory.team.access import PUBLIC
from tests.conftest import (
    csrf_token_from,
    fetch_csrf,
    queued_mail,
    render_queued,
    sign_in,
    text_part,
)
from tests.factories import PASSWORD, make_letter, make_member, make_signature

BASE = "http://signatory.test"
FORGED = {"Host": "evil.example"}
HSTS = "max-age=31536000; includeSubDomains"

ORG_FORM = {
    "kind": "organization",
    "organization": "Digital Rights Example",
    "country": "AU",
    "organization_type": "ngo",
    "website": "https://digitalrights.example.org",
    "name": "Lizzie Signer",
    "title": "Chair",
    "email": "lizzie@digitalrights.example.org",
    "authorised": "y",
}


@pytest.fixture
def owner(app):
    """The open letter ``civic`` with one published signature, and its owner's email."""
    with app.app_context():
        letter = make_letter(db.session, slug="civic")
        make_signature(db.session, letter, organization="Published Example")
        email = make_member(db.session, letter, role="owner").email
        db.session.commit()
    return email


# --- What may be cached ----------------------------------------------------------------


def test_the_letter_page_with_its_sign_form_is_never_stored(client, owner):
    response = client.get("/letters/civic")

    assert response.status_code == 200
    assert 'name="csrf_token"' in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_letter_page_re_shown_with_form_errors_is_never_stored(client, owner):
    token = fetch_csrf(client, "/letters/civic")
    response = client.post(
        "/letters/civic/sign", data={**ORG_FORM, "email": "", "csrf_token": token}
    )

    assert response.status_code == 400
    assert "Enter your email address" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/manage/login", "/manage/forgot"])
def test_the_sign_in_forms_are_never_stored(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_every_workspace_page_is_never_stored(app, client, owner):
    sign_in(client, owner)
    paths = [
        rule.rule.replace("<slug>", "civic")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("manage.")
        and "GET" in rule.methods
        and set(rule.arguments) <= {"slug"}
        and getattr(app.view_functions[rule.endpoint], "manage_access", None) != PUBLIC
    ]
    assert len(paths) >= 10, paths

    answers = {path: client.get(path) for path in paths}

    # Downloads answer 303 without their form's POST; a search without terms is a 400.
    assert [path for path, r in answers.items() if r.status_code == 200], answers
    assert {
        path: r.headers.get("Cache-Control")
        for path, r in answers.items()
        if r.headers.get("Cache-Control") != "no-store"
    } == {}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/letters/civic/live.json", "public"),
        ("/letters/civic/widget", "public"),
        ("/letters/civic/feed.atom", "public"),
        ("/api/v1/letters/civic", "public"),
    ],
)
def test_answers_without_a_form_keep_their_shared_caching(client, owner, path, expected):
    response = client.get(path)

    assert response.status_code == 200
    assert expected in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]


def test_the_public_list_is_not_marked_no_store(client, owner):
    response = client.get("/letters/civic/signatories")

    assert response.status_code == 200
    assert "csrf_token" not in response.get_data(as_text=True)
    assert "no-store" not in response.headers.get("Cache-Control", "")


# --- HSTS -------------------------------------------------------------------------------


def test_hsts_with_subdomains_is_sent_over_https(client, owner):
    response = client.get("/letters/civic", base_url="https://signatory.test")

    assert response.headers["Strict-Transport-Security"] == HSTS


def test_no_hsts_is_sent_over_plain_http(client, owner):
    response = client.get("/letters/civic")

    assert "Strict-Transport-Security" not in response.headers


def test_no_hsts_on_an_untrusted_forwarded_proto(client, owner):
    # PROXY_FIX is 0 by default: X-Forwarded-Proto from the client is not believed.
    response = client.get("/letters/civic", headers={"X-Forwarded-Proto": "https"})

    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("app_config", [{"PROXY_FIX": 1}])
def test_hsts_is_sent_when_a_trusted_proxy_says_https(client, owner, app_config):
    response = client.get(
        "/manage/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    )

    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == HSTS


# --- Absolute links come from BASE_URL -----------------------------------------------------


def test_the_api_ignores_a_forged_host_in_its_cacheable_letter_url(client, owner):
    response = client.get("/api/v1/letters/civic", headers=FORGED)

    assert response.status_code == 200
    assert "public" in response.headers["Cache-Control"]
    assert response.get_json()["letter"]["url"] == f"{BASE}/letters/civic"
    assert "evil.example" not in response.get_data(as_text=True)


def test_the_api_ignores_a_forged_host_in_the_delivery_download_url(app, client):
    with app.app_context():
        letter = make_letter(db.session, slug="handed", status="delivered")
        db.session.add(
            Delivery(
                letter=letter,
                delivered_to="Chair",
                delivered_at=datetime(2025, 4, 1, 10, 0, tzinfo=UTC),
                method="in person",
                csv_bytes=b"\xef\xbb\xbfSection\r\n",
                sha256="ab" * 32,
                organizations=1,
                individuals=0,
            )
        )
        db.session.commit()

    response = client.get("/api/v1/letters/handed", headers=FORGED)

    assert response.status_code == 200
    assert response.get_json()["delivery"]["download_url"] == f"{BASE}/letters/handed/delivered.csv"
    assert client.get("/letters/handed/delivered.csv").status_code == 200


def test_the_feed_ignores_a_forged_host(client, owner):
    response = client.get("/letters/civic/feed.atom", headers=FORGED)
    feed = response.get_data(as_text=True)

    assert response.status_code == 200
    assert f'href="{BASE}/letters/civic"' in feed
    assert f'href="{BASE}/letters/civic/feed.atom"' in feed
    assert "evil.example" not in feed


def test_the_letter_pages_share_tags_and_embed_ignore_a_forged_host(client, owner):
    page = client.get("/letters/civic", headers=FORGED).get_data(as_text=True)

    assert f'<meta property="og:url" content="{BASE}/letters/civic">' in page
    assert f'<link rel="canonical" href="{BASE}/letters/civic">' in page
    assert f"{BASE}/letters/civic/widget" in page
    assert "evil.example" not in page


def test_the_widget_ignores_a_forged_host(client, owner):
    page = client.get("/letters/civic/widget", headers=FORGED).get_data(as_text=True)

    assert f"{BASE}/letters/civic" in page
    assert "evil.example" not in page


def test_the_workspace_names_the_letters_address_from_base_url(client, owner):
    login = client.get("/manage/login", headers=FORGED).get_data(as_text=True)
    signed_in = client.post(
        "/manage/login",
        data={"csrf_token": csrf_token_from(login), "email": owner, "password": PASSWORD},
        headers=FORGED,
    )
    assert signed_in.status_code == 303

    page = client.get("/manage/letters/new", headers=FORGED).get_data(as_text=True)

    assert f"{BASE}/letters/…" in page
    assert "evil.example" not in page


def test_the_confirmation_email_links_ignore_the_host_it_was_signed_on(app, client, owner):
    page = client.get("/letters/civic", headers=FORGED)
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        "/letters/civic/sign", data={**ORG_FORM, "csrf_token": token}, headers=FORGED
    )
    assert response.status_code == 303
    [message] = [m for m in queued_mail(app) if m.template != "digest"]

    body = text_part(render_queued(app, message.id))

    links = re.findall(r"https?://[^\s>\"]+", body)
    assert any(link.startswith(f"{BASE}/confirm/") for link in links), links
    assert "evil.example" not in body
