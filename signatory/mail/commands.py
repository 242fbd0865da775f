"""``flask mail send``, ``flask mail worker`` and ``flask mail retry``: deliver what waits
in the outbox, and put back what failed.

Other modules add their own mail commands to the group (``notifications``: ``digest``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.accounting import RetryCount, RetrySelection, count_retryable, requeue
from signatory.mail.backends import MailBackend, MailURLError, backend_from_url
from signatory.mail.claims import WorkerSettings
from signatory.mail.worker import SendCounts, run_worker, send_due
from signatory.models import Letter

mail_cli = AppGroup("mail", help="Send the email waiting in the outbox, and the digests.")


def _backend() -> MailBackend:
    try:
        return backend_from_url(str(current_app.config["MAIL_URL"]))
    except MailURLError as exc:
        # click.ClickException exits with status 1 and prints just the message.
        raise click.ClickException(f"{exc} (set SIGNATORY_MAIL_URL)") from None


def _settings() -> WorkerSettings:
    try:
        return WorkerSettings.from_config(current_app.config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _summary(counts: SendCounts) -> str:
    return f"{counts.sent} sent, {counts.retried} to retry later, {counts.failed} failed"


@mail_cli.command("send")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many messages.")
def send_command(limit: int | None) -> None:
    """Send every message that is due, once, and report what happened."""
    backend = _backend()
    counts = send_due(db.session, backend, limit=limit, settings=_settings())
    click.echo(f"Mail to {backend.describe()}: {_summary(counts)}.")


@mail_cli.command("worker")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    help="Seconds between passes over the outbox (default: SIGNATORY_MAIL_WORKER_INTERVAL).",
)
def worker_command(interval: float | None) -> None:
    """Keep sending until stopped (SIGTERM or Ctrl-C); also run the chores (purges, digests)."""
    backend = _backend()
    settings = _settings()
    if interval is None:
        interval = float(current_app.config["MAIL_WORKER_INTERVAL"])
    click.echo(
        f"Mail worker sending to {backend.describe()}, every {interval:g} s, up to "
        f"{settings.batch_size} messages at a time (lease {settings.lease.total_seconds():g} s). "
        "Stop with Ctrl-C."
    )

    def report(counts: SendCounts) -> None:
        # Timestamped: this output usually ends up in a service log.
        click.echo(f"{utcnow():%Y-%m-%d %H:%M:%S} UTC: {_summary(counts)}")

    totals = run_worker(db.session, backend, interval=interval, on_pass=report, settings=settings)
    click.echo(f"Mail worker stopped: {_summary(totals)} in all.")


_AGE = re.compile(r"(\d{1,6})\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Age(click.ParamType):
    """A span of time such as ``30m``, ``12h``, ``2d`` or ``1w``; with ``moments``, also an
    ISO date or date and time (UTC unless it says otherwise)."""

    name = "age"

    def __init__(self, *, moments: bool = False) -> None:
        self.moments = moments

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (timedelta, datetime)):
            return value
        text = str(value).strip().lower()
        match = _AGE.fullmatch(text)
        if match:
            return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        if self.moments:
            try:
                moment = datetime.fromisoformat(str(value).strip())
            except ValueError:
                pass
            else:
                return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        also = " or a date and time such as 2026-12-01T09:00" if self.moments else ""
        self.fail(f"{value!r} is not a span of time such as 30m, 12h, 2d or 1w{also}", param, ctx)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _count_line(count: RetryCount) -> str:
    line = f"{_plural(count.total, 'failed message', 'failed messages')} to re-queue"
    if count.total:
        parts = [f"{count.exhausted} that ran out of attempts"]
        if count.permanent:
            parts.append(f"{count.permanent} refused for good by the server")
        line += f" ({', '.join(parts)})"
    if count.permanent_left_out:
        line += (
            f"; {_plural(count.permanent_left_out, 'message', 'messages')} refused for good "
            "left out (add --include-permanent to re-queue them too)"
        )
    return line + "."


@mail_cli.command("retry")
@click.option("--letter", "slug", metavar="SLUG", help="Only this letter's mail.")
@click.option(
    "--older-than",
    type=Age(),
    metavar="AGE",
    help="Only mail that failed at least this long ago (30m, 12h, 2d, 1w).",
)
@click.option(
    "--since",
    type=Age(moments=True),
    metavar="AGE|WHEN",
    help="Only mail that failed within this span (12h) or after this UTC time (2026-12-01T09:00).",
)
@click.option("--all", "everything", is_flag=True, help="Every failed message.")
@click.option(
    "--include-permanent",
    is_flag=True,
    help="Also mail the server refused for good (5xx): only once what it refused is fixed.",
)
@click.option("--dry-run", is_flag=True, help="Say how many would be re-queued; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def retry_command(
    slug: str | None,
    older_than: timedelta | None,
    since: timedelta | datetime | None,
    everything: bool,
    include_permanent: bool,
    dry_run: bool,
    yes: bool,
) -> None:
    """Re-queue failed mail, due now with its attempts reset; prints the count first.

    Choose what with --letter, --older-than and --since (together they narrow each other),
    or --all. Mail that ran out of attempts is re-queued; mail the server refused for good
    only with --include-permanent. Mail about something gone is never re-queued.
    """
    filters = slug is not None or older_than is not None or since is not None
    if everything == filters:
        raise click.UsageError(
            "Say which failed mail to re-queue: --letter SLUG, --older-than AGE, --since AGE, "
            "or --all (which goes with none of the others)."
        )
    now = utcnow()
    letter_id = None
    if slug is not None:
        letter_id = db.session.scalar(select(Letter.id).where(Letter.slug == slug))
        if letter_id is None:
            raise click.ClickException(f"No letter has the address {slug!r}.")
    selection = RetrySelection(
        letter_id=letter_id,
        failed_before=now - older_than if older_than is not None else None,
        failed_since=now - since if isinstance(since, timedelta) else since,
        include_permanent=include_permanent,
    )
    count = count_retryable(db.session, selection)
    db.session.rollback()
    click.echo(_count_line(count))
    if dry_run or count.total == 0:
        if dry_run:
            click.echo("Dry run: nothing was changed.")
        return
    if not yes:
        click.confirm(f"Re-queue {_plural(count.total, 'message', 'messages')}?", abort=True)
    done = requeue(db.session, selection, now=utcnow())
    db.session.commit()
    click.echo(
        f"Re-queued {_plural(done.total, 'message', 'messages')}; "
        "the mail worker sends them on its next pass."
    )
