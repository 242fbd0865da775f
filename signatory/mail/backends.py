"""Where email goes: an SMTP server, a folder of ``.eml`` files, or standard output.

Each backend has one method, ``send(message)``, which returns when the message has been
handed over and raises when it has not: ``PermanentDeliveryError`` when the server refused
it for good (5xx), anything else when it may pass; the worker records the outcome and
retries what may pass. The SMTP backend also opens a ``connection()`` that carries a
whole batch of messages (``open_connection`` gives the worker one for any backend).
``backend_from_url`` picks the backend from ``SIGNATORY_MAIL_URL``.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

from signatory.core.time import utcnow

DEFAULT_SMTP_TIMEOUT = 10.0
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class MailURLError(ValueError):
    """``SIGNATORY_MAIL_URL`` cannot be used; the message says what is wrong and what works."""


class DeliveryError(Exception):
    """The mail server refused the message: ``code`` and ``reply`` are its answer (the
    code is None when the refusal came from our side of the exchange), ``stage`` the
    command it answered (``MAIL FROM``, ``RCPT TO``, ``DATA``).

    The message is one line, fit to keep: the code and the server's text, trimmed.
    """

    def __init__(self, reply: str, *, code: int | None = None, stage: str | None = None) -> None:
        self.reply = reply
        self.code = code
        self.stage = stage
        prefix = f"{code} " if code is not None else ""
        after = f" (after {stage})" if stage else ""
        super().__init__(f"{prefix}{reply}{after}")


class PermanentDeliveryError(DeliveryError):
    """The message can never be delivered as addressed (the server refused the sender,
    the recipient or the content with a 5xx reply): retrying would only repeat it."""


class TemporaryDeliveryError(DeliveryError):
    """The server refused the message for now (a 4xx reply): worth trying again later."""


# Longest part of a server's reply worth keeping: the code and a sentence or two.
MAX_REPLY_LENGTH = 300


class MailBackend(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over, or raise. The worker calls it on a thread of its own,
        outside the application context, one message at a time."""

    def describe(self) -> str:
        """Where mail goes, for operators; never includes a password."""


@dataclass(frozen=True)
class SMTPBackend:
    """Sends through an SMTP server: ``send`` opens a connection for one message,
    ``connection()`` one connection for a batch of them (the worker's way)."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = DEFAULT_SMTP_TIMEOUT

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the server for its one recipient, on a connection of its own.

        A reply refusing the sender, the recipient or the content raises
        ``PermanentDeliveryError`` (5xx) or ``TemporaryDeliveryError`` (4xx); a connection,
        TLS or login problem raises what smtplib or the socket raised, and is temporary:
        it says nothing about this message.
        """
        with self.connection() as connection:
            connection.send(message)

    def connection(self) -> SMTPConnection:
        """One connection for many messages, opened at the first; close it when done."""
        return SMTPConnection(self)

    def open(self) -> smtplib.SMTP:
        """A new connection, greeted, secured and logged in as configured."""
        smtp = _SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                # Verifies the server's certificate against the system trust store, so a
                # login is never sent to an impostor.
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def describe(self) -> str:
        user = f"{self.username}@" if self.username else ""
        tls = " with STARTTLS" if self.starttls else ""
        return f"SMTP server {user}{self.host}:{self.port}{tls}"


