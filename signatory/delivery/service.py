"""Delivering a letter: signing closes and the list handed over is frozen, for good.

The frozen file is the public CSV exactly as ``/letters/<slug>/signatories.csv`` would
have served it at that moment (same header, same neutralised cells, same byte-order
mark), stored with its SHA-256. Anyone can later download it from
``/letters/<slug>/delivered.csv`` and check the hash the public page shows, so the list
the recipient got is provably the list that was published. The printable page and the
counts are read back from those same bytes, so they cannot disagree with the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import select

from signatory.core.database import DbSession
from signatory.core.errors import DomainError, InvalidArgument
from signatory.delivery.frozen import freeze_list
from signatory.models import (
    Coordinator,
    Delivery,
    IllegalTransition,
    Letter,
    LetterStatus,
    LetterVersion,
    audit,
    change_letter_status,
)
from signatory.models.status import LETTER_EVENTS

DELIVERED_TO_MAX = 300
METHOD_MAX = 200
NOTE_MAX = 2000
# A delivery is a record of something that happened; a clock a few minutes fast on the
# coordinator's machine should not make "now" look like the future.
CLOCK_SLACK = timedelta(minutes=5)

# What a letter may be delivered from: the status machine's rule, read from it.
DELIVERABLE = LETTER_EVENTS["deliver"][0]


class AlreadyDelivered(DomainError):
    """The letter was delivered already; its frozen list is never replaced."""


class NotDeliverable(DomainError):
    """Only an open or closed letter can be delivered (a draft has nothing to hand over)."""


class InvalidDelivery(InvalidArgument):
    """What was entered about the delivery cannot be recorded; ``field`` says where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DeliveryData:
    """What a coordinator says about the hand-over."""

    delivered_to: str
    delivered_at: datetime
    method: str
    note: str = ""


def _checked(data: DeliveryData, *, now: datetime) -> DeliveryData:
    delivered_to = data.delivered_to.strip()
    method = data.method.strip()
    note = data.note.strip()
    if not delivered_to:
        raise InvalidDelivery("delivered_to", gettext("Say to whom the letter was delivered."))
    if len(delivered_to) > DELIVERED_TO_MAX:
        raise InvalidDelivery(
            "delivered_to", gettext("At most %(max)s characters.", max=DELIVERED_TO_MAX)
        )
    if not method:
        raise InvalidDelivery("method", gettext("Say how it was delivered, e.g. “in person”."))
    if len(method) > METHOD_MAX:
        raise InvalidDelivery("method", gettext("At most %(max)s characters.", max=METHOD_MAX))
    if len(note) > NOTE_MAX:
        raise InvalidDelivery("note", gettext("At most %(max)s characters.", max=NOTE_MAX))
    if data.delivered_at.tzinfo is None:
        raise InvalidDelivery("delivered_at", gettext("The time needs a time zone (UTC)."))
    if data.delivered_at > now + CLOCK_SLACK:
        raise InvalidDelivery(
            "delivered_at",
            gettext(
                "That is in the future. Mark the letter delivered once it has been handed over."
            ),
        )
    return DeliveryData(delivered_to, data.delivered_at, method, note)


def deliver(
    session: DbSession, letter: Letter, data: DeliveryData, *, actor: Coordinator, now: datetime
) -> Delivery:
    """Mark ``letter`` delivered: close signing, freeze its published list, audit it.

    Only from open or closed, and only once. The letter's status machine changes the
    status with a conditional ``UPDATE``, so of two owners pressing the button at once
    exactly one delivers and the other gets ``AlreadyDelivered``.
    """
    if letter.status == LetterStatus.DELIVERED:
        raise AlreadyDelivered(letter.slug)
    if letter.status not in DELIVERABLE:
        raise NotDeliverable(letter.slug)
    data = _checked(data, now=now)
    previous = letter.status
    try:
        change_letter_status(session, letter, "deliver", now=now)
    except IllegalTransition:
        # Another owner delivered it between our read and our change.
        raise AlreadyDelivered(letter.slug) from None

    frozen = freeze_list(session, letter)
    delivery = Delivery(
        letter=letter,
        delivered_to=data.delivered_to,
        delivered_at=data.delivered_at,
        method=data.method,
        note=data.note,
        csv_bytes=frozen.csv_bytes,
        sha256=frozen.sha256,
        organizations=frozen.organizations,
        individuals=frozen.individuals,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    audit.record(
        session,
        "letter.delivered",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        detail={
            "delivery_id": delivery.id,
            "from": str(previous),
            "delivered_to": data.delivered_to,
            "delivered_at": data.delivered_at.isoformat(),
            "method": data.method,
            "organizations": frozen.organizations,
            "individuals": frozen.individuals,
            "sha256": frozen.sha256,
        },
        now=now,
    )
    return delivery


def delivery_of(session: DbSession, letter: Letter) -> Delivery | None:
    """The letter's delivery, if it has been delivered."""
    return session.scalar(
        select(Delivery)
        .where(Delivery.letter_id == letter.id)
        .order_by(Delivery.id.desc())
        .limit(1)
    )


def delivered_version(session: DbSession, letter: Letter, delivery: Delivery) -> LetterVersion:
    """The text that was current when the letter was delivered."""
    version = session.scalar(
        select(LetterVersion)
        .where(
            LetterVersion.letter_id == delivery.letter_id,
            LetterVersion.created_at <= delivery.created_at,
        )
        .order_by(LetterVersion.number.desc())
        .limit(1)
    )
    return version or letter.current_version


@dataclass(frozen=True)
class PublicDelivery:
    """What the public may know of a delivery; the frozen file is served on its own route."""

    delivered_to: str
    delivered_at: datetime
    method: str
    organizations: int
    individuals: int
    sha256: str


def latest_delivery(session: DbSession, letter: Letter) -> PublicDelivery | None:
    """The letter's latest delivery record, if it was delivered.

    Selects columns, not the row: the frozen CSV bytes can run to megabytes and are not
    needed to describe the delivery.
    """
    row = session.execute(
        select(
            Delivery.delivered_to,
            Delivery.delivered_at,
            Delivery.method,
            Delivery.organizations,
            Delivery.individuals,
            Delivery.sha256,
        )
        .where(Delivery.letter_id == letter.id)
        .order_by(Delivery.id.desc())
        .limit(1)
    ).first()
    return PublicDelivery(*row) if row is not None else None
