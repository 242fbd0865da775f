"""Telling coordinators what awaits them: an email per signature to review, or a daily
digest; and that a letter reached a milestone of its signature goal."""

from __future__ import annotations

from flask import Flask

from signatory.mail import registry
from signatory.mail.commands import mail_cli
from signatory.mail.worker import add_chore
from signatory.notifications import goals, mail
from signatory.notifications.commands import digest_command
from signatory.notifications.service import DigestSchedule


def init_app(app: Flask) -> None:
    """Its emails, ``flask mail digest``, the daily digests and the goal's milestones.

    The mail worker queues the digests and the milestone emails (its chores).
    """
    registry.register(mail.EMAILS)
    registry.register(goals.EMAILS)
    mail_cli.add_command(digest_command)
    add_chore(app, DigestSchedule.from_config)
    add_chore(app, goals.MilestoneWatch.from_config)
