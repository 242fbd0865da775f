"""A rate-limit store in a small SQLite file, shared by every process of one machine.

``sqlite:///<path>`` (SQLAlchemy's spelling: four slashes for an absolute path) names the
file; the embedded default is ``ratelimits.sqlite3`` in the instance folder. It is a file
of its own, never the app's database, so counting a request never waits for (or holds)
the write lock a signature needs. No server to run: every gunicorn worker opens the same
file, so a limit holds across them. Across machines, use ``redis://``.

Strategy: the **moving window** (``RATELIMIT_STRATEGY = "moving-window"``). A limit of
"10 per hour" then means at most 10 in any 60 minutes, exactly, where a fixed window lets
20 through around a window's edge and the sliding-window counter only approximates; one
transaction (``BEGIN IMMEDIATE``) counts the window and adds the entry, so two workers
can never both take the last place. The cost is a row per accepted request, at most the
limit per key, deleted as it leaves its window; a refused request writes nothing. The
fixed-window counters (``incr``) are kept too, atomic by one UPSERT, for any limit that
asks for that strategy.

The file is in WAL mode (readers never wait for the writer), with a short busy timeout: a
store that stays locked raises, and the caller falls back as for any storage outage
(see ``signatory.ratelimits.budgets``). Expired rows are removed every minute or so.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from limits.storage import MovingWindowSupport, Storage

SCHEME = "sqlite"
# Milliseconds a write waits for another process's transaction before giving up. Each
# transaction here is a few statements, microseconds on an idle machine; but on a machine
# whose cores are all busy, the holder of the lock may wait for a core (and, in a threaded
# worker, for the GIL) for hundreds of milliseconds: seen at 500 ms with eight threads in
# CI. Two seconds rides that out and still falls back soon when the file is truly stuck.
BUSY_TIMEOUT_MS = 2000
# Seconds between sweeps of expired rows (by whichever process writes first after that).
SWEEP_INTERVAL = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counter (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entry (
    key TEXT NOT NULL,
    at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entry_key_at ON entry (key, at);
CREATE INDEX IF NOT EXISTS entry_expires_at ON entry (expires_at);
"""


def path_from_uri(uri: str) -> Path:
    """The file a ``sqlite:///…`` URI names (three slashes: relative; four: absolute)."""
    parts = urlsplit(uri)
    if parts.scheme != SCHEME or parts.netloc or len(parts.path) < 2:
        raise ValueError(f"a rate-limit file is named sqlite:///path, got {uri!r}")
    return Path(unquote(parts.path[1:]))


class SQLiteStorage(Storage, MovingWindowSupport):
    """``limits`` storage in a SQLite file; one connection per thread and process."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = path_from_uri(uri or "")
        self._local = threading.local()
        self._swept_at = 0.0
        self._connect()  # fail at start, with a clear error, if the file cannot be made

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    # --- Connections ----------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # A connection must not cross a fork (gunicorn's --preload) or a thread.
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            return connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        # Losing the last instants of counts in a power cut is harmless; WAL stays sound.
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.executescript(_SCHEMA)
        self._local.connection = connection
        self._local.pid = os.getpid()
        return connection

    def _write(self, work: Any) -> Any:
        """Run ``work(connection, now)`` in one immediate transaction, sweeping now and then."""
        connection = self._connect()
        now = time.time()
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection, now)
            if now - self._swept_at > SWEEP_INTERVAL:
                self._swept_at = now
                connection.execute("DELETE FROM counter WHERE expires_at <= ?", (now,))
                connection.execute("DELETE FROM entry WHERE expires_at <= ?", (now,))
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return result

    # --- Fixed-window counters --------------------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to ``key``'s counter, starting a new one if it expired: one UPSERT."""

        def work(connection: sqlite3.Connection, now: float) -> int:
            row = connection.execute(
                """
                INSERT INTO counter (key, count, expires_at) VALUES (:key, :amount, :expires)
                ON CONFLICT (key) DO UPDATE SET
                    count = CASE WHEN counter.expires_at <= :now THEN :amount
                                 ELSE counter.count + :amount END,
                    expires_at = CASE WHEN counter.expires_at <= :now THEN :expires
                                      ELSE counter.expires_at END
                RETURNING count
                """,
                {"key": key, "amount": amount, "expires": now + expiry, "now": now},
            ).fetchone()
            return int(row[0])

        return int(self._write(work))

    def get(self, key: str) -> int:
        row = (
            self._connect()
            .execute(
                "SELECT count FROM counter WHERE key = ? AND expires_at > ?", (key, time.time())
            )
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = (
            self._connect()
            .execute("SELECT expires_at FROM counter WHERE key = ? AND expires_at > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    # --- Moving windows ---------------------------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Take ``amount`` places in ``key``'s window of ``expiry`` seconds, if ``limit`` allows."""
        if amount > limit:
            return False

        def work(connection: sqlite3.Connection, now: float) -> bool:
            start = now - expiry
            # Entries that left the window count for nothing; drop them while here.
            connection.execute("DELETE FROM entry WHERE key = ? AND at <= ?", (key, start))
            (taken,) = connection.execute(
                "SELECT COUNT(*) FROM entry WHERE key = ?", (key,)
            ).fetchone()
            if taken + amount > limit:
                return False
            connection.executemany(
                "INSERT INTO entry (key, at, expires_at) VALUES (?, ?, ?)",
                [(key, now, now + expiry)] * amount,
            )
            return True

        return bool(self._write(work))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(when the oldest entry still in the window was taken, how many are in it)."""
        now = time.time()
        oldest, taken = (
            self._connect()
            .execute(
                "SELECT MIN(at), COUNT(*) FROM entry WHERE key = ? AND at > ?", (key, now - expiry)
            )
            .fetchone()
        )
        return (float(oldest), int(taken)) if taken else (now, 0)

    # --- Housekeeping -----------------------------------------------------------------

    def clear(self, key: str) -> None:
        def work(connection: sqlite3.Connection, now: float) -> None:
            connection.execute("DELETE FROM counter WHERE key = ?", (key,))
            connection.execute("DELETE FROM entry WHERE key = ?", (key,))

        self._write(work)

    def reset(self) -> int | None:
        def work(connection: sqlite3.Connection, now: float) -> int:
            counters = connection.execute("DELETE FROM counter").rowcount
            entries = connection.execute("DELETE FROM entry").rowcount
            return int(counters + entries)

        return int(self._write(work))

    def check(self) -> bool:
        try:
            self._connect().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True
