"""Where email goes: an SMTP server, a folder of ``.eml`` files, or standard output.

Each backend has one method, ``send(message)``, which returns when the message has been
handed over and raises when it has not; the worker records the outcome and retries.
``backend_from_url`` picks the backend from ``SIGNATORY_MAIL_URL``.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import sys
import tempfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

from signatory.core.time import utcnow

DEFAULT_SMTP_TIMEOUT = 10.0
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class MailURLError(ValueError):
    """``SIGNATORY_MAIL_URL`` cannot be used; the message says what is wrong and what works."""


class PermanentDeliveryError(Exception):
    """The message can never be delivered as addressed (e.g. the server refused the
    recipient with a 5xx reply): retrying would only repeat the refusal."""


class MailBackend(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over, or raise."""

    def describe(self) -> str:
        """Where mail goes, for operators; never includes a password."""


@dataclass(frozen=True)
class SMTPBackend:
    """Sends through an SMTP server, one connection per message.

    A connection per message is slower than keeping one open, but a dropped or timed-out
    connection then costs one attempt of one message, never a batch.
    """

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = DEFAULT_SMTP_TIMEOUT

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                # Verifies the server's certificate against the system trust store, so a
                # login is never sent to an impostor.
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            try:
                smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients.items()
                if refused and all(code >= 500 for _, (code, _) in refused):
                    reply = "; ".join(f"{to}: {code} {_text(text)}" for to, (code, text) in refused)
                    raise PermanentDeliveryError(f"recipient refused: {reply}") from exc
                raise

    def describe(self) -> str:
        user = f"{self.username}@" if self.username else ""
        tls = " with STARTTLS" if self.starttls else ""
        return f"SMTP server {user}{self.host}:{self.port}{tls}"


@dataclass(frozen=True)
class FileBackend:
    """Writes each message to its own ``.eml`` file in ``directory``.

    The file is written under a temporary name and renamed into place, so anything
    watching the folder never sees half a message.
    """

    directory: Path

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Time first so a directory listing reads in sending order.
        stem = f"{utcnow():%Y%m%dT%H%M%S%f}-"
        fd, temp_name = tempfile.mkstemp(prefix=f".{stem}", suffix=".tmp", dir=self.directory)
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            # The random part of the temporary name keeps the final name unique.
            os.replace(temp, self.directory / f"{temp.name[1:].removesuffix('.tmp')}.eml")
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def describe(self) -> str:
        return f"files in {self.directory}"


@dataclass(frozen=True)
class ConsoleBackend:
    """Prints each message to standard output, for development."""

    stream: TextIO | None = None

    def send(self, message: EmailMessage) -> None:
        # Looked up at send time, so a replaced sys.stdout (a test runner, a CLI) is used.
        stream = self.stream or sys.stdout
        stream.write(message.as_string())
        stream.write("\n" + "-" * 72 + "\n")
        stream.flush()

    def describe(self) -> str:
        return "the console (standard output)"


def backend_from_url(url: str, *, timeout: float = DEFAULT_SMTP_TIMEOUT) -> MailBackend:
    """The backend for ``url``, or ``MailURLError`` saying why the URL cannot be used.

    ``smtp://[user:pass@]host[:port][?starttls=1]``, ``file:///dir`` or ``console:``.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise MailURLError(f"mail URL {_redacted(url)!r} is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme == "smtp":
        if not parts.hostname:
            raise MailURLError(f"mail URL {_redacted(url)!r} names no host: use smtp://host:port")
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = set(options) - {"starttls"}
        if unknown:
            raise MailURLError(
                f"mail URL {_redacted(url)!r} has unknown option(s) {', '.join(sorted(unknown))}; "
                "the only option is ?starttls=1"
            )
        starttls = options.get("starttls", "").lower()
        if starttls not in _TRUE | _FALSE:
            raise MailURLError(f"mail URL option starttls must be 1 or 0, got {starttls!r}")
        if parts.password is not None and not parts.username:
            raise MailURLError(f"mail URL {_redacted(url)!r} has a password but no user name")
        return SMTPBackend(
            host=parts.hostname,
            port=port or 25,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            starttls=starttls in _TRUE,
            timeout=timeout,
        )
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise MailURLError(
                f"mail URL {url!r} names a host; a folder is written as file:///absolute/path"
            )
        path = unquote(parts.path)
        if not path or path == "/":
            raise MailURLError(f"mail URL {url!r} names no folder: use file:///absolute/path")
        return FileBackend(Path(path))
    if scheme == "console":
        return ConsoleBackend()
    raise MailURLError(
        f"mail URL {_redacted(url)!r} is not one of smtp://[user:pass@]host:port[?starttls=1], "
        "file:///dir or console:"
    )


def _redacted(url: str) -> str:
    """The URL with any password replaced, so it can go into an error message or a log."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    if password is None:
        return url
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
