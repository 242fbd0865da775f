"""The signing defences as rules: which names are web addresses, which characters are
invisible, which names look alike, which domains are disposable, and the daily mail caps,
tested on the functions and the service without a request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from signatory.core.text import (
    contains_url,
    invisible_characters,
    mixes_scripts_confusably,
    skeleton,
)
from signatory.core.time import utcnow
from signatory.models import OutboxMessage, Signature
from signatory.models.outbox import EmailCaps
from signatory.models.status import needs_review
from signatory.signatures import service, signing
from signatory.signatures.service import SignatureData, is_disposable_domain
from signatory.signatures.similar import LOOKALIKE, NameIndex
from tests.factories import audit_events, make_letter, make_signature, outbox_messages


@pytest.mark.parametrize(
    "value",
    [
        "http://spam.example",
        "HTTPS://spam.example",
        "Visit ftp://files.example",
        "www.spam.example",
        "WWW2.spam.example",
        "spam.example/path",
        "Buy at spam.co.uk/deals now",
        "xn--80ak6aa92e.com/x",
    ],
)
def test_these_hold_a_web_address(value):
    assert contains_url(value)


@pytest.mark.parametrize(
    "value",
    [
        "Example Corp.",
        "A.B.C. e.V.",
        "Booking.com",
        "Amazon.com, Inc.",
        "St. John's Trust",
        "Dept. of Health / Social Care",
        "Médecins Sans Frontières",
        "AT&T",
        "3.14 Collective",
    ],
)
def test_these_are_names_not_web_addresses(value):
    assert not contains_url(value)


def test_invisible_characters_are_named_once_each():
    assert invisible_characters("A\u200bB\u200bC\u2066D") == [
        "U+200B ZERO WIDTH SPACE",
        "U+2066 LEFT-TO-RIGHT ISOLATE",
    ]
    assert invisible_characters("Plain name, with punctuation!") == []


def test_joiners_are_kept_only_between_letters_of_scripts_that_spell_with_them():
    assert invisible_characters("می\u200cخواهم") == []  # Persian
    assert invisible_characters("क्\u200dष") == []  # Devanagari
    assert invisible_characters("Ab\u200cc") == ["U+200C ZERO WIDTH NON-JOINER"]  # Latin
    assert invisible_characters("\u200cمی") == ["U+200C ZERO WIDTH NON-JOINER"]  # at the edge


def test_lookalikes_share_a_skeleton_and_different_names_do_not():
    assert skeleton("\u0410mnesty") == skeleton("Amnesty")  # Cyrillic А
    assert skeleton("ΕFF") == skeleton("EFF")  # Greek Ε
    assert skeleton("Ｅｘａｍｐｌｅ") == skeleton("Example")  # full width
    assert skeleton("Amnesty") != skeleton("Amnesia")


def test_mixed_scripts_are_judged_word_by_word():
    assert mixes_scripts_confusably("Digit\u0430l Rights")
    assert not mixes_scripts_confusably("Мемориал")  # all Cyrillic
    assert not mixes_scripts_confusably("Мемориал Memorial")  # one script per word
    assert not mixes_scripts_confusably("β-Carotene Growers")


@pytest.mark.parametrize(
    ("domain", "disposable"),
    [
        ("mailinator.com", True),
        ("MAILINATOR.COM", True),
        ("inbox.mailinator.com", True),
        ("guerrillamail.com", True),
        ("eff.org", False),
        ("gmail.com", False),
        ("mailinator.com.example.org", False),
    ],
)
def test_disposable_domains_and_their_subdomains(domain, disposable):
    assert is_disposable_domain(domain) is disposable


def test_the_name_index_says_a_lookalike_is_one():
    index = NameIndex.build([(1, "Amnesty Example", "published", None, None)])
    [similar], more = index.similar_to(2, "\u0410mnesty Example")
    assert (similar.signature_id, similar.reason, more) == (1, LOOKALIKE, 0)


def test_a_review_reason_sends_a_signature_to_review_on_any_letter(session):
    letter = make_letter(session, moderation="none")
    flagged = make_signature(session, letter, status="unconfirmed", review_reason="mixed_scripts")
    plain = make_signature(session, letter, status="unconfirmed")
    assert needs_review(letter, flagged) is True
    assert needs_review(letter, plain) is False


def _data(email: str, organization: str = "Caps Example") -> SignatureData:
    return SignatureData(
        kind="organization",
        name="Ann Signer",
        email=email,
        email_domain=email.rpartition("@")[2],
        country="DE",
        organization=organization,
        organization_type="ngo",
        website="https://caps.example.org",
    )


def test_the_signature_cap_lifts_a_day_later(session):
    letter = make_letter(session)
    caps = EmailCaps(per_signature=2, per_address=10)
    start = utcnow()
    for _ in range(4):
        signing.sign(session, letter, _data("ann@caps.example.org"), now=start, caps=caps)
    assert len(outbox_messages(session)) == 2
    later = start + timedelta(days=1, minutes=1)
    outcome = signing.sign(session, letter, _data("ann@caps.example.org"), now=later, caps=caps)
    assert outcome.emailed and not outcome.created
    assert len(outbox_messages(session)) == 3


def test_the_cap_is_audited_once_a_day_per_address(session):
    letter = make_letter(session)
    caps = EmailCaps(per_signature=1, per_address=10)
    start = utcnow()
    for _ in range(5):
        signing.sign(session, letter, _data("ann@caps.example.org"), now=start, caps=caps)
    [event] = audit_events(session, "signature.email_capped")
    assert event.detail == {
        "cap": "signature",
        "template": "confirm_request",
        "per_signature": 1,
        "per_address": 10,
    }
    signing.sign(session, letter, _data("ann@caps.example.org"), now=start + timedelta(days=2))
    signing.sign(
        session, letter, _data("ann@caps.example.org"), now=start + timedelta(days=2), caps=caps
    )
    assert len(audit_events(session, "signature.email_capped")) == 2


def test_mail_to_coordinators_about_a_signature_does_not_count_against_its_signer(session):
    letter = make_letter(session)
    signature = make_signature(session, letter, status="unconfirmed", email="ann@caps.example.org")
    for _ in range(3):
        session.add(
            OutboxMessage(
                template="review_needed",
                to_addr="coordinator@coalition.example.org",
                context={},
                signature_id=signature.id,
                letter_id=letter.id,
                created_at=utcnow(),
            )
        )
    session.flush()
    caps = EmailCaps(per_signature=1, per_address=1)
    outcome = signing.sign(session, letter, _data("ann@caps.example.org"), now=utcnow(), caps=caps)
    assert outcome.emailed
    assert isinstance(outcome.signature, Signature)


def test_a_lookalike_taken_between_signing_and_confirming_still_sends_to_review(session):
    from signatory.core.tokens import TokenPayload

    letter = make_letter(session, moderation="none")
    outcome = signing.sign(
        session, letter, _data("ann@caps.example.org", "Amnesty Example"), now=utcnow()
    )
    assert outcome.signature.review_reason is None
    make_signature(session, letter, organization="\u0410mnesty Example")  # holds its place now
    signature = outcome.signature
    service.confirm(session, TokenPayload(signature.id, signature.confirm_nonce), now=utcnow())
    assert signature.status == "pending_review"
    assert signature.review_reason == "lookalike_name"
