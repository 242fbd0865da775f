"""``core.database.QuickRead``: one small SELECT straight to the driver, with the ORM's values."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy import bindparam, column, exc, select, table

from signatory.core.database import QuickRead, database_unavailable
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, LetterStatus
from tests.factories import make_letter

BY_SLUG = QuickRead(
    select(Letter.id, Letter.title, Letter.created_at, Letter.list_changed_at).where(
        Letter.slug == bindparam("slug")
    )
)


def test_it_reads_the_values_the_orm_reads(session):
    letter = make_letter(session, slug="civic", title="Protect civic space")
    session.commit()

    row = BY_SLUG.first(db.engine, slug="civic")

    # The columns' types convert, as through the ORM: an aware UTC datetime, say.
    assert row == (letter.id, "Protect civic space", letter.created_at, None)
    assert row[2].utcoffset() is not None


def test_it_gives_none_when_no_row_matches(session):
    make_letter(session, slug="civic")
    session.commit()

    assert BY_SLUG.first(db.engine, slug="elsewhere") is None


def test_it_sees_what_others_committed_since_its_last_read(session):
    letter = make_letter(session, slug="civic", title="Before")
    session.commit()
    assert BY_SLUG.first(db.engine, slug="civic")[1] == "Before"

    letter.title = "After"
    session.commit()

    assert BY_SLUG.first(db.engine, slug="civic")[1] == "After"


def test_a_driver_error_becomes_sqlalchemys_and_the_connection_goes_back(session):
    missing = QuickRead(select(column("id")).select_from(table("no_such_table")))
    pool = db.engine.pool

    with pytest.raises(exc.DBAPIError) as raised:
        missing.first(db.engine)

    # A mistake in SQL, not a busy database: the web layer answers it as a bug.
    assert not database_unavailable(raised.value)
    assert pool.checkedout() == 0
    # The pooled connection still works.
    make_letter(session, slug="civic")
    session.commit()
    assert BY_SLUG.first(db.engine, slug="civic") is not None


# Literals the statement holds (an IN list, a LIMIT) and a parameter a column's type
# converts (an aware datetime, stored as UTC by ``UTCDateTime``).
OPEN_SINCE = QuickRead(
    select(Letter.slug)
    .where(
        Letter.status.in_([LetterStatus.OPEN, LetterStatus.CLOSED]),
        Letter.created_at >= bindparam("since"),
    )
    .order_by(Letter.id)
    .limit(1)
)


def test_it_sends_the_statements_literals_and_converts_its_parameters(session):
    make_letter(session, slug="draft", status="draft")
    make_letter(session, slug="civic")
    session.commit()
    paris = timezone(timedelta(hours=1))
    before = utcnow().astimezone(paris) - timedelta(minutes=5)
    after = utcnow().astimezone(paris) + timedelta(minutes=5)

    assert OPEN_SINCE.first(db.engine, since=before) == ("civic",)
    assert OPEN_SINCE.first(db.engine, since=after) is None


def test_given_a_session_it_reads_in_the_sessions_transaction(session):
    make_letter(session, slug="civic", title="Not committed")

    # The session's own rows, flushed and not committed, are seen; a connection of its
    # own would not see them.
    assert BY_SLUG.first(session, slug="civic")[1] == "Not committed"
    session.rollback()
    assert BY_SLUG.first(session, slug="civic") is None
