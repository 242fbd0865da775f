"""Does the public list stay fast for a letter with 100,000 published signatures?

Builds a fresh SQLite database through the migrations (never ``create_all``), loads one
open letter with N published signatures using SQLAlchemy Core bulk inserts, then times
the public pages (every filter, the name search and the three orders, first and deep
pages), the live endpoint (a full answer, and the 304 a watcher gets while nothing
changed), the JSON API and the downloads with the Flask test client in this process,
next to a bare Flask app with one trivial route (the baseline)::

    .venv/bin/python -m bench.public_list                      # 100,000 signatures
    .venv/bin/python -m bench.public_list --signatures 20000   # a quick run

It prints figures and ratios. It checks that every answer is right (200, and the deep
pages really hold the rows they should) but holds no time limit: performance targets
live here, as numbers to read, not in timed unit tests.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import math
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from markupsafe import escape
from sqlalchemy import event, func, insert, select
from werkzeug.test import TestResponse

import signatory
from bench.people import CAMPAIGN_START, LETTER_BODY, signature_rows
from bench.seed import refresh_derived
from signatory import create_app
from signatory.core.extensions import db
from signatory.core.text import render_markdown, search_text
from signatory.lists import cursors
from signatory.models import (
    Letter,
    LetterStatus,
    LetterVersion,
    Moderation,
    Signature,
    SignatureKind,
    SignatureStatus,
)

SLUG = "protect-civic-space"
PAGE_SIZE = 100  # the app's PUBLIC_PAGE_SIZE default; the API is asked for the same
INSERT_CHUNK = 10_000

# --- Setup ---------------------------------------------------------------------------------


@dataclass
class Dataset:
    letter_id: int
    total: int
    organizations: int
    individuals: int
    by_kind_country: Counter[tuple[str, str]]
    phases: dict[str, float]
    database: Path


def app_config(tmp: Path, database: Path) -> dict[str, Any]:
    return {
        "INSTANCE_PATH": str(tmp / "instance"),
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "benchmark-secret-key-that-is-long-enough-for-production",
        "MAIL_URL": (tmp / "mail").as_uri(),
        "BASE_URL": "http://signatory.bench",
        "PUBLIC_PAGE_SIZE": PAGE_SIZE,
    }


def build_dataset(app: Flask, database: Path, n: int, seed: int, analyze: bool) -> Dataset:
    phases: dict[str, float] = {}
    with app.app_context():
        started = time.perf_counter()
        upgrade()
        phases["migrations"] = time.perf_counter() - started

        letter = Letter(
            slug=SLUG,
            title="Protect civic space in the cybercrime treaty",
            recipient="Chair of the Ad Hoc Committee",
            status=LetterStatus.OPEN,
            moderation=Moderation.MISMATCH,
            allow_individuals=True,
            created_at=CAMPAIGN_START - timedelta(days=3),
            opened_at=CAMPAIGN_START,
        )
        version = LetterVersion(
            letter=letter,
            number=1,
            body_markdown=LETTER_BODY,
            body_html=render_markdown(LETTER_BODY),
            created_at=CAMPAIGN_START - timedelta(days=3),
        )
        db.session.add_all([letter, version])
        db.session.flush()
        letter_id, version_id = letter.id, version.id
        # Outside a request every transaction is BEGIN IMMEDIATE: let go of the write lock.
        db.session.commit()
        db.session.close()

        started = time.perf_counter()
        rows, counts = signature_rows(random.Random(seed), n, letter_id, version_id)
        phases["generate rows"] = time.perf_counter() - started

        started = time.perf_counter()
        table = Signature.__table__
        with db.engine.begin() as conn:
            for offset in range(0, len(rows), INSERT_CHUNK):
                conn.execute(insert(table), rows[offset : offset + INSERT_CHUNK])
        phases["bulk insert"] = time.perf_counter() - started
        del rows
        # What the models' events would have kept in step (the list revision, counters).
        loaded = db.session.get(Letter, letter_id)
        assert loaded is not None
        refresh_derived(db.session, loaded)
        db.session.commit()

        db.session.remove()
        db.engine.dispose()

    started = time.perf_counter()
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        if analyze:
            connection.execute("ANALYZE")
        # Fold the WAL into the main file so reads see what a settled database sees.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    phases["analyze+checkpoint" if analyze else "checkpoint"] = time.perf_counter() - started
    organizations = sum(c for (kind, _), c in counts.items() if kind == "organization")
    return Dataset(
        letter_id=letter_id,
        total=n,
        organizations=organizations,
        individuals=n - organizations,
        by_kind_country=counts,
        phases=phases,
        database=database,
    )


def bare_app() -> Flask:
    app = Flask("bench_baseline")

    @app.get("/")
    def hello() -> str:
        return "<!doctype html><title>Hello</title><p>Hello, world.</p>"

    return app


# --- Measuring -----------------------------------------------------------------------------


PACKAGE_DIR = Path(signatory.__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR.parent / "templates"


def _caller() -> str:
    """The innermost frame in the package or its templates: who sent the statement."""
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(PACKAGE_DIR) or path.is_relative_to(TEMPLATES_DIR):
            where = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
            return f"{'.'.join(where.parts)}:{frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


class StatementLog:
    """The SELECTs the app sends to the database while ``recording`` is set, and who sent them."""

    def __init__(self) -> None:
        self.recording = False
        self.statements: list[tuple[str, Any, str]] = []

    def attach(self, engine: Any) -> None:
        event.listen(engine, "before_cursor_execute", self._hook)

    def _hook(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.recording and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.statements.append((statement, parameters, _caller()))

    def take(self) -> list[tuple[str, Any, str]]:
        taken, self.statements = self.statements, []
        return taken


@dataclass
class Endpoint:
    key: str
    label: str
    url: str
    client: FlaskClient
    check: Callable[[TestResponse], None]
    repeat: int
    warmup: int
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Untimed steps around each request (e.g. a change to the list just before it).
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None
    samples: list[float] = field(default_factory=list)
    statements: list[tuple[str, Any, str]] = field(default_factory=list)
    body_bytes: int = 0
    sql_ms: float | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000


def warm_up(endpoint: Endpoint, log: StatementLog | None) -> None:
    """Untimed requests; the last one records the SQL the endpoint sends."""
    for attempt in range(endpoint.warmup):
        last = attempt == endpoint.warmup - 1
        if log is not None and last:
            log.take()
            log.recording = True
        if endpoint.before is not None:
            endpoint.before()
        response = endpoint.client.get(endpoint.url, headers=endpoint.headers)
        response.get_data()
        if endpoint.after is not None:
            endpoint.after()
        if log is not None and last:
            log.recording = False
            endpoint.statements = log.take()
        endpoint.check(response)


def time_once(endpoint: Endpoint) -> TestResponse:
    if endpoint.before is not None:
        endpoint.before()
    started = time.perf_counter()
    response = endpoint.client.get(endpoint.url, headers=endpoint.headers)
    body = response.get_data()
    endpoint.samples.append(time.perf_counter() - started)
    if endpoint.after is not None:
        endpoint.after()
    if response.status_code != endpoint.status:
        raise SystemExit(f"{endpoint.url} answered {response.status_code}")
    endpoint.body_bytes = len(body)
    return response


def measure(endpoints: list[Endpoint], log: StatementLog) -> None:
    """Warm every endpoint up, then time them in turns, one request each per round.

    Taking turns spreads any drift of the machine (another process, CPU frequency) over
    all endpoints alike, so the ratios between them hold even when absolute times move.
    """
    for endpoint in endpoints:
        progress(f"warming up ({endpoint.key}) {endpoint.url[:90]}")
        warm_up(endpoint, log if endpoint.key != "a" else None)
    gc.collect()
    last: dict[str, TestResponse] = {}
    rounds = max(endpoint.repeat for endpoint in endpoints)
    progress(f"timing {len(endpoints)} endpoints in {rounds} rounds")
    for round_number in range(rounds):
        for endpoint in endpoints:
            if round_number < endpoint.repeat:
                last[endpoint.key] = time_once(endpoint)
    for endpoint in endpoints:
        endpoint.check(last[endpoint.key])


def rerun_sql(database: Path, endpoint: Endpoint, times: int, found: list[dict[str, Any]]) -> None:
    """Run the endpoint's statements straight on sqlite3: how much of it is the database."""
    connection = sqlite3.connect(database)
    try:
        total = 0.0
        for statement, parameters, caller in endpoint.statements:
            runs = []
            for _ in range(times):
                started = time.perf_counter()
                rows = connection.execute(statement, parameters).fetchall()
                runs.append(time.perf_counter() - started)
            cost = statistics.median(runs) * 1000
            total += cost
            found.append(
                {
                    "endpoint": endpoint.key,
                    "sql": statement,
                    "parameters": parameters,
                    "caller": caller,
                    "ms": cost,
                    "rows": len(rows),
                }
            )
        endpoint.sql_ms = total
    finally:
        connection.close()


