"""``flask coordinators create``: a coordinator account from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from signatory.core.errors import InvalidArgument
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.team.accounts import create_coordinator

coordinators_cli = AppGroup("coordinators", help="Coordinator accounts.")


def _fail(message: str) -> click.ClickException:
    db.session.rollback()
    return click.ClickException(message)


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    # Piped: the whole of stdin, less the newline `echo` adds.
    return sys.stdin.read().rstrip("\r\n")


@coordinators_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The coordinator's full name.")
def create_coordinator_command(email: str, name: str) -> None:
    """Create a coordinator; the password is read from stdin when it is not a terminal."""
    password = _read_password()
    try:
        coordinator = create_coordinator(
            db.session, email=email, name=name, password=password, now=utcnow()
        )
    except InvalidArgument as exc:
        raise _fail(str(exc)) from None
    db.session.commit()
    click.echo(f"Created coordinator {coordinator.email} ({coordinator.name}).")
