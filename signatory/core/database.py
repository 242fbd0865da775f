"""The database: engine settings that the URL alone cannot carry, and the session type.

Services take their session as an argument, typed ``DbSession``: a plain SQLAlchemy
``Session`` (a command, a test, the mail worker) or the app's request-scoped one
(``db.session``, a ``scoped_session`` that proxies every ``Session`` method).
"""

from __future__ import annotations

from typing import Any, TypeAlias

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

DbSession: TypeAlias = Session | scoped_session[Any]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The largest row id a database integer holds; a larger one in a URL or form names nothing.
MAX_ROW_ID = 2**63 - 1


def configure_engines(app: Flask) -> None:
    with app.app_context():
        from signatory.core.extensions import db

        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    """WAL and a busy timeout, so the web server and the mail worker can share the file.

    pysqlite's own transaction handling breaks SAVEPOINT; taking over BEGIN (as the
    SQLAlchemy documentation recommends) makes nested transactions work, which the
    signing service relies on to turn a lost race into a clean answer.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
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
