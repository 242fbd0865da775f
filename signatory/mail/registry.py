"""Which emails exist, and how each one's template context is built when it is sent.

Each module lists its emails in its own ``mail.py`` (``EMAILS``: name -> builder) and
registers them from its ``init_app`` with ``register``. An outbox row names its email and
carries a small JSON context of ids; the builder loads the rows, mints any links (tokens
are made at send time, so no live credential waits in the outbox) and returns what the
templates ``templates/mail/<name>.{subject.txt,txt,html}`` need.

A worker sends a batch of messages, most of them about a signature of one letter, so it
reads what they are about once for the batch (``Snapshot``) rather than once a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer, joinedload, selectinload

from signatory.core.database import DbSession, commits_keep_loaded, own_session
from signatory.core.tokens import Tokens
from signatory.models import Letter, LetterVersion, Signature


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


# A builder may return, under this key, headers of its own for the email: a dict of name ->
# value, e.g. the ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` of an update email
# (RFC 2369, RFC 8058). Only the names below: a builder never sets who sends, to whom, or
# what the email is (those are the worker's).
HEADERS = "mail_headers"
BUILDER_HEADERS = frozenset({"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"})


def extra_headers(context: Mapping[str, Any]) -> dict[str, str]:
    """The headers a builder asked for in ``context`` (``HEADERS``), checked.

    ``ValueError`` for a name not in ``BUILDER_HEADERS`` or a value holding a line break
    (which would start a header of its own): a bug in the builder, retried as one.
    """
    headers: dict[str, str] = dict(context.get(HEADERS) or {})
    for name, value in headers.items():
        if name not in BUILDER_HEADERS:
            raise ValueError(f"a builder may not set the {name!r} header")
        if "\r" in value or "\n" in value:
            raise ValueError(f"the {name!r} header's value holds a line break")
    return headers


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


# -- a batch's reads ---------------------------------------------------------------------

# A batch's snapshot is read again once it is this old (seconds): what a message says (a
# signature's status, a letter's title) is never older than this when it is rendered.
SNAPSHOT_AGE = 1.0

# What ``models.signature.load_signature`` loads (a signature and its letter), with the
# letter's versions as every letter comes, but without their texts: a confirmation names
# the letter and shows no version's text. The one email that does (``version_changed``)
# reads the texts of the two versions it compares when it is rendered.
_ABOUT_A_SIGNATURE = joinedload(Signature.letter).options(
    selectinload(Letter.versions).options(
        defer(LetterVersion.body_markdown), defer(LetterVersion.body_html)
    )
)


@dataclass
class Snapshot:
    """The signatures a batch's messages are about, with their letters, read at once.

    Two statements for the batch, however many messages it holds and however many
    versions its letters have. The rows stay in the session (``kept_between_commits``),
    so each builder's ``load_signature`` finds its signature there with no query of its
    own, and each letter is read once, not once per message.
    """

    signatures: list[Signature]
    taken_at: float

    @classmethod
    def take(cls, session: DbSession, signature_ids: Collection[int | None]) -> Snapshot:
        """Read the signatures ``signature_ids`` afresh and end the reading (commit)."""
        # What an earlier snapshot left in the session is read again, not reused.
        session.expire_all()
        ids = sorted({i for i in signature_ids if i is not None})
        found = []
        if ids:
            found = list(
                session.scalars(
                    select(Signature).options(_ABOUT_A_SIGNATURE).where(Signature.id.in_(ids))
                )
            )
        # On SQLite every transaction of the worker holds the write lock: end it now.
        session.commit()
        # The list holds the rows: the session's identity map alone would let them go.
        return cls(found, time.monotonic())

    @property
    def stale(self) -> bool:
        return time.monotonic() - self.taken_at >= SNAPSHOT_AGE


@contextmanager
def kept_between_commits(session: DbSession) -> Iterator[None]:
    """Rows read inside the block stay loaded across its commits, and expire at its end.

    The worker commits after rendering each message (so no transaction waits on the mail
    server); expiring everything at each commit would read a batch's snapshot again for
    every message. ``Snapshot.stale`` bounds how old what is kept may get.
    """
    with commits_keep_loaded(session) as own:
        try:
            yield
        finally:
            own.expire_all()


def in_transaction(session: DbSession) -> bool:
    """Whether ``session`` has begun a transaction that a commit would end."""
    return own_session(session).in_transaction()