def query_plan(database: Path, statement: str, parameters: Any) -> list[str]:
    connection = sqlite3.connect(database)
    try:
        plan = connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
    finally:
        connection.close()
    return [detail for _id, _parent, _unused, detail in plan]


def short_sql(statement: str, width: int = 96) -> str:
    text = " ".join(statement.split())
    text = re.sub(
        r"^SELECT (.{40,}?) FROM",
        lambda m: f"SELECT <{m.group(1).count(',') + 1} cols> FROM",
        text,
    )
    for long, short in (
        ("signature.", ""),
        (" JOIN letter_version ON letter_version.id = version_id", " JOIN letter_version"),
        ("count(*) AS count_1", "count(*)"),
    ):
        text = text.replace(long, short)
    return text if len(text) <= width else text[: width - 1] + "…"


# --- Checks: each answer must be the right one, not only fast -------------------------------


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"check failed: {message}")


def row_count(html: str) -> int:
    return html.count('<th scope="row">')


def check_html(*needles: str, rows: int | None = None) -> Callable[[TestResponse], None]:
    def check(response: TestResponse) -> None:
        expect(response.status_code == 200, f"status {response.status_code}")
        html = response.get_data(as_text=True)
        for needle in needles:
            expect(needle in html, f"{needle!r} not on the page")
        if rows is not None:
            expect(row_count(html) == rows, f"{row_count(html)} rows on the page, not {rows}")

    return check


