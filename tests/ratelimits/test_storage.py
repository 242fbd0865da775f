"""The SQLite file store of rate limits: counters, moving windows, expiry, and many writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from signatory.ratelimits.storage import SQLiteStorage, path_from_uri


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStorage:
    return SQLiteStorage(f"sqlite:///{tmp_path / 'limits.sqlite3'}")


def rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as connection:
        query = f"SELECT COUNT(*) FROM {table}"  # noqa: S608 - a table name of this module's
        return int(connection.execute(query).fetchone()[0])


def test_the_sqlite_scheme_is_registered_with_limits(tmp_path: Path) -> None:
    store = storage_from_string(f"sqlite:///{tmp_path / 'limits.sqlite3'}")

    assert isinstance(store, SQLiteStorage)
    assert store.path == tmp_path / "limits.sqlite3"
    assert store.check()


def test_three_slashes_name_a_relative_file_and_four_an_absolute_one() -> None:
    assert path_from_uri("sqlite:///limits.sqlite3") == Path("limits.sqlite3")
    assert path_from_uri("sqlite:////var/lib/signatory/limits.sqlite3") == Path(
        "/var/lib/signatory/limits.sqlite3"
    )
    with pytest.raises(ValueError, match="sqlite:///path"):
        path_from_uri("sqlite://host/limits.sqlite3")


def test_the_file_is_in_wal_mode(store: SQLiteStorage) -> None:
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_incr_counts_up_and_get_reads_the_count(store: SQLiteStorage) -> None:
    assert [store.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert store.incr("k", 60, amount=5) == 8
    assert store.get("k") == 8
    assert store.get("other") == 0
    assert time.time() + 55 < store.get_expiry("k") <= time.time() + 60


def test_a_counter_starts_again_once_its_window_expired(store: SQLiteStorage) -> None:
    store.incr("k", 1)
    store.incr("k", 1)
    time.sleep(1.1)

    assert store.get("k") == 0
    assert store.incr("k", 1) == 1


def test_moving_window_takes_places_up_to_the_limit_then_refuses(store: SQLiteStorage) -> None:
    taken = [store.acquire_entry("w", 3, 60) for _ in range(5)]

    assert taken == [True, True, True, False, False]
    start, count = store.get_moving_window("w", 3, 60)
    assert count == 3
    assert time.time() - 5 < start <= time.time()
    # A refused request writes nothing: the window holds the three accepted ones only.
    assert rows(store.path, "entry") == 3
    assert store.acquire_entry("w", 10, 60, amount=11) is False


def test_places_free_as_they_leave_the_moving_window(store: SQLiteStorage) -> None:
    assert store.acquire_entry("w", 1, 1)
    assert not store.acquire_entry("w", 1, 1)
    time.sleep(1.1)

    assert store.get_moving_window("w", 1, 1)[1] == 0
    assert store.acquire_entry("w", 1, 1)
    assert rows(store.path, "entry") == 1


def test_clear_forgets_one_key_and_reset_everything(store: SQLiteStorage) -> None:
    store.incr("a", 60)
    store.acquire_entry("a", 5, 60)
    store.incr("b", 60)
    store.acquire_entry("b", 5, 60)

    store.clear("a")
    assert (store.get("a"), store.get_moving_window("a", 5, 60)[1]) == (0, 0)
    assert (store.get("b"), store.get_moving_window("b", 5, 60)[1]) == (1, 1)
    assert store.reset() == 2
    assert rows(store.path, "counter") + rows(store.path, "entry") == 0


def test_expired_rows_are_swept_by_a_later_write(store: SQLiteStorage) -> None:
    store.incr("old", 1)
    store.acquire_entry("old-window", 5, 1)
    time.sleep(1.1)
    store._swept_at = 0.0  # as if the last sweep was long ago

    store.incr("new", 60)

    assert rows(store.path, "counter") == 1
    assert rows(store.path, "entry") == 0


def test_the_strategies_of_limits_work_on_it(store: SQLiteStorage) -> None:
    rate = parse("2 per minute")
    moving, fixed = MovingWindowRateLimiter(store), FixedWindowRateLimiter(store)

    assert [moving.hit(rate, "m") for _ in range(3)] == [True, True, False]
    assert [fixed.hit(rate, "f") for _ in range(3)] == [True, True, False]
    stats = moving.get_window_stats(rate, "m")
    assert stats.remaining == 0
    assert time.time() + 55 < stats.reset_time <= time.time() + 60


def test_increments_from_many_threads_are_never_lost(store: SQLiteStorage) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(25):
            value = store.incr("shared", 60)
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert store.get("shared") == 200
    assert sorted(seen) == list(range(1, 201))


def _take_places(uri: str, attempts: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = SQLiteStorage(uri)
    results.put(sum(store.acquire_entry("flood", 30, 60) for _ in range(attempts)))


def test_processes_taking_places_at_once_never_exceed_the_limit(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    SQLiteStorage(uri)  # the schema, before the processes race to make it
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_take_places, args=(uri, 20, results)) for _ in range(4)]
    for process in processes:
        process.start()
    taken = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)

    assert sum(taken) == 30, f"80 attempts at 30 places took {taken}"
    assert rows(tmp_path / "limits.sqlite3", "entry") == 30


def test_a_store_locked_past_its_busy_timeout_raises_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "limits.sqlite3"
    store = SQLiteStorage(f"sqlite:///{path}", wrap_exceptions=True)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StorageError):
            store.incr("k", 60)
        assert time.monotonic() - started < 5
        assert store.check()  # reading still works while another process writes
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.incr("k", 60) == 1
