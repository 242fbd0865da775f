"""``flask letters create|open|close|list``: letters and their status from the command line.

Each prints what it did and fails with a clear message and a non-zero exit on bad input.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import IO

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from signatory.core.errors import InvalidArgument
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.letters.service import create_letter
from signatory.letters.settings import set_letter_status
from signatory.models import DeadlinePassed, IllegalTransition, Letter, LetterStatus, Moderation
from signatory.team.accounts import coordinator_by_email

letters_cli = AppGroup("letters", help="Letters and their status.")


def _fail(message: str) -> click.ClickException:
    db.session.rollback()
    return click.ClickException(message)


def _parse_deadline(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "use ISO 8601, e.g. 2026-12-31T23:59Z", param_hint="--deadline"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@letters_cli.command("create")
@click.option("--slug", required=True, help="The letter's address: /letters/<slug>.")
@click.option("--title", required=True)
@click.option("--recipient", required=True, help='e.g. "Chair of the Ad Hoc Committee".')
@click.option(
    "--body-file",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="The letter's text in Markdown ('-' for stdin).",
)
@click.option("--owner", "owner_email", help="Email of an existing coordinator to own it.")
@click.option("--open", "open_now", is_flag=True, help="Open it for signatures at once.")
@click.option(
    "--moderation/--no-moderation",
    default=False,
    help="Review every signature before it is published.",
)
@click.option("--individuals/--no-individuals", default=True, help="Let individuals sign too.")
@click.option(
    "--require-domain-match",
    is_flag=True,
    help="Organizations must sign from an address at their website's domain.",
)
@click.option("--deadline", help="When signing closes by itself (ISO 8601, UTC if no zone).")
def create_letter_command(
    slug: str,
    title: str,
    recipient: str,
    body_file: IO[str],
    owner_email: str | None,
    open_now: bool,
    moderation: bool,
    individuals: bool,
    require_domain_match: bool,
    deadline: str | None,
) -> None:
    """Create a letter with its first version."""
    try:
        body = body_file.read()
    except UnicodeDecodeError:
        raise _fail("the body file is not UTF-8 text") from None
    deadline_at = _parse_deadline(deadline)
    try:
        owner = None
        if owner_email:
            owner = coordinator_by_email(db.session, owner_email)
            if owner is None:
                raise InvalidArgument(
                    f"no coordinator with email {owner_email}; "
                    "create one with `flask --app signatory coordinators create`"
                )
        letter = create_letter(
            db.session,
            slug=slug,
            title=title,
            recipient=recipient,
            body_markdown=body,
            now=utcnow(),
            owner=owner,
            open_now=open_now,
            moderation=Moderation.ALL if moderation else Moderation.NONE,
            allow_individuals=individuals,
            require_domain_match=require_domain_match,
        )
    except InvalidArgument as exc:
        raise _fail(str(exc)) from None
    letter.deadline = deadline_at
    db.session.commit()
    url = f"{current_app.config['BASE_URL']}/letters/{letter.slug}"
    click.echo(f"Created letter {letter.slug!r} ({letter.status}) at {url}")


def _letter_or_fail(slug: str) -> Letter:
    letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
    if letter is None:
        raise _fail(f"no letter with slug {slug!r}")
    return letter


@letters_cli.command("open")
@click.argument("slug")
def open_letter_command(slug: str) -> None:
    """Open a draft (or reopen a closed letter) for signatures."""
    _change_status(slug, LetterStatus.OPEN)


@letters_cli.command("close")
@click.argument("slug")
def close_letter_command(slug: str) -> None:
    """Close a letter: it stays public but takes no more signatures."""
    _change_status(slug, LetterStatus.CLOSED)


def _change_status(slug: str, status: str) -> None:
    letter = _letter_or_fail(slug)
    if status == LetterStatus.CLOSED:
        event = "close"
    else:
        # "letters open" opens a draft or reopens a closed letter, whichever it is.
        event = "open" if letter.status == LetterStatus.DRAFT else "reopen"
    try:
        set_letter_status(db.session, letter, event, now=utcnow())
    except DeadlinePassed as exc:
        raise _fail(
            f"its deadline ({exc.deadline:%Y-%m-%d %H:%M} UTC) has passed; "
            "set a later deadline or clear it first"
        ) from None
    except IllegalTransition as exc:
        raise _fail(f"cannot change a {exc.current} letter to {status}") from None
    db.session.commit()
    click.echo(f"Letter {slug!r} is now {status}.")


@letters_cli.command("list")
def list_letters_command() -> None:
    """List every letter with its status."""
    letters = db.session.scalars(select(Letter).order_by(Letter.created_at)).all()
    if not letters:
        click.echo("No letters yet.")
    for letter in letters:
        click.echo(f"{letter.slug}\t{letter.status}\t{letter.title}")
