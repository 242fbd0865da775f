"""Sending a batch on a thread of its own, so that rendering and the server's answer overlap.

Sent one after the other, each message costs the worker's time to render it *plus* the
server's time to take it (its answer to DATA: parsing, queueing, often a disk write).
With the sending on a thread, the worker renders the next message while the server is
busy with this one, and a message costs the longer of the two instead of their sum.

Only the connection is used on the thread: no database, no app context, no logging.
Messages are sent in the order they were handed over, through one connection, and
each comes back as a ``Delivery`` for the worker to record.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from email.message import EmailMessage

from signatory.mail.backends import Connection
from signatory.mail.claims import Claimed

# Rendered messages waiting for the thread: enough to keep it busy, few enough that a
# stop leaves little to finish.
DEPTH = 2


@dataclass(frozen=True)
class Delivery:
    """What became of one message handed over: sent (``error`` None), refused or failed
    (``error``), or never tried because the thread stopped first (``tried`` False)."""

    message: Claimed
    subject: str
    error: Exception | None = None
    tried: bool = True


class Sender:
    """A thread sending rendered messages through ``connection`` until ``finish``."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._todo: queue.Queue[tuple[Claimed, EmailMessage, str] | None] = queue.Queue(DEPTH)
        self._done: queue.Queue[Delivery] = queue.Queue()
        # Something that is not an Exception raised while sending (KeyboardInterrupt,
        # SystemExit): the thread stops sending, and the worker raises it.
        self.fatal: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
        self._thread.start()

    def hand_over(self, message: Claimed, email: EmailMessage) -> None:
        """Queue ``email`` for sending; waits while ``DEPTH`` messages are waiting."""
        self._todo.put((message, email, str(email["Subject"])))

    def collect(self) -> list[Delivery]:
        """The deliveries finished since the last call, without waiting."""
        found = []
        while True:
            try:
                found.append(self._done.get_nowait())
            except queue.Empty:
                return found

    def finish(self) -> list[Delivery]:
        """Send what was handed over, close the connection, stop the thread; the
        deliveries not collected yet."""
        self._todo.put(None)
        self._thread.join()
        return self.collect()

    def _run(self) -> None:
        try:
            while (item := self._todo.get()) is not None:
                message, email, subject = item
                if self.fatal is not None:
                    self._done.put(Delivery(message, subject, tried=False))
                    continue
                try:
                    self._connection.send(email)
                except Exception as exc:
                    self._done.put(Delivery(message, subject, exc))
                except BaseException as exc:
                    # The message stays claimed, neither recorded nor given back: the
                    # server may have it, as after a crash.
                    self.fatal = exc
                else:
                    self._done.put(Delivery(message, subject))
        finally:
            self._connection.close()