def check_first_row(name: str, rows: int | None) -> Callable[[TestResponse], None]:
    """The page's first row is the signature right after the cursor."""

    def check(response: TestResponse) -> None:
        check_html(rows=rows)(response)
        expect(row_count(response.get_data(as_text=True)) > 0, "no rows on the page")
        html = response.get_data(as_text=True)
        first = html.index('<th scope="row">')
        expect(str(escape(name)) in html[first : first + 600], f"first row is not {name!r}")

    return check


def check_api(
    rows: int, first_id: int, next_cursor: str | None = None
) -> Callable[[TestResponse], None]:
    def check(response: TestResponse) -> None:
        expect(response.status_code == 200, f"status {response.status_code}")
        payload = json.loads(response.get_data())
        items = payload["signatures"]
        expect(len(items) == rows, f"{len(items)} signatures, not {rows}")
        expect(items[0]["id"] == first_id, f"first id {items[0]['id']}, not {first_id}")
        order = [(datetime.fromisoformat(item["signed_at"]), item["id"]) for item in items]
        expect(order == sorted(order), "signatures out of order")
        if next_cursor is not None:
            expect(payload["next_cursor"] == next_cursor, "next_cursor is not the 100th row")

    return check


def check_live(total: int) -> Callable[[TestResponse], None]:
    def check(response: TestResponse) -> None:
        expect(response.status_code == 200, f"status {response.status_code}")
        payload = json.loads(response.get_data())
        expect(payload["counts"]["total"] == total, f"live total {payload['counts']['total']}")
        expect(len(payload["latest"]) == 10, f"{len(payload['latest'])} latest, not 10")
        expect(bool(response.headers.get("ETag")), "no ETag")

    return check


def check_not_modified(response: TestResponse) -> None:
    expect(response.status_code == 304, f"status {response.status_code}, not 304")
    expect(response.get_data() == b"", "a 304 with a body")


def check_feed(response: TestResponse) -> None:
    expect(response.status_code == 200, f"status {response.status_code}")
    expect(response.get_data().count(b"<entry>") == 50, "the feed does not hold 50 entries")


def check_download(expected_rows: int) -> Callable[[TestResponse], None]:
    def check(response: TestResponse) -> None:
        expect(response.status_code == 200, f"status {response.status_code}")
        rows = len(json.loads(response.get_data())["signatures"])
        expect(rows == expected_rows, f"{rows} JSON rows, not {expected_rows}")

    return check


def check_csv(expected_rows: int) -> Callable[[TestResponse], None]:
    def check(response: TestResponse) -> None:
        expect(response.status_code == 200, f"status {response.status_code}")
        expect(response.mimetype == "text/csv", f"content type {response.content_type}")
        text = response.get_data(as_text=True)
        expect(text.startswith("\ufeff"), "no byte-order mark")
        records = sum(1 for _ in csv.reader(io.StringIO(text[1:])))
        expect(records == expected_rows + 1, f"{records - 1} CSV rows, not {expected_rows}")

    return check


# --- The run -------------------------------------------------------------------------------


def rows_in_order(kind: str | None, offset: int, count: int) -> list[Any]:
    """Published rows of the letter in list order (published_at, id), from ``offset``."""
    query = (
        select(Signature.id, Signature.published_at, Signature.organization, Signature.name)
        .join(Letter, Letter.id == Signature.letter_id)
        .where(Letter.slug == SLUG, Signature.status == SignatureStatus.PUBLISHED)
        .order_by(Signature.published_at, Signature.id)
        .offset(offset)
        .limit(count)
    )
    if kind is not None:
        query = query.where(Signature.kind == kind)
    return list(db.session.execute(query))


