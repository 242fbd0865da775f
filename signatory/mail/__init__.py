"""Mail: the outbox every email is written to, the backends, and the worker that sends them.

Modules register their emails (``registry.register``) and the worker's chores
(``worker.add_chore``) from their own ``init_app``; this module knows no email by name.
"""

from __future__ import annotations

from flask import Flask

from signatory.mail.commands import mail_cli


def init_app(app: Flask) -> None:
    """The ``flask mail`` commands (other modules add theirs to the group)."""
    app.cli.add_command(mail_cli)
