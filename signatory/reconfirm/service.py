"""Keeping a signature on a new version of the text: the emailed keep link, read and used.

After a coordinator tells earlier signatories of a substantive version
(``signatures.changes``), each email carries a keep link (minted by the email's builder in
``signatures.mail``): the purpose ``reconfirm``, the signature's id, and a nonce that names
the version (``core.tokens.scoped_nonce``). Keeping records the version and the time on
the signature, whose ``version_id`` still names what it first signed, and rotates the
nonce; a lapsed signature (``lapsing``) comes back to its place on the list.

What a link can meet, each a clear answer and never a stack trace: kept already (the same
answer again, 200), a newer substantive version told since (its own email has the link),
a signature withdrawn, rejected or erased, a delivered letter, a forged or altered token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from signatory.core.database import DbSession
from signatory.core.errors import DomainError
from signatory.core.tokens import TokenPayload, nonce_matches, split_scoped_nonce
from signatory.letters.service import SUBSTANTIVE
from signatory.models import (
    STANDING_STATUSES,
    LetterStatus,
    LetterVersion,
    Signature,
    SignatureStatus,
    new_nonce,
    transition,
)
from signatory.models.signature import load_signature
from signatory.signatures.service import audit_signer

# Why a keep link cannot be used, and the status of the page that says so.
INVALID = "invalid"
GONE = "gone"
ENDED = "ended"
SUPERSEDED = "superseded"
USED = "used"
DELIVERED = "delivered"
CHANGED = "changed"
STATUS = {
    INVALID: 400,
    GONE: 410,
    ENDED: 409,
    SUPERSEDED: 409,
    USED: 409,
    DELIVERED: 409,
    CHANGED: 409,
}


class KeepRefused(DomainError):
    """The keep link cannot be used; ``reason`` says why, for the page shown."""

    def __init__(
        self,
        reason: str,
        *,
        signature: Signature | None = None,
        version: LetterVersion | None = None,
        newer: LetterVersion | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.signature = signature
        self.version = version
        self.newer = newer

    @property
    def status(self) -> int:
        return STATUS.get(self.reason, 400)


@dataclass(frozen=True)
class KeepLink:
    """A keep link that can be answered: its signature, the version it offers, and, when
    the signature is kept on that version or a later one already, which (``kept``)."""

    signature: Signature
    version: LetterVersion
    kept: LetterVersion | None = None


def _version(session: DbSession, version_id: int | None) -> LetterVersion | None:
    return session.get(LetterVersion, version_id) if version_id is not None else None


def newest_told(session: DbSession, letter_id: int) -> LetterVersion | None:
    """The newest substantive version of the letter whose earlier signatories were told."""
    return session.scalar(
        select(LetterVersion)
        .where(
            LetterVersion.letter_id == letter_id,
            LetterVersion.kind == SUBSTANTIVE,
            LetterVersion.notified_at.is_not(None),
        )
        .order_by(LetterVersion.number.desc())
        .limit(1)
    )


def read_link(session: DbSession, payload: TokenPayload, *, slug: str) -> KeepLink:
    """What the keep link ``payload`` (read from a token of purpose ``reconfirm``) is for.

    ``KeepRefused`` when it cannot be used; a link already used to keep the signature on
    its version (or a later one) answers ``kept`` rather than refusing, so pressing the
    button twice, or opening the link again, says the same thing.
    """
    scoped = split_scoped_nonce(payload.nonce)
    if scoped is None:
        raise KeepRefused(INVALID)
    version_id, nonce = scoped
    signature = load_signature(session, payload.row_id)
    if signature is None:
        raise KeepRefused(GONE)
    version = _version(session, version_id)
    if (
        signature.letter.slug != slug
        or version is None
        or version.letter_id != signature.letter_id
        or version.kind != SUBSTANTIVE
        or version.notified_at is None
    ):
        raise KeepRefused(INVALID)
    if signature.erased_at is not None or signature.status not in STANDING_STATUSES:
        raise KeepRefused(ENDED, signature=signature, version=version)
    kept = _version(session, signature.reconfirmed_version_id)
    if kept is not None and kept.number >= version.number:
        return KeepLink(signature, version, kept)
    newest = newest_told(session, signature.letter_id)
    if newest is not None and newest.number > version.number:
        raise KeepRefused(SUPERSEDED, signature=signature, version=version, newer=newest)
    signed = _version(session, signature.version_id)
    if signed is None or signed.number >= version.number:
        # Signed on this version or a later one: nobody mailed it this link.
        raise KeepRefused(INVALID)
    stored = signature.reconfirm_nonce
    if stored is None or not nonce_matches(stored, nonce):
        raise KeepRefused(USED, signature=signature, version=version)
    if signature.letter.status == LetterStatus.DELIVERED:
        # Its list was handed over: what it shows is final.
        raise KeepRefused(DELIVERED, signature=signature, version=version)
    return KeepLink(signature, version)


def keep(session: DbSession, link: KeepLink, *, now: datetime) -> KeepLink:
    """Keep the link's signature on its version: record it, and bring a lapsed one back.

    Idempotent: a link already kept changes nothing and is returned as it is. The nonce
    rotates, so the link acts once; ``KeepRefused(CHANGED)`` when the signature changed
    status meanwhile (withdrawn, lapsed, moderated), nothing saved.
    """
    if link.kept is not None:
        return link
    signature, version = link.signature, link.version
    lapsed = signature.status == SignatureStatus.LAPSED
    # The nonce is claimed by a conditional UPDATE first, so of two presses at the same
    # moment one keeps and the other finds the link used (the view then reads it again).
    fresh = new_nonce()
    claimed = session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.reconfirm_nonce == signature.reconfirm_nonce)
        .values(reconfirm_nonce=fresh)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise KeepRefused(CHANGED)
    set_committed_value(signature, "reconfirm_nonce", fresh)
    signature.reconfirmed_version_id = version.id
    signature.reconfirmed_at = now
    if lapsed:
        # Back on the list in its old place: the publication time was kept.
        transition(signature, "reconfirm", now=now)
    try:
        session.flush()
    except StaleDataError:
        # The UPDATE is conditional on the status read (the mapper's version column): a
        # lapse, a withdrawal or a coordinator got there first. The caller rolls back.
        raise KeepRefused(CHANGED) from None
    audit_signer(
        session,
        signature,
        "signature.reconfirmed",
        now=now,
        detail={"version": version.number, "was_lapsed": lapsed},
    )
    return KeepLink(signature, version, version)