def cursor_of(row: Any) -> str:
    return cursors.encode_cursor(cursors.Cursor(row.published_at, row.id))


def rows_sorted(
    sort: str, offset: int, count: int, *conditions: Any, kind: str | None = "organization"
) -> list[Any]:
    """Published rows in one of the list's orders (signed, newest, name), from ``offset``."""
    order = {
        "signed": (Signature.published_at, Signature.id),
        "newest": (Signature.published_at.desc(), Signature.id.desc()),
        "name": (Signature.sort_key, Signature.id),
    }[sort]
    query = (
        select(
            Signature.id,
            Signature.published_at,
            Signature.organization,
            Signature.name,
            Signature.sort_key,
        )
        .join(Letter, Letter.id == Signature.letter_id)
        .where(Letter.slug == SLUG, Signature.status == SignatureStatus.PUBLISHED, *conditions)
        .order_by(*order)
        .offset(offset)
        .limit(count)
    )
    if kind is not None:
        query = query.where(Signature.kind == kind)
    return list(db.session.execute(query))


def name_cursor_of(row: Any) -> str:
    return cursors.encode_name_cursor(cursors.NameCursor(row.sort_key, row.id))


def matching(term: str) -> Any:
    """The condition the list's name search applies for ``term`` (wildcards left out)."""
    return Signature.search_key.like(f"%{search_text(term)}%")


def count_matching(*conditions: Any, kind: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Signature)
        .join(Letter, Letter.id == Signature.letter_id)
        .where(
            Letter.slug == SLUG,
            Signature.status == SignatureStatus.PUBLISHED,
            Signature.kind == kind,
            *conditions,
        )
    )


def page_rows(*conditions: Any, kinds: Sequence[str] = ("organization", "individual")) -> int:
    """Rows on a first page that shows ``kinds``, each section holding up to a page."""
    return sum(min(PAGE_SIZE, count_matching(*conditions, kind=kind)) for kind in kinds)


