"""Mail workers as real processes (``flask mail worker``) on one database, for the tests of
several workers sharing an outbox: the database, its rows, and the processes themselves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from signatory.core.time import utcnow
from signatory.models import OutboxMessage, OutboxStatus
from tests import databases

ROOT = Path(__file__).resolve().parents[2]

# Each kind of database the tests run on: SQLite when the suite does, PostgreSQL whenever a
# server is there (on a SQLite run too, so both are proven by every run that can).
KINDS = [
    pytest.param("sqlite", marks=databases.sqlite_only),
    pytest.param("postgresql", marks=databases.postgresql_only),
]


@contextmanager
def worker_database(kind: str, migrated_database: str, tmp: Path) -> Iterator[str]:
    """A migrated database of ``kind`` for the workers (its URL), dropped afterwards."""
    if kind == databases.KIND:
        url = databases.copy(migrated_database, tmp)
    else:
        url = databases.postgresql_database()
        flask(worker_env(url, tmp, smtp_port=1), "db", "upgrade")
    try:
        yield url
    finally:
        databases.drop(url)


def worker_env(database_url: str, tmp: Path, *, smtp_port: int, **settings: str) -> dict[str, str]:
    """The environment of a worker process: ``settings`` are ``SIGNATORY_`` keys."""
    return {
        **os.environ,
        "SIGNATORY_INSTANCE_PATH": str(tmp / "instance"),
        "SIGNATORY_DATABASE_URL": database_url,
        "SIGNATORY_SECRET_KEY": "mail-workers-secret-key-" + "x" * 32,
        "SIGNATORY_MAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SIGNATORY_MAIL_FROM": "letters@signatory.example",
        "SIGNATORY_BASE_URL": "http://signatory.example",
        "SIGNATORY_MAIL_WORKER_INTERVAL": "0.1",
        "PYTHONUNBUFFERED": "1",
        **{f"SIGNATORY_{key}": value for key, value in settings.items()},
    }


def flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "signatory", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


class Worker:
    """One ``flask mail worker`` process; its output goes to a file in ``tmp``."""

    def __init__(self, name: str, env: dict[str, str], tmp: Path) -> None:
        self.name = name
        self.log_path = tmp / f"{name}.log"
        self._log: IO[str] = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "signatory", "mail", "worker"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_until_started(self, timeout: float = 60) -> None:
        # The worker prints this line once its app is built, before its first pass.
        wait_for(lambda: "Mail worker sending to" in self.log(), timeout, self.describe)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def describe(self) -> str:
        return f"--- {self.name} (exit {self.process.poll()}) ---\n{self.log()[-4000:]}"


@contextmanager
def workers(count: int, env: dict[str, str], tmp: Path) -> Iterator[list[Worker]]:
    started = [Worker(f"worker-{n}", env, tmp) for n in range(1, count + 1)]
    try:
        for worker in started:
            worker.wait_until_started()
        yield started
    finally:
        for worker in started:
            worker.stop()


def wait_for(done: Callable[[], bool], timeout: float, explain: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout} s\n{explain()}")
        time.sleep(0.1)


def engine(database_url: str) -> Engine:
    return create_engine(database_url, poolclass=NullPool)


def queue_confirmations(database: Engine, signature_id: int, to: str, count: int) -> list[int]:
    """``count`` confirmation requests for one signature, queued at once; their ids."""
    now = utcnow()
    row = {
        "template": "confirm_request",
        "to_addr": to,
        "context": {"signature_id": signature_id},
        "signature_id": signature_id,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    with database.begin() as connection:
        connection.execute(insert(OutboxMessage), [row] * count)
        ids = connection.scalars(
            select(OutboxMessage.id).where(OutboxMessage.signature_id == signature_id)
        ).all()
    return list(ids)


def statuses(database: Engine) -> dict[str, int]:
    with database.connect() as connection:
        rows = connection.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    return {status: count for status, count in rows}


def outbox_rows(database: Engine, ids: list[int]) -> dict[int, Any]:
    with database.connect() as connection:
        table = OutboxMessage.__table__
        rows = connection.execute(select(table).where(table.c.id.in_(ids))).all()
    return {row.id: row for row in rows}
