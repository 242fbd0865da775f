"""How many messages a second does one mail worker hand to a local SMTP server?

Builds a fresh database through the migrations (SQLite, or with ``--database postgresql``
a new database on the server named by ``SIGNATORY_TEST_POSTGRESQL_URL``), queues N
confirmation requests for N unconfirmed signatures on one open letter, starts a real SMTP
server (aiosmtpd, ``tests.conftest.SMTPServer``) in a process of its own on 127.0.0.1, and
times one worker's pass over the outbox (``send_due``: claim, render, send, record)::

    .venv/bin/python -m bench.mail_worker --messages 2000
    .venv/bin/python -m bench.mail_worker --messages 2000 --database postgresql
    .venv/bin/python -m bench.mail_worker --messages 2000 --runs 3 --json mail.json
    .venv/bin/python -m bench.mail_worker --server-latency 5     # a server that fsyncs
    .venv/bin/python -m bench.mail_worker --messages 500 --profile   # where the time goes

It prints messages per second (the median of ``--runs``), the CPU time per message of the
worker and of the server, and checks what the server received: every message exactly once
(counted by Message-ID) and every row 'sent'; it exits 1 otherwise. ``--server-latency``
makes the server wait that many milliseconds before answering each DATA, as a server that
writes its queue file to disk first does. ``--profile`` counts CPU time, not wall time (on
a shared machine a wait for the interpreter lock or the disk says nothing about the
worker's own code), of both of the worker's threads, the one rendering and the one sending,
added together.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import multiprocessing
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from signatory import create_app
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail import sender
from signatory.mail.backends import backend_from_url
from signatory.mail.worker import send_due
from signatory.models import OutboxMessage, OutboxStatus

TARGET = 200.0  # messages per second, issue 9


def _serve(port: int, latency: float, commands: Connection) -> None:
    """The SMTP server's process: serve until told to stop, then report the Message-IDs."""
    from tests.conftest import SMTPServer

    server = SMTPServer(port=port)
    collect = server.collector.handle_DATA

    async def handle_data(*args: Any) -> str:
        await asyncio.sleep(latency)
        return await collect(*args)

    if latency:
        server.collector.handle_DATA = handle_data  # type: ignore[method-assign]
    server.start()
    started = time.process_time()
    commands.send("ready")
    commands.recv()  # "stop"
    server.stop()
    received = Counter(str(m["Message-ID"]) for m in server.messages)
    commands.send((dict(received), time.process_time() - started))


class ServerProcess:
    """aiosmtpd in its own process, as a real mail server would be: it does not share this
    process's interpreter lock with the worker being measured."""

    def __init__(self, latency: float) -> None:
        from tests.conftest import free_port

        self.port = free_port()
        self.commands, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(self.port, latency, child), daemon=True
        )

    def __enter__(self) -> ServerProcess:
        self.process.start()
        if not self.commands.poll(60) or self.commands.recv() != "ready":
            raise RuntimeError("the SMTP server did not start")
        return self

    def received(self) -> tuple[Counter[str], float]:
        """What the server received (Message-ID: times), and the CPU time it used."""
        self.commands.send("stop")
        received, cpu = self.commands.recv()
        return Counter(received), cpu

    def __exit__(self, *exc: object) -> None:
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


def _postgresql_database() -> tuple[str, str]:
    server = os.environ.get("SIGNATORY_TEST_POSTGRESQL_URL")
    if not server:
        sys.exit("--database postgresql needs SIGNATORY_TEST_POSTGRESQL_URL (scripts/services env)")
    name = f"bench_mail_{os.getpid()}_{time.monotonic_ns()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False), server


