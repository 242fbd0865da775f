"""Signers edit their own entry: title and website at once, the rest through review."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from signatory.core.extensions import db
from signatory.core.tokens import current_tokens
from signatory.models import Signature
from tests.conftest import add_signature, audit_trail, fetch_csrf, sign_in
from tests.factories import find_letter, make_letter, make_member

SLUG = "civic"
EMAIL = "ada@rights.example.org"


@pytest.fixture
def letter_slug(app: Flask) -> str:
    with app.app_context():
        make_letter(db.session, slug=SLUG, title="Protect civic space")
        db.session.commit()
    return SLUG


def _letter(app: Flask, **values: object) -> str:
    with app.app_context():
        letter = make_letter(db.session, **values)  # type: ignore[arg-type]
        db.session.commit()
        return letter.slug


def _signer(app: Flask, slug: str, **values: object) -> int:
    entry: dict[str, object] = {
        "organization": "Rights Watch",
        "title": "Director",
        "email": EMAIL,
        "website": "https://rights.example.org",
        "domain_verified": True,
    }
    return add_signature(app, slug, **{**entry, **values})


def _token(app: Flask, signature_id: int) -> str:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        return current_tokens().make("manage", signature.id, signature.manage_nonce)


def _row(app: Flask, signature_id: int) -> Signature:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        db.session.expunge(signature)
        return signature


def _edit(client: FlaskClient, token: str, **data: str) -> TestResponse:
    # The token of the page that opens the form; "/my-signature" when the page has no form.
    csrf = fetch_csrf(client, "/my-signature")
    return client.post(f"/my-signature/{token}/entry", data={"csrf_token": csrf, **data})


def _error_beside(response: TestResponse, field: str) -> str:
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html, f"no error beside {field}"
    return html.split(f'id="{field}-error">', 1)[1].split("</span>", 1)[0]


# --- Applied at once ----------------------------------------------------------------------


def test_a_new_title_shows_on_the_public_list_at_once(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug)
    listed = f"/letters/{letter_slug}/signatories"
    assert "Director" in client.get(listed).get_data(as_text=True)  # read (and cached) before

    response = _edit(
        client,
        _token(app, signature_id),
        title="Executive Director",
        website="https://rights.example.org",
    )

    assert response.status_code == 303
    assert _row(app, signature_id).title == "Executive Director"
    assert "Executive Director" in client.get(listed).get_data(as_text=True)


def test_a_new_website_is_stored_and_its_domain_match_computed_again(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug)

    response = _edit(
        client, _token(app, signature_id), title="Director", website="other.example.net"
    )

    assert response.status_code == 303
    row = _row(app, signature_id)
    assert (row.website, row.domain_verified) == ("https://other.example.net", False)


def test_a_website_at_the_email_domain_makes_the_entry_verified(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(
        app, letter_slug, website="https://old.example.net", domain_verified=False
    )

    _edit(client, _token(app, signature_id), title="Director", website="https://www.example.org")

    assert _row(app, signature_id).domain_verified is True


def test_a_website_off_the_email_domain_is_refused_where_the_letter_requires_the_match(
    app: Flask, client: FlaskClient
) -> None:
    slug = _letter(app, require_domain_match=True)
    signature_id = _signer(app, slug)

    response = _edit(
        client, _token(app, signature_id), title="Chair", website="https://other.example.net"
    )

    assert response.status_code == 400
    assert "does not match the address you signed with" in _error_beside(response, "website")
    row = _row(app, signature_id)
    assert (row.website, row.title, row.domain_verified) == (
        "https://rights.example.org",
        "Director",
        True,
    )


def test_a_website_losing_the_match_is_refused_where_mismatches_are_reviewed(
    app: Flask, client: FlaskClient
) -> None:
    # Published without review because the website matched: a new one may not skip it.
    slug = _letter(app, moderation="mismatch")
    signature_id = _signer(app, slug)

    response = _edit(
        client, _token(app, signature_id), title="Director", website="https://other.example.net"
    )

    assert response.status_code == 400
    assert "reviewed before they are listed" in _error_beside(response, "website")
    assert _row(app, signature_id).website == "https://rights.example.org"


# --- Refused beside the field ---------------------------------------------------------------


def test_an_invalid_website_is_answered_beside_the_field(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug)

    response = _edit(client, _token(app, signature_id), title="Director", website="ftp://x")

    assert response.status_code == 400
    assert "starting with http:// or https://" in _error_beside(response, "website")
    assert _row(app, signature_id).website == "https://rights.example.org"


def test_a_title_too_long_is_answered_beside_the_field_with_the_limit(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug)

    response = _edit(
        client, _token(app, signature_id), title="x" * 10_000, website="rights.example.org"
    )

    assert response.status_code == 400
    assert "Keep it under 200 characters." in _error_beside(response, "title")
    assert _row(app, signature_id).title == "Director"


def test_a_title_with_a_web_address_is_refused_as_the_sign_form_refuses_it(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug)

    response = _edit(
        client,
        _token(app, signature_id),
        title="Director, see https://spam.example",
        website="https://rights.example.org",
    )

    assert response.status_code == 400
    assert "not a web address" in _error_beside(response, "title")


def test_an_edit_that_changes_nothing_is_refused_with_a_message(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug)

    response = _edit(
        client, _token(app, signature_id), title="Director", website="https://rights.example.org"
    )

    assert response.status_code == 400
    assert "That is how your entry already reads" in response.get_data(as_text=True)
    assert audit_trail(app, "signature.entry_edited") == []


def test_an_unknown_country_in_a_correction_is_answered_beside_the_field(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug)
    token = _token(app, signature_id)

    response = client.post(
        f"/my-signature/{token}/correction",
        data={
            "csrf_token": fetch_csrf(client, f"/my-signature/{token}"),
            "organization": "Rights Watch",
            "name": "Ada Example",
            "country": "XX",
        },
    )

    assert response.status_code == 400
    assert "Choose a country from the list." in _error_beside(response, "country")
    assert _row(app, signature_id).correction_requested_at is None


# --- The state of the signature -------------------------------------------------------------


@pytest.mark.parametrize("status", ["withdrawn", "rejected"])
def test_an_entry_off_the_letter_cannot_be_edited(
    app: Flask, client: FlaskClient, letter_slug: str, status: str
) -> None:
    signature_id = _signer(app, letter_slug, status=status)

    response = _edit(
        client, _token(app, signature_id), title="Chair", website="https://rights.example.org"
    )

    assert response.status_code == 409
    assert "Only a signature that is published or awaiting review" in response.get_data(
        as_text=True
    )
    assert _row(app, signature_id).title == "Director"


def test_an_entry_on_a_delivered_list_cannot_be_edited(app: Flask, client: FlaskClient) -> None:
    slug = _letter(app, status="delivered")
    signature_id = _signer(app, slug)

    response = _edit(
        client, _token(app, signature_id), title="Chair", website="https://rights.example.org"
    )

    assert response.status_code == 409
    assert "delivered to its recipient" in response.get_data(as_text=True)
    assert _row(app, signature_id).title == "Director"


def test_an_edit_without_the_csrf_token_changes_nothing(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug)
    token = _token(app, signature_id)

    response = client.post(
        f"/my-signature/{token}/entry", data={"title": "Chair", "website": "rights.example.org"}
    )

    assert response.status_code == 400
    assert _row(app, signature_id).title == "Director"
    assert client.get(f"/my-signature/{token}").status_code == 200


# --- The link and the audit -------------------------------------------------------------------


def test_an_edit_retires_the_link_used_and_moves_to_a_fresh_one(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug)
    token = _token(app, signature_id)

    response = _edit(client, token, title="Chair", website="https://rights.example.org")

    fresh = response.headers["Location"]
    assert token not in fresh and fresh.startswith("/my-signature/")
    page = client.get(fresh)
    assert page.status_code == 200
    assert "Your entry is updated" in page.get_data(as_text=True)
    assert client.get(f"/my-signature/{token}").status_code == 409


def test_an_edit_is_audited_with_the_fields_changed_and_never_the_email(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug)

    _edit(client, _token(app, signature_id), title="Chair", website="https://www.example.org")

    (event,) = audit_trail(app, "signature.entry_edited")
    assert (event.signature_id, event.actor_label) == (signature_id, "signer")
    assert event.detail == {"fields": ["title", "website"]}
    assert EMAIL not in repr(event.detail)


# --- Through review ---------------------------------------------------------------------------


def test_a_country_correction_waits_for_review_and_is_listed_once_approved(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = _signer(app, letter_slug, country="DE")
    token = _token(app, signature_id)
    listed = f"/letters/{letter_slug}/signatories"
    client.post(
        f"/my-signature/{token}/correction",
        data={
            "csrf_token": fetch_csrf(client, f"/my-signature/{token}"),
            "organization": "Rights Watch Kenya",
            "name": "Ada Wanjiru",
            "country": "KE",
        },
    )
    assert (_row(app, signature_id).country, _row(app, signature_id).requested_country) == (
        "DE",
        "KE",
    )
    assert "Rights Watch Kenya" not in client.get(listed).get_data(as_text=True)
    with app.app_context():
        letter = find_letter(db.session, letter_slug)
        assert letter is not None
        moderator = make_member(db.session, letter, role="moderator").email
        db.session.commit()
    sign_in(client, moderator)
    queue = f"/manage/letters/{letter_slug}/moderation"
    assert "Kenya" in client.get(queue).get_data(as_text=True).split('id="corrections"', 1)[1]

    response = client.post(
        f"/manage/letters/{letter_slug}/signatures/{signature_id}/correction",
        data={"csrf_token": fetch_csrf(client, queue), "decision": "approve"},
    )

    assert response.status_code == 303
    row = _row(app, signature_id)
    assert (row.organization, row.name, row.country, row.title) == (
        "Rights Watch Kenya",
        "Ada Wanjiru",
        "KE",
        "Director",
    )
    assert "Rights Watch Kenya" in client.get(listed).get_data(as_text=True)
