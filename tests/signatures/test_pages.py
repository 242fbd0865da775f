"""Signing, confirming and withdrawing through HTTP, including hostile and malformed input."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.models import Signature
from tests.conftest import csrf_token_from, fetch_csrf, queued_mail
from tests.factories import find_letter, make_letter, make_signature

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
def letter(app):
    with app.app_context():
        letter = make_letter(db.session, slug="civic-space")
        db.session.commit()
        return letter.slug


def sign(client, slug="civic-space", **overrides):
    form = {**ORG_FORM, "csrf_token": fetch_csrf(client, f"/letters/{slug}"), **overrides}
    return client.post(f"/letters/{slug}/sign", data=form)


def signatures(app) -> list[Signature]:
    with app.app_context():
        rows = db.session.scalars(select(Signature).order_by(Signature.id)).all()
        db.session.expunge_all()
        return list(rows)


def token_for(app, purpose: str, signature: Signature) -> str:
    nonce = signature.confirm_nonce if purpose == "confirm" else signature.withdraw_nonce
    return app.extensions["signatory.tokens"].make(purpose, signature.id, nonce)


def test_the_letter_page_shows_the_text_recipient_count_and_form(client, letter):
    page = client.get("/letters/civic-space").get_data(as_text=True)
    assert "Protect civic space in the treaty" in page
    assert "Chair of the Ad Hoc Committee" in page
    assert "<strong>protect</strong>" in page
    for name in ("kind", "organization", "country", "organization_type", "website", "name"):
        assert f'name="{name}"' in page
    assert 'name="title"' in page and 'name="email"' in page and 'name="csrf_token"' in page


def test_signing_redirects_to_check_your_inbox(client, app, letter):
    response = sign(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/letters/civic-space/signed")
    assert "Check your inbox" in client.get(response.headers["Location"]).get_data(as_text=True)
    [signature] = signatures(app)
    assert signature.status == "unconfirmed"
    assert signature.website == "https://digitalrights.example.org"
    assert signature.domain_verified


def test_signing_twice_gives_the_same_answer_and_one_signature(client, app, letter):
    first = sign(client)
    second = sign(client, email="LIZZIE@digitalrights.example.org")
    assert (first.status_code, first.headers["Location"]) == (
        second.status_code,
        second.headers["Location"],
    )
    assert len(signatures(app)) == 1
    assert len(queued_mail(app)) == 2


def test_a_website_without_a_scheme_is_taken_as_https(client, app, letter):
    assert sign(client, website="digitalrights.example.org").status_code == 303
    assert signatures(app)[0].website == "https://digitalrights.example.org"


def test_an_individual_signs_without_organization_fields(client, app, letter):
    response = sign(
        client,
        kind="individual",
        organization="",
        organization_type="",
        website="",
        email="ada@mailbox.example.org",
    )
    assert response.status_code == 303
    [signature] = signatures(app)
    assert (signature.kind, signature.organization, signature.website) == ("individual", None, None)


def test_missing_csrf_token_is_refused_and_saves_nothing(client, app, letter):
    client.get("/letters/civic-space")
    response = client.post("/letters/civic-space/sign", data=ORG_FORM)
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert signatures(app) == []
    assert len(queued_mail(app)) == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "valid email address"),
        ({"email": ""}, "Enter your email address"),
        ({"country": "XX"}, "Choose a country from the list"),
        ({"country": ""}, "Choose a country"),
        ({"kind": "robot"}, "Not a valid choice"),
        ({"organization": ""}, "Enter the name of the organization"),
        ({"organization_type": "cartel"}, "Not a valid choice"),
        ({"website": "ftp://files.example.org"}, "http:// or https://"),
        ({"website": "javascript:alert(1)"}, "http:// or https://"),
        ({"name": ""}, "Enter your name"),
        ({"name": "x" * 201}, "200"),
        ({"organization": "o" * 201}, "200"),
        ({"title": "t" * 201}, "200"),
        ({"email": ("a" * 250) + "@example.org"}, "254"),
        ({"name": "Evil\x00Name"}, "one line"),
        ({"organization": "Line\nBreak Org"}, "one line"),
        ({"name": "\u202eevil"}, "invisible characters (U+202E RIGHT-TO-LEFT OVERRIDE)"),
    ],
)
def test_invalid_input_is_answered_next_to_the_field_and_saves_nothing(
    client, app, letter, overrides, message
):
    response = sign(client, **overrides)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert "field-error" in page
    assert signatures(app) == []
    assert len(queued_mail(app)) == 0


def test_the_form_keeps_what_was_typed_when_it_has_errors(client, letter):
    page = sign(client, email="broken@").get_data(as_text=True)
    assert 'value="Digital Rights Example"' in page
    assert 'value="broken@"' in page


def test_markup_in_names_is_stored_as_given_and_escaped_on_the_page(client, app, letter):
    hostile = '<script>alert("x")</script> & Co'
    assert sign(client, organization=hostile).status_code == 303
    [signature] = signatures(app)
    assert signature.organization == hostile
    with app.app_context():
        db.session.execute(
            Signature.__table__.update().values(status="published", published_at=db.func.now())
        )
        db.session.commit()
    page = client.get("/letters/civic-space").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page


def test_an_oversized_request_is_refused_with_413(client, letter):
    token = fetch_csrf(client, "/letters/civic-space")
    response = client.post(
        "/letters/civic-space/sign", data={**ORG_FORM, "csrf_token": token, "name": "x" * 70_000}
    )
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_an_unknown_letter_is_404(client):
    assert client.get("/letters/no-such-letter").status_code == 404
    assert client.post("/letters/no-such-letter/sign", data=ORG_FORM).status_code in (400, 404)


def test_a_draft_letter_is_not_public(client, app):
    with app.app_context():
        make_letter(db.session, slug="secret-draft", status="draft")
        db.session.commit()
    assert client.get("/letters/secret-draft").status_code == 404


def test_a_closed_letter_says_so_and_refuses_signatures(client, app):
    with app.app_context():
        make_letter(db.session, slug="old", status="open")
        db.session.commit()
    token = fetch_csrf(client, "/letters/old")
    with app.app_context():
        find_letter(db.session, "old").status = "closed"
        db.session.commit()
    page = client.get("/letters/old").get_data(as_text=True)
    assert "Signing is closed" in page
    response = client.post("/letters/old/sign", data={**ORG_FORM, "csrf_token": token})
    assert response.status_code == 409
    assert "Signing is closed" in response.get_data(as_text=True)
    assert signatures(app) == []


def test_individuals_are_refused_where_the_letter_is_for_organizations_only(client, app):
    with app.app_context():
        make_letter(db.session, slug="orgs-only", allow_individuals=False)
        db.session.commit()
    page = client.get("/letters/orgs-only").get_data(as_text=True)
    assert "as an individual" not in page
    response = sign(client, slug="orgs-only", kind="individual")
    assert response.status_code == 400
    assert "organizations only" in response.get_data(as_text=True)


def test_the_confirm_link_shows_a_button_and_changes_nothing_on_get(client, app, letter):
    sign(client)
    [signature] = signatures(app)
    response = client.get(f"/confirm/{token_for(app, 'confirm', signature)}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Confirm my signature" in page and "Digital Rights Example" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert signatures(app)[0].status == "unconfirmed"


def test_pressing_confirm_publishes_the_signature(client, app, letter):
    sign(client)
    [signature] = signatures(app)
    url = f"/confirm/{token_for(app, 'confirm', signature)}"
    response = client.post(url, data={"csrf_token": fetch_csrf(client, url)})
    assert response.status_code == 200
    assert "your signature is confirmed" in response.get_data(as_text=True)
    assert signatures(app)[0].status == "published"
    assert "Digital Rights Example" in client.get("/letters/civic-space").get_data(as_text=True)


def test_confirm_without_csrf_token_changes_nothing(client, app, letter):
    sign(client)
    [signature] = signatures(app)
    response = client.post(f"/confirm/{token_for(app, 'confirm', signature)}")
    assert response.status_code == 400
    assert signatures(app)[0].status == "unconfirmed"


def test_a_reused_confirm_link_says_it_was_used(client, app, letter):
    sign(client)
    [signature] = signatures(app)
    url = f"/confirm/{token_for(app, 'confirm', signature)}"
    csrf = fetch_csrf(client, url)
    client.post(url, data={"csrf_token": csrf})
    sent = len(queued_mail(app))
    again = client.post(url, data={"csrf_token": csrf})
    assert again.status_code == 409
    assert "already been used" in again.get_data(as_text=True)
    assert "on the public list" in again.get_data(as_text=True)
    assert client.get(url).status_code == 409
    assert len(queued_mail(app)) == sent


@pytest.mark.parametrize("token", ["garbage", "eyJpZCI6MX0.abc.def", "a" * 3000])
def test_a_garbage_link_gets_a_clear_page(client, letter, token):
    response = client.get(f"/confirm/{token}")
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)


def test_a_tampered_link_gets_a_clear_page_and_changes_nothing(client, app, letter):
    sign(client)
    [signature] = signatures(app)
    token = token_for(app, "confirm", signature)
    tampered = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    page = client.get(f"/confirm/{tampered}")
    assert page.status_code == 400
    csrf = fetch_csrf(client, "/letters/civic-space")
    response = client.post(f"/confirm/{tampered}", data={"csrf_token": csrf})
    assert response.status_code == 400
    assert signatures(app)[0].status == "unconfirmed"


def test_a_withdraw_link_used_to_confirm_says_it_is_for_something_else(client, app, letter):
    with app.app_context():
        signature = make_signature(
            db.session, db.session.merge(find_letter(db.session, letter)), status="published"
        )
        db.session.commit()
        token = token_for(app, "withdraw", signature)
    response = client.get(f"/confirm/{token}")
    assert response.status_code == 400
    assert "for something else" in response.get_data(as_text=True)


def test_an_expired_link_offers_a_new_one_sent_to_the_address_on_record(app, client, letter):
    sign(client)
    [signature] = signatures(app)
    token = token_for(app, "confirm", signature)
    app.extensions["signatory.tokens"]._max_ages["confirm"] = -1
    page = client.get(f"/confirm/{token}")
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "This link has expired" in html and "Email me a new link" in html
    before = len(queued_mail(app))
    response = client.post(f"/confirm/{token}/resend", data={"csrf_token": csrf_token_from(html)})
    assert response.status_code == 200
    assert "new link" in response.get_data(as_text=True)
    assert len(queued_mail(app)) == before + 1
    assert signatures(app)[0].status == "unconfirmed"


def test_withdrawing_takes_the_signature_off_the_letter_page(client, app, letter):
    with app.app_context():
        signature = make_signature(
            db.session,
            find_letter(db.session, letter),
            organization="Leaving Org",
            status="published",
        )
        db.session.commit()
        url = f"/withdraw/{token_for(app, 'withdraw', signature)}"
    assert "Leaving Org" in client.get("/letters/civic-space").get_data(as_text=True)
    page = client.get(url)
    assert "Withdraw my signature" in page.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert response.status_code == 200
    assert "withdrawn" in response.get_data(as_text=True)
    assert "Leaving Org" not in client.get("/letters/civic-space").get_data(as_text=True)
    again = client.get(url)
    assert again.status_code == 409
    assert "has been withdrawn" in again.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    ["/letters/civic-space", "/letters/civic-space/live.json", "/letters/civic-space/signatories",
     "/letters/civic-space/widget", "/api/v1/letters", "/no-such-page"],
)  # fmt: skip
def test_every_answer_carries_each_security_header_once(client, letter, path):
    response = client.get(path)
    names = [name.lower() for name, _ in response.headers.items()]
    for name in ("x-content-type-options", "referrer-policy", "content-security-policy",
                 "permissions-policy"):  # fmt: skip
        assert names.count(name) == 1, (path, name)
    framed = "frame-ancestors 'none'" not in response.headers["Content-Security-Policy"]
    # The widget sets its own policy (framable) and so gets no X-Frame-Options: DENY.
    assert ("x-frame-options" in names) is not framed
    assert names.count("x-frame-options") <= 1
    assert "strict-transport-security" not in names  # plain HTTP here


def test_over_https_browsers_are_told_to_keep_to_it(client, letter):
    response = client.get("/letters/civic-space", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_a_request_without_a_cookie_still_gets_a_session_for_its_form(client, letter):
    response = client.get("/letters/civic-space")
    assert "session=" in response.headers.get("Set-Cookie", "")
    # A poll with no cookie is given none.
    poller = client.application.test_client()
    assert "Set-Cookie" not in poller.get("/letters/civic-space/live.json").headers


@pytest.mark.parametrize(
    "path",
    ["/letters/civic-space/live.json", "/letters/civic-space/feed.atom",
     "/letters/civic-space/widget"],
)  # fmt: skip
def test_a_public_answer_carries_no_visitors_cookie_and_does_not_vary_by_it(client, letter, path):
    client.get("/letters/civic-space")  # the sign form's session cookie, as every signer has
    response = client.get(path)
    assert response.status_code == 200
    assert "public" in response.headers["Cache-Control"]
    # One copy in a shared cache for every visitor, and no visitor's cookie in it.
    assert "cookie" not in response.headers.get("Vary", "").lower()
    assert "Set-Cookie" not in response.headers


def test_the_letter_page_still_varies_by_cookie(client, letter):
    response = client.get("/letters/civic-space")
    assert "Cookie" in response.headers["Vary"]


def test_pages_carry_security_headers(client, letter):
    response = client.get("/letters/civic-space")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_unknown_pages_get_a_friendly_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.get_data(as_text=True)


def test_a_wrong_method_gets_405_not_a_stack_trace(client, letter):
    response = client.get("/letters/civic-space/sign")
    assert response.status_code == 405
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_wrong_method_says_which_methods_are_allowed(client, letter):
    response = client.get("/letters/civic-space/sign")
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


def test_the_error_summary_lists_the_errors_in_the_order_of_the_form(client, letter):
    # Every field an organization must fill, left empty or wrong.
    page = sign(
        client, organization="", organization_type="", website="", country="", name="", email="x"
    ).get_data(as_text=True)
    summary = page.split('class="error-summary"', 1)[1].split("</ul>", 1)[0]
    listed = re.findall(r'<a href="#([\w-]+)"', summary)
    form = page.split("data-sign-form", 1)[1]
    shown = [name for name in re.findall(r'\bid="([\w-]+)"', form) if name in listed]

    assert len(listed) >= 5
    assert listed == list(dict.fromkeys(shown))
