"""Delivering a letter: signing closes and the list handed over is frozen, for good.

The frozen file is the public CSV exactly as ``/letters/<slug>/signatories.csv`` would
have served it at that moment (same header, same neutralised cells, same byte-order
mark), stored with its SHA-256. Anyone can later download it from
``/letters/<slug>/delivered.csv`` and check the hash the public page shows, so the list
the recipient got is provably the list that was published. The printable page and the
counts are read back from those same bytes, so they cannot disagree with the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from signatory.core.errors import DomainError, InvalidArgument
from signatory.core.text import folded
from signatory.models import (
    Coordinator,
    Delivery,
    IllegalTransition,
    Letter,
    LetterStatus,
    LetterVersion,
    SignatureKind,
    audit,
    change_letter_status,
)
from signatory.public.exports import (
    BOM,
    FORMULA_TRIGGERS,
    HEADER,
    SECTION_LABELS,
    csv_filename,
    iter_csv,
)

DELIVERED_TO_MAX = 300
METHOD_MAX = 200
NOTE_MAX = 2000
# A delivery is a record of something that happened; a clock a few minutes fast on the
# coordinator's machine should not make "now" look like the future.
CLOCK_SLACK = timedelta(minutes=5)

DELIVERABLE = (LetterStatus.OPEN, LetterStatus.CLOSED)


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


@dataclass(frozen=True)
class FrozenList:
    csv_bytes: bytes
    sha256: str
    organizations: int
    individuals: int


def freeze_list(session: Session, letter: Letter) -> FrozenList:
    """The public CSV of ``letter`` as bytes now, with its counts and SHA-256.

    Built from ``public.exports.iter_csv``, the generator the public download streams,
    and encoded as UTF-8 as that response is: the bytes are the ones a visitor would get.
    Built in memory, which is fine for something done once per letter.
    """
    csv_bytes = "".join(iter_csv(session, letter)).encode("utf-8")
    rows = parse_rows(csv_bytes)
    return FrozenList(
        csv_bytes=csv_bytes,
        sha256=hashlib.sha256(csv_bytes).hexdigest(),
        organizations=sum(1 for row in rows if row.kind == SignatureKind.ORGANIZATION),
        individuals=sum(1 for row in rows if row.kind == SignatureKind.INDIVIDUAL),
    )


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
    session: Session, letter: Letter, data: DeliveryData, *, actor: Coordinator, now: datetime
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


def delivery_of(session: Session, letter: Letter) -> Delivery | None:
    """The letter's delivery, if it has been delivered."""
    return session.scalar(
        select(Delivery)
        .where(Delivery.letter_id == letter.id)
        .order_by(Delivery.id.desc())
        .limit(1)
    )


def delivered_version(session: Session, delivery: Delivery) -> LetterVersion:
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
    return version or delivery.letter.current_version


# --- Reading the frozen file back -------------------------------------------------------


@dataclass(frozen=True)
class DeliveredRow:
    """One row of the frozen CSV, with the spreadsheet guard taken off for display."""

    kind: str
    organization: str
    country_code: str
    country: str
    organization_type: str
    website: str
    name: str
    title: str
    domain_verified: str
    signed_at: str
    version: str


@dataclass(frozen=True)
class CountryGroup:
    country: str
    country_code: str
    rows: list[DeliveredRow]


@dataclass(frozen=True)
class DeliveredSection:
    kind: str
    count: int
    countries: list[CountryGroup]


_KIND_BY_LABEL = {label: str(kind) for kind, label in SECTION_LABELS.items()}


def _unguard(cell: str) -> str:
    """Undo ``public.exports.neutralise`` for display: the ``'`` is only there for spreadsheets.

    It was added exactly when the text after it (past leading spaces) starts with a
    formula trigger, so that is exactly when it is taken off.
    """
    if cell.startswith("'"):
        rest = cell[1:]
        stripped = rest.lstrip(" ")
        if stripped and stripped[0] in FORMULA_TRIGGERS:
            return rest
    return cell


def parse_rows(csv_bytes: bytes) -> list[DeliveredRow]:
    """The data rows of a frozen CSV, in file order."""
    text = csv_bytes.decode("utf-8").removeprefix(BOM)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return []
    if len(header) != len(HEADER):
        raise ValueError("the frozen CSV does not have the export's columns")
    rows = []
    for cells in reader:
        if not cells:
            continue
        values = [_unguard(cell) for cell in cells]
        kind = _KIND_BY_LABEL.get(values[0], values[0])
        rows.append(DeliveredRow(kind, *values[1:]))
    return rows


def _row_order(row: DeliveredRow) -> tuple[str, str]:
    if row.kind == SignatureKind.ORGANIZATION:
        return folded(row.organization), folded(row.name)
    return folded(row.name), folded(row.organization)


def delivered_sections(csv_bytes: bytes) -> list[DeliveredSection]:
    """Organizations, then individuals, each grouped by country name and sorted by name.

    Exactly the rows of the frozen file; a section with no rows is left out.
    """
    rows = parse_rows(csv_bytes)
    sections = []
    for kind in (SignatureKind.ORGANIZATION, SignatureKind.INDIVIDUAL):
        of_kind = [row for row in rows if row.kind == kind]
        if not of_kind:
            continue
        by_country: dict[tuple[str, str], list[DeliveredRow]] = {}
        for row in of_kind:
            by_country.setdefault((row.country, row.country_code), []).append(row)
        groups = [
            CountryGroup(country, code, sorted(members, key=_row_order))
            for (country, code), members in sorted(
                by_country.items(), key=lambda item: (folded(item[0][0]), item[0][1])
            )
        ]
        sections.append(DeliveredSection(str(kind), len(of_kind), groups))
    return sections


def delivered_filename(letter: Letter, delivery: Delivery) -> str:
    """``<slug>-delivered-<YYYY-MM-DD>.csv``, safe inside a quoted header value."""
    safe_slug = csv_filename(letter).removesuffix("-signatories.csv")
    return f"{safe_slug}-delivered-{delivery.delivered_at:%Y-%m-%d}.csv"
