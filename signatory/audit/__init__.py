"""The audit trail as the coordinators read it: a filterable page and its CSV.

Events are written by ``models.audit.record``, from every module's services.
"""

from __future__ import annotations

from signatory.audit import manage
from signatory.core.access import Sides


def init_app(sides: Sides) -> None:
    """The audit trail's workspace pages."""
    sides.add(manage.routes)
