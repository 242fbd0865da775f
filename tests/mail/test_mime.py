"""The worker's email policy remembers parsed and folded headers, and changes nothing on the
wire: a message made with it is byte for byte what the standard default policy makes."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import EmailPolicy, default

import pytest

from signatory.mail.mime import MAIL_POLICY


def email(policy: EmailPolicy, to: str) -> EmailMessage:
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
    message.set_boundary("fixed-boundary")
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