def _drop_postgresql_database(url: str, server: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = make_url(url).database
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def queue_messages(app: Flask, count: int) -> None:
    """One open letter, ``count`` unconfirmed signatures and a confirmation request for each."""
    from tests.factories import make_letter, make_signature

    now = utcnow()
    with app.app_context():
        upgrade()
        # Alembic's logging configuration (migrations/alembic.ini) gave the root logger a
        # handler of its own; a worker process, which never migrates, has only the app's.
        logging.getLogger().handlers.clear()
        letter = make_letter(db.session, slug="bench-mail", title="Protect civic space")
        signatures = [
            make_signature(
                db.session,
                letter,
                status="unconfirmed",
                organization=f"Bench Organization {i}",
                email=f"signer{i}@bench{i}.example.org",
            )
            for i in range(count)
        ]
        db.session.execute(
            insert(OutboxMessage),
            [
                {
                    "template": "confirm_request",
                    "to_addr": signature.email,
                    "context": {"signature_id": signature.id},
                    "letter_id": letter.id,
                    "signature_id": signature.id,
                    "status": OutboxStatus.PENDING,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for signature in signatures
            ],
        )
        db.session.commit()


class ThreadProfiles:
    """CPU-time profiles of the rendering thread and of every sending thread (one a batch),
    added together: the sending thread builds each message's bytes, which is the worker's
    CPU too, and cProfile sees only the thread it was enabled on."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._run = sender.Sender._run

    def new(self) -> cProfile.Profile:
        profile = cProfile.Profile(time.thread_time)
        self.profiles.append(profile)
        return profile

    def __enter__(self) -> cProfile.Profile:
        run, new = self._run, self.new

        def profiled(self: sender.Sender) -> None:
            new().runcall(run, self)

        sender.Sender._run = profiled  # type: ignore[method-assign]
        main = self.new()
        main.enable()
        return main

    def __exit__(self, *exc: object) -> None:
        self.profiles[0].disable()
        sender.Sender._run = self._run  # type: ignore[method-assign]

    def print(self, sort: str, limit: int) -> None:
        stats = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            stats.add(profile)
        stats.sort_stats(sort).print_stats(limit)


@dataclass
class Run:
    seconds: float
    sent: int
    worker_cpu: float
    server_cpu: float
    problems: list[str]

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def run_once(args: argparse.Namespace, tmp: Path) -> Run:
    pg_server = None
    if args.database == "postgresql":
        database_url, pg_server = _postgresql_database()
    else:
        database_url = f"sqlite:///{tmp / 'mail.sqlite3'}"
    profiles = ThreadProfiles() if args.profile else None
    try:
        with ServerProcess(args.server_latency / 1000) as server:
            app = create_app(
                {
                    "INSTANCE_PATH": str(tmp / "instance"),
                    "DATABASE_URL": database_url,
                    "SECRET_KEY": "benchmark-secret-key-that-is-long-enough-for-production",
                    "MAIL_URL": f"smtp://127.0.0.1:{server.port}",
                    "MAIL_FROM": "Open letters <letters@signatory.bench>",
                    "BASE_URL": "http://signatory.bench",
                }
            )
            queue_messages(app, args.messages)
            backend = backend_from_url(app.config["MAIL_URL"])
            # The worker logs a line per message; a file stands for the service's log.
            with open(tmp / "worker.log", "w") as log, app.app_context():
                sys.stderr, stderr = log, sys.stderr
                try:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    if profiles:
                        with profiles:
                            counts = send_due(db.session, backend, worker_id="bench")
                    else:
                        counts = send_due(db.session, backend, worker_id="bench")
                    elapsed = time.perf_counter() - started
                    cpu = time.process_time() - cpu_started
                finally:
                    sys.stderr = stderr
                statuses = dict(
                    db.session.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    ).all()
                )
                db.session.rollback()
                db.engine.dispose()
            received, server_cpu = server.received()
    finally:
        if pg_server:
            _drop_postgresql_database(database_url, pg_server)

    problems = []
    if statuses != {OutboxStatus.SENT: args.messages}:
        problems.append(f"rows by status: {statuses}")
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    if len(received) != args.messages or duplicates:
        problems.append(f"server received {len(received)} distinct, {duplicates} duplicates")
    if profiles:
        profiles.print(args.sort, args.top)
    sent = max(counts.sent, 1)
    return Run(elapsed, counts.sent, cpu / sent, server_cpu / sent, problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--runs", type=int, default=1, help="runs to take the median of")
    parser.add_argument("--server-latency", type=float, default=0.0, metavar="MS")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top entries")
    parser.add_argument("--sort", default="cumulative", help="the profile's order (tottime…)")
    parser.add_argument("--top", type=int, default=40, help="the profile's entries printed")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    runs = []
    for number in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
            run = run_once(args, Path(tmp))
        runs.append(run)
        print(
            f"run {number}: {run.sent:,} sent in {run.seconds:.2f} s = {run.rate:,.0f} messages/s; "
            f"CPU a message: worker {run.worker_cpu * 1000:.2f} ms, "
            f"server {run.server_cpu * 1000:.2f} ms"
        )
    rate = statistics.median(run.rate for run in runs)
    print(
        f"mail worker ({args.database}, {args.messages:,} messages, median of {len(runs)}): "
        f"{rate:,.0f} messages/s, {rate / TARGET:.2f} x the target of {TARGET:.0f}"
    )
    if args.json:
        result = {
            "database": args.database,
            "messages": args.messages,
            "server_latency_ms": args.server_latency,
            "messages_per_second": rate,
            "target": TARGET,
            "runs": [asdict(run) | {"messages_per_second": run.rate} for run in runs],
        }
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    problems = [problem for run in runs for problem in run.problems]
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