class _SMTP(smtplib.SMTP):
    """smtplib's client, noting whether the server took the current MAIL FROM: until it
    has, a broken connection cannot have delivered the message, and sending it again on
    a new connection cannot make a duplicate."""

    mail_accepted = False

    def mail(self, sender: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        code, reply = super().mail(sender, options)
        self.mail_accepted = code == 250
        return code, reply


class SMTPConnection:
    """One SMTP connection reused for a batch of messages.

    Opened at the first ``send``. A server that closed it meanwhile (an idle timeout, a
    limit of messages per connection, a "421" before the message was taken) is found out
    when the next message starts; that message is sent again once, on a new connection.
    A connection lost *during* a message fails that message (temporary: it is retried
    later) and the next message opens a new one. When opening a connection fails, the
    rest of the batch fails with the same error at once rather than each waiting for its
    own timeout. A refused recipient or sender leaves the connection usable: smtplib
    resets the transaction (``RSET``) before raising. ``close`` says goodbye (``QUIT``).
    """

    def __init__(self, backend: SMTPBackend) -> None:
        self.backend = backend
        self._smtp: smtplib.SMTP | None = None
        # Whether the open connection has carried a message already: only then can a
        # failure at the start of a message mean it went stale.
        self._used = False
        self._open_failed: BaseException | None = None

    def __enter__(self) -> SMTPConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over for its one recipient; raises as ``SMTPBackend.send``."""
        recipient = _single_recipient(message)
        for last_try in (False, True):
            smtp = self._connected()
            reused = self._used
            self._used = True
            try:
                _transact(smtp, message, recipient)
                return
            except DeliveryError as exc:
                # A refusal. smtplib has reset the transaction, so the connection carries
                # the next message; after a 421 ("closing") it has closed it instead.
                if smtp.sock is None:
                    self._discard()
                if last_try or exc.code != 421 or not _went_stale(smtp, reused):
                    raise
            except (OSError, smtplib.SMTPServerDisconnected):
                self._discard()
                if last_try or not _went_stale(smtp, reused):
                    raise
            except BaseException:
                # Anything else leaves the server mid-transaction, where the next MAIL
                # FROM would be refused ("503"): never reuse the connection after it.
                self._discard()
                raise
            # The server had closed the connection before this message began (an idle
            # timeout, a limit of messages per connection): send it on a new one, once.

    def _connected(self) -> smtplib.SMTP:
        if self._smtp is not None and self._smtp.sock is not None:
            return self._smtp
        if self._open_failed is not None:
            # Raised again without the traceback of the first time, which would grow.
            raise self._open_failed.with_traceback(None)
        try:
            self._smtp = self.backend.open()
        except Exception as exc:
            self._open_failed = exc
            raise
        self._used = False
        return self._smtp

    def _discard(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None

    def close(self) -> None:
        """End the connection, if one is open: QUIT, whatever the server answers."""
        if self._smtp is not None:
            _quit(self._smtp)
        self._smtp = None


def _went_stale(smtp: smtplib.SMTP, reused: bool) -> bool:
    """Whether a failure on this connection came before the server took MAIL FROM on a
    connection that had carried mail already: the server dropped it between messages,
    and this message cannot have been delivered."""
    return reused and not getattr(smtp, "mail_accepted", False)


def _transact(smtp: smtplib.SMTP, message: EmailMessage, recipient: str) -> None:
    """One mail transaction on an open connection, with refusals turned into ours."""
    if isinstance(smtp, _SMTP):
        smtp.mail_accepted = False
    try:
        # One recipient, so a refusal is always an exception: smtplib raises
        # SMTPRecipientsRefused only when *every* recipient is refused, and would return
        # the others silently. On a refusal smtplib sends RSET (or, after a 421, closes the
        # connection), so the connection is ready for the next message.
        smtp.send_message(message, to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()), (-1, b"refused"))
        raise refusal(code, text, stage="RCPT TO") from exc
    except smtplib.SMTPSenderRefused as exc:
        raise refusal(exc.smtp_code, exc.smtp_error, stage="MAIL FROM") from exc
    except smtplib.SMTPDataError as exc:
        # Also a server that took the recipient but refuses the content.
        raise refusal(exc.smtp_code, exc.smtp_error, stage="DATA") from exc
    except smtplib.SMTPNotSupportedError as exc:
        # An internationalised address and a server without SMTPUTF8: this server will
        # never take this message.
        raise PermanentDeliveryError(_text(str(exc))) from exc


class Connection(Protocol):
    """What the worker sends a batch through: a backend's connection, or the backend."""

    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _EachOnItsOwn:
    backend: MailBackend

    def send(self, message: EmailMessage) -> None:
        self.backend.send(message)

    def close(self) -> None:
        pass


def open_connection(backend: MailBackend) -> Connection:
    """A connection for one batch: the backend's own when it keeps one (SMTP), otherwise
    the backend itself, with nothing to close (files, the console, tests' stand-ins)."""
    connection = getattr(backend, "connection", None)
    if callable(connection):
        opened: Connection = connection()
        return opened
    return _EachOnItsOwn(backend)


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


def _quit(smtp: smtplib.SMTP) -> None:
    # Not smtplib's ``with``: its exit raises when QUIT is answered with anything but 221,
    # which would turn a message the server has accepted into a failure (and a duplicate
    # on the retry), or hide the refusal being raised. Whatever QUIT gets changes nothing.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def refusal(code: int, reply: bytes | str, *, stage: str) -> DeliveryError:
    """The error for a server's refusing ``code`` and ``reply`` at ``stage``: permanent
    for a 5xx code, temporary otherwise (4xx, or smtplib's -1 for an unreadable reply)."""
    kind = PermanentDeliveryError if 500 <= code <= 599 else TemporaryDeliveryError
    return kind(_text(reply), code=code if code > 0 else None, stage=stage)


def _single_recipient(message: EmailMessage) -> str:
    # Every outbox row is one message to one address: a header naming several would
    # make one refusal ambiguous (and smtplib hide it), so it is refused here.
    fields = [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
    addresses = [address for _, address in getaddresses(fields) if address]
    if len(addresses) != 1:
        raise PermanentDeliveryError(
            f"a message goes to exactly one address; this one names {len(addresses)}"
        )
    return addresses[0]


def _text(reply: bytes | str) -> str:
    """A server's reply as one printable line, trimmed: it is stored and shown."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    # Multi-line replies become one line; control characters (an escape sequence from a
    # hostile server) are dropped.
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(text) > MAX_REPLY_LENGTH:
        text = text[: MAX_REPLY_LENGTH - 1].rstrip() + "…"
    return text or "no reason given"
