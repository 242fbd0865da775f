"""The signature status machine and the letter's policies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from signatory.core.time import utcnow
from signatory.models import IllegalTransition, SignatureStatus, transition
from signatory.models.letter import accepting, accepting_clause
from tests.factories import make_letter, make_signature


@pytest.mark.parametrize(
    ("moderation", "domain_verified", "expected"),
    [
        ("none", False, SignatureStatus.PUBLISHED),
        ("all", True, SignatureStatus.PENDING_REVIEW),
        ("mismatch", True, SignatureStatus.PUBLISHED),
        ("mismatch", False, SignatureStatus.PENDING_REVIEW),
    ],
)
def test_confirm_publishes_or_queues_for_review_by_letter_policy(
    session, moderation, domain_verified, expected
):
    letter = make_letter(session, moderation=moderation)
    signature = make_signature(
        session, letter, status="unconfirmed", domain_verified=domain_verified
    )
    now = utcnow()
    assert transition(signature, "confirm", now=now) == expected
    assert signature.status == expected
    assert signature.confirmed_at == now
    assert (signature.published_at == now) == (expected == SignatureStatus.PUBLISHED)


def test_individuals_are_not_reviewed_under_mismatch_moderation(session):
    letter = make_letter(session, moderation="mismatch")
    signature = make_signature(session, letter, kind="individual", status="unconfirmed")
    assert transition(signature, "confirm", now=utcnow()) == SignatureStatus.PUBLISHED


@pytest.mark.parametrize(
    ("start", "event", "end"),
    [
        ("pending_review", "approve", "published"),
        ("pending_review", "reject", "rejected"),
        ("published", "withdraw", "withdrawn"),
        ("pending_review", "withdraw", "withdrawn"),
    ],
)
def test_legal_transitions_move_the_status(session, start, event, end):
    signature = make_signature(session, make_letter(session), status=start)
    assert transition(signature, event, now=utcnow()) == end
    assert signature.status == end


@pytest.mark.parametrize(
    ("start", "event"),
    [
        ("published", "confirm"),
        ("withdrawn", "confirm"),
        ("unconfirmed", "approve"),
        ("published", "approve"),
        ("rejected", "approve"),
        ("unconfirmed", "withdraw"),
        ("withdrawn", "withdraw"),
        ("rejected", "withdraw"),
        ("published", "reject"),
        ("published", "teleport"),
    ],
)
def test_illegal_transitions_raise_and_change_nothing(session, start, event):
    signature = make_signature(session, make_letter(session), status=start)
    with pytest.raises(IllegalTransition):
        transition(signature, event, now=utcnow())
    assert signature.status == start


def test_a_deadline_closes_signing_without_a_scheduler(session):
    now = utcnow()
    letter = make_letter(session, deadline=now + timedelta(minutes=1))
    assert letter.accepts_signatures(now)
    assert not letter.accepts_signatures(now + timedelta(minutes=1))


@pytest.mark.parametrize("status", ["draft", "closed", "delivered"])
def test_only_open_letters_accept_signatures(session, status):
    assert not make_letter(session, status=status).accepts_signatures(utcnow())


@pytest.mark.parametrize("status", ["draft", "open", "closed", "delivered"])
@pytest.mark.parametrize("deadline_in", [None, -60, 60])
def test_the_sql_and_the_python_say_alike_whether_a_letter_takes_signatures(
    session, status, deadline_in
):
    """``accepting_clause`` (signing's conditional insert) and ``accepting`` agree."""
    now = utcnow()
    deadline = None if deadline_in is None else now + timedelta(seconds=deadline_in)
    letter = make_letter(session, status=status)
    letter.deadline = deadline
    session.flush()

    in_sql = session.scalar(select(accepting_clause(letter.id, now)))

    assert bool(in_sql) == accepting(status, deadline, now)
