"""Telling earlier signatories of a substantive change to the text they signed.

After a coordinator publishes a substantive version, they may email every signature that
stands on an earlier version the difference, with that signer's own withdrawal link.
Nobody's signature moves: it stays on the version it was signed against.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import select, update

from signatory.core.database import DbSession
from signatory.core.i18n import long_datetime
from signatory.letters.service import SUBSTANTIVE, LetterError
from signatory.letters.versions import version_by_number
from signatory.mail.outbox import enqueue
from signatory.models import STANDING_STATUSES, Coordinator, Letter, LetterVersion, Signature, audit


class AlreadyNotified(LetterError):
    pass


def earlier_signatures(
    session: DbSession, letter: Letter, version: LetterVersion
) -> list[Signature]:
    """Live signatures made against a version before ``version``."""
    earlier = select(LetterVersion.id).where(
        LetterVersion.letter_id == letter.id, LetterVersion.number < version.number
    )
    return list(
        session.scalars(
            select(Signature)
            .where(
                Signature.letter_id == letter.id,
                Signature.status.in_(STANDING_STATUSES),
                Signature.version_id.in_(earlier),
            )
            .order_by(Signature.id)
        )
    )


def notify_signatories(
    session: DbSession, letter: Letter, number: int, *, actor: Coordinator, now: datetime
) -> int:
    """Email every earlier signatory the change made by substantive version ``number``.

    One ``version_changed`` email per live signature signed against an earlier version,
    through the outbox, each with the difference from the version that person signed and
    their own withdrawal link. Once per version. Returns how many emails were queued.
    Nobody's signature moves: it stays on the version it was signed against.
    """
    version = version_by_number(session, letter, number)
    if version.kind != SUBSTANTIVE:
        raise LetterError(
            gettext(
                "Version %(number)s is a correction; signatories are told of substantive "
                "changes only.",
                number=number,
            )
            if version.kind == "correction"
            else gettext(
                "Version %(number)s is the first text; signatories are told of substantive "
                "changes only.",
                number=number,
            )
        )
    if version.notified_at is not None:
        raise AlreadyNotified(
            gettext(
                "Signatories were already told of version %(number)s on %(when)s.",
                number=number,
                when=long_datetime(version.notified_at),
            )
        )
    recipients = earlier_signatures(session, letter, version)
    if not recipients:
        raise LetterError(
            gettext(
                "Nobody to tell: every signature that stands was made on version %(number)s "
                "or later.",
                number=number,
            )
        )
    # Claimed with a conditional UPDATE, so two coordinators pressing the button at the
    # same moment send one round of emails, not two.
    claimed = session.execute(
        update(LetterVersion)
        .where(LetterVersion.id == version.id, LetterVersion.notified_at.is_(None))
        .values(notified_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyNotified(f"Signatories were already told of version {number}.")
    session.refresh(version, ["notified_at"])
    for signature in recipients:
        enqueue(
            session,
            template="version_changed",
            to=signature.email,
            context={"signature_id": signature.id, "version_id": version.id},
            letter_id=letter.id,
            signature_id=signature.id,
            now=now,
        )
    audit.record(
        session,
        "letter.signatories_notified",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        detail={"version": number, "count": len(recipients)},
        now=now,
    )
    return len(recipients)
