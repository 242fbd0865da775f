"""The service as an operator runs it: ``flask db upgrade``, the create commands, gunicorn on
``wsgi:app`` and ``flask mail worker``, each a real process, with one open letter ``SLUG``.

tests/test_end_to_end.py drives it over HTTP; tests/browser drives it in a real browser.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

from sqlalchemy import create_engine, func, select
from sqlalchemy import table as sql_table
from sqlalchemy.pool import NullPool

from tests import databases
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
SLUG = "open-the-room"


class Stack:
    """Database, gunicorn and the mail worker, as separate processes.

    ``nodes`` gunicorns (each on a port of its own, as separate machines would be: ``bases``)
    and ``workers`` mail workers; ``database_url`` another database than the suite's.
    """

    def __init__(
        self,
        tmp: Path,
        smtp_port: int,
        *,
        nodes: int = 1,
        workers: int = 1,
        database_url: str | None = None,
    ) -> None:
        self.web_ports = [free_port() for _ in range(nodes)]
        self.web_port = self.web_ports[0]
        self.bases = [f"http://127.0.0.1:{port}" for port in self.web_ports]
        self.workers = workers
        self.database_url = database_url or databases.empty(tmp, "e2e")
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.env = {
            **os.environ,
            "SIGNATORY_INSTANCE_PATH": str(tmp / "instance"),
            "SIGNATORY_DATABASE_URL": self.database_url,
            "SIGNATORY_SECRET_KEY": "end-to-end-secret-key-" + "x" * 32,
            "SIGNATORY_MAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "SIGNATORY_MAIL_FROM": "letters@signatory.example",
            "SIGNATORY_BASE_URL": self.base,
            "SIGNATORY_MAIL_WORKER_INTERVAL": "0.2",
            # The browser here posts the sign form at once, without its fill-time field.
            "SIGNATORY_SIGN_MIN_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        }
        self.tmp = tmp
        self.processes: list[subprocess.Popen] = []
        self.logs_open: list[IO[str]] = []

    def flask(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "signatory", *args],
            cwd=ROOT, env=self.env, input=stdin, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout

    def start(self) -> Stack:
        body = self.tmp / "letter.md"
        body.write_text("We ask the Committee to keep its sessions **open**.\n", encoding="utf-8")
        self.flask("db", "upgrade")
        self.flask("coordinators", "create", "chair@coalition.example", "--name", "Coordinator",
                   stdin="correct horse battery staple\n")  # fmt: skip
        self.flask(
            "letters", "create", "--slug", SLUG, "--title", "Open the room",
            "--recipient", "Chair of the Ad Hoc Committee", "--body-file", str(body),
            "--owner", "chair@coalition.example", "--open",
        )  # fmt: skip
        for number, port in enumerate(self.web_ports):
            self._spawn(
                f"gunicorn-{number}" if number else "gunicorn",
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                 "--workers", "2", "--no-control-socket", "wsgi:app"],
            )  # fmt: skip
        for number in range(self.workers):
            self._spawn(
                f"worker-{number}" if number else "worker",
                [sys.executable, "-m", "flask", "--app", "signatory", "mail", "worker"],
            )
        for base in self.bases:
            self._wait_until_serving(base)
        return self

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.tmp / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.logs_open.append(log)
        self.processes.append(
            subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        )

    def _wait_until_serving(self, base: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(base + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not start:\n" + self.logs())

    def count(self, table: str) -> int:
        """The rows in ``table``, read from the stack's database as the processes left it."""
        engine = create_engine(self.database_url, poolclass=NullPool)
        with engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(sql_table(table))
            ).scalar_one()

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in self.tmp.glob("*.log"))

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs_open:
            log.close()
        databases.drop(self.database_url)