def deep_offset(section_size: int, target: int) -> int:
    """``target`` rows in, or three quarters of a smaller section, on a page boundary."""
    return max(PAGE_SIZE, min(target, section_size * 3 // 4) // PAGE_SIZE * PAGE_SIZE)


class ListChange:
    """Makes each request see a list that has just changed, then puts the revision back.

    The app keeps counts per list revision; moving the revision to a value never used
    before (and back after the request) makes that one request count everything again,
    as the first visitor after a new signature does, without disturbing the others.
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        self.fresh = 10**9
        self.saved: int | None = None

    def _set(self, value: int | None) -> int:
        connection = sqlite3.connect(self.database, isolation_level=None)
        try:
            (current,) = connection.execute(
                "SELECT list_revision FROM letter WHERE slug = ?", (SLUG,)
            ).fetchone()
            if value is not None:
                connection.execute(
                    "UPDATE letter SET list_revision = ? WHERE slug = ?", (value, SLUG)
                )
        finally:
            connection.close()
        return current

    def before(self) -> None:
        self.fresh += 1
        self.saved = self._set(self.fresh)

    def after(self) -> None:
        self._set(self.saved)


def check_ties(app: Flask) -> str:
    """A cursor inside the largest group of organizations published at one instant.

    The next page must start with the group's second row: the keyset compares
    (published_at, id), not published_at alone.
    """
    published = (Signature.kind == SignatureKind.ORGANIZATION) & (
        Signature.status == SignatureStatus.PUBLISHED
    )
    with app.app_context():
        instant, size = db.session.execute(
            select(Signature.published_at, func.count())
            .where(published)
            .group_by(Signature.published_at)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        if size < 2:
            db.session.remove()
            return "no two organizations share a publication time"
        first, second = db.session.execute(
            select(Signature.id, Signature.organization)
            .where(published, Signature.published_at == instant)
            .order_by(Signature.id)
            .limit(2)
        ).all()
        db.session.remove()
    after = cursors.encode_cursor(cursors.Cursor(instant, first.id))
    url = f"/letters/{SLUG}/signatories?section=organization&after={after}"
    check_first_row(second.organization, None)(app.test_client().get(url))
    return f"{size:,} organizations published at {instant:%Y-%m-%d %H:%M:%S}"


def build_endpoints(
    app: Flask, data: Dataset, args: argparse.Namespace
) -> tuple[list[Endpoint], dict[str, Any]]:
    client = app.test_client()
    bare = bare_app().test_client()
    countries_by_size = Counter()
    for (_kind, country), count in data.by_kind_country.items():
        countries_by_size[country] += count
    ranked = [code for code, _ in countries_by_size.most_common()]
    mid_country, rare_country = ranked[min(9, len(ranked) - 1)], ranked[-1]

    def country_rows(code: str) -> int:
        kinds = ("organization", "individual")
        return sum(min(PAGE_SIZE, data.by_kind_country[kind, code]) for kind in kinds)

    with app.app_context():
        org_offset = deep_offset(data.organizations, args.deep_offset)
        cursor_row, org_first = rows_in_order("organization", org_offset - 1, 2)
        org_cursor = cursor_of(cursor_row)
        api_offset = deep_offset(data.total, args.deep_offset)
        api_cursor_row, api_first = rows_in_order(None, api_offset - 1, 2)
        api_cursor = cursor_of(api_cursor_row)
        (first_row,) = rows_in_order(None, 0, 1)
        (hundredth,) = rows_in_order(None, PAGE_SIZE - 1, 1)
        (first_org,) = rows_in_order("organization", 0, 1)
        db.session.remove()

    base = f"/letters/{SLUG}"
    api = f"/api/v1/letters/{SLUG}/signatures?limit={PAGE_SIZE}"
    r, w = args.repeat, args.warmup
    org_page = org_offset // PAGE_SIZE + 1
    api_page = api_offset // PAGE_SIZE + 1
    endpoints = [
        Endpoint("a", "bare Flask app, one route (baseline)", "/", bare,
                 check_html("Hello, world."), r, w),
        Endpoint("b", "letter page", base, client,
                 check_html(f'<span class="count" data-live-total>{data.total}</span>'), r, w),
        Endpoint("c", "list page 1 (both sections)", f"{base}/signatories", client,
                 check_html("More organizations", "More individuals", rows=2 * PAGE_SIZE), r, w),
        Endpoint("c1", "list page 1, organizations only",
                 f"{base}/signatories?section=organization", client,
                 check_first_row(first_org.organization, PAGE_SIZE), r, w),
        Endpoint("d", f"list page {org_page}, organizations (after row {org_offset:,})",
                 f"{base}/signatories?section=organization&after={org_cursor}", client,
                 check_first_row(org_first.organization, PAGE_SIZE), r, w),
        Endpoint("e", f"API page 1 (limit={PAGE_SIZE})", api, client,
                 check_api(PAGE_SIZE, first_row.id, cursor_of(hundredth)), r, w),
        Endpoint("f", f"API page {api_page} (after row {api_offset:,})",
                 f"{api}&cursor={api_cursor}", client,
                 check_api(PAGE_SIZE, api_first.id), r, w),
        Endpoint("g", f"list page 1, country={mid_country} "
                 f"({countries_by_size[mid_country]:,} signatures)",
                 f"{base}/signatories?country={mid_country}", client,
                 check_html(rows=country_rows(mid_country)), r, w),
        Endpoint("g1", f"list page 1, country={rare_country} "
                 f"({countries_by_size[rare_country]:,} signatures)",
                 f"{base}/signatories?country={rare_country}", client,
                 check_html(rows=country_rows(rare_country)), r, w),
        Endpoint("h", "full CSV download", f"{base}/signatories.csv", client,
                 check_csv(data.total), args.csv_repeat, 1),
    ]  # fmt: skip
    found, found_facts = find_endpoints(app, data, args, client, mid_country, rare_country)
    endpoints.extend(found)
    facts = {"org_page": org_page, "api_page": api_page, **found_facts}
    return endpoints, facts


COMMON_WORD = "foundation"  # in many organization names
ACCENTED = "sao paulo"  # finds "São Paulo" only with accents folded
RARE_TYPE = "faith"  # 5% of the organizations


def find_endpoints(
    app: Flask,
    data: Dataset,
    args: argparse.Namespace,
    client: FlaskClient,
    mid_country: str,
    rare_country: str,
) -> tuple[list[Endpoint], dict[str, Any]]:
    """The list's filters, search and orders, first and deep pages; live, charts, reuse."""
    with app.app_context():
        (first_by_name,) = rows_sorted("name", 0, 1)
        name_offset = deep_offset(data.organizations, args.deep_offset)
        name_cursor_row, name_first = rows_sorted("name", name_offset - 1, 2)
        (newest,) = rows_sorted("newest", 0, 1)
        newest_cursor_row, newest_first = rows_sorted("newest", name_offset - 1, 2)
        word = matching(COMMON_WORD)
        word_matches = count_matching(word, kind="organization")
        word_offset = deep_offset(word_matches, args.deep_offset)
        word_cursor_row, word_first = rows_sorted("signed", word_offset - 1, 2, word)
        faith = Signature.organization_type == RARE_TYPE
        faith_matches = count_matching(faith, kind="organization")
        faith_offset = deep_offset(faith_matches, args.deep_offset)
        faith_cursor_row, faith_first = rows_sorted("signed", faith_offset - 1, 2, faith)
        (unique_row,) = rows_sorted("signed", name_offset, 1)
        unique_name = unique_row.organization
        everything = (
            Signature.country == mid_country,
            Signature.organization_type == "ngo",
            Signature.domain_verified.is_(True),
            matching(COMMON_WORD),
        )
        counts = {
            "accented": page_rows(matching(ACCENTED)),
            "unique": page_rows(matching(unique_name)),
            "verified": page_rows(Signature.domain_verified.is_(True), kinds=["organization"]),
            "rare_name": page_rows(Signature.country == rare_country),
            "everything": page_rows(*everything, kinds=["organization"]),
        }
        live_etag = client.get(f"/letters/{SLUG}/live.json").headers["ETag"]
        db.session.remove()

    base = f"/letters/{SLUG}"
    lst = f"{base}/signatories"
    r, w = args.repeat, args.warmup
    name_page = name_offset // PAGE_SIZE + 1
    word_page = word_offset // PAGE_SIZE + 1
    faith_page = faith_offset // PAGE_SIZE + 1
    unique_q = quote_plus(unique_name[:100])
    change = ListChange(data.database)
    endpoints = [
        Endpoint("n1", "list page 1, organizations by name",
                 f"{lst}?section=organization&sort=name", client,
                 check_first_row(first_by_name.organization, PAGE_SIZE), r, w),
        Endpoint("n2", f"list page {name_page} by name (after row {name_offset:,})",
                 f"{lst}?section=organization&sort=name&after={name_cursor_of(name_cursor_row)}",
                 client, check_first_row(name_first.organization, PAGE_SIZE), r, w),
        Endpoint("n3", "list page 1, organizations newest first",
                 f"{lst}?section=organization&sort=newest", client,
                 check_first_row(newest.organization, PAGE_SIZE), r, w),
        Endpoint("n4", f"list page {name_page} newest first (after row {name_offset:,})",
                 f"{lst}?section=organization&sort=newest&after={cursor_of(newest_cursor_row)}",
                 client, check_first_row(newest_first.organization, PAGE_SIZE), r, w),
        Endpoint("n5", f"list page 1 by name, country={rare_country}",
                 f"{lst}?country={rare_country}&sort=name", client,
                 check_html(rows=counts["rare_name"]), r, w),
        Endpoint("s1", f"search q={COMMON_WORD} ({word_matches:,} organizations), page 1",
                 f"{lst}?section=organization&q={COMMON_WORD}", client,
                 check_html(rows=min(PAGE_SIZE, word_matches)), r, w),
        Endpoint("s2", f"search q={COMMON_WORD}, page {word_page} (after match {word_offset:,})",
                 f"{lst}?section=organization&q={COMMON_WORD}&after={cursor_of(word_cursor_row)}",
                 client, check_first_row(word_first.organization, None), r, w),
        Endpoint("s3", f"search q={ACCENTED} (finds São Paulo)",
                 f"{lst}?q={quote_plus(ACCENTED)}", client,
                 check_html(rows=counts["accented"]), r, w),
        Endpoint("s4", "search for one organization's full name",
                 f"{lst}?q={unique_q}", client, check_html(rows=counts["unique"]), r, w),
        Endpoint("s5", "search with no match (reads every row)", f"{lst}?q=zzzzqx", client,
                 check_html(rows=0), r, w),
        Endpoint("t1", f"type={RARE_TYPE} ({faith_matches:,} organizations), page 1",
                 f"{lst}?type={RARE_TYPE}", client,
                 check_html(rows=min(PAGE_SIZE, faith_matches)), r, w),
        Endpoint("t2", f"type={RARE_TYPE}, page {faith_page} (after match {faith_offset:,})",
                 f"{lst}?section=organization&type={RARE_TYPE}&after={cursor_of(faith_cursor_row)}",
                 client, check_first_row(faith_first.organization, None), r, w),
        Endpoint("t3", "verified=yes, page 1", f"{lst}?verified=yes", client,
                 check_html(rows=counts["verified"]), r, w),
        Endpoint("t4", "all filters (q, country, type, verified), by name",
                 f"{lst}?q={COMMON_WORD}&country={mid_country}&type=ngo&verified=yes&sort=name",
                 client, check_html(rows=counts["everything"]), r, w),
        Endpoint("o1", "live.json, full answer (200)",
                 f"{base}/live.json", client, check_live(data.total), r, w),
        Endpoint("o3", "live.json, full answer just after a change",
                 f"{base}/live.json", client, check_live(data.total), r, w,
                 before=change.before, after=change.after),
        Endpoint("c9", "list page 1 just after a change (counts anew)",
                 f"{lst}?section=organization", client,
                 check_html(rows=PAGE_SIZE), r, w, before=change.before, after=change.after),
        Endpoint("s9", f"search q={COMMON_WORD} just after a change",
                 f"{lst}?section=organization&q={COMMON_WORD}", client,
                 check_html(rows=min(PAGE_SIZE, word_matches)), r, w,
                 before=change.before, after=change.after),
        Endpoint("o2", "live.json with If-None-Match: 304 (nothing new)",
                 f"{base}/live.json", client, check_not_modified, r, w, status=304,
                 headers={"If-None-Match": live_etag}),
        Endpoint("p", "charts page (country, type, over time)", f"{base}/stats", client,
                 check_html('id="over-time"'), r, w),
        Endpoint("q", "Atom feed (50 newest)", f"{base}/feed.atom", client, check_feed, r, w),
        Endpoint("r", "widget", f"{base}/widget", client,
                 check_html("Latest organizations"), r, w),
        Endpoint("h2", "full JSON download", f"{base}/signatories.json", client,
                 check_download(data.total), args.csv_repeat, 1),
    ]  # fmt: skip
    facts = {
        "name_page": name_page,
        "word_page": word_page,
        "faith_page": faith_page,
    }
    return endpoints, facts


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.public_list",
        description="Time the public list, API and CSV of a letter with many signatures.",
    )
    parser.add_argument("--signatures", type=int, default=100_000, help="default 100000")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument("--csv-repeat", type=int, default=3, help="timed CSV downloads")
    parser.add_argument(
        "--deep-offset",
        type=int,
        default=50_000,
        help="rows before the deep page (default 50000: page 501 of 100)",
    )
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE after loading")
    parser.add_argument(
        "--explain", action="store_true", help="print the query plan of the slowest statements"
    )
    args = parser.parse_args(argv)
    if args.signatures < 1000:
        parser.error("--signatures must be at least 1000")
    if min(args.repeat, args.warmup, args.csv_repeat) < 1:
        parser.error("--repeat, --warmup and --csv-repeat must be at least 1")
    return args


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, tmp: Path) -> int:
    database = tmp / "bench.sqlite3"
    app = create_app(app_config(tmp, database))
    progress(f"building the database with {args.signatures:,} published signatures")
    started = time.perf_counter()
    data = build_dataset(app, database, args.signatures, args.seed, args.analyze)
    setup_seconds = time.perf_counter() - started

    log = StatementLog()
    with app.app_context():
        log.attach(db.engine)
    endpoints, facts = build_endpoints(app, data, args)
    facts["ties"] = check_ties(app)
    measure(endpoints, log)

    progress("re-running the SQL of each request directly on sqlite3")
    found: list[dict[str, Any]] = []
    for endpoint in endpoints[1:]:
        downloads = endpoint.key.startswith("h")
        rerun_sql(database, endpoint, 1 if downloads else min(args.repeat, 10), found)

    with app.app_context():
        db.engine.dispose()
    report(args, data, setup_seconds, endpoints, facts, found)
    return 0


