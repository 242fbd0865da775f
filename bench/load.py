"""How fast is signatory under load, beside a bare Flask app on the same database?

One command seeds a database through the migrations (a letter of 300 signatures and one
of 100,000, or of each size given to ``--signatures``), serves signatory and the bare
baseline (``bench.baseline``) with the same gunicorn settings on 127.0.0.1, drives both
with wrk, then times the downloads and the mail worker::

    .venv/bin/python -m bench.load                              # SQLite, 100,000 signatures
    .venv/bin/python -m bench.load --signatures 1000000         # a viral letter
    .venv/bin/python -m bench.load --database postgresql        # PostgreSQL, same scenarios
    .venv/bin/python -m bench.load --quick                      # one short run of each

It prints a table (requests/s, p50, p99, the ratio to the matching baseline endpoint, the
issue's target and whether it is met) and writes everything as JSON. Needs Debian's wrk
(``apt-get install wrk``). Everything it starts listens on 127.0.0.1 only, every wrk run
is bounded in time, and every process and database it made is gone when it ends.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from bench import baseline as bare
from bench import report
from bench.scenarios import Plan, Scenario, build_plan, verify_writes
from bench.seed import (
    Databases,
    SeededLetter,
    add_unconfirmed,
    bench_owner,
    finish,
    migrate,
    seed_letter,
)
from bench.servers import ROOT, Gunicorn, Process, SMTPSink, free_port
from bench.wrk import Load, wrk_binary
from signatory import create_app
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.outbox import enqueue
from signatory.models import OutboxMessage, OutboxStatus, Signature

SMALL = 300
RESULTS = ROOT / "bench" / "results"
# Parked mail (queued by the sign and confirm scenarios) is due then: not in the way.
PARKED_UNTIL = datetime(2100, 1, 1, tzinfo=UTC)


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def app_config(tmp: Path, database_url: str, port: int, cache: str | None) -> dict[str, Any]:
    """The settings of every signatory process of the run (this one, gunicorn, the worker)."""
    extra = {"CACHE_URL": cache} if cache is not None else {}
    return extra | {
        "INSTANCE_PATH": str(tmp / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-load-" + secrets.token_urlsafe(32),
        "MAIL_URL": (tmp / "mail").as_uri(),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "RATELIMIT_ENABLED": False,
        "SIGN_MIN_SECONDS": 0,
    }


def environment(config: dict[str, Any], baseline_url: str) -> dict[str, str]:
    """``os.environ`` without any SIGNATORY_ setting of its own, then the run's settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIGNATORY_")}
    for key, value in config.items():
        env[f"SIGNATORY_{key}"] = json.dumps(value) if isinstance(value, bool | int) else value
    env[bare.DATABASE_URL_VARIABLE] = baseline_url
    env["PYTHONUNBUFFERED"] = "1"
    return env


def seed(
    app: Flask, sizes: list[int], args: argparse.Namespace
) -> tuple[SeededLetter, list[SeededLetter], dict[str, float]]:
    phases = {"migrations": migrate(app)}
    bench_owner(app)
    started = time.perf_counter()
    small = seed_letter(app, f"letter-{SMALL}", SMALL, seed=args.seed)
    big = [seed_letter(app, f"letter-{n}", n, seed=args.seed + i + 1) for i, n in enumerate(sizes)]
    phases["signatures"] = time.perf_counter() - started
    with app.app_context():
        phases["analyze" if args.analyze else "vacuum"] = finish(db.engine, analyze=args.analyze)
    return small, big, phases


def drive(
    scenarios: list[Scenario], plan: Plan, load: Load, args: argparse.Namespace, tmp: Path
) -> None:
    """A short warm-up of each, then ``args.runs`` rounds, each scenario once per round.

    Taking turns spreads the machine's drift (other processes, CPU frequency) over every
    scenario alike, so the ratios between them hold even when absolute figures move.
    """
    ready = [scenario for scenario in scenarios if not scenario.problems]
    for scenario in ready:
        progress(f"warming up: {scenario.label}")
        try:
            run = scenario.drive(load, tmp, seconds=args.warmup)
        except RuntimeError as error:
            scenario.problems.append(str(error))
            continue
        scenario.warmups.append(run)
        _measured(scenario, plan, run)
    for round_number in range(1, args.runs + 1):
        for scenario in ready:
            if scenario.problems and not scenario.runs:
                continue
            try:
                run = scenario.drive(load, tmp)
            except RuntimeError as error:
                scenario.problems.append(str(error))
                continue
            scenario.runs.append(run)
            _measured(scenario, plan, run)
            flag = f"  FAILED: {'; '.join(run.problems)}" if run.failed else ""
            progress(
                f"[{round_number}/{args.runs}] {scenario.label}: {run.rps:,.1f} req/s, "
                f"p50 {run.p50_ms:,.0f} ms, p99 {run.p99_ms:,.0f} ms{flag}"
            )


