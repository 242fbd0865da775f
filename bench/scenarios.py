"""The load run's scenarios: what each one asks, how it is prepared, what it must answer.

Every request is made ready in Python before wrk starts: the sign form's CSRF token and
the session cookie it is bound to (Flask-WTF keeps the token's secret in the session),
the cursor of the list's 500th page, the live endpoint's ETag, a coordinator signed in
through the real form, a file of unused confirmation links. Each page is fetched once
and checked first: a scenario whose answers are wrong is reported as failed, never fast.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from flask import Flask
from sqlalchemy import ColumnElement, func, select

from bench.seed import OWNER_EMAIL, OWNER_PASSWORD, SeededLetter, add_unconfirmed
from bench.servers import Client, Gunicorn, MemoryWatch
from bench.wrk import Load, Run, run_wrk
from signatory.core.extensions import db
from signatory.core.tokens import current_tokens
from signatory.lists import cursors
from signatory.models import Signature, SignatureStatus

PAGE_SIZE = 100  # PUBLIC_PAGE_SIZE's default; the API is asked for the same
DEEP_PAGE = 500
SEARCH_TERM = "foundation"  # in many organization names
# Confirmation links made before a confirm run: enough for this many confirmations a
# second (then three times the rate measured); a run that uses them up says so.
CONFIRM_RATE_CAP = 1000
ROW_MARKER = b'<th scope="row">'


@dataclass
class Scenario:
    """One wrk scenario: a URL, its script and arguments, the statuses it must answer."""

    key: str
    label: str
    server: Gunicorn
    path: str
    script: str = "get.lua"
    expected: tuple[int, ...] = (200,)
    # The script's arguments for a run of so many seconds (fresh links, a fresh ETag).
    args: Callable[[float], list[str]] = lambda seconds: []
    size: int | None = None
    letter_id: int | None = None
    runs: list[Run] = field(default_factory=list)
    warmups: list[Run] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def answered(self, status: int) -> int:
        """How many answers of every run so far (warm-ups too) had ``status``."""
        return sum(run.statuses.get(str(status), 0) for run in self.warmups + self.runs)

    def drive(self, load: Load, tmp: Path, *, seconds: float | None = None) -> Run:
        length = load.seconds if seconds is None else seconds
        run = run_wrk(
            self.server.base + self.path,
            self.script,
            self.args(length),
            load,
            tmp,
            expected=self.expected,
            seconds=length,
        )
        self.server.settle()
        return run


@dataclass
class Transfer:
    """One streamed download: its rows, size, time and the server's memory growth."""

    rows: int
    megabytes: float
    seconds: float
    growth_mb: float
    idle_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "megabytes": round(self.megabytes, 2),
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second),
            "peak_growth_mb": round(self.growth_mb, 1),
            "idle_rss_mb": round(self.idle_mb, 1),
        }