def report(
    args: argparse.Namespace,
    data: Dataset,
    setup_seconds: float,
    endpoints: list[Endpoint],
    facts: dict[str, Any],
    found: list[dict[str, Any]],
) -> None:
    by_key = {endpoint.key: endpoint for endpoint in endpoints}
    baseline = by_key["a"].median_ms
    countries = len({country for _, country in data.by_kind_country})
    size_mb = data.database.stat().st_size / 1e6
    print()
    print(
        f"signatory public list benchmark: {data.total:,} published signatures "
        f"({data.organizations:,} organizations, {data.individuals:,} individuals, "
        f"{countries} countries)"
    )
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"Flask {package_version('flask')}, SQLAlchemy {package_version('sqlalchemy')}; "
        f"ANALYZE {'run' if args.analyze else 'not run (as the app ships)'}"
    )
    phases = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in data.phases.items())
    print(f"setup: {setup_seconds:.1f} s ({phases}); database file {size_mb:.1f} MB")
    print(
        f"timing: Flask test client in this process, {args.warmup} warm-up then "
        f"{args.repeat} timed requests per page (CSV: 1 then {args.csv_repeat}), taken in "
        "turns; p95 is nearest-rank"
    )
    print()
    header = (
        f"{'':3} {'endpoint':<50} {'median ms':>10} {'p95 ms':>9} {'x baseline':>11} "
        f"{'queries':>8} {'SQL ms':>8} {'KB':>8}"
    )
    print(header)
    print("-" * len(header))
    for endpoint in endpoints:
        queries = str(len(endpoint.statements)) if endpoint.key != "a" else "-"
        sql = f"{endpoint.sql_ms:.1f}" if endpoint.sql_ms is not None else "-"
        print(
            f"{endpoint.key:<3} {endpoint.label:<50} {endpoint.median_ms:>10.2f} "
            f"{endpoint.p95_ms:>9.2f} {endpoint.median_ms / baseline:>11.1f} "
            f"{queries:>8} {sql:>8} {endpoint.body_bytes / 1024:>8.1f}"
        )
    print()
    print("URLs:")
    for endpoint in endpoints:
        print(f"  ({endpoint.key}) {endpoint.url}")
    print()
    list_ratio = by_key["d"].median_ms / by_key["c1"].median_ms
    list_ratio_c = by_key["d"].median_ms / by_key["c"].median_ms
    api_ratio = by_key["f"].median_ms / by_key["e"].median_ms
    print("deep page / first page (medians; the claim: page 500 costs what page 1 costs):")
    print(
        f"  list: page {facts['org_page']} / page 1, same section (d/c1) = {list_ratio:.2f}"
        f"   [vs the two-section page 1 (d/c) = {list_ratio_c:.2f}]"
    )
    print(f"  API:  page {facts['api_page']} / page 1 (f/e) = {api_ratio:.2f}")
    for label, deep, first, page in (
        ("by name", "n2", "n1", facts["name_page"]),
        ("newest first", "n4", "n3", facts["name_page"]),
        (f"search q={COMMON_WORD}", "s2", "s1", facts["word_page"]),
        (f"type={RARE_TYPE}", "t2", "t1", facts["faith_page"]),
    ):
        ratio = by_key[deep].median_ms / by_key[first].median_ms
        print(f"  {label}: page {page} / page 1 ({deep}/{first}) = {ratio:.2f}")
    print(
        f"  checked: deep pages start at the row after their cursor, also inside a tie "
        f"({facts['ties']})"
    )
    full, fresh, unchanged = by_key["o1"], by_key["o3"], by_key["o2"]
    print(
        f"live: a poll while nothing changed (o2, 304) {unchanged.median_ms:.2f} ms, "
        f"{len(unchanged.statements)} queries; a full answer (o1) {full.median_ms:.2f} ms, "
        f"{fresh.median_ms:.2f} ms just after a change (o3); one worker answers about "
        f"{1000 / unchanged.median_ms:,.0f} unchanged polls/s "
        f"(= {5000 / unchanged.median_ms:,.0f} watchers polling every 5 s, before any cache)"
    )
    print(
        "counts are kept per list revision: the list page just after a change "
        f"(c9) {by_key['c9'].median_ms:.2f} ms vs between changes (c1) "
        f"{by_key['c1'].median_ms:.2f} ms; search (s9/s1) {by_key['s9'].median_ms:.2f} / "
        f"{by_key['s1'].median_ms:.2f} ms"
    )
    csv_endpoint = by_key["h"]
    seconds = statistics.median(csv_endpoint.samples)
    megabytes = csv_endpoint.body_bytes / 1e6
    print(
        f"CSV: {data.total:,} rows, {megabytes:.1f} MB in {seconds:.2f} s (median of "
        f"{len(csv_endpoint.samples)}): {megabytes / seconds:.1f} MB/s, "
        f"{data.total / seconds:,.0f} rows/s; {len(csv_endpoint.statements)} queries, "
        f"{csv_endpoint.sql_ms or 0:.0f} ms of it SQL"
    )
    json_endpoint = by_key["h2"]
    seconds = statistics.median(json_endpoint.samples)
    megabytes = json_endpoint.body_bytes / 1e6
    print(
        f"JSON: {data.total:,} rows, {megabytes:.1f} MB in {seconds:.2f} s (median of "
        f"{len(json_endpoint.samples)}): {megabytes / seconds:.1f} MB/s, "
        f"{data.total / seconds:,.0f} rows/s"
    )
    print()
    print(
        "slowest SQL statements (each re-run alone on sqlite3, median ms; "
        "'SQL ms' above sums them per request):"
    )
    slowest: dict[str, dict[str, Any]] = {}
    for item in found:
        if item["endpoint"].startswith("h"):
            continue
        known = slowest.get(item["sql"])
        if known is None or item["ms"] > known["ms"]:
            slowest[item["sql"]] = {**item, "endpoints": (known or {}).get("endpoints", set())}
        slowest[item["sql"]]["endpoints"].add(item["endpoint"])
    ranked = sorted(slowest.values(), key=lambda item: item["ms"], reverse=True)[:8]
    for item in ranked:
        where = ",".join(sorted(item["endpoints"]))
        print(f"  {item['ms']:7.2f} ms {item['rows']:>5} rows  {item['caller']}  [{where}]")
        print(f"{'':25}{short_sql(item['sql'], 110)}")
        if args.explain:
            for line in query_plan(data.database, item["sql"], item["parameters"]):
                print(f"{'':25}plan: {line}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="signatory-bench-") as tmp:
        return run(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
