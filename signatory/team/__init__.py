"""Coordinators and their teams: accounts, sign-in, the account page, invitations and roles,
and who may enter each page of the workspace (``access``)."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides
from signatory.mail import registry
from signatory.team import access, mail
from signatory.team.commands import coordinators_cli
from signatory.team.manage import account, signin, team


def init_app(app: Flask, sides: Sides) -> None:
    """Workspace sessions, the sign-in, account and team pages, their emails, a command."""
    access.init_app(app, sides.manage)
    sides.add(signin.routes, account.routes, team.routes)
    registry.register(mail.EMAILS)
    app.cli.add_command(coordinators_cli)
