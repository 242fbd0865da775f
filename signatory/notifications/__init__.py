"""Telling coordinators what awaits them: an email per signature to review, or a daily digest."""

from __future__ import annotations

from flask import Flask

from signatory.mail import registry
from signatory.mail.commands import mail_cli
from signatory.mail.worker import add_chore
from signatory.notifications import mail
from signatory.notifications.commands import digest_command
from signatory.notifications.service import DigestSchedule


def init_app(app: Flask) -> None:
    """Its emails, ``flask mail digest``, and the digests the mail worker queues daily."""
    registry.register(mail.EMAILS)
    mail_cli.add_command(digest_command)
    add_chore(app, DigestSchedule.from_config)
