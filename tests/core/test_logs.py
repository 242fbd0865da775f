"""Log lines and request ids: one line per record, each naming the request it belongs to."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator

import pytest

from signatory import create_app
from signatory.core.config import ConfigError
from signatory.core.extensions import db
from signatory.core.ops.logs import (
    HEADER,
    JsonFormatter,
    StderrHandler,
    TextFormatter,
    configure_logging,
    current_request_id,
    log_context,
    sane_request_id,
)

log = logging.getLogger("signatory.tests")


@pytest.fixture(autouse=True)
def _text_lines_again() -> Iterator[None]:
    """Every test leaves the process's lines as the app configures them by default."""
    yield
    configure_logging("text")


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    record = logging.getLogger("signatory.tests").makeRecord(
        "signatory.tests",
        logging.WARNING,
        __file__,
        1,
        message,
        args,
        (type(exc), exc, exc.__traceback__) if exc else None,
    )
    return record


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


def _unescaped(match: re.Match[str]) -> str:
    return _ESCAPES.get(match.group(1), match.group(1))


def _text_pairs(line: str) -> dict[str, str]:
    """Parse a key=value line (values bare or double-quoted with backslash escapes)."""
    pairs = {}
    for match in re.finditer(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))', line):
        key, quoted, bare = match.groups()
        pairs[key] = bare if quoted is None else re.sub(r"\\(.)", _unescaped, quoted)
    return pairs


def test_a_record_outside_any_request_has_no_request_id(caplog):
    configure_logging("text")
    with caplog.at_level(logging.INFO, logger="signatory"):
        log.info("between two messages")
    assert caplog.records[-1].request_id is None


def test_log_context_names_the_request_of_the_records_inside_it(caplog):
    configure_logging("text")
    with caplog.at_level(logging.INFO, logger="signatory"):
        with log_context(request_id="req-42"):
            log.info("sending")
        log.info("sent")
    assert [r.request_id for r in caplog.records[-2:]] == ["req-42", None]


def test_an_inner_log_context_gives_way_to_the_outer_one_when_it_ends():
    with log_context(request_id="outer"):
        with log_context(request_id="inner"):
            assert current_request_id() == "inner"
        assert current_request_id() == "outer"
    assert current_request_id() is None


def test_the_text_line_is_key_value_pairs_on_one_line():
    try:
        raise ValueError("boom")
    except ValueError as error:
        record = _record('said "no"\nthen %s', "left", exc=error)
    record.request_id = "abc-1"
    line = TextFormatter().format(record)
    assert "\n" not in line
    pairs = _text_pairs(line)
    assert pairs["level"] == "warning"
    assert pairs["logger"] == "signatory.tests"
    assert pairs["request_id"] == "abc-1"
    assert pairs["message"] == 'said "no"\nthen left'
    assert "ValueError: boom" in pairs["exception"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", pairs["time"])


def test_the_json_line_is_one_object_with_the_same_keys():
    record = _record("queued %d digest(s)", 3)
    record.request_id = None
    line = JsonFormatter().format(record)
    assert "\n" not in line
    fields = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fields.pop("time"))
    assert fields == {
        "level": "warning",
        "logger": "signatory.tests",
        "request_id": "-",
        "message": "queued 3 digest(s)",
    }


def test_lines_carry_the_request_id_of_their_context_to_stderr(capsys):
    configure_logging("json")
    with log_context(request_id="req-7"):
        log.warning("the database is unavailable")
    lines = capsys.readouterr().err.splitlines()
    ours = [json.loads(line) for line in lines if line.startswith("{")]
    assert ours[-1]["request_id"] == "req-7"
    assert ours[-1]["message"] == "the database is unavailable"


def test_configuring_again_keeps_one_handler():
    configure_logging("text")
    configure_logging("json")
    handlers = [h for h in logging.getLogger("signatory").handlers if isinstance(h, StderrHandler)]
    assert len(handlers) == 1
    assert isinstance(handlers[0].formatter, JsonFormatter)


def test_the_apps_records_still_reach_pytests_caplog(tmp_path, caplog):
    create_app({"INSTANCE_PATH": str(tmp_path)})
    with caplog.at_level(logging.WARNING):
        logging.getLogger("signatory.core.web").warning("seen by caplog")
    assert "seen by caplog" in caplog.messages


def test_an_unknown_log_format_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="SIGNATORY_LOG_FORMAT must be text or json"):
        create_app({"INSTANCE_PATH": str(tmp_path), "LOG_FORMAT": "xml"})


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("4bf92f3577b34da6a3ce929d0e0e4736", True),
        ("Root=1-67891233-abcdef012345678912345678", False),  # "=" is not in an id
        ("edge.a_1-B", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("with space", False),
        ('quote"d', False),
        ("new\nline", False),
        ("", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_it_is_short_and_plain(incoming, kept):
    assert (sane_request_id(incoming) == incoming) is kept


def test_g_request_id_is_the_id_the_response_carries(app):
    seen = {}

    @app.get("/_test/request-id")
    def _probe() -> str:
        from flask import g

        seen["g"] = g.request_id
        seen["function"] = current_request_id()
        return "ok"

    response = app.test_client().get("/_test/request-id")
    assert seen == {"g": response.headers[HEADER], "function": response.headers[HEADER]}


def test_the_record_factory_is_installed_once(tmp_path):
    create_app({"INSTANCE_PATH": str(tmp_path / "one")})
    first = logging.getLogRecordFactory()
    create_app({"INSTANCE_PATH": str(tmp_path / "two")})
    assert logging.getLogRecordFactory() is first
    assert getattr(first, "signatory_request_id", False)


def test_the_handler_writes_to_the_stderr_of_the_moment(monkeypatch):
    # pytest swaps sys.stderr between tests; a handler holding the old one would write
    # into a closed file.
    handler = StderrHandler()
    handler.setFormatter(TextFormatter())
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", swapped)
    handler.handle(_record("to the new stream"))
    assert "to the new stream" in swapped.getvalue()


def test_an_email_remembers_the_request_that_queued_it(app):
    from tests.conftest import fetch_csrf, queued_mail
    from tests.factories import make_letter

    with app.app_context():
        make_letter(db.session, slug="civic")
        db.session.commit()
    client = app.test_client()
    token = fetch_csrf(client, "/letters/civic")
    form = {
        "csrf_token": token, "kind": "individual", "name": "Ada Example", "country": "FR",
        "organization_type": "", "email": "ada@example.org",
    }  # fmt: skip

    response = client.post("/letters/civic/sign", data=form, headers={"X-Request-Id": "req-42.a"})

    assert response.status_code == 303
    assert [m.request_id for m in queued_mail(app, "confirm_request")] == ["req-42.a"]
