"""Bulk holds, releases and rejections, and the traffic report, as services (no request)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from signatory.abuse import bulk, reports
from signatory.core.time import utcnow
from signatory.models import BulkAction, SignatureStatus, transition
from tests.factories import (
    audit_events,
    make_coordinator,
    make_letter,
    make_signature,
    outbox_messages,
)

FLOOD = "203.0.113.0/24"
OTHER = "198.51.100.0/24"


@pytest.fixture
def flood(session):
    """A letter with three published and two unconfirmed signatures from one /24, one waiting
    for review (a lookalike name) from the same /24, and two published from elsewhere."""
    letter = make_letter(session, slug="flooded")
    moderator = make_coordinator(session)
    early = utcnow() - timedelta(hours=3)
    published = [
        make_signature(
            session, letter, client_prefix=FLOOD, published_at=early + timedelta(minutes=i)
        )
        for i in range(3)
    ]
    unconfirmed = [
        make_signature(session, letter, status="unconfirmed", client_prefix=FLOOD) for _ in range(2)
    ]
    pending = make_signature(
        session,
        letter,
        status="pending_review",
        client_prefix=FLOOD,
        review_reason="lookalike_name",
    )
    others = [make_signature(session, letter, client_prefix=OTHER) for _ in range(2)]
    session.flush()
    return letter, moderator, published, unconfirmed, pending, others


def test_a_rule_needs_at_least_one_criterion():
    with pytest.raises(bulk.BulkError, match="at least one"):
        bulk.parse_rule("", "", "", "")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("203.0.113.0/24", "203.0.113.0/24"),
        ("2001:db8:1:2::9", "2001:db8:1::/48"),
    ],
)
def test_a_prefix_is_read_as_the_stored_prefix_it_falls_in(typed, stored):
    assert bulk.parse_rule(typed, None, None, None).prefix == stored


@pytest.mark.parametrize(
    ("prefix", "domain", "since", "until", "message"),
    [
        ("not-an-address", "", "", "", "address prefix"),
        ("", "no dots", "", "", "email domain"),
        ("", "ex%ample.org", "", "", "email domain"),
        ("", "", "yesterday", "", "date and time"),
        ("", "", "2026-12-01T10:00", "2026-12-01T09:00", "before its end"),
    ],
)
def test_a_rule_that_cannot_be_used_is_refused_with_its_reason(
    prefix, domain, since, until, message
):
    with pytest.raises(bulk.BulkError, match=message):
        bulk.parse_rule(prefix, domain, since, until)


def test_the_dry_run_counts_the_matches_by_status_and_changes_nothing(session, flood):
    letter, *_ = flood
    rule = bulk.parse_rule(FLOOD, None, None, None)
    assert bulk.count(session, letter, rule) == {
        "published": 3,
        "unconfirmed": 2,
        "pending_review": 1,
    }
    assert session.scalar(select(BulkAction.id)) is None


def test_a_domain_rule_matches_the_email_domain_only(session, flood):
    letter, *_ = flood
    make_signature(session, letter, email="someone@spam.example", client_prefix=OTHER)
    make_signature(session, letter, email="someone@notspam.example", client_prefix=OTHER)
    rule = bulk.parse_rule(None, "spam.example", None, None)
    assert bulk.count(session, letter, rule) == {"published": 1}


def test_a_hold_takes_published_matches_off_the_list_and_marks_the_rest(session, flood):
    letter, moderator, published, unconfirmed, pending, others = flood
    rule = bulk.parse_rule(FLOOD, None, None, None)
    action = bulk.hold(
        session, letter, rule, expected=6, reason="flood", actor=moderator, now=utcnow()
    )
    assert action.matched == 6
    assert action.counts == {"published": 3, "unconfirmed": 2, "pending_review": 1}
    assert {s.status for s in published} == {SignatureStatus.PENDING_REVIEW}
    assert all(s.published_at is not None for s in published)  # their place is kept
    assert {s.status for s in unconfirmed} == {SignatureStatus.UNCONFIRMED}
    assert {s.hold_id for s in (*published, *unconfirmed, pending)} == {action.id}
    assert {s.status for s in others} == {SignatureStatus.PUBLISHED}
    (event,) = audit_events(session, "signatures.held")
    assert event.detail["counts"] == action.counts
    assert event.detail["rule"]["prefix"] == FLOOD


def test_a_held_unconfirmed_signature_waits_for_review_when_confirmed(session, flood):
    letter, moderator, _, unconfirmed, *_ = flood
    bulk.hold(
        session, letter, bulk.parse_rule(FLOOD, None, None, None), expected=6, reason=None,
        actor=moderator, now=utcnow(),
    )  # fmt: skip
    assert transition(unconfirmed[0], "confirm", now=utcnow()) == SignatureStatus.PENDING_REVIEW


def test_an_action_is_refused_when_the_count_changed_since_the_dry_run(session, flood):
    letter, moderator, published, *_ = flood
    rule = bulk.parse_rule(FLOOD, None, None, None)
    make_signature(session, letter, client_prefix=FLOOD)  # arrived after the count
    with pytest.raises(bulk.BulkError, match="7 signatures match now, not the 6"):
        bulk.hold(session, letter, rule, expected=6, reason=None, actor=moderator, now=utcnow())
    assert {s.status for s in published} == {SignatureStatus.PUBLISHED}
    assert session.scalar(select(BulkAction.id)) is None


def test_releasing_a_hold_puts_published_signatures_back_in_their_old_place(session, flood):
    letter, moderator, published, unconfirmed, pending, _ = flood
    places = [s.published_at for s in published]
    action = bulk.hold(
        session, letter, bulk.parse_rule(FLOOD, None, None, None), expected=6, reason=None,
        actor=moderator, now=utcnow(),
    )  # fmt: skip
    result = bulk.release(session, letter, action.id, actor=moderator, now=utcnow())
    assert result == {"restored": 3, "in_review": 1, "released": 6}
    assert [s.status for s in published] == [SignatureStatus.PUBLISHED] * 3
    assert [s.published_at for s in published] == places
    assert pending.status == SignatureStatus.PENDING_REVIEW  # it was waiting before the hold
    assert {s.hold_id for s in (*published, *unconfirmed, pending)} == {None}
    assert action.released_at is not None
    (event,) = audit_events(session, "signatures.released")
    assert event.detail == {"bulk_action": action.id, **result}


def test_a_hold_cannot_be_released_twice(session, flood):
    letter, moderator, *_ = flood
    action = bulk.hold(
        session, letter, bulk.parse_rule(FLOOD, None, None, None), expected=6, reason=None,
        actor=moderator, now=utcnow(),
    )  # fmt: skip
    bulk.release(session, letter, action.id, actor=moderator, now=utcnow())
    with pytest.raises(bulk.BulkError, match="released already"):
        bulk.release(session, letter, action.id, actor=moderator, now=utcnow())


def test_a_bulk_rejection_rejects_every_match_for_good_and_emails_nobody(session, flood):
    letter, moderator, published, unconfirmed, pending, others = flood
    action = bulk.reject(
        session, letter, bulk.parse_rule(FLOOD, None, None, None), expected=6, reason="spam",
        actor=moderator, now=utcnow(),
    )  # fmt: skip
    assert {s.status for s in (*published, *unconfirmed, pending)} == {SignatureStatus.REJECTED}
    assert {s.moderation_reason for s in (*published, *unconfirmed, pending)} == {"spam"}
    assert {s.status for s in others} == {SignatureStatus.PUBLISHED}
    assert action.counts == {"published": 3, "unconfirmed": 2, "pending_review": 1}
    assert outbox_messages(session) == []


def test_nothing_is_held_or_rejected_on_a_delivered_letter(session, flood):
    letter, moderator, published, *_ = flood
    letter.status = "delivered"
    with pytest.raises(bulk.BulkError, match="delivered"):
        bulk.hold(
            session, letter, bulk.parse_rule(FLOOD, None, None, None), expected=6, reason=None,
            actor=moderator, now=utcnow(),
        )  # fmt: skip
    assert {s.status for s in published} == {SignatureStatus.PUBLISHED}


def test_the_report_groups_the_last_day_by_prefix_and_domain_and_flags_a_trend(session):
    letter = make_letter(session, slug="watched")
    now = utcnow()
    for _ in range(12):
        make_signature(
            session, letter, status="unconfirmed", client_prefix=FLOOD, email=f"x{_}@spam.example"
        )
    for i in range(4):
        make_signature(session, letter, client_prefix=OTHER, email=f"p{i}@ngo.example")
    old = make_signature(session, letter, client_prefix="192.0.2.0/24")
    old.created_at = now - timedelta(days=2)  # outside the day
    session.flush()
    report = reports.traffic(session, letter, now=now + timedelta(seconds=1))
    assert (report.hour_total, report.day_total) == (16, 16)
    by_prefix = {g.value: g for g in report.prefixes}
    assert set(by_prefix) == {FLOOD, OTHER}
    assert (by_prefix[FLOOD].hour, by_prefix[FLOOD].unconfirmed, by_prefix[FLOOD].trending) == (
        12,
        12,
        True,
    )
    assert by_prefix[OTHER].trending is False  # 4 is under the trend's minimum of 10
    by_domain = {g.value: g for g in report.domains}
    assert by_domain["spam.example"].trending is True
    assert by_domain["ngo.example"].day == 4


def test_a_steady_busy_source_is_not_trending_but_a_sudden_one_is():
    # 10 in the last hour out of 240 over the day, with 1000 signatures in the hour: steady.
    assert reports.is_trending(10, 240, 1000) is False
    # The same 10 after a quiet day (2 earlier): sudden.
    assert reports.is_trending(10, 12, 1000) is True
    assert reports.is_trending(9, 9, 9) is False
