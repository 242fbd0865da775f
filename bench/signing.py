"""Does signing cost the same on a letter of 100,000 (or 1,000,000) signatures as on a small one?

Builds the same database as ``bench.public_list`` (migrations, then N published signatures by
Core bulk inserts), then times, with the Flask test client in this process:

- a new organization signing (the sign POST: the duplicate checks, the lookalike check, the
  insert, the confirmation email queued in the outbox);
- the same address signing again (its links sent again);
- confirming by the emailed link (the confirm POST);

next to a bare Flask + Flask-SQLAlchemy app on a SQLite file with the same settings (WAL,
busy timeout) whose one route inserts one row and commits (the baseline)::

    .venv/bin/python -m bench.signing                        # 100,000 signatures
    .venv/bin/python -m bench.signing --signatures 1000000   # a viral letter (about 4 minutes)

It prints medians, p95, the ratio to the baseline and the queries of each request, with
SQLite's plan for every statement that reads ``signature``; it exits 1 if one of them walks
the letter's signatures instead of looking one up by a key. Rate limits and the minimum
fill time are off here: this measures the work, not the defences' answers.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, select

from bench.public_list import app_config, build_dataset
from signatory import create_app
from signatory.core.extensions import db
from signatory.core.tokens import current_tokens
from signatory.models import Signature

SLUG = "protect-civic-space"
# A plan step on signature that names one of these reads a handful of rows.
_BY_KEY = re.compile(r"\b(email_key|organization_key|lookalike_key|rowid|id)=\?")


def baseline_app(database: Path) -> tuple[Flask, Callable[[], None]]:
    """A bare Flask + Flask-SQLAlchemy app: one POST inserting one row, on SQLite with WAL."""
    app = Flask("bench_signing_baseline")
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    bare = SQLAlchemy(app)

    class Row(bare.Model):  # type: ignore[name-defined,misc]
        id = bare.Column(bare.Integer, primary_key=True)
        name = bare.Column(bare.String(200))
        email = bare.Column(bare.String(320))

    @app.post("/sign")
    def sign() -> tuple[str, int]:
        bare.session.add(Row(name="Someone", email="someone@example.org"))
        bare.session.commit()
        return "", 303

    def create() -> None:
        with app.app_context():
            with bare.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            bare.create_all()  # the baseline's own throwaway table, not signatory's schema

    return app, create


def _form(i: int, email: str | None = None) -> dict[str, str]:
    return {
        "kind": "organization",
        "organization": f"Bench Organization {i}",
        "country": "FR",
        "organization_type": "ngo",
        "website": f"https://bench{i}.example.org",
        "name": "Bench Signer",
        "email": email or f"signer{i}@bench{i}.example.org",
        "authorised": "y",
    }


class Recorder:
    def __init__(self, app: Flask) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.on = False
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if self.on:
            self.statements.append((statement, parameters))


def _timed(repeat: int, once: Callable[[int], None]) -> list[float]:
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        once(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _line(label: str, times: list[float], baseline: float, queries: int) -> str:
    ordered = sorted(times)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    return f"{label:<44} {median:9.2f} {p95:9.2f} {median / baseline:11.1f} {queries:8}"


def run(args: argparse.Namespace, tmp: Path) -> int:
    database = tmp / "signing.sqlite3"
    config = app_config(tmp, database)
    config.update(
        RATELIMIT_ENABLED=False,
        SIGN_MIN_SECONDS=0,
        SIGNER_EMAILS_PER_SIGNATURE_PER_DAY=10_000,
        SIGNER_EMAILS_PER_ADDRESS_PER_DAY=10_000,
    )
    app = create_app(config)
    print(f"... building the database with {args.signatures:,} published signatures")
    build_dataset(app, database, args.signatures, args.seed, False)
    client = app.test_client()
    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, "no CSRF token on the letter page"
    csrf = token.group(1)
    recorder = Recorder(app)
    failures: list[str] = []

    def post(path: str, data: dict[str, str], expect: int) -> None:
        response = client.post(path, data={"csrf_token": csrf, **data})
        if response.status_code != expect:
            failures.append(f"POST {path} answered {response.status_code}, not {expect}")

    baseline, create = baseline_app(tmp / "baseline.sqlite3")
    create()
    bare = baseline.test_client()
    for _ in range(args.warmup):
        bare.post("/sign")
    base = statistics.median(_timed(args.repeat, lambda i: bare.post("/sign")))

    for i in range(args.warmup):
        post(f"/letters/{SLUG}/sign", _form(20_000_000 + i), 303)
    rows: list[str] = []
    plans: dict[str, list[tuple[str, str]]] = {}

    def measure(label: str, once: Callable[[int], None]) -> None:
        recorder.statements.clear()
        recorder.on = True
        once(10_000_000)  # one recorded request, then the timed ones
        recorder.on = False
        queries = len(recorder.statements)
        plans[label] = list(_plans(database, recorder.statements))
        times = _timed(args.repeat, once)
        rows.append(_line(label, times, base, queries))

    measure("sign: a new organization", lambda i: post(f"/letters/{SLUG}/sign", _form(i), 303))
    measure(
        "sign again: the same address (links resent)",
        lambda i: post(f"/letters/{SLUG}/sign", _form(0), 303),
    )
    with app.app_context():
        unconfirmed = list(
            db.session.execute(
                select(Signature.id, Signature.confirm_nonce)
                .where(Signature.status == "unconfirmed")
                .order_by(Signature.id)
                .limit(args.repeat + 1)
            )
        )
        links = [current_tokens().make("confirm", row.id, row.confirm_nonce) for row in unconfirmed]
    remaining = iter(links)
    measure(
        "confirm: the emailed link's POST",
        lambda i: post(f"/confirm/{next(remaining)}", {}, 200),
    )

    print()
    print(f"signatory signing benchmark: {args.signatures:,} published signatures on the letter")
    print(
        f"timing: Flask test client in this process, {args.warmup} warm-up then {args.repeat} "
        "timed requests each; the baseline inserts one row and commits"
    )
    print()
    header = f"{'request':<44} {'median ms':>9} {'p95 ms':>9} {'x baseline':>11} {'queries':>8}"
    print(header)
    print("-" * len(header))
    print(f"{'bare Flask + SQLAlchemy: insert one row':<44} {base:9.2f} {'':>9} {1.0:11.1f} {1:8}")
    for row in rows:
        print(row)
    print()
    print("SQLite's plan for each statement reading signature:")
    for label, found in plans.items():
        print(f"  {label}")
        for statement, detail in found:
            walks = not _BY_KEY.search(detail)
            mark = "WALKS THE LETTER" if walks else "by key"
            print(f"    {mark:<16} {detail}")
            print(f"    {'':<16} {' '.join(statement.split())[:110]}")
            if walks:
                failures.append(f"{label}: {detail}")
    for failure in failures:
        print("FAILED:", failure, file=sys.stderr)
    return 1 if failures else 0


def _plans(database: Path, statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    found = []
    with sqlite3.connect(database) as connection:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            for *_, detail in connection.execute("EXPLAIN QUERY PLAN " + statement, parameters):
                if re.search(r"\bsignature\b", detail):
                    found.append((statement, detail))
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--signatures", type=int, default=100_000, help="default 100000")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests each")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument("--seed", type=int, default=2025)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="signatory-bench-") as tmp:
        return run(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
