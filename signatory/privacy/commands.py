"""``flask privacy purge [--dry-run]``: every retention purge at once, saying what it did."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.privacy import retention
from signatory.privacy.retention import Periods, PurgeReport

privacy_cli = AppGroup("privacy", help="Personal data: retention and erasure.")

# What each line of the report says, done and (in a dry run) to be done.
_LINES = {
    retention.UNCONFIRMED: (
        "Unconfirmed signatures deleted (older than {days} days): {count}",
        "Unconfirmed signatures to delete (older than {days} days): {count}",
    ),
    retention.ENDED: (
        "Withdrawn and rejected signatures erased ({days} days after leaving the list): {count}",
        "Withdrawn and rejected signatures to erase ({days} days after leaving the list): {count}",
    ),
    retention.OUTBOX: (
        "Sent and failed emails cleared of recipient and content (older than {days} days): {count}",
        "Sent and failed emails to clear of recipient and content (older than {days} days): "
        "{count}",
    ),
    retention.SIGN_IN_ATTEMPTS: (
        "Coordinator sign-in attempts deleted (older than {days} days): {count}",
        "Coordinator sign-in attempts to delete (older than {days} days): {count}",
    ),
    retention.CLIENT_PREFIXES: (
        "Client-address prefixes cleared (signatures older than {days} days): {count}",
        "Client-address prefixes to clear (signatures older than {days} days): {count}",
    ),
    retention.DELIVERED: (
        "Signatures of delivered letters erased ({days} days after delivery): {count}",
        "Signatures of delivered letters to erase ({days} days after delivery): {count}",
    ),
}


def report_lines(report: PurgeReport, periods: Periods, *, dry_run: bool) -> list[str]:
    """The command's output: one line per kind, then one per delivered letter erased."""
    lines = [
        _LINES[kind][1 if dry_run else 0].format(days=periods.days[kind], count=count)
        for kind, count in report.counts.items()
    ]
    lines += [f"    {slug}: {count}" for slug, count in report.letters.items()]
    if dry_run:
        lines.append("Dry run: nothing was changed.")
    return lines


@privacy_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
def purge_command(dry_run: bool) -> None:
    """Apply every retention period (the mail worker also does this about once an hour)."""
    periods = Periods.from_config(current_app.config)
    # A dry run does the very same work and rolls it back, so its counts cannot drift from
    # what a real run would do.
    report = retention.purge_all(db.session, periods, now=utcnow(), actor_label="cli")
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for line in report_lines(report, periods, dry_run=dry_run):
        click.echo(line)