def _measured(scenario: Scenario, plan: Plan, run: Any) -> None:
    if scenario.script == "confirm.lua":
        slug = f"letter-{scenario.size}"
        plan.confirm_links[slug].measured(run)


def downloads(plan: Plan, runs: int) -> None:
    for round_number in range(1, runs + 1):
        for download in plan.downloads:
            try:
                transfer = download.measure()
            except (RuntimeError, OSError) as error:
                download.problems.append(str(error))
                continue
            progress(
                f"[{round_number}/{runs}] {download.label}: "
                f"{transfer.rows_per_second:,.0f} rows/s, "
                f"{transfer.megabytes:,.1f} MB in {transfer.seconds:.1f} s, peak memory "
                f"+{transfer.growth_mb:.1f} MB"
            )


def mail(
    app: Flask, env: dict[str, str], tmp: Path, letter: SeededLetter, messages: int, runs: int
) -> dict[str, Any]:
    """``flask mail worker`` sending ``messages`` confirmation requests to a local SMTP server."""
    results: list[dict[str, Any]] = []
    problems: list[str] = []
    with SMTPSink() as sink:
        for round_number in range(1, runs + 1):
            _queue_mail(app, letter, messages)
            sink.reset()
            worker = Process(
                "mail-worker",
                [sys.executable, "-m", "flask", "--app", "signatory", "mail", "worker",
                 "--interval", "0.2"],
                {**env, "SIGNATORY_MAIL_URL": sink.url},
                tmp / f"mail-worker-{round_number}.log",
            )  # fmt: skip
            started = time.perf_counter()
            try:
                delivered = sink.wait_for(messages, messages / 10 + 60, worker.running)
            finally:
                worker.stop()
            count = sink.count()
            if not delivered:
                log_end = worker.tail(1)[:500]
                problems.append(
                    f"{count} of {messages} messages arrived; the worker's log ends: {log_end}"
                )
                continue
            first, last = sink.arrivals[0], sink.arrivals[count - 1]
            run = {
                "messages": count,
                "duplicates": count - len(set(sink.message_ids)),
                "seconds": round(last - first, 3),
                "rate": (count - 1) / (last - first) if last > first else 0.0,
                "rate_with_start": count / (last - started),
            }
            if run["duplicates"]:
                problems.append(f"{run['duplicates']} messages arrived twice")
            results.append(run)
            progress(
                f"[{round_number}/{runs}] mail worker: {run['rate']:,.1f} messages/s "
                f"({count:,} in {run['seconds']:.1f} s; "
                f"{run['rate_with_start']:,.1f}/s with start-up)"
            )
    return {"runs": results, "problems": problems, "messages": messages}


def _queue_mail(app: Flask, letter: SeededLetter, messages: int) -> None:
    """Park what is pending, then queue one confirmation request for each of n new signatures."""
    rows = add_unconfirmed(app, letter, messages)
    with app.app_context():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(next_attempt_at=PARKED_UNTIL)
        )
        emails = {
            row.id: row.email
            for row in db.session.execute(
                select(Signature.id, Signature.email).where(Signature.id >= rows[0][0])
            )
        }
        for signature_id, _nonce in rows:
            enqueue(
                db.session,
                template="confirm_request",
                to=emails[signature_id],
                context={"signature_id": signature_id},
                letter_id=letter.letter_id,
                signature_id=signature_id,
            )
        db.session.commit()
        db.session.remove()


