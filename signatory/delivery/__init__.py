"""Delivery: the hand-over to the recipient, the frozen list with its SHA-256, and the
public delivered file and printable page."""

from __future__ import annotations

from signatory.core.access import Sides
from signatory.delivery import manage, public


def init_app(sides: Sides) -> None:
    """The delivery pages, and the delivery banner on the letter page."""
    sides.add(public.routes, manage.routes)
    sides.public.context_processor(public.delivery_banner)
