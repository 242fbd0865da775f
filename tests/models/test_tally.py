"""The counts and the list revision are kept by the database (migration 0011's triggers), so
they hold whatever writes the signatures: the ORM, a bulk statement, a purge or a migration."""

from __future__ import annotations

import random

from flask_migrate import upgrade
from sqlalchemy import delete, func, select, text, update

from signatory.core.extensions import db
from signatory.letters.queries import published_counts, status_counts
from signatory.models import Letter, Signature, SignatureTally
from tests.conftest import unmigrated_app
from tests.factories import bulk_publish, make_letter, make_signature


def counted(session, letter):
    """What a count of the rows themselves gives, by status."""
    rows = session.execute(
        select(Signature.status, func.count())
        .where(Signature.letter_id == letter.id)
        .group_by(Signature.status)
    ).all()
    return dict(rows)


def revision(session, letter) -> int:
    return session.scalar(select(Letter.list_revision).where(Letter.id == letter.id))


def test_a_bulk_statement_outside_the_orm_moves_the_counts_and_the_revision(session):
    letter = make_letter(session, slug="bulk")
    bulk_publish(session, letter, 30, kind="organization")
    bulk_publish(session, letter, 5, kind="individual")
    session.commit()
    assert published_counts(session, letter).total == 35
    before = revision(session, letter)

    session.execute(
        update(Signature)
        .where(Signature.letter_id == letter.id, Signature.organization.like("Org o1%"))
        .values(status="withdrawn")
        .execution_options(synchronize_session=False)
    )
    session.commit()

    counts = published_counts(session, letter)
    assert (counts.organizations, counts.individuals) == (30 - 11, 5)  # o1, o10..o19 left
    assert status_counts(session, letter) == {"published": 24, "withdrawn": 11}
    assert revision(session, letter) > before


def test_deleting_rows_takes_them_off_the_counts(session):
    letter = make_letter(session, slug="gone")
    bulk_publish(session, letter, 12, kind="organization")
    make_signature(session, letter, status="unconfirmed", email="waiting@example.org")
    session.commit()
    before = revision(session, letter)

    session.execute(
        delete(Signature).where(Signature.letter_id == letter.id, Signature.status == "published")
    )
    session.commit()

    assert published_counts(session, letter).total == 0
    assert status_counts(session, letter) == {"unconfirmed": 1}
    assert revision(session, letter) > before


def test_a_change_no_one_sees_leaves_the_revision_alone(session):
    letter = make_letter(session, slug="quiet")
    signature = make_signature(session, letter, status="published")
    waiting = make_signature(session, letter, status="unconfirmed", email="w@example.org")
    session.commit()
    before = revision(session, letter)

    waiting.name = "Renamed While Unconfirmed"  # not on the list
    signature.client_prefix = "192.0.2.0/24"  # never shown
    session.commit()

    assert revision(session, letter) == before
    signature.title = "Head of Research and Policy"  # shown on the list
    session.commit()
    assert revision(session, letter) == before + 1


def test_the_counts_match_the_rows_after_any_sequence_of_changes(session):
    letter = make_letter(session, slug="mixed")
    other = make_letter(session, slug="other")
    bulk_publish(session, other, 7, kind="individual")
    rng = random.Random(9)
    rows = [
        make_signature(
            session,
            letter,
            kind=rng.choice(["organization", "individual"]),
            status="unconfirmed",
            email=f"s{i}@example.org",
            organization=f"Org {i}",
            country=rng.choice(["DE", "FR", "KE"]),
        )
        for i in range(40)
    ]
    session.commit()
    statuses = ["unconfirmed", "pending_review", "published", "withdrawn", "rejected"]
    for _ in range(120):
        row = rng.choice(rows)
        change = rng.choice(["status", "country", "kind", "status"])
        table = Signature.__table__
        if change == "status":
            values = {"status": rng.choice(statuses)}
        elif change == "country":
            values = {"country": rng.choice(["DE", "FR", "KE", "BR"])}
        else:
            values = {"kind": rng.choice(["organization", "individual"])}
        session.execute(update(table).where(table.c.id == row.id).values(**values))
    session.commit()

    assert status_counts(session, letter) == counted(session, letter)
    for country in ("DE", "FR", "KE", "BR"):
        published = session.scalar(
            select(func.count()).where(
                Signature.letter_id == letter.id,
                Signature.status == "published",
                Signature.country == country,
            )
        )
        assert published_counts(session, letter, country=country).total == published
    assert status_counts(session, other) == {"published": 7}


def test_deleting_a_letter_takes_its_counts_with_it(session):
    letter = make_letter(session, slug="short-lived")
    bulk_publish(session, letter, 3, kind="organization")
    session.commit()
    session.execute(delete(Letter).where(Letter.id == letter.id))  # the keys cascade
    session.commit()
    assert session.scalars(select(SignatureTally)).all() == []


def test_the_migration_counts_the_signatures_already_there(tmp_path):
    app = unmigrated_app(tmp_path)
    with app.app_context():
        upgrade(revision="0010")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO letter (slug, title, recipient, status, allow_individuals,"
                    " moderation, require_domain_match, disposable_email, created_at)"
                    " VALUES ('old', 'T', 'R', 'open', TRUE, 'none', FALSE, 'refuse',"
                    " '2026-01-01 00:00:00')"
                )
            )
            letter_id = connection.scalar(text("SELECT id FROM letter"))
            connection.execute(
                text(
                    "INSERT INTO letter_version (letter_id, number, body_markdown, body_html,"
                    " kind, change_note, created_at) VALUES (:letter, 1, 'x', 'x', 'initial',"
                    " '', '2026-01-01 00:00:00')"
                ),
                {"letter": letter_id},
            )
            version_id = connection.scalar(text("SELECT id FROM letter_version"))
            for n, (kind, country, status) in enumerate(
                [
                    ("organization", "DE", "published"),
                    ("organization", "DE", "published"),
                    ("individual", "FR", "published"),
                    ("organization", "FR", "unconfirmed"),
                ]
            ):
                connection.execute(
                    text(
                        "INSERT INTO signature (letter_id, version_id, kind, country, name,"
                        " email, email_key, domain_verified, status, confirm_nonce,"
                        " withdraw_nonce, manage_nonce, created_at, status_changed_at)"
                        " VALUES (:letter, :version, :kind, :country, 'Old', :email, :email,"
                        " FALSE, :status, 'n', 'n', 'n', '2026-01-02 00:00:00',"
                        " '2026-01-02 00:00:00')"
                    ),
                    {
                        "letter": letter_id,
                        "version": version_id,
                        "kind": kind,
                        "country": country,
                        "email": f"old{n}@example.org",
                        "status": status,
                    },
                )
        upgrade()
        letter = db.session.get(Letter, letter_id)
        counts = published_counts(db.session, letter)
        by_status = status_counts(db.session, letter)
        germany = published_counts(db.session, letter, country="DE")
        db.session.remove()
        db.engine.dispose()
    assert (counts.organizations, counts.individuals) == (2, 1)
    assert by_status == {"published": 3, "unconfirmed": 1}
    assert germany.total == 2
