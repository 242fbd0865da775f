"""Re-confirmation after a substantive change: earlier signatories keep their signature
on the new text or withdraw it, and a letter may hide those who did not answer in time."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides
from signatory.mail.chores import add_chore
from signatory.reconfirm import lapsing, manage, public


def init_app(app: Flask, sides: Sides) -> None:
    """The re-confirmation links' pages, the workspace counts and the lapsing chore.

    The keep link itself is minted by the change email's builder (``signatures.mail``),
    which sits below this module and knows only its path.
    """
    sides.add(public.links, manage.routes)
    add_chore(app, lapsing.LapseWatch.from_config)
