"""The two status machines: a signature's and a letter's. Nothing else changes a status.

A signature::

    unconfirmed --confirm--> pending_review --approve--> published
         |                        |  \\--reject--> rejected
         |  (no review needed) ---+--------------> published
         +-- expires: purged, nothing public ever held it
    published / pending_review --withdraw--> withdrawn
    published --unpublish (a coordinator)--> pending_review
    published --hold (a bulk hold of a flood)--> pending_review --release--> published
    unconfirmed --reject (a bulk rejection of a flood)--> rejected
    published --lapse (not re-confirmed in time)--> lapsed --reconfirm--> published
    lapsed --withdraw--> withdrawn

A hold and its release keep the signature's publication time, so a released signature
is back in its old place on the list; an approval after ``unpublish`` starts a new one.
A lapse and its re-confirmation keep it too. Lapsing is done in batches by one
conditional ``UPDATE`` each (``reconfirm.lapsing``), from the statuses ``sources("lapse")``
names, for letters of a hundred thousand signatures; every other change comes here.

A letter::

    draft --open--> open --close--> closed --reopen--> open
                     \\                /
                      +--deliver--> delivered   (for good: nothing leaves it)

Opening (or reopening) refuses a letter whose deadline has passed: it would be "open" and
still take no signature, which nobody means. An illegal event raises
``IllegalTransition`` and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from signatory.core.database import DbSession
from signatory.core.errors import DomainError
from signatory.models.letter import Letter, LetterStatus, Moderation
from signatory.models.signature import Signature, SignatureKind, SignatureStatus


class IllegalTransition(DomainError):
    """``event`` cannot happen to something in status ``current``."""

    def __init__(self, current: str, event: str, *, what: str = "signature") -> None:
        super().__init__(f"cannot {event} a {what} that is {current}")
        self.current = current
        self.event = event


class DeadlinePassed(IllegalTransition):
    """Opening a letter whose deadline has passed: it would take no signature."""

    def __init__(self, current: str, event: str, deadline: datetime) -> None:
        super().__init__(current, event, what="letter")
        self.deadline = deadline


# --- A signature ----------------------------------------------------------------------------

_SIGNATURE_EVENTS: dict[str, tuple[SignatureStatus, ...]] = {
    "confirm": (SignatureStatus.UNCONFIRMED,),
    "approve": (SignatureStatus.PENDING_REVIEW,),
    # Moderators reject what waits for review; a bulk rejection of a flood also rejects
    # signatures never confirmed, so their links stop working.
    "reject": (SignatureStatus.PENDING_REVIEW, SignatureStatus.UNCONFIRMED),
    "withdraw": (
        SignatureStatus.PUBLISHED,
        SignatureStatus.PENDING_REVIEW,
        SignatureStatus.LAPSED,
    ),
    # A coordinator takes a published signature off the list; it goes back to the queue.
    "unpublish": (SignatureStatus.PUBLISHED,),
    # A bulk hold takes a published signature into the queue keeping its place on the list;
    # releasing the hold puts it back there.
    "hold": (SignatureStatus.PUBLISHED,),
    "release": (SignatureStatus.PENDING_REVIEW,),
    # After a substantive change, a published signature whose signer neither re-confirmed
    # nor withdrew within the letter's policy leaves the list, keeping its place; its
    # re-confirmation puts it back there.
    "lapse": (SignatureStatus.PUBLISHED,),
    "reconfirm": (SignatureStatus.LAPSED,),
}


def sources(event: str) -> tuple[SignatureStatus, ...]:
    """The statuses ``event`` may start from (for a bulk ``UPDATE`` that applies it)."""
    return _SIGNATURE_EVENTS[event]


def needs_review(letter: Letter, signature: Signature) -> bool:
    """Whether a confirmed ``signature`` waits for the coordinators before it is published.

    A signature flagged when it was made (``review_reason``: a lookalike organization name,
    a disposable address on a letter that reviews those) waits whatever the letter's policy,
    and so does one under a coordinator's bulk hold (``hold_id``).
    """
    if signature.review_reason or signature.hold_id is not None:
        return True
    if letter.moderation == Moderation.ALL:
        return True
    if letter.moderation == Moderation.MISMATCH:
        return signature.kind == SignatureKind.ORGANIZATION and not signature.domain_verified
    return False


def transition(signature: Signature, event: str, *, now: datetime) -> SignatureStatus:
    """Apply ``event`` to ``signature`` or raise ``IllegalTransition``; return the new status."""
    allowed = _SIGNATURE_EVENTS.get(event)
    if allowed is None or signature.status not in allowed:
        raise IllegalTransition(signature.status, event)
    if event == "confirm":
        signature.confirmed_at = now
        target = (
            SignatureStatus.PENDING_REVIEW
            if needs_review(signature.letter, signature)
            else SignatureStatus.PUBLISHED
        )
    elif event == "approve":
        target = SignatureStatus.PUBLISHED
    elif event == "reject":
        target = SignatureStatus.REJECTED
    elif event == "unpublish":
        signature.published_at = None
        target = SignatureStatus.PENDING_REVIEW
    elif event == "hold":
        target = SignatureStatus.PENDING_REVIEW
    elif event in ("release", "reconfirm"):
        target = SignatureStatus.PUBLISHED
    elif event == "lapse":
        target = SignatureStatus.LAPSED
    else:
        signature.withdrawn_at = now
        target = SignatureStatus.WITHDRAWN
    # Only a held or lapsed signature comes back with its publication time, and keeps it.
    if target == SignatureStatus.PUBLISHED and signature.published_at is None:
        signature.published_at = now
    signature.status = target
    signature.status_changed_at = now
    return target


# --- A letter -------------------------------------------------------------------------------

# Each event, the statuses it starts from, and the status it leads to.
LETTER_EVENTS: dict[str, tuple[tuple[LetterStatus, ...], LetterStatus]] = {
    "open": ((LetterStatus.DRAFT,), LetterStatus.OPEN),
    "close": ((LetterStatus.OPEN,), LetterStatus.CLOSED),
    "reopen": ((LetterStatus.CLOSED,), LetterStatus.OPEN),
    "deliver": ((LetterStatus.OPEN, LetterStatus.CLOSED), LetterStatus.DELIVERED),
}


def change_letter_status(
    session: DbSession, letter: Letter, event: str, *, now: datetime
) -> LetterStatus:
    """Apply ``event`` to ``letter`` or raise ``IllegalTransition``; return the new status.

    The change is a conditional ``UPDATE`` on the status the caller read, so of two
    coordinators acting at once (two owners delivering, say) exactly one changes it and
    the other gets ``IllegalTransition`` with the status the first one left.
    """
    starts_from, target = LETTER_EVENTS.get(event, ((), None))
    current = letter.status
    if target is None or current not in starts_from:
        raise IllegalTransition(current, event, what="letter")
    if target == LetterStatus.OPEN and letter.deadline is not None and letter.deadline <= now:
        raise DeadlinePassed(current, event, letter.deadline)
    values: dict[str, object] = {"status": target}
    if target == LetterStatus.OPEN:
        values.update(opened_at=now, closed_at=None)
    elif target == LetterStatus.CLOSED or letter.closed_at is None:
        values["closed_at"] = now
    claimed = session.execute(
        update(Letter)
        .where(Letter.id == letter.id, Letter.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(letter, ["status"])
        raise IllegalTransition(letter.status, event, what="letter")
    for name, value in values.items():
        # What the UPDATE wrote, without marking the letter for another one at flush.
        set_committed_value(letter, name, value)
    return target
