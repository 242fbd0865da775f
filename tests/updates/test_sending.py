"""Emailing an update: the consent given when signing, who gets it, once each, in batches,
over real SMTP with the one-click unsubscribe headers; the preview, the test send, the
counts and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Coordinator, LetterUpdate, Signature, UpdateRecipient
from signatory.updates import sending, service
from tests.conftest import audit_trail, fetch_csrf, html_part, queued_mail, text_part
from tests.factories import make_letter, make_signature
from tests.updates.conftest import (
    SLUG,
    consenting_signature,
    deliver,
    post_update,
    press,
    recipients,
    run_chore,
    updates,
)

SIGN_FORM = {
    "kind": "organization",
    "organization": "Digital Rights Example",
    "country": "AU",
    "organization_type": "ngo",
    "website": "https://digitalrights.example.org",
    "name": "Lizzie Signer",
    "title": "Chair",
    "email": "lizzie@digitalrights.example.org",
    # The organization's statement that the signer may sign for it (``organizations``).
    "authorised": "y",
}


def sign(client, **extra):
    form = {**SIGN_FORM, "csrf_token": fetch_csrf(client, f"/letters/{SLUG}"), **extra}
    return client.post(f"/letters/{SLUG}/sign", data=form)


def signed(app) -> Signature:
    with app.app_context():
        found = db.session.scalar(select(Signature).where(Signature.email == SIGN_FORM["email"]))
        assert found is not None
        db.session.expunge(found)
        return found


def posted_id(app, signed_in) -> int:
    post_update(signed_in)
    return updates(app)[-1].id


# --- Consent, when signing ------------------------------------------------------------------


def test_the_sign_form_offers_the_updates_box_unticked(client, letter):
    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    assert '<input id="updates_consent" name="updates_consent" type="checkbox" value="y">' in page
    assert "Email me updates about this letter" in page


def test_ticking_the_box_stores_the_consent_with_its_time(app, client, letter):
    before = utcnow()
    assert sign(client, updates_consent="y").status_code == 303
    consent = signed(app).updates_consent_at
    assert consent is not None and before <= consent <= utcnow()


def test_leaving_the_box_unticked_stores_no_consent(app, client, letter):
    assert sign(client).status_code == 303
    assert signed(app).updates_consent_at is None


# --- Who gets it, and once ------------------------------------------------------------------


def test_only_consenting_standing_signatures_not_erased_are_sent_the_update(app, signed_in, editor):
    wanted = [
        consenting_signature(app, status="published"),
        consenting_signature(app, status="pending_review"),
    ]
    consenting_signature(app, status="unconfirmed")
    consenting_signature(app, status="withdrawn")
    consenting_signature(app, status="rejected")
    consenting_signature(app, status="published", erased_at=utcnow())
    consenting_signature(app, status="published", updates_consent_at=None)
    with app.app_context():
        other = make_letter(db.session, slug="other")
        make_signature(db.session, other, updates_consent_at=utcnow())
        db.session.commit()

    press(signed_in, posted_id(app, signed_in), "send")
    run_chore(app)

    assert sorted(r.signature_id for r in recipients(app)) == wanted
    mail = queued_mail(app, "letter_update")
    assert sorted(m.signature_id for m in mail) == wanted
    assert editor not in [m.to_addr for m in mail]


def test_each_recipient_is_queued_once_in_batches_however_often_the_chore_runs(app, signed_in):
    wanted = [consenting_signature(app) for _ in range(5)]
    update_id = posted_id(app, signed_in)
    # Asked for without the request's own first batch, so the chore does every batch.
    with app.app_context():
        posted = db.session.get(LetterUpdate, update_id)
        actor = db.session.scalars(select(Coordinator)).first()
        service.request_sending(db.session, posted, actor=actor, now=utcnow())
        db.session.commit()

    assert run_chore(app, batch_size=2) == 5
    assert run_chore(app, batch_size=2) == 0
    with app.app_context():
        again = sending.queue_next_batch(db.session, update_id, now=utcnow(), batch_size=2)
        db.session.commit()

    assert again.queued == 0 and again.finished
    assert sorted(r.signature_id for r in recipients(app)) == wanted
    assert len(queued_mail(app, "letter_update")) == 5
    [state] = updates(app)
    assert (state.queued_count, state.queued_through) == (5, wanted[-1])
    assert state.queued_all_at is not None


def test_a_batch_read_on_a_cursor_another_writer_moved_queues_nothing(app, signed_in):
    consenting_signature(app)
    update_id = posted_id(app, signed_in)
    press(signed_in, update_id, "send")
    with app.app_context():
        # As a second worker that read the cursor before the first moved it.
        moved = sending._move_cursor(db.session, update_id, 0, 999, 1)
        db.session.rollback()
    assert not moved
    assert len(recipients(app)) == 1


def test_the_database_refuses_a_second_recipient_row_for_one_signature(app, signed_in):
    signature_id = consenting_signature(app)
    update_id = posted_id(app, signed_in)
    press(signed_in, update_id, "send")
    with app.app_context():
        db.session.add(UpdateRecipient(update_id=update_id, signature_id=signature_id))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_pressing_send_twice_sends_once_and_says_so(app, signed_in):
    consenting_signature(app)
    update_id = posted_id(app, signed_in)
    press(signed_in, update_id, "send")

    again = press(signed_in, update_id, "send")

    assert again.status_code == 303
    page = signed_in.get(again.headers["Location"]).get_data(as_text=True)
    assert "is being emailed (or was)" in page
    assert len(queued_mail(app, "letter_update")) == 1
    assert len(audit_trail(app, "update.sent")) == 1


def test_a_signer_who_withdrew_after_the_batch_was_queued_is_not_sent_it(
    app, signed_in, smtp_server
):
    signature_id = consenting_signature(app)
    press(signed_in, posted_id(app, signed_in), "send")
    with app.app_context():
        db.session.get(Signature, signature_id).status = "withdrawn"
        db.session.commit()

    deliver(app, smtp_server.url)

    [message] = queued_mail(app, "letter_update")
    assert message.status == "failed" and message.failure_kind == "obsolete"
    assert smtp_server.messages == []


# --- The email itself, over SMTP ------------------------------------------------------------


def test_the_email_reaches_the_signer_with_one_click_unsubscribe_headers(
    app, signed_in, smtp_server
):
    consenting_signature(app, email="ada@org.example.org", name="Ada Signer")
    press(signed_in, posted_id(app, signed_in), "send")

    deliver(app, smtp_server.url)

    [email] = smtp_server.wait_for(1)
    assert email["To"] == "ada@org.example.org"
    assert email["Subject"] == "Update on “Keep civic space open”: The Committee adopted the text"
    unsubscribe = str(email["List-Unsubscribe"])
    assert unsubscribe.startswith("<http://signatory.test/unsubscribe/")
    assert unsubscribe.endswith(">")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe[1:-1] in text_part(email)
    assert "Hello Ada Signer," in text_part(email)
    assert "<strong>8 August</strong>" in html_part(email)


def test_the_email_is_written_in_the_language_the_signer_signed_in(app, signed_in, smtp_server):
    consenting_signature(app, language="fr")
    press(signed_in, posted_id(app, signed_in), "send")

    deliver(app, smtp_server.url)

    [email] = smtp_server.wait_for(1)
    assert '<html lang="fr"' in html_part(email)


def test_a_test_send_goes_to_the_coordinator_alone(app, signed_in, editor, smtp_server):
    consenting_signature(app)
    response = press(signed_in, posted_id(app, signed_in), "test")

    assert response.status_code == 303
    deliver(app, smtp_server.url)
    [email] = smtp_server.wait_for(1)
    assert [m.to_addr for m in queued_mail(app)] == [editor]
    assert email["To"] == editor
    assert str(email["Subject"]).startswith("[Test] Update on")
    assert "THIS IS A TEST, sent only to you." in text_part(email)
    assert email["List-Unsubscribe"] is None
    assert recipients(app) == []


def test_the_preview_shows_the_email_its_headers_and_how_many_it_goes_to(app, signed_in):
    consenting_signature(app)
    consenting_signature(app)
    update_id = posted_id(app, signed_in)

    page = signed_in.get(f"/manage/letters/{SLUG}/updates/{update_id}").get_data(as_text=True)

    assert "List-Unsubscribe-Post" in page and "List-Unsubscribe=One-Click" in page
    assert "Update on “Keep civic space open”: The Committee adopted the text" in page
    assert "On **8 August**." in page  # the plain-text version
    assert "Send to 2 signatories" in page
    assert recipients(app) == [] and queued_mail(app) == []


def test_the_counts_show_what_was_sent_and_what_failed(app, signed_in, smtp_server):
    consenting_signature(app)
    gone = consenting_signature(app)
    update_id = posted_id(app, signed_in)
    press(signed_in, update_id, "send")
    with app.app_context():
        db.session.get(Signature, gone).erased_at = utcnow()
        db.session.commit()
    deliver(app, smtp_server.url)

    listing = signed_in.get(f"/manage/letters/{SLUG}/updates").get_data(as_text=True)
    page = signed_in.get(f"/manage/letters/{SLUG}/updates/{update_id}").get_data(as_text=True)

    assert '<span class="count">2</span> queued' in page
    assert '<span class="count">1</span> sent' in page
    assert '<span class="count">1</span> failed' in page
    assert "1 signatory wants updates by email." in listing


def test_test_send_send_and_queueing_are_audited(app, signed_in, editor):
    consenting_signature(app)
    update_id = posted_id(app, signed_in)
    press(signed_in, update_id, "test")
    press(signed_in, update_id, "send")

    [tested] = audit_trail(app, "update.test_sent")
    [sent] = audit_trail(app, "update.sent")
    [queued] = audit_trail(app, "update.queued")
    assert tested.detail == {"update_id": update_id, "to": editor}
    assert sent.detail == {"update_id": update_id, "recipients": 1}
    assert (queued.actor_label, queued.detail["recipients"]) == ("system", 1)


def test_the_chore_leaves_updates_nobody_asked_to_send(app, signed_in):
    consenting_signature(app)
    posted_id(app, signed_in)
    assert run_chore(app, now=utcnow() + timedelta(hours=1)) == 0
    assert recipients(app) == []
