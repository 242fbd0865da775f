"""``flask signatures import FILE --letter SLUG``: signatures from a spreadsheet.

Attached to the ``signatures`` group by ``imports.init_app`` (imports sits above
signatures, which knows nothing of it). The whole file is imported in one transaction or
nothing is; ``--dry-run`` checks it and stores nothing; the exit code is 1 when a row or
the file has a problem, 2 for a usage error (click's).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.imports import reading, service
from signatory.imports.rows import FIELDS, guess_mapping
from signatory.models import Letter
from signatory.models.outbox import EmailCaps


def _mapping_options(header: list[str], options: tuple[str, ...]) -> dict[int, str]:
    """The guessed mapping, corrected by ``--map column=field`` (``--map Notes=`` ignores)."""
    mapping = guess_mapping(header)
    names = {name.casefold(): index for index, name in enumerate(header)}
    for option in options:
        column, equals, name = option.partition("=")
        if not equals:
            raise click.BadParameter(f"{option!r}: write COLUMN=FIELD", param_hint="--map")
        index = names.get(column.strip().casefold())
        if index is None and column.strip().isdigit():
            index = int(column) - 1
        if index is None or not 0 <= index < len(header):
            raise click.BadParameter(
                f"no column {column!r} (the columns: {', '.join(header)})", param_hint="--map"
            )
        name = name.strip()
        if name and name not in FIELDS:
            raise click.BadParameter(
                f"no field {name!r} (the fields: {', '.join(FIELDS)})", param_hint="--map"
            )
        mapping = {i: f for i, f in mapping.items() if i != index and f != name}
        if name:
            mapping[index] = name
    return dict(sorted(mapping.items()))


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--letter", "slug", required=True, help="The letter's slug.")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="COLUMN=FIELD",
    help=f"Map a column (its name or number) to a field ({', '.join(FIELDS)}); "
    "an empty field ignores the column. Repeatable.",
)
@click.option(
    "--encoding",
    type=click.Choice(reading.ENCODINGS),
    default="utf-8",
    show_default=True,
    help="UTF-8 (with or without BOM; UTF-16 with a BOM is also read), or Windows-1252.",
)
@click.option(
    "--dry-run", is_flag=True, help="Check every row and print the problems; store nothing."
)
@click.option(
    "--attest",
    is_flag=True,
    help="The signatories agreed to sign and their addresses were verified: publish them "
    "at once, marked 'added by the coordinators', instead of emailing confirmation links.",
)
@with_appcontext
def import_command(
    file: Path, slug: str, maps: tuple[str, ...], encoding: str, dry_run: bool, attest: bool
) -> None:
    """Import signatures from the CSV FILE into the letter SLUG: all rows or none."""
    limits = reading.Limits.from_config(current_app.config)
    letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
    if letter is None:
        raise click.ClickException(f"no letter {slug!r}")
    if file.stat().st_size > limits.max_bytes:
        raise click.ClickException(f"{file.name}: larger than {limits.max_bytes:,} bytes")
    try:
        text = reading.decode(file.read_bytes(), encoding=encoding, limits=limits)
        table = reading.parse(text, limits=limits)
    except reading.UnreadableFile as error:
        raise click.ClickException(f"{file.name}: {error.message}") from None
    mapping = _mapping_options(table.header, maps)
    click.echo("Columns:")
    for index, column in enumerate(table.header):
        click.echo(f"  {column or f'(column {index + 1})'} -> {mapping.get(index, '(ignored)')}")

    now = utcnow()
    try:
        with click.progressbar(length=len(table.rows), label="Checking rows") as bar:
            checked = service.preview(
                db.session,
                letter,
                table,
                mapping,
                now=now,
                check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
                progress=lambda count: bar.update(1),
            )
    except service.ImportRefused as error:
        raise click.ClickException(error.message) from None
    for problem in checked.problems:
        click.echo(f"File: {problem}", err=True)
    for number, label, message in checked.errors:
        click.echo(f"Row {number}" + (f", {label}" if label else "") + f": {message}", err=True)
    if not checked.ready:
        db.session.rollback()
        click.echo(
            f"{checked.rows_with_errors} of {len(checked.rows)} row(s) have problems; "
            "nothing was imported.",
            err=True,
        )
        raise SystemExit(1)
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run: all {len(checked.rows)} row(s) can be imported; nothing was stored.")
        return

    try:
        with click.progressbar(length=len(checked.rows), label="Importing") as bar:
            result = service.import_rows(
                db.session,
                letter,
                checked,
                actor=None,
                attested=attest,
                filename=file.name,
                now=now,
                caps=EmailCaps.from_config(current_app.config),
                progress=lambda count: bar.update(1),
            )
    except service.ImportRefused as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Imported {result.signatures} signature(s) into {slug}.")
    if attest:
        click.echo(f"Published at once (attested): {result.published}.")
    else:
        click.echo(f"Confirmation emails queued: {result.emailed}.")
        if result.held_back:
            click.echo(f"Held back by the daily email caps: {result.held_back}.")
    click.echo("Errors: none.")
