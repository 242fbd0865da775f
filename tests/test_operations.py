"""What an operator relies on: /healthz for the load balancer, a request id on every answer
and log line, a bad setting refused in one line, gunicorn.conf.py, and ./scripts/serve
stopping everything it started."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signatory import PROJECT_ROOT, create_app
from signatory.core.ops.logs import HEADER
from tests.conftest import SECRET, _config, free_port
from tests.databases import REDIS_URL, redis_only

_GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def _app_on(tmp_path: Path, database_url: str, **extra: Any) -> Any:
    return create_app(_config(tmp_path, database_url, **extra))


def _unreachable_database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'no-such-folder' / 'signatory.sqlite3'}"


# --- /healthz ---------------------------------------------------------------------------


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_never_cached(client):
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"


def test_healthz_sets_no_cookie(client):
    response = client.get("/healthz")
    assert "Set-Cookie" not in response.headers
    assert client.get_cookie("session") is None


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_healthz_answers_503_naming_the_database_when_it_cannot_be_reached(tmp_path, kind):
    url = (
        _unreachable_database(tmp_path)
        if kind == "sqlite"
        # A port nothing listens on: the server refuses at once.
        else f"postgresql+psycopg://signatory@127.0.0.1:{free_port()}/signatory"
    )
    app = _app_on(tmp_path, url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unavailable"}


@pytest.fixture
def redis_down(app_config: dict[str, Any]) -> None:
    """Rate limits counted in a Redis that refuses (a port nothing listens on); request it
    before anything that builds the app."""
    app_config["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def redis_up(app_config: dict[str, Any]) -> None:
    app_config["RATELIMIT_STORAGE_URI"] = REDIS_URL


@pytest.fixture
def default_limit(app_config: dict[str, Any]) -> None:
    """Flask-Limiter's own default limit on every route: two requests a minute."""
    app_config["RATELIMIT_DEFAULT"] = "2 per minute"


def test_healthz_answers_503_naming_redis_when_the_rate_limits_redis_is_down(redis_down, client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "ok",
        "redis": "unavailable",
    }


@redis_only
def test_healthz_checks_redis_when_the_rate_limits_are_counted_there(redis_up, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_outside_every_rate_limit(default_limit, client):
    # The pages run out of the default limit (so it is in force); the health check never does.
    assert [client.get("/privacy").status_code for _ in range(3)][-1] == 429
    assert {client.get("/healthz").status_code for _ in range(5)} == {200}


# --- Request ids ------------------------------------------------------------------------


def test_every_answer_carries_a_new_request_id(client):
    ids = [client.get(path).headers[HEADER] for path in ("/", "/healthz", "/no-such-page")]
    assert all(_GENERATED_ID.fullmatch(value) for value in ids), ids
    assert len(set(ids)) == 3


def test_a_sane_request_id_from_the_proxy_is_sent_back(client):
    response = client.get("/healthz", headers={HEADER: "edge-7f3a.01"})
    assert response.headers[HEADER] == "edge-7f3a.01"


@pytest.mark.parametrize("incoming", ["x" * 200, "two words", 'a"b', "a=b"])
def test_an_unfit_request_id_from_outside_is_replaced(client, incoming):
    response = client.get("/healthz", headers={HEADER: incoming})
    assert _GENERATED_ID.fullmatch(response.headers[HEADER])


def test_the_log_lines_of_a_request_carry_its_id(tmp_path, caplog):
    app = _app_on(tmp_path, _unreachable_database(tmp_path))
    with caplog.at_level(logging.WARNING, logger="signatory"):
        response = app.test_client().get("/healthz", headers={HEADER: "probe-1"})
    warnings = [r for r in caplog.records if r.name.startswith("signatory")]
    assert warnings, "the failed health check logged nothing"
    assert {r.request_id for r in warnings} == {response.headers[HEADER]} == {"probe-1"}


# --- A bad setting: one line, whoever starts the process ----------------------------------

BAD_SETTINGS = [
    ("SIGNATORY_MAIL_MAX_ATTEMPTS", "abc"),
    ("SIGNATORY_PROXY_FIX", "-1"),
    ("SIGNATORY_DATABASE_URL", "mysql://db.example/signatory"),
]


def _environment(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SIGNATORY_", "GUNICORN_", "WEB_CONCURRENCY", "FLASK_"))
    }
    env.update(
        SIGNATORY_INSTANCE_PATH=str(tmp_path / "instance"),
        SIGNATORY_DATABASE_URL=f"sqlite:///{tmp_path / 'signatory.sqlite3'}",
        SIGNATORY_SECRET_KEY=SECRET,
        SIGNATORY_MAIL_URL=(tmp_path / "mail").as_uri(),
        PYTHONUNBUFFERED="1",
    )
    env.update(values)
    return env


def _said(output: str, variable: str) -> list[str]:
    return [line for line in output.splitlines() if variable in line]


@pytest.mark.parametrize(("variable", "value"), BAD_SETTINGS)
def test_a_bad_setting_stops_a_flask_command_with_one_line_naming_it(tmp_path, variable, value):
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "signatory", "mail", "send"],
        cwd=PROJECT_ROOT, env=_environment(tmp_path, **{variable: value}),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == _said(result.stderr, variable)
    assert len(_said(result.stderr, variable)) == 1, result.stderr


