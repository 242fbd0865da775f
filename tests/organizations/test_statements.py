"""Why we signed: a letter's editors ask for a short statement; signers may add one; a
moderator approves or rejects it; the list shows approved ones, as text."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, Signature
from signatory.organizations.statements import forget_statement
from signatory.privacy.retention import erase_private
from tests.conftest import add_signature, audit_trail, csrf_token_from, post_form, sign_in
from tests.factories import find_letter, make_letter, make_member

SLUG = "civic"
EDITOR = "editor@coalition.example.org"
MODERATOR = "moderator@coalition.example.org"
QUEUE = f"/manage/letters/{SLUG}/statements"
FIELD = 'name="statement"'
PERSON_FORM = {
    "kind": "individual",
    "organization_type": "",
    "country": "FR",
    "name": "Amina Diallo",
    "email": "amina@home.example.org",
}
HOSTILE = "<script>alert(1)</script> Civic space matters & so do we."


@pytest.fixture
def letter(app: Flask) -> str:
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        letter.statements_enabled = True
        make_member(db.session, letter, role="editor", email=EDITOR)
        make_member(db.session, letter, role="moderator", email=MODERATOR)
        db.session.commit()
        return letter.slug


def set_enabled(app: Flask, enabled: bool) -> None:
    with app.app_context():
        found = find_letter(db.session, SLUG)
        assert found is not None
        found.statements_enabled = enabled
        db.session.commit()


def sign(client: FlaskClient, **extra: str):
    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    data = {**PERSON_FORM, **extra, "csrf_token": csrf_token_from(page)}
    return client.post(f"/letters/{SLUG}/sign", data=data)


def signatures(app: Flask) -> list[Signature]:
    with app.app_context():
        rows = list(db.session.scalars(select(Signature).order_by(Signature.id)))
        db.session.expunge_all()
        return rows


def with_statement(
    app: Flask, text: str = HOSTILE, status: str = "published", organization: str | None = None
) -> int:
    return add_signature(
        app,
        SLUG,
        status=status,
        organization=organization or "Statement Example",
        statement=text,
        statement_status="pending",
    )


def decide(client: FlaskClient, signature_id: int, decision: str, slug: str = SLUG):
    return post_form(
        client,
        f"/manage/letters/{slug}/statements/{signature_id}",
        form_page=f"/manage/letters/{slug}/statements",
        decision=decision,
    )


def post_settings(client: FlaskClient, **overrides: str):
    data = {
        "title": "Protect civic space in the treaty",
        "recipient": "Chair of the Ad Hoc Committee",
        "deadline": "",
        "allow_individuals": "y",
        "moderation": "none",
        **overrides,
    }
    edit = f"/manage/letters/{SLUG}/edit"
    return post_form(client, f"/manage/letters/{SLUG}/settings", form_page=edit, **data)


def enabled(app: Flask) -> bool:
    with app.app_context():
        return bool(db.session.scalar(select(Letter.statements_enabled)))


# --- The letter's setting ------------------------------------------------------------------


def test_an_editor_turns_statements_on_and_the_letter_page_asks_at_once(app, client, letter):
    set_enabled(app, False)
    assert FIELD not in client.get(f"/letters/{SLUG}").get_data(as_text=True)
    sign_in(client, EDITOR)

    response = post_settings(client, statements_enabled="y")

    assert response.status_code == 303 and enabled(app)
    assert FIELD in client.get(f"/letters/{SLUG}").get_data(as_text=True)


def test_a_settings_form_sent_without_the_field_turns_statements_off(app, client, letter):
    sign_in(client, EDITOR)

    response = post_settings(client)

    assert response.status_code == 303 and not enabled(app)
    assert FIELD not in client.get(f"/letters/{SLUG}").get_data(as_text=True)


def test_the_settings_form_shows_the_setting(client, letter):
    sign_in(client, EDITOR)

    page = client.get(f"/manage/letters/{SLUG}/edit").get_data(as_text=True)

    assert 'name="statements_enabled"' in page and "Ask signatories why they sign" in page


# --- Signing with a statement ----------------------------------------------------------------


def test_a_statement_is_stored_pending_with_the_signature(app, client, letter):
    response = sign(client, statement="  Because civic space matters.  ")

    assert response.status_code == 303
    [signature] = signatures(app)
    assert signature.statement == "Because civic space matters."
    assert signature.statement_status == "pending"


def test_an_empty_statement_stores_none(app, client, letter):
    sign(client, statement="   ")

    [signature] = signatures(app)
    assert signature.statement is None and signature.statement_status is None


def test_a_statement_posted_to_a_letter_that_does_not_ask_is_ignored(app, client, letter):
    set_enabled(app, False)

    response = sign(client, statement="x" * 1000)

    assert response.status_code == 303
    [signature] = signatures(app)
    assert signature.statement is None and signature.statement_status is None


def test_a_statement_over_280_characters_is_refused_beside_the_field(app, client, letter):
    response = sign(client, statement="x" * 281)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="statement-error"' in page and "280 characters" in page
    assert signatures(app) == []


def test_a_statement_of_280_characters_is_taken(app, client, letter):
    assert sign(client, statement="x" * 280).status_code == 303


def test_a_statement_with_control_characters_is_refused(app, client, letter):
    response = sign(client, statement="Because\x07 we care")

    assert response.status_code == 400
    assert signatures(app) == []


# --- Moderation ------------------------------------------------------------------------------


def test_a_pending_statement_is_not_on_the_list(app, client, letter):
    with_statement(app, "Pending words here")

    page = client.get(f"/letters/{SLUG}/signatories").get_data(as_text=True)

    assert "Statement Example" in page and "Pending words here" not in page


def test_the_queue_lists_pending_statements_of_confirmed_signatures_only(app, client, letter):
    with_statement(app, "Published words")
    with_statement(app, "Under review words", status="pending_review", organization="Second")
    with_statement(app, "Unconfirmed words", status="unconfirmed", organization="Third")
    sign_in(client, MODERATOR)

    page = client.get(QUEUE).get_data(as_text=True)

    assert "Published words" in page and "Under review words" in page
    assert "Unconfirmed words" not in page


def test_approving_shows_the_statement_escaped_on_the_list_at_once(app, client, letter):
    signature_id = with_statement(app)
    before = client.get(f"/letters/{SLUG}/signatories").get_data(as_text=True)
    assert "Civic space matters" not in before
    sign_in(client, MODERATOR)

    response = decide(client, signature_id, "approve")

    assert response.status_code == 303
    page = client.get(f"/letters/{SLUG}/signatories").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Civic space matters &amp; so do we." in page
    assert "<script>alert(1)" not in page


def test_approving_is_audited(app, client, letter):
    signature_id = with_statement(app)
    sign_in(client, MODERATOR)

    decide(client, signature_id, "approve")

    [event] = audit_trail(app, "statement.approved")
    assert event.signature_id == signature_id


def test_rejecting_keeps_it_off_the_list_and_is_audited(app, client, letter):
    signature_id = with_statement(app)
    sign_in(client, MODERATOR)

    response = decide(client, signature_id, "reject")

    assert response.status_code == 303
    assert "Civic space matters" not in client.get(f"/letters/{SLUG}/signatories").get_data(
        as_text=True
    )
    [signature] = signatures(app)
    assert signature.statement_status == "rejected"
    assert len(audit_trail(app, "statement.rejected")) == 1


def test_deciding_twice_answers_409_and_changes_nothing(app, client, letter):
    signature_id = with_statement(app)
    sign_in(client, MODERATOR)
    decide(client, signature_id, "approve")

    response = decide(client, signature_id, "reject")

    assert response.status_code == 409
    [signature] = signatures(app)
    assert signature.statement_status == "approved"
    assert audit_trail(app, "statement.rejected") == []


def test_a_decision_without_csrf_is_refused(app, client, letter):
    signature_id = with_statement(app)
    sign_in(client, MODERATOR)

    response = client.post(f"{QUEUE}/{signature_id}", data={"decision": "approve"})

    assert response.status_code == 400
    [signature] = signatures(app)
    assert signature.statement_status == "pending"


def test_an_unknown_decision_is_refused(app, client, letter):
    signature_id = with_statement(app)
    sign_in(client, MODERATOR)

    response = decide(client, signature_id, "publish")

    assert response.status_code == 400
    [signature] = signatures(app)
    assert signature.statement_status == "pending"


def test_another_letters_coordinator_gets_404(app, client, letter):
    signature_id = with_statement(app)
    with app.app_context():
        other = make_letter(db.session, slug="other")
        stranger = make_member(db.session, other, role="owner").email
        db.session.commit()
    sign_in(client, stranger)

    assert client.get(QUEUE).status_code == 404
    assert decide(client, signature_id, "approve", slug="other").status_code == 404
    [signature] = signatures(app)
    assert signature.statement_status == "pending"


def test_the_letter_tab_links_to_the_queue(client, letter):
    sign_in(client, MODERATOR)

    page = client.get(f"/manage/letters/{SLUG}/moderation").get_data(as_text=True)

    assert f'href="{QUEUE}"' in page


# --- Erasure ---------------------------------------------------------------------------------


def test_erasure_clears_the_statement(app, letter):
    signature_id = with_statement(app)
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        signature.statement_status = "approved"
        db.session.commit()
        erase_private(signature, now=utcnow())
        db.session.commit()
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        assert signature.statement is None and signature.statement_status is None


def test_forget_statement_clears_the_decision_too(app, letter):
    signature_id = with_statement(app)
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        signature.statement_decided_at = utcnow()
        forget_statement(signature)
        assert signature.statement_decided_at is None and signature.statement is None
