"""Who may sign: invite-only letters (per-organization invitation links) and letters
that accept only email addresses at listed domains."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides
from signatory.invites import mail, manage, public
from signatory.mail import registry


def init_app(app: Flask, sides: Sides) -> None:
    """The invitations' workspace pages, emails and links."""
    sides.add(public.routes, manage.routes)
    registry.register(mail.EMAILS)
