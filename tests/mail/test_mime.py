"""The worker's email policy remembers parsed and folded headers, and a batch's messages share
one multipart boundary; neither changes the wire: a message made so is byte for byte what the
standard default policy makes with that boundary."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import EmailPolicy, default

import pytest

from signatory.mail.mime import MAIL_POLICY, new_boundary, set_boundary


def email(policy: EmailPolicy, to: str, boundary: str | None = "fixed-boundary") -> EmailMessage:
    message = EmailMessage(policy=policy)
    message["From"] = "Lettres ouvertes <lettres@signatory.example>"
    # The same text under another name: remembered apart, each under its own name.
    message["Reply-To"] = "Lettres ouvertes <lettres@signatory.example>"
    message["To"] = to
    message["Subject"] = "Confirmez votre signature de « Protéger l’espace civique » " * 3
    message["Date"] = "Wed, 02 Dec 2026 03:28:49 +0000"
    message["Message-ID"] = f"<outbox.1.20261202@signatory.example> for {to}"
    message.set_content("Bonjour,\n\nune ligne très longue " * 20 + "\n")
    message.add_alternative("<p>Bonjour, une ligne très longue</p>" * 20, subtype="html")
    if boundary is not None:
        message.set_boundary(boundary)
    return message


@pytest.mark.parametrize("to", ["ada@example.org", "Zoë Example <zoe@example.org>"])
def test_a_message_made_with_the_worker_policy_is_what_the_default_policy_makes(
    to: str,
) -> None:
    expected = email(default, to).as_bytes(policy=default.clone(linesep="\r\n"))

    first = email(MAIL_POLICY, to).as_bytes(policy=MAIL_POLICY.clone(linesep="\r\n"))
    # The second time, every repeated header comes from what the first remembered.
    second = email(MAIL_POLICY, to).as_bytes(policy=MAIL_POLICY.clone(linesep="\r\n"))

    assert first == expected
    assert second == expected


def test_a_batch_boundary_is_drawn_as_the_standard_library_draws_one() -> None:
    first, second = new_boundary(), new_boundary()

    assert re.fullmatch(r"={15}\d{19}==", first)
    assert first != second


def test_a_message_given_the_batch_boundary_is_what_the_default_policy_makes_with_it() -> None:
    boundary = new_boundary()
    expected = email(default, "ada@example.org", boundary=boundary)
    given = email(MAIL_POLICY, "ada@example.org", boundary=None)

    set_boundary(given, boundary, "Bonjour", "<p>Bonjour</p>")

    wire = MAIL_POLICY.clone(linesep="\r\n")
    assert given.as_bytes(policy=wire) == expected.as_bytes(policy=default.clone(linesep="\r\n"))


def test_a_part_that_holds_the_batch_boundary_makes_the_message_draw_its_own() -> None:
    boundary = new_boundary()
    text = f"A line that happens to read\n--{boundary}\nand goes on.\n"
    message = EmailMessage(policy=MAIL_POLICY)
    message["To"] = "ada@example.org"
    message.set_content(text)
    message.add_alternative("<p>Hello</p>", subtype="html")

    set_boundary(message, boundary, text, "<p>Hello</p>")
    wire = message.as_bytes(policy=MAIL_POLICY.clone(linesep="\r\n"))

    assert message.get_boundary() not in (None, boundary)
    parsed = message_from_bytes(wire, policy=default)
    assert isinstance(parsed, EmailMessage)
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content().replace("\r\n", "\n") == text
