"""``flask mail send`` and ``flask mail worker``: deliver what waits in the outbox."""

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


@mail_cli.command("digest")
@click.option(
    "--now",
    "--force",
    "force",
    is_flag=True,
    help="Run them now, whatever the hour (still only for coordinators with something new).",
)
def digest_command(force: bool) -> None:
    """Queue the coordinators' daily digests that are due, once, and say what was done.

    The emails go into the outbox; ``mail send`` or the worker sends them.
    """
    from signatory.notifications import run_digests

    hour = int(current_app.config["DIGEST_HOUR_UTC"])
    run = run_digests(db.session, now=utcnow(), hour=hour, force=force)
    for email, letters in run.sent:
        click.echo(f"Digest queued for {email} ({letters} letter{'' if letters == 1 else 's'}).")
    for email in run.nothing_new:
        click.echo(f"Nothing new for {email}; no digest.")
    for email in run.failed:
        click.echo(f"Digest for {email} failed; see the log. It is tried again next time.")
    if not run.checked:
        when = "" if force else f" (they are due daily after {hour:02d}:00 UTC)"
        click.echo(f"No digest is due{when}.")
    click.echo(
        f"Digests: {len(run.sent)} queued, {len(run.nothing_new)} with nothing new, "
        f"{len(run.taken)} handled by another worker, {len(run.failed)} failed."
    )
    if run.failed:
        raise click.exceptions.Exit(1)


@mail_cli.command("worker")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    help="Seconds between passes over the outbox (default: SIGNATORY_MAIL_WORKER_INTERVAL).",
)
def worker_command(interval: float | None) -> None:
    """Keep sending until stopped (SIGTERM or Ctrl-C); also purge stale unconfirmed signatures."""
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
