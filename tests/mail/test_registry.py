"""Every email the app can queue has a builder and its three templates."""

from __future__ import annotations

import pytest

from signatory import PROJECT_ROOT
from signatory.mail import registry
from signatory.mail.outbox import enqueue

TEMPLATES = PROJECT_ROOT / "templates" / "mail"


def test_every_registered_email_has_a_subject_a_text_and_an_html_template(app):
    missing = [
        f"{name}{suffix}"
        for name in registry.names()
        for suffix in (".subject.txt", ".txt", ".html")
        if not (TEMPLATES / f"{name}{suffix}").is_file()
    ]
    assert registry.names(), "no email is registered"
    assert missing == [], f"templates missing for registered emails: {missing}"


def test_the_outbox_refuses_an_email_nobody_registered(session):
    with pytest.raises(ValueError, match="unknown mail template"):
        enqueue(session, template="no_such_email", to="a@example.org", context={})
