"""Housekeeping the mail worker does between passes over the outbox, and its stop signals.

Other modules register their chores (``add_chore``) from their ``init_app``: ``privacy``
runs its purges about once an hour, ``notifications`` queues the coordinators' daily
digests. The worker itself knows no domain.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from typing import Any, Protocol

from flask import Flask

from signatory.core.database import DbSession

log = logging.getLogger("signatory.mail.worker")


class Chore(Protocol):
    """Housekeeping the worker does between passes (purges, digests), when it is due.

    Registered by the module it belongs to (``add_chore``), so the mail worker knows no
    domain. It must catch and log its own failures: housekeeping never stops the mail.
    """

    def run_if_due(self, session: DbSession, *, now: datetime) -> object: ...


# Makes a worker's chore from the app's configuration, once per worker run.
ChoreFactory = Callable[[Mapping[str, Any]], Chore]
CHORES = "signatory.mail.chores"


def add_chore(app: Flask, factory: ChoreFactory) -> None:
    """Have every mail worker of ``app`` run the chore ``factory`` makes."""
    app.extensions.setdefault(CHORES, []).append(factory)


def chores_of(app: Flask) -> list[Chore]:
    """The chores registered for ``app``, made from its configuration."""
    return [factory(app.config) for factory in app.extensions.get(CHORES, ())]


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Inside the block, SIGTERM and SIGINT set ``stop`` instead of killing the process."""
    if threading.current_thread() is not threading.main_thread():
        # Only the main thread may install signal handlers; elsewhere the caller owns stop.
        yield
        return

    def _handle(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "received %s; stopping after the current message, giving back the rest of the batch",
            signal.Signals(signum).name,
        )
        stop.set()

    previous = {sig: signal.signal(sig, _handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
