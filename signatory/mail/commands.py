"""``flask mail send`` and ``flask mail worker`` (placeholder, being written)."""

from flask.cli import AppGroup

mail_cli = AppGroup("mail", help="Send the email waiting in the outbox.")
