"""Seeding a benchmark database: the migrations, then letters with many signatures.

The schema is always the migrations' (``flask_migrate.upgrade``, never ``create_all``).
A letter and its coordinator are made through the app's own services; its signatures
(``bench.people``) go in by SQLAlchemy Core ``executemany`` in chunks, on one connection
tuned for loading (SQLite: no fsync, a large page cache, for that connection only; the
table's indexes built once after the rows), and then ``refresh_derived`` sets what the
app keeps up to date as signatures are written.
Afterwards the database is analysed (``ANALYZE``; ``VACUUM ANALYZE`` on PostgreSQL, as
autovacuum would) and SQLite's WAL folded into the main file.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.people import CAMPAIGN_START, LETTER_BODY, Signatories
from signatory.core.database import DbSession
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.letters.service import create_letter
from signatory.models import (
    Coordinator,
    Letter,
    Moderation,
    Signature,
    SignatureStatus,
    SignatureTally,
)
from signatory.team.accounts import create_coordinator

INSERT_CHUNK = 5_000
# From this many rows on, they are made in a process of their own (``_generated``).
IN_ANOTHER_PROCESS = 20_000
OWNER_EMAIL = "owner@bench.example.org"
OWNER_PASSWORD = "benchmark password, long enough"  # noqa: S105 - a throwaway account's


@dataclass
class Databases:
    """The run's two databases (signatory's, the baseline's), made empty and dropped after.

    SQLite: two files in the run's folder. PostgreSQL: two new databases on the server at
    ``server_url`` (e.g. ``SIGNATORY_TEST_POSTGRESQL_URL``), named after this process.
    """

    kind: str
    signatory_url: str
    baseline_url: str
    server_url: str = ""

    @classmethod
    def create(cls, kind: str, tmp: Path, server_url: str = "") -> Databases:
        if kind == "sqlite":
            return cls(
                kind,
                f"sqlite:///{tmp / 'signatory.sqlite3'}",
                f"sqlite:///{tmp / 'baseline.sqlite3'}",
            )
        name = f"bench_load_{os.getpid()}"
        made = cls(kind, "", "", server_url)
        with made._server() as connection:
            for database in (name, f"{name}_baseline"):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{database}"'))
        url = make_url(server_url)
        made.signatory_url = url.set(database=name).render_as_string(hide_password=False)
        made.baseline_url = url.set(database=f"{name}_baseline").render_as_string(
            hide_password=False
        )
        return made

    def _server(self) -> Connection:
        engine = create_engine(self.server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        return engine.connect()

    def server_version(self) -> str:
        if self.kind == "sqlite":
            import sqlite3

            return f"SQLite {sqlite3.sqlite_version}"
        with self._server() as connection:
            return str(connection.execute(text("SELECT version()")).scalar_one()).split(" on ")[0]

    def drop(self) -> None:
        if self.kind == "sqlite":
            return  # the files go with the run's folder
        with self._server() as connection:
            for url in (self.signatory_url, self.baseline_url):
                if url:
                    name = make_url(url).database
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Progress:
    """A progress bar on stderr, redrawn at most five times a second.

    On a terminal it redraws one line; otherwise (a log, CI) it prints a line every tenth.
    """

    def __init__(self, label: str, total: int, stream: IO[str] | None = None) -> None:
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self._drawn_at = 0.0
        self._tenth = -1
        self._tty = self.stream.isatty()

    def advance(self, count: int) -> None:
        self.done += count
        now = time.perf_counter()
        if self._tty and (now - self._drawn_at >= 0.2 or self.done >= self.total):
            self._drawn_at = now
            self.stream.write("\r" + self._line())
            self.stream.flush()
        elif not self._tty and self.done * 10 // self.total > self._tenth:
            self._tenth = self.done * 10 // self.total
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def close(self) -> float:
        seconds = time.perf_counter() - self.started
        if self._tty:
            self.stream.write("\r" + self._line() + "\n")
            self.stream.flush()
        return seconds

    def _line(self) -> str:
        share = min(self.done / self.total, 1.0)
        bar = "#" * round(30 * share)
        seconds = time.perf_counter() - self.started
        rate = self.done / seconds if seconds else 0.0
        return (
            f"... {self.label} [{bar:<30}] {share:4.0%} {self.done:,}/{self.total:,} "
            f"{seconds:5.1f} s ({rate:,.0f}/s)"
        )


def chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextmanager
def loading(engine: Engine) -> Iterator[Connection]:
    """A connection for bulk inserts; the settings it changes end with it.

    SQLite: ``synchronous=OFF`` (a crash while seeding loses only the benchmark's
    database) and a 1 GB page cache, so the table's many indexes are updated in memory.
    Both are per connection: the app's own connections keep the app's settings.
    PostgreSQL: ``synchronous_commit`` off for this session.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            raw = cast(Any, connection.connection.driver_connection)
            raw.execute("PRAGMA synchronous=OFF")
            raw.execute("PRAGMA cache_size=-1000000")
            raw.execute("PRAGMA temp_store=MEMORY")
        else:
            connection.execute(text("SET synchronous_commit = off"))
            connection.commit()
        yield connection


