"""``core.database.QuickStatement``: one small statement straight to the driver, typed."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import cast

import pytest
from sqlalchemy import Table, bindparam, column, exc, func, select, table

from signatory.core.database import QuickStatement, database_unavailable, insert_row
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import AuditEvent, Letter, LetterStatus, Signature
from tests.factories import make_letter

BY_SLUG = QuickStatement(
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
    missing = QuickStatement(select(column("id")).select_from(table("no_such_table")))
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
OPEN_SINCE = QuickStatement(
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


EVENTS = cast(Table, AuditEvent.__table__)


def test_an_insert_runs_in_the_transaction_of_the_connection_it_is_given(session):
    add = insert_row(EVENTS, ("action", "actor_label", "detail", "created_at"))
    row = {"action": "test.added", "actor_label": "test", "detail": {"n": 1}}

    with db.engine.connect() as connection, connection.begin() as transaction:
        assert add.first(connection, **row, created_at=utcnow()) is None  # no RETURNING
        # In the transaction: its own reads see the row, with the JSON converted.
        assert connection.execute(select(EVENTS.c.detail)).scalar() == {"n": 1}
        transaction.rollback()

    assert session.scalar(select(func.count()).select_from(EVENTS)) == 0


def test_an_insert_row_refuses_a_default_computed_once_for_every_row():
    # A signature's nonces come from ``new_nonce``: each row must be given its own.
    signatures = cast(Table, Signature.__table__)
    with pytest.raises(ValueError, match="confirm_nonce"):
        insert_row(signatures, ("letter_id", "email"))
