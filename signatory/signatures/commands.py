"""``flask signatures purge``: housekeeping for signatures."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.signatures.service import purge_unconfirmed

signatures_cli = AppGroup("signatures", help="Housekeeping for signatures.")


@signatures_cli.command("purge")
def purge_command() -> None:
    """Delete signatures that were never confirmed (the mail worker also does this hourly)."""
    days = current_app.config["UNCONFIRMED_PURGE_DAYS"]
    count = purge_unconfirmed(db.session, now=utcnow(), older_than_days=days)
    db.session.commit()
    click.echo(f"Purged {count} unconfirmed signature(s) older than {days} days.")
