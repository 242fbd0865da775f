"""``flask mail send`` and ``flask mail worker``: deliver what waits in the outbox.

Other modules add their own mail commands to the group (``notifications``: ``digest``).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.backends import MailBackend, MailURLError, backend_from_url
from signatory.mail.worker import SendCounts, run_worker, send_due

mail_cli = AppGroup("mail", help="Send the email waiting in the outbox, and the digests.")


def _backend() -> MailBackend:
    try:
        return backend_from_url(str(current_app.config["MAIL_URL"]))
    except MailURLError as exc:
        # click.ClickException exits with status 1 and prints just the message.
        raise click.ClickException(f"{exc} (set SIGNATORY_MAIL_URL)") from None


def _summary(counts: SendCounts) -> str:
    return f"{counts.sent} sent, {counts.retried} to retry later, {counts.failed} failed"


@mail_cli.command("send")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many messages.")
def send_command(limit: int | None) -> None:
    """Send every message that is due, once, and report what happened."""
    backend = _backend()
    counts = send_due(db.session, backend, limit=limit)
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
    if interval is None:
        interval = float(current_app.config["MAIL_WORKER_INTERVAL"])
    click.echo(
        f"Mail worker sending to {backend.describe()}, every {interval:g} s. Stop with Ctrl-C."
    )

    def report(counts: SendCounts) -> None:
        # Timestamped: this output usually ends up in a service log.
        click.echo(f"{utcnow():%Y-%m-%d %H:%M:%S} UTC: {_summary(counts)}")

    totals = run_worker(db.session, backend, interval=interval, on_pass=report)
    click.echo(f"Mail worker stopped: {_summary(totals)} in all.")
