"""Updates to signatories: posted by coordinators, shown on the letter page and in its
feed, emailed to the signatories who asked for them."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides
from signatory.core.extensions import csrf
from signatory.mail import registry
from signatory.mail.chores import add_chore
from signatory.updates import mail, manage, public
from signatory.updates.sending import UpdateSending


def init_app(app: Flask, sides: Sides) -> None:
    """The updates' pages, emails and feed, and the mail worker's chore that queues an
    update's emails in batches. (The letter page's view reads the newest updates.)"""
    sides.add(public.routes, public.links, manage.routes)
    # RFC 8058: a mail client's one-click unsubscribe POSTs with no session and no token.
    csrf.exempt(public.unsubscribe)
    registry.register(mail.EMAILS)
    add_chore(app, UpdateSending.from_config)