def chosen(scenarios: list[Any], only: Sequence[str]) -> list[Any]:
    """The scenarios whose key starts with one of ``only``, and every baseline (the ratios')."""
    return [s for s in scenarios if s.key.startswith(("baseline", *only))]


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    load = Load(threads=args.threads, connections=args.connections, seconds=args.duration)
    wrk_binary()
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": args.database,
        "signatures": args.signatures,
        "small_letter": SMALL,
        "runs": args.runs,
        "wrk": f"wrk -t{load.threads} -c{load.connections} -d{load.seconds:g}s --timeout 30s",
        "gunicorn": "gunicorn -w 2 -k sync (an empty config file), both apps",
        "analyze": args.analyze,
        "cache": "the app's default (each process's memory)" if args.cache is None else args.cache,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "flask": package_version("flask"),
        "sqlalchemy": package_version("sqlalchemy"),
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg(),
    }
    with ExitStack() as stack:
        databases = Databases.create(args.database, tmp, args.postgresql_url)
        stack.callback(databases.drop)
        meta["database_server"] = databases.server_version()
        port = free_port()
        config = app_config(tmp, databases.signatory_url, port, args.cache)
        app = create_app(config)
        progress(
            f"seeding {args.database}: letters of {SMALL} and "
            + ", ".join(f"{n:,}" for n in args.signatures)
        )
        small, big, phases = seed(app, args.signatures, args)
        started_baseline = time.perf_counter()
        bare.prepare(databases.baseline_url)
        phases["baseline"] = time.perf_counter() - started_baseline
        meta["seeding_seconds"] = {name: round(seconds, 1) for name, seconds in phases.items()}
        progress("seeded in " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))

        env = environment(config, databases.baseline_url)
        signatory = Gunicorn("signatory", "wsgi:app", env, tmp, port=port)
        stack.callback(signatory.stop)
        baseline = Gunicorn("baseline", "bench.baseline:create_app()", env, tmp)
        stack.callback(baseline.stop)
        signatory.wait_until_serving(f"/letters/{small.slug}")
        baseline.wait_until_serving("/hello")
        progress(f"serving: signatory at {signatory.base}, the baseline at {baseline.base}")
        plan = build_plan(app, signatory, baseline, small, big, load, tmp)
        meta["facts"] = plan.facts

        if args.only:
            plan.reads = chosen(plan.reads, args.only)
            plan.downloads = chosen(plan.downloads, args.only)
            plan.writes = chosen(plan.writes, args.only)
        drive(plan.reads, plan, load, args, tmp)
        downloads(plan, args.runs)
        writes_from = utcnow()
        drive(plan.writes, plan, load, args, tmp)
        verify_writes(app, plan.writes, writes_from, load.connections)
        signatory.stop()
        baseline.stop()
        mail_results = (
            mail(app, env, tmp, small, args.mail_messages, args.runs)
            if not args.only or any("mail".startswith(prefix) for prefix in args.only)
            else {"runs": [], "problems": ["not run (--only)"], "messages": 0}
        )
        with app.app_context():
            db.engine.dispose()
    meta["seconds"] = round(time.perf_counter() - started)
    meta["load_average_after"] = os.getloadavg()
    return report.results(meta, plan, mail_results)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description="signatory under load (gunicorn + wrk), beside a bare Flask baseline.",
    )
    parser.add_argument(
        "--signatures", type=int, nargs="+", default=[100_000], metavar="N",
        help="published signatures of each big letter (default 100000; 1000000: a viral one)",
    )  # fmt: skip
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get("SIGNATORY_TEST_POSTGRESQL_URL", ""),
        help="a server to make the run's databases on (default SIGNATORY_TEST_POSTGRESQL_URL)",
    )
    parser.add_argument(
        "--cache",
        help="SIGNATORY_CACHE_URL for signatory: none, or redis://127.0.0.1:63799/1 "
        "(default: the app's, each process's memory)",
    )
    parser.add_argument("--quick", action="store_true", help="one 3-second run of each")
    parser.add_argument("--runs", type=int, help="rounds of every scenario (default 3)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per scenario (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--mail-messages", type=int, help="messages per mail run (default 2000)")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="skip ANALYZE after seeding")  # fmt: skip
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--only", nargs="+", metavar="KEY",
        help="only the scenarios whose key starts with one of these (sign, live, csv, mail...);"
        " the baselines always run",
    )  # fmt: skip
    parser.add_argument(
        "--json", type=Path, default=RESULTS / "latest.json", help="where to write the results"
    )
    parser.add_argument(
        "--compare", type=Path, help="a JSON of an earlier run to compare each figure with"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.runs = args.runs or (1 if quick else 3)
    args.duration = args.duration or (3.0 if quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    args.mail_messages = args.mail_messages or (300 if quick else 2000)
    if min(args.signatures) < 1000:
        parser.error("--signatures: each letter needs at least 1000 signatures")
    if len(set(args.signatures)) != len(args.signatures) or SMALL in args.signatures:
        parser.error("--signatures: each size once, and not 300 (the small letter)")
    if args.database == "postgresql" and not args.postgresql_url:
        parser.error(
            '--database postgresql needs a server: eval "$(scripts/services env)" '
            "(SIGNATORY_TEST_POSTGRESQL_URL) or --postgresql-url"
        )
    if args.compare is None and args.database == "postgresql":
        sqlite_results = RESULTS / "sqlite.json"
        args.compare = sqlite_results if sqlite_results.exists() else None
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="signatory-load-") as tmp:
        results = run(args, Path(tmp))
    compare = json.loads(args.compare.read_text()) if args.compare else None
    failed = report.print_table(results, compare)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    written = [args.json]
    if not args.quick:
        by_database = RESULTS / f"{args.database}.json"
        by_database.parent.mkdir(parents=True, exist_ok=True)
        by_database.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        written.append(by_database)
    print(f"\nresults written to {', '.join(str(p) for p in written)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
