"""``flask demo``: the demo letter and the demo coordinator, for a first look."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.demo.loader import DEMO_SLUG, load_demo


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load a demo letter with realistic signatories, for a first look."""
    url = f"{current_app.config['BASE_URL']}/letters/{DEMO_SLUG}"
    loaded = load_demo(db.session, now=utcnow())
    if loaded is None:
        click.echo(f"The demo letter is already loaded at {url}; nothing changed.")
        return
    db.session.commit()
    click.echo(
        f"Loaded the demo letter at {url} with {loaded.organizations} organizations "
        f"and {loaded.individuals} individuals."
    )
