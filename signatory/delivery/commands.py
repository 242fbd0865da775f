"""``flask delivery package SLUG``: build a delivered letter's PDF and ZIP now."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from signatory.core.extensions import db
from signatory.delivery import package, service, store
from signatory.letters.queries import letter_by_slug

delivery_cli = AppGroup("delivery", help="The delivered letters' packages.")


@delivery_cli.command("package")
@click.argument("slug")
def package_command(slug: str) -> None:
    """Build the delivery package (PDF and ZIP) of the delivered letter SLUG, if not kept.

    What the site starts by itself for a long list (``store.build_elsewhere``); run by
    hand, it waits for a build already under way rather than starting a second.
    """
    letter = letter_by_slug(db.session, slug)
    delivery = service.delivery_of(db.session, letter) if letter is not None else None
    if letter is None or delivery is None:
        raise click.ClickException(f"No delivered letter {slug!r}.")
    inputs = package.package_inputs(db.session, letter, delivery)
    db.session.rollback()  # read everything it needs: no transaction held for minutes
    kept = store.store_of(current_app)
    started = time.monotonic()
    if kept.complete(inputs):
        click.echo(f"The package of {slug} is already built.")
    else:
        kept.build(inputs)
        click.echo(
            f"Built the package of {slug} ({inputs.organizations + inputs.individuals:,} "
            f"signatories) in {time.monotonic() - started:.1f} s."
        )
    for kind, found in store.files_of(current_app, inputs).items():
        if found is not None:
            click.echo(f"  {kind}: {found.path} ({found.size_text})")
