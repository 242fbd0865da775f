"""Driving a server with wrk (Debian's ``wrk`` package), bounded in time, read back as JSON.

Each run is ``wrk -t1 -c32 -d10s --timeout 30s -s <script> <url> -- <args>``; the script
is ``lua/common.lua`` (status counts and a ``done()`` that prints the run as one JSON
line) followed by the scenario's own (``get.lua``, ``sign.lua``, ``confirm.lua``).
wrk's own timeout is raised to 30 s so a slow answer counts as slow, not as lost.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "lua"
REQUEST_TIMEOUT_SECONDS = 30
MARKER = "BENCH_JSON "
# A run is a failure when fewer than this share of its answers have the expected status.
EXPECTED_SHARE = 0.95


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "wrk is not installed: apt-get install wrk (Debian's package; CI installs it too)"
        )
    return found


@dataclass(frozen=True)
class Load:
    """How hard to drive: wrk's threads, open connections and seconds per run."""

    threads: int = 1
    connections: int = 32
    seconds: float = 10.0


@dataclass
class Run:
    """One wrk run's figures."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    statuses: dict[str, int]
    errors: dict[str, int]
    exhausted: bool
    expected: tuple[int, ...]
    problems: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def expected_share(self) -> float:
        answered = sum(self.statuses.values())
        good = sum(self.statuses.get(str(code), 0) for code in self.expected)
        return good / answered if answered else 0.0

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 2),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "mean_ms": self.mean_ms,
            "max_ms": self.max_ms,
            "statuses": self.statuses,
            "errors": self.errors,
            "exhausted": self.exhausted,
            "problems": self.problems,
        }


def _script(name: str, tmp: Path) -> Path:
    """``common.lua`` then ``name``, as one file (wrk takes one script)."""
    target = tmp / f"wrk-{name}"
    target.write_text((LUA / "common.lua").read_text() + "\n" + (LUA / name).read_text())
    return target


def _check(run: Run) -> None:
    errors = run.errors
    if run.requests == 0:
        run.problems.append("no answer at all")
    elif run.expected_share < EXPECTED_SHARE:
        shown = ", ".join(f"{code}: {count}" for code, count in sorted(run.statuses.items()))
        expected = "/".join(str(code) for code in run.expected)
        run.problems.append(f"only {run.expected_share:.0%} answered {expected} ({shown})")
    lost = errors.get("connect", 0) + errors.get("read", 0) + errors.get("timeout", 0)
    if lost > 0.05 * max(run.requests, 1):
        run.problems.append(f"{lost} requests lost (connect/read errors, timeouts): {errors}")
    if run.exhausted:
        run.problems.append("ran out of prepared requests: the rate is a lower bound")


def run_wrk(
    url: str,
    script: str,
    args: Sequence[str],
    load: Load,
    tmp: Path,
    *,
    expected: tuple[int, ...],
    seconds: float | None = None,
    connections: int | None = None,
) -> Run:
    """Drive ``url`` with ``script`` for ``load.seconds`` (or ``seconds``); its figures."""
    duration = max(1, round(seconds if seconds is not None else load.seconds))
    argv = [
        wrk_binary(),
        "--threads", str(load.threads),
        "--connections", str(connections or load.connections),
        "--duration", f"{duration}s",
        "--timeout", f"{REQUEST_TIMEOUT_SECONDS}s",
        "--script", str(_script(script, tmp)),
        url, "--", *args,
    ]  # fmt: skip
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=duration + REQUEST_TIMEOUT_SECONDS + 30,
        check=False,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARKER)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({done.returncode}) on {url}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    data = json.loads(line.removeprefix(MARKER))
    latency = data["latency_us"]
    run = Run(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        mean_ms=latency["mean"] / 1000,
        max_ms=latency["max"] / 1000,
        statuses={str(code): int(count) for code, count in data["statuses"].items()},
        errors={name: int(count) for name, count in data["errors"].items()},
        exhausted=bool(data["exhausted"]),
        expected=expected,
    )
    _check(run)
    return run
