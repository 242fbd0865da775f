"""Signatures: the letter page with its sign form, confirming and withdrawing by emailed
link, the signer's emails, moderation, the coordinators' exports, and telling earlier
signatories of a change."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides
from signatory.mail import registry
from signatory.signatures import mail, public
from signatory.signatures.commands import signatures_cli
from signatory.signatures.manage import exports as export_pages
from signatory.signatures.manage import moderation as moderation_pages
from signatory.signatures.manage import notify as notify_pages


def init_app(app: Flask, sides: Sides) -> None:
    """The signer's and moderators' pages, the emails, ``flask signatures``.

    The hourly purge of unconfirmed signatures is one of the privacy purges
    (``privacy.retention``), which the mail worker runs as one chore.
    """
    # Aliased: a package attribute named like a sibling module would hide it.
    sides.add(
        public.letter_pages,
        public.routes,
        moderation_pages.routes,
        export_pages.routes,
        notify_pages.routes,
    )
    registry.register(mail.EMAILS)
    app.cli.add_command(signatures_cli)
