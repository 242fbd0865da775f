"""Seeing and stopping a flood: where a letter's signatures come from over the last hour
and day, and bulk holds and rejections by client-address prefix, email domain and time."""

from __future__ import annotations

from flask import Flask

from signatory.abuse import manage as traffic_pages
from signatory.core.access import Sides


def init_app(app: Flask, sides: Sides) -> None:
    """The letter's traffic page and its bulk actions, in the workspace."""
    sides.add(traffic_pages.routes)
