"""The schema comes only from migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from signatory.extensions import db


def test_the_migration_head_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations differ: {differences}"


def test_the_partial_unique_indexes_exist(app):
    with app.app_context():
        indexes = {index["name"] for index in inspect(db.engine).get_indexes("signature")}
    assert {"uq_signature_live_email", "uq_signature_held_organization"} <= indexes
