"""``flask demo``: a letter, a coordinator who can sign in, a queue to moderate, two versions."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signatory.core.domains import email_domain, is_free_mail
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.demo.loader import (
    DEMO_COORDINATOR_EMAIL,
    DEMO_COORDINATOR_PASSWORD,
    DEMO_SLUG,
    load_demo,
)
from signatory.letters.service import create_letter
from signatory.models import (
    AuditEvent,
    Coordinator,
    Letter,
    LetterVersion,
    Membership,
    OutboxMessage,
    Signature,
)
from tests.conftest import sign_in
from tests.factories import find_letter

TABLES = (AuditEvent, Coordinator, Letter, LetterVersion, Membership, OutboxMessage, Signature)


@pytest.fixture
def loaded(app: Flask, runner: Any) -> Any:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            table.__tablename__: db.session.scalar(select(func.count()).select_from(table))
            for table in TABLES
        }


def demo_signatures(app: Flask, **where: Any) -> list[Signature]:
    with app.app_context():
        letter = find_letter(db.session, DEMO_SLUG)
        query = select(Signature).where(Signature.letter_id == letter.id).filter_by(**where)
        found = list(db.session.scalars(query))
        db.session.expunge_all()
    return found


def test_the_demo_coordinator_signs_in_and_sees_a_queue_to_moderate(
    loaded: Any, client: FlaskClient
) -> None:
    sign_in(client, DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)

    overview = client.get(f"/manage/letters/{DEMO_SLUG}/").get_data(as_text=True)
    queue = client.get(f"/manage/letters/{DEMO_SLUG}/moderation")

    assert "Your role: owner" in overview
    assert '<span class="count">4</span> awaiting review' in overview
    assert queue.status_code == 200
    page = queue.get_data(as_text=True)
    for organization in ("Open Network Alliance", "NIPF", "Coastal Fishers Cooperative"):
        assert organization in page


def test_the_demo_queue_holds_the_cases_a_moderator_meets(loaded: Any, app: Flask) -> None:
    queue = {s.organization: s for s in demo_signatures(app, status="pending_review")}
    published = {s.organization for s in demo_signatures(app, status="published")}

    assert is_free_mail(email_domain(queue["Coastal Fishers Cooperative"].email))
    # A near-duplicate, and an acronym, of organizations already on the list.
    assert "Open Network Alliance" in queue and "Open Networks Alliance" in published
    assert "NIPF" in queue and "Nairobi Internet Policy Forum" in published
    assert not any(s.domain_verified for s in queue.values())


def test_the_demo_letter_has_a_substantive_second_version_with_signatures_on_each(
    loaded: Any, app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        letter = find_letter(db.session, DEMO_SLUG)
        versions = [(v.number, v.kind, bool(v.change_note)) for v in letter.versions]
        signed = {
            number: count
            for number, count in db.session.execute(
                select(LetterVersion.number, func.count())
                .join(Signature, Signature.version_id == LetterVersion.id)
                .where(Signature.letter_id == letter.id)
                .group_by(LetterVersion.number)
            )
        }
    sign_in(client, DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)

    assert versions == [(1, "initial", False), (2, "substantive", True)]
    assert signed[1] > 0 and signed[2] > 0
    assert client.get(f"/manage/letters/{DEMO_SLUG}/versions").status_code == 200


def test_no_demo_signature_is_dated_in_the_future(loaded: Any, app: Flask) -> None:
    now = utcnow()

    assert all(s.published_at <= now for s in demo_signatures(app, status="published"))


def test_a_second_demo_changes_nothing(loaded: Any, app: Flask, runner: Any) -> None:
    before = counts(app)

    result = runner.invoke(args=["demo"])

    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output
    assert counts(app) == before


def test_a_demo_letter_from_before_the_workspace_gains_the_coordinator_and_queue(
    app: Flask,
) -> None:
    with app.app_context():
        create_letter(
            db.session,
            slug=DEMO_SLUG,
            title="Demo",
            recipient="Chair",
            body_markdown="The text.",
            now=utcnow(),
            open_now=True,
        )
        db.session.commit()

        upgraded = load_demo(db.session, now=utcnow())
        db.session.commit()
        again = load_demo(db.session, now=utcnow())

        letter = find_letter(db.session, DEMO_SLUG)
        owner = db.session.scalar(
            select(Membership.role)
            .join(Coordinator, Coordinator.id == Membership.coordinator_id)
            .where(Membership.letter_id == letter.id, Coordinator.email == DEMO_COORDINATOR_EMAIL)
        )
        assert upgraded is not None and again is None
        assert owner == "owner"
        assert [v.number for v in letter.versions] == [1, 2]
        assert letter.moderation == "mismatch"
    assert len(demo_signatures(app, status="pending_review")) == 4


def test_the_demo_letter_shows_its_goal_and_announces_no_milestone_already_passed(
    loaded: Any, app: Flask, client: FlaskClient
) -> None:
    from signatory.notifications.goals import announce_milestones

    page = client.get(f"/letters/{DEMO_SLUG}").get_data(as_text=True)
    assert '<progress max="100" value="48"' in page
    with app.app_context():
        assert announce_milestones(db.session, now=utcnow()) == []


def test_the_demo_letter_shows_a_coalitions_tools(
    loaded: Any, app: Flask, client: FlaskClient
) -> None:
    page = client.get(f"/letters/{DEMO_SLUG}").get_data(as_text=True)
    assert "Initiated by" in page
    assert "The Chair has received the letter" in page  # the posted update
    wall = client.get(f"/letters/{DEMO_SLUG}/logos").get_data(as_text=True)
    assert wall.count("<img") == 10  # approved; two more wait for the coordinator
    listing = client.get(f"/letters/{DEMO_SLUG}/signatories").get_data(as_text=True)
    assert "Lead organizations" in listing
    organizations = demo_signatures(app, kind="organization", status="published")
    assert all(s.authorised_statement and s.authorised_at for s in organizations)
    assert sum(s.updates_consent_at is not None for s in demo_signatures(app)) >= 10


def test_the_demo_coordinator_has_logos_to_review(
    loaded: Any, app: Flask, client: FlaskClient
) -> None:
    sign_in(client, DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD)
    queue = client.get(f"/manage/letters/{DEMO_SLUG}/logos").get_data(as_text=True)
    assert "Logos (2)" in queue


def test_the_demo_list_shows_approved_statements_and_keeps_one_for_review(
    loaded: Any, client: FlaskClient
) -> None:
    from signatory.demo.coalition import STATEMENTS

    listing = client.get(f"/letters/{DEMO_SLUG}/signatories").get_data(as_text=True)
    assert STATEMENTS[0] in listing and STATEMENTS[1] in listing
    assert STATEMENTS[2] not in listing  # pending
