"""Request ids and log lines: one line per record, each naming the request it belongs to.

Every request gets an id: the ``X-Request-Id`` header the proxy in front sent, when it is
sane (1 to 128 characters of ``A-Z a-z 0-9 . _ -``), else a new one. It is sent back as
``X-Request-Id`` on every response, is ``g.request_id`` and ``current_request_id()``, and
is on every log record written while the request runs (``record.request_id``), so a line
of the proxy's log, gunicorn's access log and the app's log can be matched. Outside a
request, ``log_context(request_id=...)`` names the request a stretch of work belongs to
(the mail worker sending one message that a request queued).

``init_app`` configures the ``signatory`` logger once per process: lines go to stderr,
at INFO and above, in the format ``SIGNATORY_LOG_FORMAT`` names:

- ``text`` (the default): ``key=value`` pairs, values quoted when they hold a space, e.g.
  ``time=2025-05-01T12:00:00.123Z level=warning logger=signatory.core.web
  request_id=4bf92f3577b34da6 message="database unavailable on POST /letters/x/sign"``;
- ``json``: one JSON object per line with the same keys.

A traceback is kept on its record's line (``exception=``), its newlines escaped, so each
record is one line for whatever collects them. Records still propagate to the root
logger, where pytest's ``caplog`` (or an operator's own handler) sees them.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from flask.logging import default_handler

from signatory.core.config import ConfigError

HEADER = "X-Request-Id"
# What an incoming id may look like: short, and nothing a log line or a header could
# be forged with (no spaces, quotes, newlines or "=").
_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Where the request's id is kept: its WSGI environ belongs to that request alone, where
# ``g`` is shared by every request made inside one app context (a command, a test).
_ENVIRON_KEY = "signatory.request_id"
FORMATS = ("text", "json")
LOGGER = "signatory"

_context_id: ContextVar[str | None] = ContextVar("signatory_request_id", default=None)


def new_request_id() -> str:
    """A fresh id: 32 hexadecimal digits, the shape of nginx's ``$request_id``."""
    return secrets.token_hex(16)


def sane_request_id(value: str | None) -> str | None:
    """``value`` if it can serve as a request id as it is, else None."""
    if value and _SANE.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    """The id of the work in progress: the innermost ``log_context``'s, else the request's.

    None outside both (a command, the worker between messages).
    """
    chosen = _context_id.get()
    if chosen is not None or not has_request_context():
        return chosen
    environ = request.environ
    found = environ.get(_ENVIRON_KEY)
    if found is None:
        # Asked before ``_take_request_id`` ran (a log line of an earlier hook): chosen now.
        found = environ[_ENVIRON_KEY] = sane_request_id(request.headers.get(HEADER))
        if found is None:
            found = environ[_ENVIRON_KEY] = new_request_id()
    return str(found)


@contextmanager
def log_context(*, request_id: str | None) -> Iterator[None]:
    """Every record written inside the block carries ``request_id`` (None: no id).

    For work done outside the request that caused it, such as the mail worker sending a
    message queued by a sign POST::

        with log_context(request_id=message.request_id):
            deliver(message)
    """
    token = _context_id.set(request_id)
    try:
        yield
    finally:
        _context_id.reset(token)


# --- Lines --------------------------------------------------------------------------------


def _fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, str]:
    when = datetime.fromtimestamp(record.created, UTC)
    fields = {
        "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "request_id": str(record.__dict__.get("request_id") or "-"),
        "message": record.getMessage(),
    }
    if record.exc_info:
        fields["exception"] = formatter.formatException(record.exc_info)
    if record.stack_info:
        fields["stack"] = formatter.formatStack(record.stack_info)
    return fields


_BARE = re.compile(r"[^\s\"=\\]+")


def _quoted(value: str) -> str:
    if _BARE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


class TextFormatter(logging.Formatter):
    """``key=value`` pairs on one line."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_quoted(value)}" for key, value in _fields(record, self).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record, self), ensure_ascii=False)


class StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when the record comes (pytest swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def _with_request_id(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.__dict__["request_id"] = current_request_id()
        return record

    factory.signatory_request_id = True  # type: ignore[attr-defined]
    return factory


def log_format(config: Mapping[str, Any]) -> str:
    """``SIGNATORY_LOG_FORMAT``: ``text`` (the default) or ``json``; anything else is refused."""
    chosen = config.get("LOG_FORMAT", "text")
    if chosen not in FORMATS:
        raise ConfigError(f"SIGNATORY_LOG_FORMAT must be text or json, got {chosen!r}")
    return str(chosen)


def configure_logging(chosen: str) -> None:
    """The ``signatory`` logger's one handler, in the format ``chosen``; safe to call again.

    Every record made in this process (the app's, its libraries') carries
    ``request_id``: the record factory adds it, so it is there for any handler.
    """
    make = logging.getLogRecordFactory()
    if not getattr(make, "signatory_request_id", False):
        logging.setLogRecordFactory(_with_request_id(make))
    logger = logging.getLogger(LOGGER)
    # Flask's own handler, had it been added first, would print every line a second time.
    logger.removeHandler(default_handler)
    handler = next((h for h in logger.handlers if isinstance(h, StderrHandler)), None)
    if handler is None:
        handler = StderrHandler()
        logger.addHandler(handler)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    # A level someone set already (pytest's caplog, an operator's logging config) stays.
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


# --- Requests -----------------------------------------------------------------------------


def _take_request_id() -> None:
    g.request_id = current_request_id()


def _send_request_id(response: Response) -> Response:
    response.headers[HEADER] = current_request_id() or new_request_id()
    return response


def init_app(app: Flask) -> None:
    """Configure the log lines (``SIGNATORY_LOG_FORMAT``) and give every request an id."""
    configure_logging(log_format(app.config))
    # First of all hooks, so every line of the request, its other hooks' included, has it.
    app.before_request_funcs.setdefault(None, []).insert(0, _take_request_id)
    app.after_request(_send_request_id)
