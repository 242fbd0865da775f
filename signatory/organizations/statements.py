"""Why we signed: a short statement a signer may add, moderated, shown on the list.

A letter asks for statements only when its editors enable it (``Letter.statements_enabled``).
A statement is stored with its signature as typed (stripped), ``pending``; a moderator
approves or rejects it (audited), and the public list shows it only once ``approved``
(``lists.queries`` reads it through a ``case`` on the status, so no other status ever
leaves the database). The list trigger watches the statement and its status (migration
0024): an approval shows at once. Erasing a signature forgets its statement
(``forget_statement``, from ``privacy.retention``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from signatory.core.database import DbSession
from signatory.core.errors import DomainError
from signatory.core.text import invisible_characters
from signatory.models import HELD_STATUSES, Coordinator, Letter, Signature, audit

# The longest statement (its column's length): a sentence or two, as on a placard.
STATEMENT_MAX = 280
# The most statements the moderation page shows at once (the oldest first).
QUEUE_LIMIT = 100


class StatementStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


DECISIONS = {"approve": StatementStatus.APPROVED, "reject": StatementStatus.REJECTED}


class StatementRefused(ValueError):
    """A statement the sign form refuses; ``str(error)`` is its message, translated."""


class StatementDecided(DomainError):
    """The statement was decided already, or its signature changed since it was read."""


def checked_statement(value: str | None) -> str | None:
    """The statement as stored (stripped, line breaks as ``\\n``), or None when empty.

    Line breaks are kept (the field is a paragraph); every other control character and
    every invisible format character is refused, not stripped: what is shown must be what
    the signer typed. The list shows it as text, escaped, never as HTML.
    """
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return None
    if len(text) > STATEMENT_MAX:
        raise StatementRefused(
            gettext(
                "Keep your statement to %(max)s characters; it has %(count)s.",
                max=STATEMENT_MAX,
                count=len(text),
            )
        )
    hidden = invisible_characters(text)
    if hidden:
        raise StatementRefused(
            gettext(
                "This contains invisible characters (%(characters)s), usually carried along "
                "by copying and pasting. Type it again, or delete them.",
                characters=", ".join(hidden),
            )
        )
    if any((ord(ch) < 32 and ch != "\n") or 127 <= ord(ch) < 160 for ch in text):
        raise StatementRefused(gettext("Use letters, numbers and punctuation only."))
    return text


def statement_values(statement: str | None) -> dict[str, Any]:
    """A new signature's statement columns: the statement awaiting a moderator, or none."""
    return {
        "statement": statement or None,
        "statement_status": StatementStatus.PENDING.value if statement else None,
    }


def forget_statement(signature: Signature) -> None:
    """Erase the signature's statement and its moderation (``privacy.retention``)."""
    signature.statement = None
    signature.statement_status = None
    signature.statement_decided_by_id = None
    signature.statement_decided_at = None


# --- Moderation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedStatement:
    signature_id: int
    kind: str
    organization: str | None
    name: str
    country: str
    statement: str
    signature_status: str
    created_at: datetime


def _in_review(letter_id: int) -> tuple[Any, ...]:
    # Statements of signatures confirmed by their signer: an unconfirmed one may never be.
    return (
        Signature.letter_id == letter_id,
        Signature.statement_status == StatementStatus.PENDING,
        Signature.status.in_(HELD_STATUSES),
    )


def pending_statements(
    session: DbSession, letter: Letter, *, limit: int = QUEUE_LIMIT
) -> list[QueuedStatement]:
    """The letter's statements awaiting a decision, oldest signature first, at most ``limit``."""
    rows = session.execute(
        select(
            Signature.id.label("signature_id"),
            Signature.kind,
            Signature.organization,
            Signature.name,
            Signature.country,
            Signature.statement,
            Signature.status.label("signature_status"),
            Signature.created_at,
        )
        .where(*_in_review(letter.id))
        .order_by(Signature.created_at, Signature.id)
        .limit(limit)
    )
    return [QueuedStatement(**row._asdict()) for row in rows]


def pending_count(session: DbSession, letter_id: int) -> int:
    """How many of the letter's statements await a decision."""
    query = select(func.count()).select_from(Signature).where(*_in_review(letter_id))
    return session.scalar(query) or 0


def decide(
    session: DbSession,
    letter: Letter,
    signature_id: int,
    *,
    decision: str,
    actor: Coordinator,
    now: datetime,
) -> StatementStatus:
    """Approve or reject the pending statement of one of the letter's signatures; audited.

    ``LookupError`` for a signature that is not the letter's, has no statement or is not
    confirmed; ``StatementDecided`` for one decided already (nothing changes).
    """
    status = DECISIONS.get(decision)
    if status is None:
        raise ValueError(decision)
    signature = session.scalar(
        select(Signature).where(
            Signature.id == signature_id,
            Signature.letter_id == letter.id,
            Signature.statement.is_not(None),
            Signature.status.in_(HELD_STATUSES),
        )
    )
    if signature is None:
        raise LookupError(signature_id)
    if signature.statement_status != StatementStatus.PENDING:
        raise StatementDecided(str(signature_id))
    # The flush's UPDATE is conditional on the signature's status (the model's version
    # column): a signature withdrawn or decided meanwhile changes nothing, and says so.
    signature.statement_status = status.value
    signature.statement_decided_by_id = actor.id
    signature.statement_decided_at = now
    audit.record(
        session,
        f"statement.{status}",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        signature_id=signature.id,
        detail={"length": len(signature.statement or "")},
        now=now,
    )
    try:
        session.flush()
    except StaleDataError:
        raise StatementDecided(str(signature_id)) from None
    return status
