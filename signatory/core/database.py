"""The database: engine settings that the URL alone cannot carry, and the session type.

Services take their session as an argument, typed ``DbSession``: a plain SQLAlchemy
``Session`` (a command, a test, the mail worker) or the app's request-scoped one
(``db.session``, a ``scoped_session`` that proxies every ``Session`` method).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias

from flask import Flask, g, has_request_context, request
from sqlalchemy import Connection, Insert, Select, Table, bindparam, event, exc, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.pool import PoolProxiedConnection
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


@dataclass(frozen=True)
class _Prepared:
    """A ``QuickStatement``'s statement as its database's driver takes it."""

    sql: str
    # The parameters' names in order (a positional driver), or None (named parameters).
    positions: tuple[str, ...] | None
    # The values the statement itself holds (literals such as an IN list), by name.
    literals: dict[str, Any]
    # The columns' types' conversions: of parameters by name, of the row's values in order.
    bind_processors: dict[str, Callable[[Any], Any]]
    result_processors: list[Any]


class QuickStatement:
    """One small statement sent straight to the driver, for what nearly every request of a
    busy endpoint sends: the live endpoint's list state (polled by thousands), the sign
    POST's look-ups and rows.

    Through SQLAlchemy the same statement costs several times the driver's own time: a
    session, a transaction (BEGIN, then COMMIT or ROLLBACK), the statement's cache key,
    parameter and result objects. Here it is compiled once per dialect, its literals
    expanded once, and sent with the parameters and values converted by the columns' own
    types; a driver's error becomes SQLAlchemy's, so the web layer answers a busy or lost
    database as it does everywhere (``database_unavailable``). Only for a row at a time,
    and every value given: no Python-side column default runs (``_prepare`` refuses them).

    Where it runs is the caller's ``source``:

    - an engine: on a pooled connection of its own, as one statement (its own snapshot);
    - a ``Connection``: in that connection's transaction, one statement more of it;
    - a session: through the session, in its transaction after a flush, so it sees what
      the caller wrote and has not committed (a command or a test signing twice).

    SQLAlchemy's execution events do not see the first two.
    """

    def __init__(self, statement: Select[*tuple[Any, ...]] | Insert) -> None:
        self._statement = statement
        self._prepared: dict[str, _Prepared] = {}

    def first(
        self, source: Engine | Connection | DbSession, **params: Any
    ) -> tuple[Any, ...] | None:
        """The statement's first row (its RETURNING row for an INSERT), or None."""
        if isinstance(source, Engine):
            raw = source.raw_connection()
            try:
                with _one_statement(source.dialect, raw):
                    return self._run(source.dialect, raw, raw.invalidate, params)
            finally:
                raw.close()
        if isinstance(source, Connection):
            return self._run(source.dialect, source.connection, source.invalidate, params)
        source.flush()
        found = source.connection().execute(self._statement, params).first()
        return tuple(found) if found is not None else None

    def _run(
        self,
        dialect: Any,
        raw: PoolProxiedConnection,
        invalidate: Callable[[BaseException], None],
        params: dict[str, Any],
    ) -> tuple[Any, ...] | None:
        prepared = self._prepared.get(dialect.name) or self._prepare(dialect)
        named = prepared.literals | params
        for name, process in prepared.bind_processors.items():
            named[name] = process(named[name])
        values: Any = named
        if prepared.positions is not None:
            values = tuple(named[name] for name in prepared.positions)
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(prepared.sql, values)
                row = cursor.fetchone() if cursor.description is not None else None
            finally:
                cursor.close()
        except dialect.loaded_dbapi.Error as error:
            invalidated = dialect.is_disconnect(error, raw.dbapi_connection, None)
            if invalidated:
                invalidate(error)
            raise exc.DBAPIError.instance(
                prepared.sql, values, error, dialect.loaded_dbapi.Error,
                connection_invalidated=invalidated, dialect=dialect,
            ) from error  # fmt: skip
        if row is None:
            return None
        return tuple(
            process(value) if process else value
            for process, value in zip(prepared.result_processors, row, strict=True)
        )

    def _prepare(self, dialect: Any) -> _Prepared:
        compiled = self._statement.compile(dialect=dialect)
        # The caller's parameters are the ones without a value; the rest are literals, whose
        # IN lists expand here once (``construct_expanded_state``), not at every read.
        if any(bind.callable for bind in compiled.binds.values()):
            # A default computed in Python would be computed once, here, for every row.
            raise ValueError("a QuickStatement takes every value from its caller")
        open_names = {bind.key for bind in compiled.binds.values() if bind.value is None}
        expanded = compiled.construct_expanded_state(dict.fromkeys(open_names))
        bind_processors: dict[str, Callable[[Any], Any]] = {}
        for name in open_names:
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                bind_processors[name] = process
        prepared = _Prepared(
            sql=expanded.statement,
            positions=tuple(expanded.positiontup) if expanded.positiontup is not None else None,
            literals={
                name: value for name, value in expanded.parameters.items() if name not in open_names
            },
            bind_processors=bind_processors,
            result_processors=[
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self._statement.exported_columns
            ],
        )
        self._prepared[dialect.name] = prepared
        return prepared


@contextmanager
def _one_statement(dialect: Any, raw: PoolProxiedConnection) -> Iterator[None]:
    """On PostgreSQL, the statement alone, in autocommit: no BEGIN before it, no ROLLBACK
    when the connection goes back to the pool, two round trips of three saved. (SQLite's
    connections already send no BEGIN of their own.) A connection the idle ping left in a
    transaction is used as it is."""
    connection: Any = raw.dbapi_connection
    if dialect.name != "postgresql" or connection.info.transaction_status.name != "IDLE":
        yield
        return
    connection.autocommit = True
    try:
        yield
    finally:
        if not connection.closed:
            connection.autocommit = False