def _secondary_indexes(connection: Connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of ``table``'s indexes, as the migrations made them.

    Only those the database can make again from their own statement: not the primary
    key's (nor, on PostgreSQL, any other constraint's).
    """
    if connection.dialect.name == "sqlite":
        query = (
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL ORDER BY name"
        )
    else:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :table "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname"
        )
    return [(name, sql) for name, sql in connection.execute(text(query), {"table": table})]


@contextmanager
def _deferred(connection: Connection, table: str) -> Iterator[None]:
    """``table`` without its secondary indexes and triggers inside the block; both back after.

    Indexes are dropped and made again by their own stored statements, and SQLite's
    triggers likewise (PostgreSQL's are only disabled), so the schema ends as the
    migrations left it, byte for byte. Building an index once is far cheaper than
    updating seventeen row by row, and a trigger that keeps a count per row is work
    ``refresh_derived`` does in one statement afterwards. Nothing else may write to the
    table meanwhile (seeding runs before any server starts). A unique index that the
    rows break fails to build, as the insert would have failed.
    """
    indexes = _secondary_indexes(connection, table)
    sqlite = connection.dialect.name == "sqlite"
    triggers: list[tuple[str, str]] = []
    if sqlite:
        triggers = [
            (name, sql)
            for name, sql in connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"
                ),
                {"t": table},
            )
        ]
        for name, _ in triggers:
            connection.execute(text(f'DROP TRIGGER "{name}"'))
    else:
        connection.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER USER'))
    for name, _ in indexes:
        connection.execute(text(f'DROP INDEX "{name}"'))
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()  # after a failed chunk: the indexes and triggers come back
        started = time.perf_counter()
        for _, statement in indexes + triggers:
            connection.execute(text(statement))
        if not sqlite:
            connection.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER USER'))
        connection.commit()
        seconds = time.perf_counter() - started
        print(
            f"... {len(indexes)} indexes and the triggers back in {seconds:.1f} s", file=sys.stderr
        )


def insert_rows(
    engine: Engine,
    table: Table,
    rows: Iterable[dict[str, Any]],
    *,
    total: int,
    label: str,
    deferred: bool = False,
) -> float:
    """Insert ``rows`` by ``executemany`` in chunks, one transaction each; the seconds taken.

    ``deferred``: without the table's indexes and triggers meanwhile (``_deferred``); the
    caller must then call ``refresh_derived`` for what the triggers would have kept.
    """
    progress = Progress(label, total)
    with (
        loading(engine) as connection,
        _deferred(connection, table.name) if deferred else nullcontext(),
    ):
        for chunk in chunks(rows, INSERT_CHUNK):
            connection.execute(insert(table), chunk)
            connection.commit()
            progress.advance(len(chunk))
        progress.close()
    return time.perf_counter() - progress.started


def refresh_derived(session: DbSession, letter: Letter) -> None:
    """Set again, from ``letter``'s signatures, everything derived from them.

    The one place to put right, after a bulk load, whatever was not kept in step while
    it ran: the models' Python events never fire on Core inserts, and a deferred load
    (``insert_rows(deferred=True)``) also goes without the database's triggers
    (migration 0011). So: the tally of signatures per status, kind and country
    (``signature_tally``), counted anew; the list revision, one move per publication;
    and the time of the last change, the last publication's. The caller commits.
    """
    tally = cast(Table, SignatureTally.__table__)
    session.execute(delete(tally).where(tally.c.letter_id == letter.id))
    counted = (
        select(
            Signature.letter_id,
            Signature.status,
            Signature.kind,
            Signature.country,
            func.count(),
        )
        .where(Signature.letter_id == letter.id)
        .group_by(Signature.letter_id, Signature.status, Signature.kind, Signature.country)
    )
    session.execute(
        insert(tally).from_select(["letter_id", "status", "kind", "country", "signatures"], counted)
    )
    published = Signature.status == SignatureStatus.PUBLISHED
    count, last = session.execute(
        select(func.count(), func.max(Signature.published_at)).where(
            Signature.letter_id == letter.id, published
        )
    ).one()
    letter.list_revision = int(count)
    letter.list_changed_at = last or letter.opened_at


def finish(engine: Engine, *, analyze: bool) -> float:
    """Analyse the tables (if asked) and fold SQLite's WAL back in; the seconds taken."""
    started = time.perf_counter()
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            raw = cast(Any, connection.connection.driver_connection)
            if analyze:
                raw.execute("ANALYZE")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE" if analyze else "VACUUM"))
    return time.perf_counter() - started


@dataclass
class SeededLetter:
    """A letter of the benchmark database and what is known about it without asking it."""

    slug: str
    letter_id: int
    version_id: int
    published: int
    signatories: Signatories
    seconds: dict[str, float] = field(default_factory=dict)
    # Makes the unconfirmed signatures the confirm scenario needs (``add_unconfirmed``).
    unconfirmed: Signatories | None = None

    @property
    def organizations(self) -> int:
        return sum(n for (kind, _), n in self.signatories.counts.items() if kind == "organization")

    def country_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for (_, country), n in self.signatories.counts.items():
            sizes[country] = sizes.get(country, 0) + n
        return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def migrate(app: Flask) -> float:
    started = time.perf_counter()
    with app.app_context():
        upgrade()
    return time.perf_counter() - started


def bench_owner(app: Flask) -> int:
    """The coordinator who owns every benchmark letter (made once); their id."""
    with app.app_context():
        found = db.session.scalar(select(Coordinator.id).where(Coordinator.email == OWNER_EMAIL))
        if found is None:
            found = create_coordinator(
                db.session,
                email=OWNER_EMAIL,
                name="Bench Coordinator",
                password=OWNER_PASSWORD,
                now=CAMPAIGN_START - timedelta(days=7),
            ).id
            db.session.commit()
        return found


def _generate(
    pipe: Any, letter_id: int, version_id: int, seed: int, moderator: int, n: int
) -> None:
    """The generating process: n published rows to ``pipe`` in chunks, then None and the counts."""
    signatories = Signatories(letter_id, version_id, seed=seed, moderator_id=moderator)
    for chunk in chunks(signatories.published(n), INSERT_CHUNK):
        pipe.send(chunk)
    pipe.send(None)
    pipe.send(dict(signatories.counts))
    pipe.close()


def _generated(letter_id: int, version_id: int, seed: int, moderator: int, n: int,
               counts: Counter[tuple[str, str]]) -> Iterator[dict[str, Any]]:  # fmt: skip
    """The rows of ``_generate``, made in a process of its own while this one inserts.

    Making a row (folding names for the keys) costs about as much as inserting it, so the
    two run side by side on two cores. The pipe holds about one chunk: the generator
    waits for the inserts, and memory stays flat at any size.
    """
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(
        target=_generate, args=(sending, letter_id, version_id, seed, moderator, n), daemon=True
    )
    process.start()
    sending.close()
    try:
        while (chunk := receiving.recv()) is not None:
            yield from chunk
        counts.update(receiving.recv())
        process.join(timeout=30)
    except EOFError:
        raise RuntimeError(f"the process making the rows died ({process.exitcode})") from None
    finally:
        receiving.close()
        if process.is_alive():
            process.terminate()
            process.join(timeout=10)


def seed_letter(app: Flask, slug: str, n: int, *, seed: int = 2025) -> SeededLetter:
    """An open letter ``slug`` with ``n`` published signatures, owned by ``bench_owner``."""
    owner_id = bench_owner(app)
    with app.app_context():
        coordinator = db.session.get(Coordinator, owner_id)
        letter = create_letter(
            db.session,
            slug=slug,
            title=f"Protect civic space in the cybercrime treaty ({n:,} signatures)",
            recipient="Chair of the Ad Hoc Committee",
            body_markdown=LETTER_BODY,
            now=CAMPAIGN_START - timedelta(days=3),
            owner=coordinator,
            open_now=True,
            moderation=Moderation.MISMATCH,
        )
        letter.opened_at = CAMPAIGN_START
        db.session.commit()
        letter_id, version_id = letter.id, letter.current_version.id
        db.session.remove()
        signatories = Signatories(letter_id, version_id, seed=seed, moderator_id=owner_id)
        seeded = SeededLetter(slug, letter_id, version_id, n, signatories)
        rows = (
            _generated(letter_id, version_id, seed, owner_id, n, signatories.counts)
            if n >= IN_ANOTHER_PROCESS
            else signatories.published(n)
        )
        seeded.seconds["insert"] = insert_rows(
            db.engine,
            _signature_table(),
            rows,
            total=n,
            label=f"{slug}: {n:,} signatures",
            deferred=n >= IN_ANOTHER_PROCESS,
        )
        started = time.perf_counter()
        found = db.session.get(Letter, letter_id)
        assert found is not None
        refresh_derived(db.session, found)
        db.session.commit()
        db.session.remove()
        seeded.seconds["refresh"] = time.perf_counter() - started
    return seeded


def _signature_table() -> Table:
    return cast(Table, Signature.__table__)


def add_unconfirmed(
    app: Flask, letter: SeededLetter, n: int, *, now: datetime | None = None
) -> list[tuple[int, str]]:
    """n new unconfirmed signatures on ``letter``; their (id, confirm nonce), oldest first.

    Each has an email and an organization of its own (not one already on the letter), so
    confirming it publishes it or sends it to review as the letter's moderation says.
    """
    moment = now or utcnow()
    with app.app_context():
        first = (db.session.scalar(select(func.max(Signature.id))) or 0) + 1
        if letter.unconfirmed is None:
            keys = db.session.execute(
                select(Signature.organization_key, Signature.lookalike_key).where(
                    Signature.letter_id == letter.letter_id, Signature.kind == "organization"
                )
            ).all()
            letter.unconfirmed = Signatories(
                letter.letter_id,
                letter.version_id,
                seed=first,
                taken={key for key, _ in keys if key},
                lookalikes={lookalike for _, lookalike in keys if lookalike},
            )
        # Emails are numbered past every signature so far: none is live on the letter.
        letter.unconfirmed.serial = max(letter.unconfirmed.serial, first)
        db.session.remove()
        insert_rows(
            db.engine,
            _signature_table(),
            letter.unconfirmed.unconfirmed(n, now=moment),
            total=n,
            label=f"{letter.slug}: {n:,} unconfirmed signatures",
        )
        rows = db.session.execute(
            select(Signature.id, Signature.confirm_nonce)
            .where(
                Signature.letter_id == letter.letter_id,
                Signature.id >= first,
                Signature.status == SignatureStatus.UNCONFIRMED,
            )
            .order_by(Signature.id)
        ).all()
        db.session.remove()
    return [(row.id, row.confirm_nonce) for row in rows]
