"""Signers are told of a moderator's decision, with the reason, in the language they signed in."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from signatory.core.time import utcnow
from signatory.signatures import moderation
from tests.conftest import html_part, queued_mail, render_queued, text_part
from tests.factories import make_letter, make_member, make_signature


def _pending(app: Flask, session: Session, **values: object) -> tuple[int, list[int]]:
    letter = make_letter(session, slug="civic", moderation="all")
    moderator = make_member(session, letter, role="moderator")
    ids = [make_signature(session, letter, status="pending_review", **values).id for _ in range(2)]
    session.commit()
    return moderator.id, ids


def _decide(session: Session, ids: list[int], decision: str, reason: str | None) -> None:
    from signatory.models import Coordinator, Letter

    letter = session.query(Letter).filter_by(slug="civic").one()
    actor = session.query(Coordinator).order_by(Coordinator.id.desc()).first()
    assert actor is not None
    moderation.decide(
        session, letter, ids, decision=decision, reason=reason, actor=actor, now=utcnow()
    )
    session.commit()


def test_an_approval_emails_each_signer_with_the_reason(app: Flask, session: Session) -> None:
    _, ids = _pending(app, session, name="Ada Example", email=None)

    _decide(session, ids, "approve", "Welcome aboard.\nThank you.")

    messages = queued_mail(app, "signature_approved")
    assert [m.signature_id for m in messages] == ids
    email = render_queued(app, messages[0].id)
    text = text_part(email)
    assert (
        email["Subject"]
        == "Your signature on “Protect civic space in the treaty” is approved and published"
    )
    assert "The letter's coordinators have approved your signature" in text
    assert "Their note:\n    Welcome aboard.\n    Thank you." in text
    assert "/withdraw/" in text and "/my-signature/" in text
    assert "http://signatory.test/privacy" in text
    assert "Welcome aboard." in html_part(email)


def test_a_rejection_without_reason_says_none_was_given(app: Flask, session: Session) -> None:
    _, ids = _pending(app, session)

    _decide(session, ids[:1], "reject", None)

    messages = queued_mail(app, "signature_rejected")
    assert [(m.signature_id, m.to_addr) for m in messages] == [
        (ids[0], messages[0].to_addr)
    ] and messages[0].to_addr.endswith(".example.org")
    text = text_part(render_queued(app, messages[0].id))
    assert "did not accept it" in text
    assert "They gave no reason." in text
    assert "Their note" not in text and "The reason they gave" not in text
    assert queued_mail(app, "signature_approved") == []


def test_a_rejection_with_a_reason_quotes_it(app: Flask, session: Session) -> None:
    _, ids = _pending(app, session)

    _decide(session, ids[:1], "reject", "We could not verify the organization.")

    message = queued_mail(app, "signature_rejected")[0]
    text = text_part(render_queued(app, message.id))
    assert "The reason they gave:\n    We could not verify the organization." in text
    assert "They gave no reason." not in text


def test_the_decision_email_is_written_in_the_language_the_signer_used(
    app: Flask, session: Session
) -> None:
    _, ids = _pending(app, session, name="Ada", language="fr")

    _decide(session, ids[:1], "approve", "Merci.")

    email = render_queued(app, queued_mail(app, "signature_approved")[0].id)
    assert text_part(email).startswith("Bonjour Ada,")
    assert 'lang="fr"' in html_part(email)


def test_the_decision_email_is_english_for_a_signer_who_used_english(
    app: Flask, session: Session
) -> None:
    _, ids = _pending(app, session, name="Ada", language="en")

    _decide(session, ids[:1], "reject", None)

    email = render_queued(app, queued_mail(app, "signature_rejected")[0].id)
    assert text_part(email).startswith("Hello Ada,")
    assert 'lang="en"' in html_part(email)


def test_a_refused_decision_queues_no_email(app: Flask, session: Session) -> None:
    _, ids = _pending(app, session)
    _decide(session, ids[:1], "approve", None)

    try:
        _decide(session, ids, "reject", None)
    except moderation.NotAwaitingReview:
        session.rollback()

    assert queued_mail(app, "signature_rejected") == []
    assert len(queued_mail(app, "signature_approved")) == 1
