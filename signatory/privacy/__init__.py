"""Privacy by default: what is kept, for how long, and the erasure that follows; the privacy
notice; the signer's manage-my-signature pages."""

from __future__ import annotations

from flask import Flask, current_app

from signatory.core.access import Sides
from signatory.mail.worker import add_chore
from signatory.privacy import public
from signatory.privacy.commands import privacy_cli
from signatory.privacy.retention import PrivacySchedule

NOTICE_PATH = "/privacy"


def privacy_notice_url() -> str:
    """The notice's absolute address, from ``SIGNATORY_BASE_URL``: every email links it."""
    return f"{current_app.config['BASE_URL']}{NOTICE_PATH}"


def init_app(app: Flask, sides: Sides) -> None:
    """The notice and manage pages, the hourly purge chore, ``flask privacy``."""
    sides.add(public.notice_routes, public.routes)
    add_chore(app, PrivacySchedule.from_config)
    app.cli.add_command(privacy_cli)
    app.add_template_global(privacy_notice_url)
