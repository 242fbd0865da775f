"""``flask mail digest``: queue the coordinators' daily digests that are due, once."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.notifications.service import run_digests


@click.command("digest")
@click.option(
    "--now",
    "--force",
    "force",
    is_flag=True,
    help="Run them now, whatever the hour (still only for coordinators with something new).",
)
@with_appcontext
def digest_command(force: bool) -> None:
    """Queue the coordinators' daily digests that are due, once, and say what was done.

    The emails go into the outbox; ``mail send`` or the worker sends them.
    """
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
