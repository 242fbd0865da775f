"""What happened to a letter, as the coordinators read it: the audit trail (a filterable
page and its CSV) and the letter's undelivered mail.

Events are written by ``models.audit.record``, from every module's services; outbox rows
by the mail worker.
"""

from __future__ import annotations

from signatory.audit import manage, undelivered
from signatory.core.access import Sides


def init_app(sides: Sides) -> None:
    """The audit trail's and the undelivered mail's workspace pages, and the count of
    undelivered mail on every page of a letter."""
    sides.add(manage.routes, undelivered.routes)
    sides.manage.context_processor(undelivered.undelivered_count)
