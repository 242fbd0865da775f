"""The schema comes only from migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from signatory.core.extensions import db
from signatory.models.signature import described_by_models
from tests.conftest import unmigrated_app


def test_the_migration_head_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": described_by_models}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations differ: {differences}"


def test_the_partial_unique_indexes_exist(app):
    with app.app_context():
        indexes = {index["name"] for index in inspect(db.engine).get_indexes("signature")}
    assert {"uq_signature_live_email", "uq_signature_held_organization"} <= indexes


def test_upgrading_gives_existing_coordinators_their_own_secrets(tmp_path):
    """0002 adds NOT NULL token columns: rows from 0001 must get distinct random values."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    app = unmigrated_app(tmp_path)
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as connection:
            for n in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO coordinator (email, name, password_hash, active, created_at)"
                        " VALUES (:email, 'Old', 'x', TRUE, '2026-01-01 00:00:00')"
                    ),
                    {"email": f"old{n}@example.org"},
                )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT session_token, reset_nonce, notify FROM coordinator")
            ).all()
        db.engine.dispose()
    tokens = {row.session_token for row in rows} | {row.reset_nonce for row in rows}
    assert len(tokens) == 4 and "" not in tokens
    assert {row.notify for row in rows} == {"digest"}


def test_every_migration_goes_down_to_nothing_and_up_again(tmp_path):
    """On whichever database the suite runs on (SQLite, PostgreSQL)."""
    from flask_migrate import downgrade, upgrade

    app = unmigrated_app(tmp_path)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        with db.engine.connect() as connection:
            left = set(inspect(connection).get_table_names()) - {"alembic_version"}
        upgrade()
        with db.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
        db.engine.dispose()
    assert left == set()
    assert {"signature", "signature_tally", "letter", "outbox_message"} <= tables
