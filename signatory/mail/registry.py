"""Which emails exist, and how each one's template context is built when it is sent.

Each module lists its emails in its own ``mail.py`` (``EMAILS``: name -> builder) and
registers them from its ``init_app`` with ``register``. An outbox row names its email and
carries a small JSON context of ids; the builder loads the rows, mints any links (tokens
are made at send time, so no live credential waits in the outbox) and returns what the
templates ``templates/mail/<name>.{subject.txt,txt,html}`` need.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from signatory.core.database import DbSession
from signatory.core.tokens import Tokens


class Undeliverable(Exception):
    """This message can never be sent: what it is about is gone or no longer true."""


@dataclass(frozen=True)
class MailEnv:
    """What builders need besides the database: absolute links and the token maker."""

    base_url: str
    tokens: Tokens
    config: dict[str, Any]

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


Builder = Callable[[DbSession, dict[str, Any], MailEnv], dict[str, Any]]

_builders: dict[str, Builder] = {}


def register(emails: Mapping[str, Builder]) -> None:
    """Register each email by name with the function that builds its template context.

    Registering the same builder again (another app in the same process) changes nothing;
    a second builder for a name already taken is refused.
    """
    for name, builder in emails.items():
        if name in _builders and _builders[name] is not builder:
            raise ValueError(f"email {name!r} is registered twice")
        _builders[name] = builder


def known(name: str) -> bool:
    return name in _builders


def names() -> list[str]:
    return sorted(_builders)


def build_context(
    session: DbSession, name: str, context: dict[str, Any], env: MailEnv
) -> dict[str, Any]:
    """The template context for one message; ``LookupError`` for an unknown email."""
    try:
        builder = _builders[name]
    except KeyError:
        raise LookupError(f"this worker cannot render mail template {name!r}") from None
    return builder(session, context, env)
