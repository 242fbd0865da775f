"""gunicorn's settings for signatory: ``gunicorn wsgi:app`` run from this folder reads them
(``gunicorn --config /path/to/gunicorn.conf.py wsgi:app`` from anywhere else).

Every default can be changed from the environment, without editing this file:

- ``PORT``: the port of the default address (``5000``).
- ``GUNICORN_BIND``: the whole address, such as ``0.0.0.0:8000`` or
  ``unix:/run/signatory.sock``, several separated by commas (``127.0.0.1:$PORT``).
- ``WEB_CONCURRENCY`` or ``GUNICORN_WORKERS`` (the first set wins): worker processes
  (2 × cores + 1, at most 8).
- ``GUNICORN_TIMEOUT``: seconds a worker may stay silent before it is killed and
  replaced (``60``).
- ``GUNICORN_GRACEFUL_TIMEOUT``: seconds a stopping worker has to finish (``30``).
- ``GUNICORN_KEEPALIVE``: seconds an idle keep-alive connection stays open, for threaded
  workers; sync workers close after each answer (``5``).
- ``GUNICORN_ACCESS_LOG``: ``-`` for stdout, a file, or empty for none (``-``).
- ``GUNICORN_ERROR_LOG``: gunicorn's own log, ``-`` for stderr or a file (``-``).
- ``GUNICORN_LOG_LEVEL``: gunicorn's own log level (``info``).
- ``GUNICORN_CONTROL_SOCKET``: a path for gunicorn's control socket (``gunicornc``);
  unset, there is none.

Command-line flags and ``GUNICORN_CMD_ARGS`` still win over this file, as gunicorn has it.
The app's own log lines (``signatory.core.ops.logs``) go to stderr.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _whole(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        sys.exit(f"gunicorn.conf.py: {name} must be a whole number, 1 or more, got {raw!r}")
    return int(raw)


def _cores() -> int:
    # The cores this process may run on (a container's or taskset's limit), not the
    # machine's: os.cpu_count() would count cores it will never get.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- Where it listens -------------------------------------------------------------------

# Loopback by default: a reverse proxy on the same machine terminates TLS in front
# (docs/deploy.md). A load balancer on another machine needs GUNICORN_BIND=0.0.0.0:PORT.
_port = _whole("PORT", 5000)
bind = [
    address.strip()
    for address in os.environ.get("GUNICORN_BIND", f"127.0.0.1:{_port}").split(",")
    if address.strip()
]

# --- Workers ------------------------------------------------------------------------------

# Sync workers, 2 × cores + 1 (gunicorn's own advice): a request here is short and spends
# much of its time waiting, not computing (for PostgreSQL and Redis over the network, for
# SQLite's write lock and its fsync), so a core keeps more than one worker busy. At most 8
# by default: each worker holds its own database connections (PostgreSQL's default
# max_connections, 100, is shared by every node and mail worker), and on SQLite more
# writers only queue longer for the one write lock. Set WEB_CONCURRENCY to go beyond.
workers = _whole(
    "WEB_CONCURRENCY" if os.environ.get("WEB_CONCURRENCY") else "GUNICORN_WORKERS",
    min(2 * _cores() + 1, 8),
)
worker_class = "sync"
# Each worker builds its own app (its database pool, its Redis client, its rate-limit
# file): nothing opened before the fork is shared by processes that each think they own it.
preload_app = False

# A sync worker streaming a download tells the arbiter nothing until it is done: the
# timeout must outlast the longest one (a public CSV of a million rows takes tens of
# seconds on a small machine), or the worker is killed and the file arrives cut short.
timeout = _whole("GUNICORN_TIMEOUT", 60)
graceful_timeout = _whole("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _whole("GUNICORN_KEEPALIVE", 5)

# The workers' heartbeat files in memory, where there is a /dev/shm: on a disk-backed /tmp
# (a container's overlay) a stalled write can make the arbiter kill a healthy worker.
if os.path.isdir("/dev/shm"):  # noqa: S108 - gunicorn's own advice, its files are private
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# gunicorn 25.1 and later open a control socket by default, at one path per user
# ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl): a second instance on the
# machine (a second node, a deploy starting the new code beside the old, a test) takes
# it over and removes it when it stops. None unless asked for, at a path of its own.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
control_socket_disable = not _control_socket
if _control_socket:
    control_socket = _control_socket

# --- Logs -----------------------------------------------------------------------------------

# One key=value line per request, like the app's own lines: the request id is the one the
# app answered with (X-Request-Id: the proxy's, when it sent a sane one), duration_ms the
# time from the request's first byte to the response's last.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = (
    'time="%(t)s" remote=%(h)s forwarded_for="%({x-forwarded-for}i)s" '
    'request_id=%({x-request-id}o)s method=%(m)s path="%(U)s" query="%(q)s" '
    'status=%(s)s bytes=%(B)s duration_ms=%(M)s user_agent="%(a)s"'
)
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


# --- Hooks ----------------------------------------------------------------------------------


def on_starting(server: Any) -> None:
    """Check signatory's configuration once, in the arbiter, before it binds the port.

    A bad setting is one line on stderr and gunicorn exits 4, instead of every worker
    printing a traceback (``signatory.core.ops.startup``).
    """
    from signatory.core.ops.startup import check_configuration

    check_configuration()
