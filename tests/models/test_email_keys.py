"""The email key: one signature per address however the provider lets it be spelled, and the
migration (0006) that recomputes the keys of existing rows without breaking the live index."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from signatory.core.extensions import db
from signatory.models.signature import email_key
from tests.conftest import unmigrated_app


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Plus.Tag@Gmail.com", "plustag@gmail.com"),
        ("plustag+2@gmail.com", "plustag@gmail.com"),
        ("PlusTag@googlemail.com", "plustag@gmail.com"),
        ("p.l.u.s+a+b@googlemail.com", "plus@gmail.com"),
        ("Ann+news@Outlook.com", "ann@outlook.com"),
        ("ann.lee+x@hotmail.com", "ann.lee@hotmail.com"),  # dots matter outside Gmail
        ("ann+x@proton.me", "ann@proton.me"),
        ("ann+x@fastmail.com", "ann@fastmail.com"),
        ("ann+x@icloud.com", "ann@icloud.com"),
        ("Ann+News@Example.ORG", "ann+news@example.org"),  # an unknown provider: case only
        ("a.b@example.org", "a.b@example.org"),
        ("+only@gmail.com", "+only@gmail.com"),  # nothing before the tag: left as it is
        ("  Ann@Example.org ", "ann@example.org"),
    ],
)
def test_the_email_key_ignores_what_the_provider_ignores(typed, key):
    assert email_key(typed) == key


def _row(connection, row_id, letter_id, email, status, created):
    connection.execute(
        text(
            "INSERT INTO signature (id, letter_id, version_id, kind, country, name, email,"
            " email_key, domain_verified, status, confirm_nonce, withdraw_nonce, created_at,"
            " status_changed_at) VALUES (:id, :letter, :letter, 'individual', 'DE', 'Old',"
            " :email, :key, FALSE, :status, 'n', 'n', :created, :created)"
        ),
        {
            "id": row_id,
            "letter": letter_id,
            "email": email,
            "key": email.lower(),
            "status": status,
            "created": created,
        },
    )


def test_the_migration_recomputes_keys_and_leaves_collapsing_live_rows_apart(tmp_path):
    app = unmigrated_app(tmp_path)
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as connection:
            for letter_id in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO letter (id, slug, title, recipient, status,"
                        " allow_individuals, moderation, require_domain_match, created_at)"
                        " VALUES (:id, :slug, 'T', 'R', 'open', TRUE, 'none', FALSE,"
                        " '2026-01-01 00:00:00')"
                    ),
                    {"id": letter_id, "slug": f"letter-{letter_id}"},
                )
                connection.execute(
                    text(
                        "INSERT INTO letter_version (id, letter_id, number, body_markdown,"
                        " body_html, kind, change_note, created_at) VALUES (:id, :id, 1, 'x',"
                        " 'x', 'initial', '', '2026-01-01 00:00:00')"
                    ),
                    {"id": letter_id},
                )
            # Letter 1: four spellings of one Gmail address, three of them live.
            _row(connection, 1, 1, "ab+x@gmail.com", "published", "2026-01-02 00:00:00")
            _row(connection, 2, 1, "A.B@gmail.com", "unconfirmed", "2026-01-01 00:00:00")
            _row(connection, 3, 1, "ab@googlemail.com", "withdrawn", "2026-01-03 00:00:00")
            _row(connection, 4, 1, "ab+x@GMAIL.com", "withdrawn", "2026-01-04 00:00:00")
            _row(connection, 5, 1, "ab@gmail.com", "pending_review", "2026-01-05 00:00:00")
            # Letter 2: the same address, alone there.
            _row(connection, 6, 2, "a.b+y@gmail.com", "published", "2026-01-06 00:00:00")
            _row(connection, 7, 2, "Zed@Example.org", "published", "2026-01-06 00:00:00")
        upgrade()
        with db.engine.connect() as connection:
            keys = dict(connection.execute(text("SELECT id, email_key FROM signature")).all())
            emails = dict(connection.execute(text("SELECT id, email FROM signature")).all())
        downgrade(revision="0005")
        with db.engine.connect() as connection:
            restored = dict(connection.execute(text("SELECT id, email_key FROM signature")).all())
        db.engine.dispose()
    assert keys == {
        2: "ab@gmail.com",  # the oldest live row takes the new key
        1: "ab+x@gmail.com",  # a later live one keeps its old key
        3: "ab@gmail.com",  # rows no longer live are outside the index: the new key
        4: "ab@gmail.com",
        5: "ab@gmail.com#5",  # its old key is now the oldest's: marked with its id
        6: "ab@gmail.com",  # another letter, another index entry
        7: "zed@example.org",
    }
    assert emails[2] == "A.B@gmail.com"  # what was typed is untouched
    assert restored == {
        1: "ab+x@gmail.com",
        2: "a.b@gmail.com",
        3: "ab@googlemail.com",
        4: "ab+x@gmail.com",
        5: "ab@gmail.com",
        6: "a.b+y@gmail.com",
        7: "zed@example.org",
    }