@pytest.mark.parametrize(("variable", "value"), BAD_SETTINGS)
def test_a_bad_setting_stops_gunicorn_with_one_line_before_it_serves(tmp_path, variable, value):
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "wsgi:app"],
        cwd=PROJECT_ROOT, env=_environment(tmp_path, PORT=str(port), **{variable: value}),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    assert len(_said(result.stderr, variable)) == 1, result.stderr
    assert "Listening at" not in result.stderr


def test_without_its_config_file_gunicorn_stops_on_a_bad_setting_instead_of_retrying(tmp_path):
    # wsgi.py's own refusal: the worker exits with gunicorn's "app failed to load" status,
    # so the arbiter stops rather than starting the worker again and again.
    empty = tmp_path / "empty.conf.py"
    empty.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", str(empty), "--no-control-socket",
         "--bind", f"127.0.0.1:{free_port()}", "--workers", "1", "wsgi:app"],
        cwd=PROJECT_ROOT, env=_environment(tmp_path, SIGNATORY_MAIL_MAX_ATTEMPTS="abc"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    assert len(_said(result.stderr, "SIGNATORY_MAIL_MAX_ATTEMPTS")) == 1, result.stderr


# --- gunicorn.conf.py -------------------------------------------------------------------


class Served:
    """gunicorn started on gunicorn.conf.py alone, with its output kept in files."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.home = tmp / "home"
        self.home.mkdir()
        env = _environment(tmp, PORT=str(self.port), WEB_CONCURRENCY="1", HOME=str(self.home))
        env.pop("XDG_RUNTIME_DIR", None)
        self.out = open(tmp / "stdout.log", "w")  # noqa: SIM115 - closed in stop()
        self.err = open(tmp / "stderr.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:app"],
            cwd=PROJECT_ROOT, env=env, stdout=self.out, stderr=self.err,
        )  # fmt: skip

    def get(self, path: str, **headers: str) -> Any:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers)
        deadline = time.monotonic() + 30
        while True:
            try:
                return urllib.request.urlopen(request, timeout=5)
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError("gunicorn did not serve:\n" + self.stderr()) from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.out.close()
        self.err.close()

    def stdout(self) -> str:
        return (self.tmp / "stdout.log").read_text()

    def stderr(self) -> str:
        return (self.tmp / "stderr.log").read_text()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("served"))
    try:
        with server.get("/healthz", **{HEADER: "first-probe"}) as response:
            assert response.status == 200
        yield server
    finally:
        server.stop()


def test_gunicorn_on_its_config_file_opens_no_control_socket_a_second_instance_would_take(
    served,
):
    # gunicorn's default is one path per user, ~/.gunicorn/gunicorn.ctl here.
    assert not (served.home / ".gunicorn").exists()
    assert "Control socket" not in served.stderr()


def test_the_access_log_line_names_the_request_id_status_and_duration(served):
    with served.get("/healthz", **{HEADER: "access-log-probe"}) as response:
        assert response.headers[HEADER] == "access-log-probe"
    deadline = time.monotonic() + 10
    while "access-log-probe" not in served.stdout() and time.monotonic() < deadline:
        time.sleep(0.1)
    [line] = [line for line in served.stdout().splitlines() if "access-log-probe" in line]
    assert "request_id=access-log-probe " in line
    assert 'method=GET path="/healthz"' in line
    assert re.search(r"status=200 bytes=\d+ duration_ms=\d+ ", line), line


def test_a_bad_gunicorn_setting_in_the_environment_is_refused_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "wsgi:app"],
        cwd=PROJECT_ROOT, env=_environment(tmp_path, GUNICORN_TIMEOUT="soon"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "gunicorn.conf.py: GUNICORN_TIMEOUT must be a whole number, 1 or more, got 'soon'"
    )


# --- ./scripts/serve ----------------------------------------------------------------------


def _processes_in_session(session: int) -> list[str]:
    """The command lines of the processes still in ``session`` (whatever their parent)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == session:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ProcessLookupError):
            continue
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the processes from /proc")
def test_serve_stops_the_mail_worker_when_gunicorn_cannot_bind_its_port(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    env = _environment(tmp_path, PORT=str(port), SIGNATORY_SKIP_INSTALL="1")
    log = tmp_path / "serve.log"
    # The script's own session: whatever it starts stays in it, even once orphaned. Its
    # output goes to a file: a worker left behind would hold a pipe open for ever.
    with log.open("w") as output:
        serve = subprocess.Popen(
            [str(PROJECT_ROOT / "scripts" / "serve")], env=env, start_new_session=True,
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        serve.wait(timeout=180)
        # The worker needs a moment to stop after its SIGTERM (it finishes its message).
        deadline = time.monotonic() + 15
        while _processes_in_session(serve.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _processes_in_session(serve.pid)
    finally:
        taken.close()
        with contextlib.suppress(ProcessLookupError):  # nothing left, as it should be
            os.killpg(serve.pid, signal.SIGKILL)
    said = log.read_text()
    assert serve.returncode != 0, said
    assert "Mail worker sending" in said, said  # it had started
    assert left == [], f"left running after serve exited: {left}\n{said}"
