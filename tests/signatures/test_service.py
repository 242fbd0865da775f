"""The signer's services, without a request: sign, confirm, withdraw, resend, purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload
from signatory.models import AuditEvent, Signature
from signatory.signatures import service, signing
from signatory.signatures.service import (
    DomainMismatch,
    IndividualsNotAllowed,
    InvalidToken,
    LetterNotOpen,
    OrganizationAlreadySigned,
    SignatureData,
)
from tests.factories import make_letter, make_signature, outbox_messages


def org_data(**overrides) -> SignatureData:
    fields = {
        "kind": "organization",
        "organization": "Open Rights Example",
        "organization_type": "ngo",
        "website": "https://www.openrights.example.org",
        "country": "GB",
        "name": "Jim Signer",
        "title": "Executive Director",
        "email": "jim@openrights.example.org",
        "email_domain": "openrights.example.org",
    }
    fields.update(overrides)
    return SignatureData(**fields)


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def confirm_payload(signature: Signature) -> TokenPayload:
    return TokenPayload(signature.id, signature.confirm_nonce)


def withdraw_payload(signature: Signature) -> TokenPayload:
    return TokenPayload(signature.id, signature.withdraw_nonce)


def test_signing_records_an_unconfirmed_signature_and_queues_the_confirmation(session):
    letter = make_letter(session)
    outcome = signing.sign(session, letter, org_data(), now=utcnow())
    assert outcome.created
    signature = outcome.signature
    assert signature.status == "unconfirmed"
    assert signature.version_id == letter.current_version.id
    assert [(m.template, m.to_addr, m.context) for m in outbox_messages(session)] == [
        ("confirm_request", "jim@openrights.example.org", {"signature_id": signature.id})
    ]
    assert count(session, AuditEvent, AuditEvent.action == "signature.created") == 1


def test_a_matching_email_domain_marks_the_organization_verified(session):
    letter = make_letter(session)
    signature = signing.sign(session, letter, org_data(), now=utcnow()).signature
    assert signature.domain_verified


def test_a_free_mail_address_is_not_domain_verified(session):
    letter = make_letter(session)
    data = org_data(email="jim@gmail.com", email_domain="gmail.com")
    assert not signing.sign(session, letter, data, now=utcnow()).signature.domain_verified


def test_a_letter_requiring_domain_match_refuses_a_mismatched_email(session):
    letter = make_letter(session, require_domain_match=True)
    with pytest.raises(DomainMismatch):
        signing.sign(
            session, letter, org_data(email="jim@gmail.com", email_domain="gmail.com"), now=utcnow()
        )
    assert count(session, Signature) == 0


def test_signing_again_with_the_same_email_creates_nothing_and_resends(session):
    letter = make_letter(session)
    first = signing.sign(session, letter, org_data(), now=utcnow())
    again = signing.sign(
        session, letter, org_data(email="JIM@openrights.example.org"), now=utcnow()
    )
    assert not again.created
    assert again.signature.id == first.signature.id
    assert count(session, Signature) == 1
    assert [m.template for m in outbox_messages(session)] == ["confirm_request", "confirm_request"]


def test_signing_again_after_confirming_sends_the_withdraw_link(session):
    letter = make_letter(session)
    signature = signing.sign(session, letter, org_data(), now=utcnow()).signature
    service.confirm(session, confirm_payload(signature), now=utcnow())
    again = signing.sign(session, letter, org_data(), now=utcnow())
    assert not again.created
    assert outbox_messages(session)[-1].template == "withdraw_link"
    assert count(session, Signature) == 1


def test_signing_again_after_withdrawing_creates_a_new_signature(session):
    letter = make_letter(session)
    signature = signing.sign(session, letter, org_data(), now=utcnow()).signature
    service.confirm(session, confirm_payload(signature), now=utcnow())
    service.withdraw(session, withdraw_payload(signature), now=utcnow())
    again = signing.sign(session, letter, org_data(), now=utcnow())
    assert again.created
    assert again.signature.id != signature.id


@pytest.mark.parametrize("status", ["draft", "closed", "delivered"])
def test_signing_a_letter_that_is_not_open_is_refused(session, status):
    letter = make_letter(session, status=status)
    with pytest.raises(LetterNotOpen):
        signing.sign(session, letter, org_data(), now=utcnow())
    assert count(session, Signature) == 0
    assert outbox_messages(session) == []


def test_signing_after_the_deadline_is_refused(session):
    now = utcnow()
    letter = make_letter(session, deadline=now - timedelta(seconds=1))
    with pytest.raises(LetterNotOpen):
        signing.sign(session, letter, org_data(), now=now)


def test_individuals_cannot_sign_where_the_letter_forbids_it(session):
    letter = make_letter(session, allow_individuals=False)
    data = org_data(kind="individual", organization=None, organization_type=None, website=None)
    with pytest.raises(IndividualsNotAllowed):
        signing.sign(session, letter, data, now=utcnow())


def test_an_organization_already_on_the_list_cannot_sign_again_under_another_email(session):
    letter = make_letter(session)
    make_signature(session, letter, organization="Open Rights Example", status="published")
    with pytest.raises(OrganizationAlreadySigned):
        signing.sign(
            session,
            letter,
            org_data(organization="open rights  EXAMPLE.", email="other@openrights.example.org"),
            now=utcnow(),
        )


def test_confirming_publishes_rotates_the_nonce_and_queues_a_receipt(session):
    letter = make_letter(session)
    signature = signing.sign(session, letter, org_data(), now=utcnow()).signature
    payload = confirm_payload(signature)
    service.confirm(session, payload, now=utcnow())
    assert signature.status == "published"
    assert signature.confirm_nonce != payload.nonce
    assert outbox_messages(session)[-1].template == "signature_confirmed"


def test_confirming_on_a_moderated_letter_waits_for_review(session):
    letter = make_letter(session, moderation="all")
    signature = signing.sign(session, letter, org_data(), now=utcnow()).signature
    service.confirm(session, confirm_payload(signature), now=utcnow())
    assert signature.status == "pending_review"


def test_a_reused_confirm_link_changes_nothing(session):
    letter = make_letter(session)
    signature = signing.sign(session, letter, org_data(), now=utcnow()).signature
    payload = confirm_payload(signature)
    service.confirm(session, payload, now=utcnow())
    sent = len(outbox_messages(session))
    with pytest.raises(InvalidToken) as raised:
        service.confirm(session, payload, now=utcnow())
    assert raised.value.reason == "used"
    assert signature.status == "published"
    assert len(outbox_messages(session)) == sent


def test_a_link_with_a_wrong_nonce_is_refused(session):
    letter = make_letter(session)
    signature = signing.sign(session, letter, org_data(), now=utcnow()).signature
    with pytest.raises(InvalidToken) as raised:
        service.confirm(session, TokenPayload(signature.id, "forged"), now=utcnow())
    assert raised.value.reason == "used"
    assert signature.status == "unconfirmed"


def test_a_link_for_a_missing_signature_says_it_is_gone(session):
    with pytest.raises(InvalidToken) as raised:
        service.confirm(session, TokenPayload(999_999, "n"), now=utcnow())
    assert raised.value.reason == "gone"


def test_confirming_after_the_letter_closed_is_refused(session):
    letter = make_letter(session)
    signature = signing.sign(session, letter, org_data(), now=utcnow()).signature
    letter.status = "closed"
    with pytest.raises(LetterNotOpen):
        service.confirm(session, confirm_payload(signature), now=utcnow())
    assert signature.status == "unconfirmed"


def test_two_people_confirming_for_one_organization_publish_only_the_first(session):
    letter = make_letter(session)
    first = signing.sign(session, letter, org_data(), now=utcnow()).signature
    second = signing.sign(
        session, letter, org_data(email="ceo@openrights.example.org"), now=utcnow()
    ).signature
    service.confirm(session, confirm_payload(first), now=utcnow())
    with pytest.raises(OrganizationAlreadySigned):
        service.confirm(session, confirm_payload(second), now=utcnow())
    assert (first.status, second.status) == ("published", "unconfirmed")


def test_the_database_refuses_two_held_signatures_for_one_organization(session):
    """The unique index is the last line of defence when two confirmations race."""
    from sqlalchemy.exc import IntegrityError

    letter = make_letter(session)
    make_signature(session, letter, organization="Same Org", status="published")
    with pytest.raises(IntegrityError):
        make_signature(session, letter, organization="Same Org", status="pending_review")


def test_the_database_refuses_two_live_signatures_for_one_email(session):
    from sqlalchemy.exc import IntegrityError

    letter = make_letter(session)
    make_signature(session, letter, email="same@example.org", status="unconfirmed")
    with pytest.raises(IntegrityError):
        make_signature(session, letter, email="same@example.org", status="published")


def test_withdrawing_takes_the_signature_off_and_queues_a_receipt(session):
    letter = make_letter(session)
    signature = make_signature(session, letter, status="published")
    service.withdraw(session, withdraw_payload(signature), now=utcnow())
    assert signature.status == "withdrawn"
    assert outbox_messages(session)[-1].template == "withdrawal_receipt"
    assert count(session, AuditEvent, AuditEvent.action == "signature.withdrawn") == 1


def test_a_reused_withdraw_link_changes_nothing(session):
    signature = make_signature(session, make_letter(session), status="published")
    payload = withdraw_payload(signature)
    service.withdraw(session, payload, now=utcnow())
    with pytest.raises(InvalidToken) as raised:
        service.withdraw(session, payload, now=utcnow())
    assert raised.value.reason == "used"


def test_an_unconfirmed_signature_cannot_be_withdrawn_by_link(session):
    signature = make_signature(session, make_letter(session), status="unconfirmed")
    with pytest.raises(InvalidToken):
        service.withdraw(session, withdraw_payload(signature), now=utcnow())
    assert signature.status == "unconfirmed"


def test_an_expired_confirm_link_can_be_replaced_by_a_fresh_one(session):
    letter = make_letter(session)
    signature = signing.sign(session, letter, org_data(), now=utcnow()).signature
    service.resend_after_expiry(session, "confirm", confirm_payload(signature), now=utcnow())
    assert [m.template for m in outbox_messages(session)] == ["confirm_request", "confirm_request"]
    assert outbox_messages(session)[-1].to_addr == signature.email


def test_purge_deletes_only_stale_unconfirmed_signatures(session):
    letter = make_letter(session)
    now = utcnow()
    stale = make_signature(session, letter, status="unconfirmed")
    stale.created_at = now - timedelta(days=15)
    fresh = make_signature(session, letter, status="unconfirmed")
    old_published = make_signature(session, letter, status="published")
    old_published.created_at = now - timedelta(days=400)
    session.flush()
    assert service.purge_unconfirmed(session, now=now, older_than_days=14) == 1
    remaining = set(session.scalars(select(Signature.id)))
    assert remaining == {fresh.id, old_published.id}
    assert stale.id not in remaining
