"""Authorised to sign: an organization's signer ticks a required statement, whose wording (as
shown) and acceptance time are stored with the signature and shown only to coordinators."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Signature
from tests.conftest import csrf_token_from, post_form, sign_in
from tests.downloads import csv_records
from tests.factories import make_letter, make_member

SLUG = "civic"
EDITOR = "editor@coalition.example.org"
STATEMENT = "I am authorised to sign on behalf of this organization"
ORG_FORM = {
    "kind": "organization",
    "organization": "Digital Rights Example",
    "country": "AU",
    "organization_type": "ngo",
    "website": "https://digitalrights.example.org",
    "name": "Lizzie Signer",
    "title": "Chair",
    "email": "lizzie@digitalrights.example.org",
}
PERSON_FORM = {
    "kind": "individual",
    # A browser sends the select's empty choice.
    "organization_type": "",
    "country": "FR",
    "name": "Amina Diallo",
    "email": "amina@home.example.org",
}


@pytest.fixture
def letter(app: Flask) -> str:
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        make_member(db.session, letter, role="editor", email=EDITOR)
        db.session.commit()
        return letter.slug


def sign(client: FlaskClient, form: dict[str, str], **headers: str):
    page = client.get(f"/letters/{SLUG}", headers=headers).get_data(as_text=True)
    data = {**form, "csrf_token": csrf_token_from(page)}
    return client.post(f"/letters/{SLUG}/sign", data=data, headers=headers)


def only_signature(app: Flask) -> Signature | None:
    with app.app_context():
        rows = db.session.scalars(select(Signature)).all()
        db.session.expunge_all()
        assert len(rows) <= 1
        return rows[0] if rows else None


def shown_label(page: str) -> str:
    found = re.search(r'<label class="checkbox"><input[^>]*name="authorised"[^>]*> ([^<]+)', page)
    assert found, "the sign form has no authorised checkbox"
    return html.unescape(found.group(1)).strip()


def test_an_organization_must_tick_the_statement(app, client, letter) -> None:
    response = sign(client, ORG_FORM)

    assert response.status_code == 400
    assert "confirm that you may sign for the organization" in response.get_data(as_text=True)
    assert only_signature(app) is None


def test_an_organization_that_ticks_it_stores_the_wording_and_time(app, client, letter) -> None:
    response = sign(client, {**ORG_FORM, "authorised": "y"})

    assert response.status_code == 303
    signature = only_signature(app)
    assert signature is not None
    assert signature.authorised_statement == STATEMENT
    assert signature.authorised_at == signature.created_at


def test_the_stored_wording_is_the_one_the_page_showed(app, client, letter) -> None:
    headers = {"Accept-Language": "fr"}
    shown = shown_label(client.get(f"/letters/{SLUG}", headers=headers).get_data(as_text=True))

    sign(client, {**ORG_FORM, "authorised": "y"}, **headers)

    signature = only_signature(app)
    assert signature is not None and signature.authorised_statement == shown


def test_an_individual_signs_without_it(app, client, letter) -> None:
    response = sign(client, PERSON_FORM)

    assert response.status_code == 303
    signature = only_signature(app)
    assert signature is not None and signature.authorised_statement is None


def test_an_individual_who_ticks_it_stores_nothing(app, client, letter) -> None:
    sign(client, {**PERSON_FORM, "authorised": "y"})

    signature = only_signature(app)
    assert signature is not None
    assert signature.authorised_statement is None and signature.authorised_at is None


def test_without_script_the_checkbox_sits_in_the_organization_part(client, letter) -> None:
    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)

    assert re.search(r'id="authorised-field" data-org-only', page)
    assert page.index('id="website-field"') < page.index('id="authorised-field"')
    assert page.index('id="authorised-field"') < page.index('id="name-field"')


def test_a_refused_form_keeps_what_was_typed_and_links_the_error(app, client, letter) -> None:
    page = sign(client, ORG_FORM).get_data(as_text=True)

    assert 'href="#authorised"' in page
    assert 'value="Digital Rights Example"' in page


def test_coordinators_see_it_on_the_signature_page(app, client, letter) -> None:
    sign(client, {**ORG_FORM, "authorised": "y"})
    signature = only_signature(app)
    assert signature is not None
    sign_in(client, EDITOR)

    page = client.get(f"/manage/letters/{SLUG}/signatures/{signature.id}").get_data(as_text=True)

    assert "Authorised to sign" in page and STATEMENT in page


def test_the_coordinators_export_holds_it(app, client, letter) -> None:
    sign(client, {**ORG_FORM, "authorised": "y"})
    sign_in(client, EDITOR)

    export = f"/manage/letters/{SLUG}/export"
    response = post_form(client, f"{export}.csv", form_page=export)
    (row,) = csv_records(response.get_data(as_text=True))

    assert row["Authorised statement"] == STATEMENT
    assert row["Authorised at (UTC)"].endswith("Z")


def test_the_public_list_api_and_csv_never_show_it(app, client, letter) -> None:
    sign(client, {**ORG_FORM, "authorised": "y"})
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        signature.status = "published"
        signature.published_at = utcnow()
        db.session.commit()
    assert "Digital Rights Example" in client.get(f"/letters/{SLUG}/signatories").get_data(
        as_text=True
    )

    for url in (
        f"/letters/{SLUG}/signatories",
        f"/letters/{SLUG}/signatories.csv",
        f"/letters/{SLUG}/signatories.json",
        f"/api/v1/letters/{SLUG}/signatures",
    ):
        assert STATEMENT not in client.get(url).get_data(as_text=True), url