@dataclass
class Download:
    """A download scenario: ``fetch`` streams it once, ``expected_rows`` says how many rows."""

    key: str
    label: str
    server: Gunicorn
    fetch: Callable[[], Any]
    expected_rows: Callable[[], int]
    size: int
    runs: list[Transfer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def measure(self) -> Transfer:
        expected = self.expected_rows()
        with MemoryWatch(self.server.workers()) as watch:
            started = time.perf_counter()
            lines = size = 0
            for chunk in self.fetch():
                lines += chunk.count(b"\n")
                size += len(chunk)
            seconds = time.perf_counter() - started
        rows = lines - 1  # the header
        if rows != expected:
            self.problems.append(f"{rows:,} rows, not {expected:,}")
        transfer = Transfer(
            rows, size / 1e6, seconds, watch.growth / 1e6, watch.idle_of_busiest / 1e6
        )
        self.runs.append(transfer)
        return transfer


def write_sessions(base: str, path: str, threads: int, target: Path) -> None:
    """A session cookie and the CSRF token bound to it, one line per wrk thread."""
    lines = []
    for _ in range(threads):
        client = Client(base)
        page = client.get(path)
        if page.status != 200:
            raise RuntimeError(f"GET {path} answered {page.status}")
        lines.append(f"{client.cookie_header}\t{page.csrf_token()}")
    target.write_text("\n".join(lines) + "\n")


def _organizations_in_order(app: Flask, letter: SeededLetter, offset: int, count: int) -> list[Any]:
    with app.app_context():
        rows = db.session.execute(
            select(Signature.id, Signature.published_at, Signature.organization)
            .where(
                Signature.letter_id == letter.letter_id,
                Signature.status == SignatureStatus.PUBLISHED,
                Signature.kind == "organization",
            )
            .order_by(Signature.published_at, Signature.id)
            .offset(offset)
            .limit(count)
        ).all()
        db.session.remove()
    return list(rows)


def deep_page(app: Flask, letter: SeededLetter, page: int) -> tuple[int, str, str]:
    """The organizations' page ``page`` (or the deepest there is): its number, URL and first row.

    Its ``after`` cursor is the one the "more" links carry (``lists.cursors``): the
    position of the last row of the page before, in signing order (published_at, id).
    """
    page = max(2, min(page, math.ceil(letter.organizations / PAGE_SIZE)))
    before, first = _organizations_in_order(app, letter, (page - 1) * PAGE_SIZE - 1, 2)
    after = cursors.encode_cursor(cursors.Cursor(before.published_at, before.id))
    path = f"/letters/{letter.slug}/signatories?section=organization&after={after}"
    return page, path, first.organization


def check_first_row(client: Client, path: str, name: str) -> list[str]:
    """Problems with the page at ``path`` whose first row should be ``name``."""
    answer = client.get(path)
    if answer.status != 200:
        return [f"GET {path} answered {answer.status}"]
    start = answer.body.find(ROW_MARKER)
    if start < 0 or html.escape(name, quote=False) not in answer.text[start : start + 1000]:
        return [f"the page does not start at {name!r}"]
    return []


def check_rows(client: Client, path: str, rows: int) -> list[str]:
    answer = client.get(path)
    if answer.status != 200:
        return [f"GET {path} answered {answer.status}"]
    found = answer.body.count(ROW_MARKER)
    return [] if found == rows else [f"{found} rows on the page, not {rows}"]


def live_etag(client: Client, letter: SeededLetter) -> str:
    answer = client.get(f"/letters/{letter.slug}/live.json")
    etag = answer.headers.get("ETag")
    if answer.status != 200 or not etag:
        raise RuntimeError(f"live.json answered {answer.status} without an ETag")
    return etag


def sign_in(base: str) -> Client:
    """A coordinator's client, signed in through the real form (as tests/conftest.py does)."""
    client = Client(base)
    token = client.get("/manage/login").csrf_token()
    answer = client.post(
        "/manage/login", {"csrf_token": token, "email": OWNER_EMAIL, "password": OWNER_PASSWORD}
    )
    if answer.status != 303:
        raise RuntimeError(f"signing in answered {answer.status}")
    return client


class ConfirmLinks:
    """Unused confirmation links for each confirm run, written to a file for wrk."""

    def __init__(self, app: Flask, letter: SeededLetter, tmp: Path) -> None:
        self.app = app
        self.letter = letter
        self.tmp = tmp
        self.rate = float(CONFIRM_RATE_CAP)
        self.made = 0

    def paths(self, seconds: float) -> Path:
        count = max(500, math.ceil(self.rate * seconds))
        rows = add_unconfirmed(self.app, self.letter, count)
        with self.app.app_context():
            tokens = current_tokens()
            lines = [f"/confirm/{tokens.make('confirm', row_id, nonce)}" for row_id, nonce in rows]
        self.made += 1
        target = self.tmp / f"confirm-{self.letter.slug}-{self.made}.txt"
        target.write_text("\n".join(lines) + "\n")
        return target

    def measured(self, run: Run) -> None:
        # Three times the rate seen, never below a floor: the next run will not run short.
        self.rate = max(200.0, 3 * run.rps)


def total_signatures(app: Flask, letter: SeededLetter) -> int:
    """Every signature of ``letter``, in every status: what the coordinators' export holds."""
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).where(Signature.letter_id == letter.letter_id)
        )
        db.session.remove()
    return int(count or 0)