class InsertUnlessTaken:
    """One row inserted if ``condition`` holds and no unique index refuses it; its id, or None.

    ``INSERT INTO table (columns) SELECT :column, ... WHERE condition ON CONFLICT DO NOTHING
    RETURNING id``, on SQLite and PostgreSQL alike: a condition read again with the write
    (a letter still open) and a row another transaction took first (the unique index)
    both come back as no id, in one statement, where catching the error would need a
    savepoint and checking the condition another statement. The statement is built once
    per database; the caller tells the two answers apart when it gets None.
    """

    def __init__(self, table: Table, columns: tuple[str, ...], condition: Any) -> None:
        self._table = table
        self._columns = columns
        self._condition = condition
        self._by_dialect: dict[str, QuickStatement] = {}

    def execute(self, connection: Connection, values: dict[str, Any]) -> int | None:
        dialect = connection.dialect.name
        statement = self._by_dialect.get(dialect)
        if statement is None:
            statement = self._by_dialect[dialect] = QuickStatement(self._build(dialect))
        row = statement.first(connection, **values)
        return int(row[0]) if row is not None else None

    def _build(self, dialect: str) -> Insert:
        columns = [self._table.c[name] for name in self._columns]
        source = select(*(bindparam(c.key, type_=c.type) for c in columns)).where(self._condition)
        construct = _DIALECT_INSERTS[dialect]
        built: Insert = (
            construct(self._table)
            .from_select(columns, source, include_defaults=False)
            .on_conflict_do_nothing()
            .returning(self._table.c.id)
        )
        return built


def insert_row(table: Table, columns: tuple[str, ...]) -> QuickStatement:
    """An INSERT of one row into ``table``, a value given for each of ``columns``.

    The other columns take their defaults, which must be constants (sent as literals): a
    default computed in Python (a nonce, a time) would be computed once for every row.
    """
    values: dict[str, Any] = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    for column in table.columns:
        if column.key in values or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{column} has a default computed in Python: give its value")
        values[column.key] = column.default.arg  # type: ignore[attr-defined]
    # inline(): no RETURNING of the new id, which PostgreSQL would otherwise be sent.
    return QuickStatement(insert(table).inline().values(values))


_DIALECT_INSERTS: dict[str, Callable[[Table], Any]] = {
    "sqlite": sqlite_insert,
    "postgresql": postgresql_insert,
}


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


# Set in ``g`` by ``reads_first`` until ``end_reads``.
_READS_FIRST = "database_reads_first"


def reads_first() -> None:
    """This request reads before it writes: its first transaction only reads.

    On SQLite a request that may write begins its transaction with the write lock
    (``_configure_sqlite``), and holds it until it commits: every check it makes first
    keeps every other writer waiting. Called before the request's first statement, this
    begins that transaction deferred instead; ``end_reads`` ends it before the writes,
    whose own transaction then takes the lock for themselves alone. What was checked can
    change in between, so the writes rest on the database's constraints or read again
    what matters. On PostgreSQL nothing changes but the extra COMMIT.
    """
    setattr(g, _READS_FIRST, True)


def own_session(session: DbSession) -> Session:
    """The ``Session`` itself: the app's scoped session passes most methods on, not all."""
    return session() if isinstance(session, scoped_session) else session


@contextmanager
def commits_keep_loaded(session: DbSession) -> Iterator[Session]:
    """Commits inside the block leave what the session has loaded loaded (not expired)."""
    own = own_session(session)
    keep, own.expire_on_commit = own.expire_on_commit, False
    try:
        yield own
    finally:
        own.expire_on_commit = keep


def end_reads(session: DbSession) -> None:
    """End the reading transaction ``reads_first`` began, keeping the objects it read.

    Its COMMIT writes nothing (the session holds no changes; flushing them here would
    write without the lock), so it does not count as this request having sent one.
    """
    own = own_session(session)
    if own.new or own.dirty or own.deleted:
        raise RuntimeError("end_reads: the session holds changes; the reading part must not write")
    g.pop(_READS_FIRST, None)
    if not own.in_transaction():
        return  # nothing was read through the session (the reads went to the driver)
    sent = g.get(_COMMIT_SENT, False)
    try:
        with commits_keep_loaded(own):
            own.commit()
    finally:
        if not sent:
            g.pop(_COMMIT_SENT, None)


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
        if has_request_context() and (request.method in SAFE_METHODS or g.get(_READS_FIRST)):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


# A pooled connection unused for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0


def _configure_postgresql(engine: Engine, *, busy_ms: int) -> None:
    """A statement waits up to ``DATABASE_BUSY_TIMEOUT`` for a lock another holds, and a
    connection that sat idle is pinged before it is used.

    Past the timeout PostgreSQL raises ``lock_not_available`` (an ``OperationalError``),
    which the web layer answers with a 503, as on SQLite, instead of the request hanging
    until the proxy gives up.

    The ping (``SELECT 1``) finds a connection the server or the network dropped while it
    was idle (a restart, an idle timeout) and replaces it before any request sees it: the
    pool retries with a fresh one (``DisconnectionError``). Only after
    ``IDLE_PING_SECONDS`` unused: SQLAlchemy's ``pool_pre_ping`` pinged before every use,
    a round trip more on every request (a third of the live poll's time). A connection
    lost while in use fails its request with a 503, with or without a ping, and the pool
    is then renewed.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"an idle connection was lost: {error}") from error

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
