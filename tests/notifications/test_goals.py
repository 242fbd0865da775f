"""The goal's milestones, announced to the coordinators by the mail worker's chore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from signatory.mail.registry import Undeliverable
from signatory.mail.worker import render_message
from signatory.models import Letter, Membership
from signatory.notifications.goals import MilestoneWatch, _announce, announce_milestones
from tests.conftest import html_part, text_part
from tests.factories import bulk_publish, make_letter, make_member, outbox_messages

NOW = datetime(2026, 8, 8, 9, 0, tzinfo=UTC)


def goal_letter(
    session: Session, *, goal: int | None, milestones: str | None, **extra: Any
) -> Letter:
    letter = make_letter(session, title="Protect civic space", **extra)
    letter.goal, letter.goal_milestones = goal, milestones
    session.flush()
    return letter


def announced(session: Session) -> list[tuple[str, int]]:
    return sorted(
        (message.to_addr, message.context["milestone"])
        for message in outbox_messages(session, "goal_milestone")
    )


def test_passing_milestones_emails_each_coordinator_once_naming_the_highest(
    session: Session,
) -> None:
    letter = goal_letter(session, goal=100, milestones="10, 25%")
    owner = make_member(session, letter, email="owner@coalition.example.org", notify="each")
    editor = make_member(session, letter, role="editor", notify="digest")
    make_member(session, letter, role="moderator", notify="none")
    make_member(
        session, goal_letter(session, goal=5, milestones=None)
    )  # another letter, none signed
    bulk_publish(session, letter, 30, kind="organization")
    session.commit()

    [announcement] = announce_milestones(session, now=NOW)

    assert (announcement.milestone, announcement.published) == (25, 30)
    assert announced(session) == sorted([(owner.email, 25), (editor.email, 25)])
    assert session.get(Letter, letter.id).goal_milestone_reached == 25


def test_a_milestone_is_announced_once_however_often_the_chore_runs(session: Session) -> None:
    letter = goal_letter(session, goal=100, milestones="10")
    make_member(session, letter)
    bulk_publish(session, letter, 12, kind="organization")
    session.commit()

    announce_milestones(session, now=NOW)
    assert announce_milestones(session, now=NOW + timedelta(minutes=1)) == []

    assert len(announced(session)) == 1


def test_the_next_milestone_is_announced_when_the_count_reaches_it(session: Session) -> None:
    letter = goal_letter(session, goal=20, milestones="10")
    make_member(session, letter, email="owner@coalition.example.org")
    bulk_publish(session, letter, 12, kind="organization")
    session.commit()
    announce_milestones(session, now=NOW)

    bulk_publish(session, letter, 8, kind="individual")
    session.commit()
    [announcement] = announce_milestones(session, now=NOW)

    assert (announcement.milestone, announcement.published) == (20, 20)
    assert announced(session) == [
        ("owner@coalition.example.org", 10),
        ("owner@coalition.example.org", 20),
    ]


def test_of_two_workers_announcing_the_same_milestone_only_one_queues_emails(
    session: Session,
) -> None:
    letter = goal_letter(session, goal=10, milestones=None)
    make_member(session, letter)
    bulk_publish(session, letter, 10, kind="organization")
    session.commit()
    # Both read "nothing announced yet"; the first claims it.
    assert _announce(session, letter.id, 0, 10, 10, NOW) is not None
    session.commit()

    assert _announce(session, letter.id, 0, 10, 10, NOW) is None
    session.commit()

    assert len(announced(session)) == 1


def test_nothing_is_announced_below_the_first_milestone_or_for_a_delivered_letter(
    session: Session,
) -> None:
    below = goal_letter(session, goal=100, milestones="50")
    delivered = goal_letter(session, goal=5, milestones=None, status="delivered")
    for letter in (below, delivered):
        make_member(session, letter)
        bulk_publish(session, letter, 10, kind="organization")
    session.commit()

    assert announce_milestones(session, now=NOW) == []
    assert announced(session) == []


def test_the_chore_looks_no_more_often_than_it_should(session: Session) -> None:
    letter = goal_letter(session, goal=5, milestones=None)
    make_member(session, letter)
    session.commit()
    watch = MilestoneWatch(every=timedelta(seconds=30))

    assert watch.run_if_due(session, now=NOW) == []
    bulk_publish(session, letter, 5, kind="organization")
    session.commit()
    assert watch.run_if_due(session, now=NOW + timedelta(seconds=10)) is None  # not yet
    [announcement] = watch.run_if_due(session, now=NOW + timedelta(seconds=31)) or []

    assert announcement.milestone == 5


def test_the_goal_email_reaches_the_coordinator_over_smtp(
    app: Any, session: Session, runner: Any, smtp_server: Any
) -> None:
    letter = goal_letter(session, goal=30, milestones="10")
    make_member(session, letter, email="owner@coalition.example.org", name="Olu Owner")
    bulk_publish(session, letter, 31, kind="organization")
    session.commit()
    announce_milestones(session, now=NOW)
    app.config["MAIL_URL"] = smtp_server.url

    result = runner.invoke(args=["mail", "send"])

    assert result.exit_code == 0, result.output
    [email] = smtp_server.wait_for(1)
    assert email["To"] == "owner@coalition.example.org"
    assert email["Subject"] == "“Protect civic space” has reached its goal of 30 signatures"
    text = text_part(email)
    assert "31 signatures are published now." in text
    assert f"/letters/{letter.slug}" in text and f"/manage/letters/{letter.slug}/edit" in text
    assert "has reached its goal of 30 signatures" in html_part(email)


def test_a_milestone_email_is_not_sent_to_someone_who_left_the_team_meanwhile(
    session: Session,
) -> None:
    letter = goal_letter(session, goal=5, milestones=None)
    coordinator = make_member(session, letter)
    bulk_publish(session, letter, 5, kind="organization")
    session.commit()
    announce_milestones(session, now=NOW)
    session.execute(delete(Membership).where(Membership.coordinator_id == coordinator.id))
    session.commit()
    [message] = outbox_messages(session, "goal_milestone")

    with pytest.raises(Undeliverable, match="no longer on this letter's team"):
        render_message(session, message, now=NOW)
