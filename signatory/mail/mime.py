"""The email policy the worker builds its messages with: the standard library's default
policy (``email.policy.default``), remembering the headers it has already parsed and folded.

Building an ``EmailMessage`` parses every header it is given (From, Subject, each part's
Content-Type...), making a new class for each, and sending it folds every header again
for the wire; together that was a quarter of the worker's time per message. Most of
those headers are the same from one message to the next (the sender, the parts' content
types, a letter's subject, the date to the second), so each is parsed once and folded
once, and the result is reused: header objects are immutable, and a folded line depends
only on the header and the policy's line settings. What goes on the wire is byte for
byte what the default policy makes (tests/mail/test_mime.py).
"""

from __future__ import annotations

import secrets
import sys
import threading
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any

# Enough for a batch's repeated headers; the unique ones (To, Message-ID) pass through.
CACHED = 512


class _RememberedHeaders(HeaderRegistry):
    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], BaseHeader] = {}
        self._classes: dict[str, type[BaseHeader]] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        # The registry makes a new class at every look-up (each header set asks for its
        # class's max_count); one per header name does.
        found = self._classes.get(name.lower())
        if found is None:
            found = self._classes[name.lower()] = super().__getitem__(name)
        return found

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if not isinstance(value, str):  # an Address object, a list of them: not remembered
            return super().__call__(name, value)
        key = (name, value)
        header = self._parsed.get(key)
        if header is None:
            header = super().__call__(name, value)
            with self._lock:
                if len(self._parsed) >= CACHED:
                    self._parsed.clear()
                self._parsed[key] = header
        return header


class RememberingPolicy(EmailPolicy):
    """``email.policy.default`` with the parsed and the folded headers remembered."""

    _folded: dict[tuple[Any, ...], str] = {}
    _lock = threading.Lock()

    def _fold(self, name: str, value: Any, refold_binary: bool = False) -> str:
        if not isinstance(value, BaseHeader):
            return super()._fold(name, value, refold_binary)  # type: ignore[misc]
        key = (type(value), value.name, str(value), self.linesep, self.max_line_length, self.utf8)
        folded = self._folded.get(key)
        if folded is None:
            folded = value.fold(policy=self)
            with self._lock:
                if len(self._folded) >= CACHED:
                    self._folded.clear()
                self._folded[key] = folded
        return folded


MAIL_POLICY = RememberingPolicy(header_factory=_RememberedHeaders())


def new_boundary() -> str:
    """A multipart boundary of the standard library's shape (fifteen "=", a random number
    of nineteen digits, "=="), drawn here rather than by its private helper."""
    return f"{'=' * 15}{secrets.randbelow(sys.maxsize):019d}=="


def set_boundary(email: EmailMessage, boundary: str, *texts: str) -> None:
    """Give the multipart ``email`` a boundary drawn once for a whole batch.

    Left to itself, the generator draws one for each message as it writes it, searches
    the parts for it with a regular expression compiled for that one boundary, and parses
    the Content-Type header again to add it: about a tenth of the worker's time a message.
    With one boundary for the batch, the header is one the policy has parsed already.
    The boundary must not appear in a part: a part whose text holds ``--`` and the
    boundary is left to the generator, which draws another. The text as given is enough
    to look in: quoted-printable writes every "=" as "=3D" and base64 has no "-", so the
    encoded parts cannot hold the boundary where the text does not.
    """
    if not any(f"--{boundary}" in text for text in texts):
        email.set_boundary(boundary)
