"""Mail backends: SMTP (with STARTTLS and login), a folder of .eml files, the console."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from signatory.mail.backends import (
    ConsoleBackend,
    FileBackend,
    MailURLError,
    PermanentDeliveryError,
    SMTPBackend,
    backend_from_url,
)
from tests.conftest import SMTPServer, free_port


def make_email(subject: str = "Hello", to: str = "ada@example.org") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "signatory@example.org"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Plain text “body”.")
    message.add_alternative("<p>HTML body</p>", subtype="html")
    return message


def start_controller(handler: Any, **kwargs: Any) -> Controller:
    # aiosmtpd 1.4 cannot listen on port 0 (its start-up probe connects to port 0), so
    # pick a free port first.
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


class Recorder:
    """An aiosmtpd handler that keeps what it receives, optionally refusing recipients."""

    def __init__(self, refuse_rcpt: str | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse_rcpt = refuse_rcpt
        self.arrived = threading.Event()

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        self.arrived.set()
        return "250 OK"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", str(key), "-out", str(cert), "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot make a test certificate with openssl: {exc}")
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Controller, Recorder]]:
    """SMTP that demands STARTTLS, then AUTH as mailer / s3cr@t, before it takes mail."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"mailer",
            b"s3cr@t",
        )
        return AuthResult(success=ok)

    recorder = Recorder()
    controller = start_controller(
        recorder,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    yield controller, recorder
    controller.stop()


def _port(controller: Controller) -> int:
    return controller.server.sockets[0].getsockname()[1]


def test_smtp_backend_delivers_both_parts(smtp_server: SMTPServer) -> None:
    backend_from_url(smtp_server.url).send(make_email(subject="Over SMTP"))

    [received] = smtp_server.wait_for(1)
    assert received["Subject"] == "Over SMTP"
    assert received.get_body(preferencelist=("plain",)) is not None
    assert received.get_body(preferencelist=("html",)) is not None


def test_smtp_backend_uses_starttls_and_logs_in(
    tls_server: tuple[Controller, Recorder],
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    controller, recorder = tls_server
    # The backend verifies the server against the default trust store; trust our test CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    backend = backend_from_url(f"smtp://mailer:s3cr%40t@127.0.0.1:{_port(controller)}?starttls=1")

    backend.send(make_email(subject="Over TLS"))

    assert recorder.arrived.wait(5), "the TLS server received nothing"
    assert recorder.messages[0]["Subject"] == "Over TLS"


def test_smtp_backend_refuses_a_server_it_cannot_verify(
    tls_server: tuple[Controller, Recorder],
) -> None:
    controller, recorder = tls_server
    backend = backend_from_url(f"smtp://mailer:s3cr%40t@127.0.0.1:{_port(controller)}?starttls=1")

    with pytest.raises(ssl.SSLError):
        backend.send(make_email())
    assert recorder.messages == []


def test_smtp_backend_raises_when_server_is_down() -> None:
    backend = backend_from_url(f"smtp://127.0.0.1:{free_port()}")

    with pytest.raises(OSError):
        backend.send(make_email())


def test_smtp_recipient_refused_for_good_is_a_permanent_error() -> None:
    controller = start_controller(Recorder(refuse_rcpt="550 5.1.1 No such user"))
    try:
        backend = backend_from_url(f"smtp://127.0.0.1:{_port(controller)}")
        with pytest.raises(PermanentDeliveryError, match="550"):
            backend.send(make_email())
    finally:
        controller.stop()


def test_file_backend_writes_one_eml_per_message_into_a_new_folder(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet" / "there"
    backend = backend_from_url(folder.as_uri())

    backend.send(make_email(subject="First"))
    backend.send(make_email(subject="Second"))

    files = sorted(folder.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]
    subjects = {message_from_bytes(f.read_bytes(), policy=policy.default)["Subject"] for f in files}
    assert subjects == {"First", "Second"}


def test_file_backend_leaves_no_partial_file_when_writing_fails(tmp_path: Path) -> None:
    class Unwritable(EmailMessage):
        def as_bytes(self, *args: Any, **kwargs: Any) -> bytes:
            raise OSError("disk full")

    broken = Unwritable()
    broken["Subject"] = "never written"

    with pytest.raises(OSError, match="disk full"):
        FileBackend(tmp_path).send(broken)
    assert list(tmp_path.iterdir()) == []


def test_console_backend_prints_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    backend_from_url("console:").send(make_email(subject="To the console"))

    out = capsys.readouterr().out
    assert "Subject: To the console" in out
    assert "text/html" in out


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org:2525", SMTPBackend("mail.example.org", 2525)),
        ("smtp://mail.example.org", SMTPBackend("mail.example.org", 25)),
        (
            "smtp://me%40example.org:p%2Fw@mail.example.org:587?starttls=1",
            SMTPBackend("mail.example.org", 587, "me@example.org", "p/w", starttls=True),
        ),
        ("file:///var/mail/out", FileBackend(Path("/var/mail/out"))),
        ("console:", ConsoleBackend()),
    ],
)
def test_mail_url_selects_the_backend(url: str, expected: object) -> None:
    assert backend_from_url(url) == expected


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("ftp://mail.example.org", "is not one of smtp://"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.org:port", "malformed"),
        ("smtp://mail.example.org:25?tls=1", "unknown option"),
        ("smtp://mail.example.org:25?starttls=maybe", "starttls must be 1 or 0"),
        ("file://server/share", "names a host"),
        ("file://", "names no folder"),
    ],
)
def test_unusable_mail_url_says_what_is_wrong(url: str, complaint: str) -> None:
    with pytest.raises(MailURLError, match=complaint):
        backend_from_url(url)


def test_mail_url_error_does_not_repeat_the_password() -> None:
    with pytest.raises(MailURLError) as caught:
        backend_from_url("smtp://user:hunter2@mail.example.org:25?tls=1")
    assert "hunter2" not in str(caught.value)


def test_smtp_backend_description_hides_the_password() -> None:
    backend = backend_from_url("smtp://user:hunter2@mail.example.org:587?starttls=1")
    assert "hunter2" not in backend.describe() + repr(backend)
    assert "mail.example.org:587" in backend.describe()