@dataclass
class Plan:
    reads: list[Scenario]
    downloads: list[Download]
    writes: list[Scenario]
    confirm_links: dict[str, ConfirmLinks]
    facts: dict[str, Any]


def build_plan(
    app: Flask,
    signatory: Gunicorn,
    baseline: Gunicorn,
    small: SeededLetter,
    big: list[SeededLetter],
    load: Load,
    tmp: Path,
) -> Plan:
    """Every scenario, prepared and checked once."""
    sessions = tmp / "sessions.tsv"
    write_sessions(signatory.base, f"/letters/{small.slug}", load.threads, sessions)
    # The baseline reads no token; it is sent the same form, as large.
    (tmp / "baseline-sessions.tsv").write_text(sessions.read_text())
    baseline_sessions = tmp / "baseline-sessions.tsv"
    client = Client(signatory.base)
    coordinator = sign_in(signatory.base)
    facts: dict[str, Any] = {}

    reads = [
        Scenario("baseline-hello", "baseline: plain text", baseline, "/hello"),
        Scenario("baseline-list", "baseline: 100-row list page (Jinja)", baseline, "/items"),
    ]
    problems = check_rows(Client(baseline.base), "/items", PAGE_SIZE)
    if problems:
        reads[1].problems.extend(problems)
    downloads: list[Download] = []
    writes = [
        Scenario(
            "baseline-insert", "baseline: one-row insert POST", baseline, "/rows",
            script="sign.lua", expected=(303,),
            args=_sign_args("/rows", baseline_sessions, "b"),
        ),
        _sign_scenario(signatory, small, sessions),
    ]  # fmt: skip
    links: dict[str, ConfirmLinks] = {}
    for letter in big:
        n = letter.published
        base = f"/letters/{letter.slug}"
        page, deep_path, first = deep_page(app, letter, DEEP_PAGE)
        sizes = letter.country_sizes()
        country = list(sizes)[min(9, len(sizes) - 1)]
        facts[letter.slug] = {"deep_page": page, "country": country, "country_rows": sizes[country]}
        letter_reads = [
            Scenario(f"letter-{n}", f"letter page, {n:,} signatures", signatory, base, size=n),
            Scenario(f"list1-{n}", f"list page 1, {n:,}", signatory, f"{base}/signatories", size=n),
            Scenario(
                f"list1org-{n}", f"list page 1, organizations, {n:,}", signatory,
                f"{base}/signatories?section=organization", size=n,
            ),
            Scenario(
                f"list500-{n}", f"list page {page}, organizations, {n:,}", signatory,
                deep_path, size=n,
            ),
            Scenario(
                f"country-{n}", f"list filtered, country={country}, {n:,}", signatory,
                f"{base}/signatories?country={country}", size=n,
            ),
            Scenario(
                f"search-{n}", f"list searched, q={SEARCH_TERM}, {n:,}", signatory,
                f"{base}/signatories?q={quote_plus(SEARCH_TERM)}", size=n,
            ),
            Scenario(
                f"live304-{n}", f"live poll answering 304, {n:,}", signatory,
                f"{base}/live.json", expected=(304,), size=n,
                args=_live_args(client, letter),
            ),
            Scenario(
                f"api-{n}", f"API signatures page, {n:,}", signatory,
                f"/api/v1/letters/{letter.slug}/signatures?limit={PAGE_SIZE}", size=n,
            ),
        ]  # fmt: skip
        letter_reads[1].problems.extend(check_rows(client, f"{base}/signatories", 2 * PAGE_SIZE))
        letter_reads[3].problems.extend(check_first_row(client, deep_path, first))
        reads.extend(letter_reads)
        downloads.append(
            Download(
                f"csv-{n}", f"public CSV, {n:,} rows", signatory,
                fetch=_get_stream(client, f"{base}/signatories.csv"),
                expected_rows=_constant(n), size=n,
            )
        )  # fmt: skip
        downloads.append(
            Download(
                f"export-{n}", f"coordinator export (CSV), {n:,} rows", signatory,
                fetch=_export_stream(coordinator, letter),
                expected_rows=_total(app, letter), size=n,
            )
        )  # fmt: skip
        writes.append(_sign_scenario(signatory, letter, sessions))
        links[letter.slug] = ConfirmLinks(app, letter, tmp)
        writes.append(
            Scenario(
                f"confirm-{n}", f"confirm POST, {n:,} signatures", signatory, "/confirm/",
                script="confirm.lua", expected=(200,), size=n, letter_id=letter.letter_id,
                args=_confirm_args(links[letter.slug], sessions, load.threads),
            )
        )  # fmt: skip
    for scenario in reads:
        if scenario.script == "get.lua":
            answer = Client(scenario.server.base).get(scenario.path, **_headers(scenario.args(0.0)))
            if answer.status not in scenario.expected:
                scenario.problems.append(f"GET {scenario.path} answered {answer.status}")
    return Plan(reads, downloads, writes, links, facts)


