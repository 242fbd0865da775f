"""Relationships raise on a lazy load, so a template or a loop that would query fails a test.

What a page shows of a related row is loaded by the query that reads the row; only the
letter's versions, which nearly every page shows, come with the letter by default.
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import InvalidRequestError

from signatory.core.extensions import db
from signatory.models import Letter, Signature
from tests.factories import make_letter, make_signature

# Loaded with their parent on purpose; every other relationship raises on a lazy load.
LOADED_WITH_THE_PARENT = {"Letter.versions": "selectin"}


def test_every_relationship_raises_on_a_lazy_load_unless_loaded_with_its_parent():
    strategies = {
        f"{mapper.class_.__name__}.{relationship.key}": relationship.lazy
        for mapper in db.Model.registry.mappers
        for relationship in mapper.relationships
    }
    expected = {name: LOADED_WITH_THE_PARENT.get(name, "raise_on_sql") for name in strategies}
    assert strategies == expected


def test_reading_a_relationship_that_was_not_loaded_raises(app):
    with app.app_context():
        letter = make_letter(db.session)
        signature_id = make_signature(db.session, letter).id
        db.session.commit()
        db.session.expunge_all()

        signature = db.session.scalar(select(Signature).where(Signature.id == signature_id))
        assert "letter" in inspect(signature).unloaded
        with pytest.raises(InvalidRequestError, match="raise_on_sql"):
            signature.letter  # noqa: B018


def test_a_letter_comes_with_its_versions(app):
    with app.app_context():
        slug = make_letter(db.session).slug
        db.session.commit()
        db.session.expunge_all()

        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        assert "versions" not in inspect(letter).unloaded
        assert letter.current_version.number == 1
