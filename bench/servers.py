"""The processes a load run starts and talks to, all on 127.0.0.1 and always stopped.

gunicorn (signatory and the baseline, the same settings for both), the mail worker, a
local SMTP server (aiosmtpd), an HTTP client that keeps cookies (for the CSRF-bound
session and a coordinator's sign-in), and the resident memory of a serving process read
from ``/proc`` while it streams a download.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# Both apps are served alike: two synchronous workers, as the issue measured.
WORKERS = 2
WORKER_CLASS = "sync"
# Long enough for a million-row download; the default (30 s) would kill the worker.
WORKER_TIMEOUT = 600

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Process:
    """A child in a process group of its own, so stopping it stops everything it started."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.log_path = log
        self._log: IO[str] = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to the whole group, SIGKILL after ``timeout``; safe to call twice."""
        if self.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=timeout)
        # Workers left behind by a master that died first.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        if not self._log.closed:
            self._log.close()

    def tail(self, lines: int = 30) -> str:
        if not self._log.closed:
            self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Gunicorn(Process):
    """``gunicorn -w 2 -k sync`` on a free port of 127.0.0.1, serving ``app``."""

    def __init__(
        self, name: str, app: str, env: Mapping[str, str], tmp: Path, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.ready_path = "/"
        # An empty configuration file: a gunicorn.conf.py in the project (read by default
        # from the working directory) must not give one side settings the other lacks.
        config = tmp / "gunicorn.empty.conf.py"
        config.write_text("# bench.load: every setting is on the command line\n")
        argv = [
            sys.executable, "-m", "gunicorn", "--config", str(config),
            "--bind", f"{HOST}:{self.port}", "--workers", str(WORKERS),
            "--worker-class", WORKER_CLASS, "--timeout", str(WORKER_TIMEOUT),
            "--graceful-timeout", "5", app,
        ]  # fmt: skip
        super().__init__(name, argv, env, tmp / f"{name}.log")

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_until_serving(self, path: str, timeout: float = 60) -> None:
        self.ready_path = path
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            with suppress(OSError, http.client.HTTPException):
                if Client(self.base).get(path).status < 500:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {path} within {timeout} s:\n{self.tail()}")

    def settle(self, timeout: float = 120) -> None:
        """Wait until the requests a wrk run left in flight are done.

        wrk stops with its connections' requests unanswered, and the workers carry them
        out anyway; the next run must not pay for them. The listen queue is served in
        order, so once a request sent now (twice, one per worker) is answered, they are.
        """
        for _ in range(WORKERS):
            with suppress(OSError, http.client.HTTPException):
                Client(self.base, timeout=timeout).get(self.ready_path)

    def workers(self) -> list[int]:
        return children(self.pid)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            # The command name is in parentheses and may hold spaces: split after it.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def rss_bytes(pid: int) -> int:
    """The resident set of ``pid`` now (VmRSS), 0 when it is gone."""
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class MemoryWatch:
    """Samples the resident memory of ``pids`` every 20 ms while a download streams.

    ``growth`` is the largest rise of one process over its resident memory just before
    (its idle size): the memory that serving the download cost it.
    """

    pids: list[int]
    interval: float = 0.02
    idle: dict[int, int] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self.idle = {pid: rss_bytes(pid) for pid in self.pids}
        self.peak = dict(self.idle)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for pid in self.pids:
                self.peak[pid] = max(self.peak.get(pid, 0), rss_bytes(pid))

    @property
    def growth(self) -> int:
        return max((self.peak[pid] - self.idle[pid] for pid in self.pids), default=0)

    @property
    def idle_of_busiest(self) -> int:
        if not self.pids:
            return 0
        busiest = max(self.pids, key=lambda pid: self.peak[pid] - self.idle[pid])
        return self.idle[busiest]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def csrf_token(self) -> str:
        match = _CSRF.search(self.text)
        if match is None:
            raise RuntimeError("no csrf_token field on the page")
        return match.group(1)


class Client:
    """A small HTTP/1.1 client for 127.0.0.1 that keeps the cookies it is given."""

    def __init__(self, base: str, timeout: float = 60) -> None:
        self.base = base
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def _send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        sent = dict(headers)
        if self.cookies:
            sent["Cookie"] = self.cookie_header
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, content = pair.partition("=")
                self.cookies[key.strip()] = content.strip()
        return connection, response

    def request(
        self, method: str, path: str, form: Mapping[str, str] | None = None, **headers: str
    ) -> Answer:
        body = urlencode(form).encode() if form is not None else None
        sent = dict(headers)
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection, response = self._send(method, path, body, sent)
        try:
            return Answer(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, None, **headers)

    def post(self, path: str, form: Mapping[str, str], **headers: str) -> Answer:
        return self.request("POST", path, form, **headers)

    def stream(
        self, method: str, path: str, form: Mapping[str, str] | None = None
    ) -> Iterator[bytes]:
        """The body of a (large) answer in chunks as they arrive; raises on a non-200."""
        body = urlencode(form).encode() if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        connection, response = self._send(method, path, body, headers)
        try:
            if response.status != 200:
                raise RuntimeError(f"{method} {path} answered {response.status}")
            while chunk := response.read(256 * 1024):
                yield chunk
        finally:
            connection.close()


class SMTPSink:
    """A local SMTP server (aiosmtpd, in a thread here) that counts what it is handed.

    It keeps the time each message arrived and its Message-ID, to tell the worker's rate
    between the first and the last message and to see that none came twice.
    """

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrivals: list[float] = []
        self.message_ids: list[str] = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname=HOST, port=free_port())

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content: bytes = envelope.content
        match = re.search(rb"(?im)^message-id:\s*(\S+)", content)
        with self._lock:
            self.arrivals.append(time.perf_counter())
            self.message_ids.append(match.group(1).decode() if match else "")
        return "250 OK"

    def __enter__(self) -> SMTPSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.controller.port}"

    def count(self) -> int:
        with self._lock:
            return len(self.arrivals)

    def reset(self) -> None:
        with self._lock:
            self.arrivals.clear()
            self.message_ids.clear()

    def wait_for(
        self, count: int, timeout: float, alive: Callable[[], bool], stalled: float = 30
    ) -> bool:
        """Whether ``count`` messages arrive within ``timeout`` seconds.

        Gives up sooner when the sender has exited, or when nothing new has arrived for
        ``stalled`` seconds (a worker that fails every message stays alive).
        """
        deadline = time.monotonic() + timeout
        seen, last_change = self.count(), time.monotonic()
        while time.monotonic() < deadline:
            now_seen = self.count()
            if now_seen >= count:
                return True
            if now_seen != seen:
                seen, last_change = now_seen, time.monotonic()
            if not alive() or time.monotonic() - last_change > stalled:
                return False
            time.sleep(0.05)
        return self.count() >= count