def _headers(args: list[str]) -> dict[str, str]:
    return dict(arg.split(": ", 1) for arg in args if ": " in arg)


def _sign_args(path: str, sessions: Path, side: str) -> Callable[[float], list[str]]:
    made = [0]

    def args(seconds: float) -> list[str]:
        made[0] += 1  # each run its own emails and organizations
        return [path, str(sessions), f"{side}{made[0]}x{int(time.time()) % 100_000}"]

    return args


def _sign_scenario(server: Gunicorn, letter: SeededLetter, sessions: Path) -> Scenario:
    n = letter.published
    path = f"/letters/{letter.slug}/sign"
    return Scenario(
        f"sign-{n}", f"sign POST, {n:,} signatures", server, path, script="sign.lua",
        expected=(303,), size=n, letter_id=letter.letter_id,
        args=_sign_args(path, sessions, f"s{n}"),
    )  # fmt: skip


def _live_args(client: Client, letter: SeededLetter) -> Callable[[float], list[str]]:
    # Fetched afresh before each run: a write scenario may have moved the revision.
    return lambda seconds: [f"If-None-Match: {live_etag(client, letter)}"]


def _confirm_args(
    links: ConfirmLinks, sessions: Path, threads: int
) -> Callable[[float], list[str]]:
    return lambda seconds: [str(sessions), str(links.paths(seconds)), str(threads)]


def _constant(n: int) -> Callable[[], int]:
    return lambda: n


def _total(app: Flask, letter: SeededLetter) -> Callable[[], int]:
    return lambda: total_signatures(app, letter)


def _get_stream(client: Client, path: str) -> Callable[[], Any]:
    return lambda: client.stream("GET", path)


def _export_stream(coordinator: Client, letter: SeededLetter) -> Callable[[], Any]:
    def fetch() -> Any:
        token = coordinator.get(f"/manage/letters/{letter.slug}/export").csrf_token()
        return coordinator.stream(
            "POST", f"/manage/letters/{letter.slug}/export.csv", {"csrf_token": token}
        )

    return fetch


def verify_writes(app: Flask, writes: list[Scenario], since: datetime, connections: int) -> None:
    """Each 303 to a sign POST made a signature, each 200 to a confirm POST confirmed one.

    A run ends with up to ``connections`` requests in flight, whose answers wrk no longer
    counts but which the server still carries out: so many more rows per run are fine.
    """
    with app.app_context():
        for scenario in writes:
            if scenario.letter_id is None:
                continue
            of_letter = Signature.letter_id == scenario.letter_id
            made: ColumnElement[bool]
            if scenario.script == "sign.lua":
                made = Signature.email.like("signer@%.bench.example.org")
                expected, what = scenario.answered(303), "signatures made"
            else:
                made = Signature.confirmed_at >= since
                expected, what = scenario.answered(200), "signatures confirmed"
            found = db.session.scalar(select(func.count()).where(of_letter, made)) or 0
            in_flight = connections * len(scenario.warmups + scenario.runs)
            if not expected <= found <= expected + in_flight:
                scenario.problems.append(
                    f"{found:,} {what}, for {expected:,} answers saying so "
                    f"(and at most {in_flight:,} left in flight)"
                )
        db.session.remove()
