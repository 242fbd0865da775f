"""The database: engine settings that the URL alone cannot carry, and the session type.

Services take their session as an argument, typed ``DbSession``: a plain SQLAlchemy
``Session`` (a command, a test, the mail worker) or the app's request-scoped one
(``db.session``, a ``scoped_session`` that proxies every ``Session`` method).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from flask import Flask, g, has_request_context, request
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session
from werkzeug.routing import IntegerConverter, Map

DbSession: TypeAlias = Session | scoped_session[Any]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The largest row id an INTEGER column holds on every database signatory runs on (32 bits
# on PostgreSQL); a larger one in a URL, a cursor or a form names nothing.
MAX_ROW_ID = 2**31 - 1


class RowNumberConverter(IntegerConverter):
    """``<int:…>`` in a URL: a whole number a database column can hold, else no such page.

    Without the bound, ``/versions/99999999999`` reached PostgreSQL as an out-of-range
    parameter (an error, not a 404).
    """

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


@contextmanager
def savepoint(session: DbSession) -> Iterator[None]:
    """Flush the changes made inside the block within a SAVEPOINT of their own.

    A unique index or a conditional UPDATE that refuses them (``IntegrityError``,
    ``StaleDataError``) undoes only the block, and the transaction goes on: on PostgreSQL
    an error inside a transaction aborts all of it unless a savepoint holds it. Changes
    made *before* the block are flushed first, outside it (``begin_nested`` flushes what
    is pending before it opens the savepoint), so make the changes the savepoint guards
    inside the block.
    """
    with session.begin_nested():
        yield
        session.flush()


def configure_engines(app: Flask) -> None:
    with app.app_context():
        from signatory.core.extensions import db

        busy_ms = round(float(app.config["DATABASE_BUSY_TIMEOUT"]) * 1000)
        for engine in db.engines.values():
            event.listen(engine, "commit", _note_commit)
            if engine.dialect.name == "sqlite":
                _configure_sqlite(engine, busy_ms=busy_ms)
            elif engine.dialect.name == "postgresql":
                _configure_postgresql(engine, busy_ms=busy_ms)


# Set in ``g`` when the request sends a COMMIT: after that, a failure can no longer be
# said to have saved nothing (the commit may have landed before the connection broke).
_COMMIT_SENT = "database_commit_sent"


def _note_commit(_connection: Any) -> None:
    if has_request_context():
        setattr(g, _COMMIT_SENT, True)


def commit_sent() -> bool:
    """Whether this request has sent a COMMIT to the database (succeeded or not)."""
    return bool(g.get(_COMMIT_SENT))


def _configure_sqlite(engine: Engine, *, busy_ms: int) -> None:
    """WAL and a busy timeout, so the web server and the mail worker can share the file.

    A writer waits up to ``DATABASE_BUSY_TIMEOUT`` for another's lock; past it SQLite
    raises "database is locked", which the web layer answers with a 503 (``core.web``).

    pysqlite's own transaction handling breaks SAVEPOINT; taking over BEGIN (as the
    SQLAlchemy documentation recommends) makes nested transactions work, which the
    signing service relies on to turn a lost race into a clean answer.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL, not NORMAL: in WAL mode NORMAL skips the fsync at each commit, so a power
        # loss (not a crash of the app) can undo the last commits, confirmed signatures
        # among them. FULL costs one fsync of the WAL per commit (docs/deploy.md).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A transaction that reads and then writes must take the write lock up front:
        # upgrading a WAL read snapshot fails at once with "database is locked" if another
        # writer committed meanwhile, and busy_timeout cannot help. Safe requests only
        # read, so they begin deferred and never queue behind writers.
        if has_request_context() and request.method in SAFE_METHODS:
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_postgresql(engine: Engine, *, busy_ms: int) -> None:
    """A statement waits up to ``DATABASE_BUSY_TIMEOUT`` for a lock another holds.

    Past it PostgreSQL raises ``lock_not_available`` (an ``OperationalError``), which the
    web layer answers with a 503, as on SQLite, instead of the request hanging until the
    proxy gives up.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {busy_ms:d}")
        dbapi_connection.commit()


# What SQLite says when another writer holds the lock past the busy timeout, or when the
# file cannot be reached; its other OperationalErrors ("no such table") are our bugs.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "unable to open database",
    "disk i/o error",
)


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database is busy or out of reach for now, not a bug.

    True for a pool that had no connection to give (``sqlalchemy.exc.TimeoutError``), a
    lost or refused connection, and SQLite's lock and file errors. A server database's
    ``OperationalError`` is always about the server (a refused connection, a lock or
    statement timeout, a serialisation failure); SQL mistakes are ``ProgrammingError``.
    """
    if isinstance(error, (exc.TimeoutError, exc.DisconnectionError)):
        return True
    if not isinstance(error, exc.OperationalError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    if type(original).__module__.startswith("sqlite3"):
        text = str(original).lower()
        return any(sign in text for sign in _SQLITE_UNAVAILABLE)
    return True
