"""Delivery: the hand-over to the recipient, the frozen list with its SHA-256, the public
delivered file and printable page, and the delivery package (a PDF and a ZIP) built from
the frozen data."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides
from signatory.delivery import manage, public
from signatory.delivery.commands import delivery_cli


def init_app(app: Flask, sides: Sides) -> None:
    """The delivery pages, the delivery banner on the letter page, and ``flask delivery``."""
    sides.add(public.routes, manage.routes)
    app.cli.add_command(delivery_cli)
    sides.public.context_processor(public.delivery_banner)
