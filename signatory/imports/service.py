"""Importing signatures from a spreadsheet: a preview of every row's problems, then the
import itself, all rows or none.

Each imported signer is sent the confirmation link as if they had signed on the page
(``signatures.signing.sign``: status unconfirmed, nothing published before they confirm),
unless the coordinator attests that the signers agreed and their addresses were verified:
those are published at once, marked "added by the coordinators"
(``SignatureSource.ATTESTED``). Either way the rows pass the sign form's rules
(``imports.rows``) and the letter's own (domains, disposable addresses, individuals), and
one live signature per address and one place per organization hold across the file and
the letter's signatures. The caller commits once, or rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from signatory.core.database import DbSession
from signatory.core.domains import email_matches_website
from signatory.core.errors import DomainError
from signatory.imports.reading import Table
from signatory.imports.rows import FIELD_LABELS, CheckedRow, check_row
from signatory.models import (
    HELD_STATUSES,
    LIVE_STATUSES,
    Coordinator,
    ImportBatch,
    Letter,
    Signature,
    SignatureKind,
    SignatureSource,
    SignatureStatus,
    audit,
    transition,
)
from signatory.models.letter import DisposableEmail
from signatory.models.outbox import EmailCaps
from signatory.models.signature import email_key, organization_key
from signatory.signatures import signing
from signatory.signatures.service import SignatureData, is_disposable_domain

# Fields a file must map a column to; the others may be left out.
REQUIRED_FIELDS = ("name", "email", "country")
BATCH_MINUTES = 60
_CHUNK = 500


class ImportRefused(DomainError):
    """The import cannot go ahead; ``message`` says why, translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Preview:
    """What importing the file would do: the rows, each with its problems, before any write."""

    mapping: dict[int, str]
    rows: list[CheckedRow]
    # Problems of the whole file (a required field mapped to no column).
    problems: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[int, str, str]]:
        """(row number, field label or "", message) for every problem of every row."""
        return [
            (row.number, str(FIELD_LABELS[name]) if name else "", message)
            for row in self.rows
            for name, message in row.errors
        ]

    @property
    def rows_with_errors(self) -> int:
        return sum(1 for row in self.rows if row.errors)

    @property
    def ready(self) -> bool:
        return not self.problems and not self.rows_with_errors


@dataclass(frozen=True)
class Imported:
    """What an import did."""

    signatures: int
    # Confirmation emails queued; those a daily cap held back are ``held_back``.
    emailed: int
    held_back: int
    published: int


def preview(
    session: DbSession,
    letter: Letter,
    table: Table,
    mapping: dict[int, str],
    *,
    now: datetime,
    check_deliverability: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Preview:
    """Every row checked against the sign form's and the letter's rules, and duplicates.

    Reads only. ``mapping``: column index -> field (``rows.FIELDS``).
    """
    if not letter.accepts_signatures(now):
        raise ImportRefused(
            gettext("This letter does not accept signatures now: open it before importing.")
        )
    result = Preview(mapping, [])
    for name in REQUIRED_FIELDS:
        if name not in mapping.values():
            result.problems.append(
                gettext("Choose the column that holds: %(field)s.", field=FIELD_LABELS[name])
            )
    if result.problems:
        # Every row would repeat the missing field's error: the mapping comes first.
        return result
    live_emails = set(
        session.scalars(
            select(Signature.email_key).where(
                Signature.letter_id == letter.id, Signature.status.in_(LIVE_STATUSES)
            )
        )
    )
    held_organizations = set(
        session.scalars(
            select(Signature.organization_key).where(
                Signature.letter_id == letter.id,
                Signature.kind == SignatureKind.ORGANIZATION,
                Signature.status.in_(HELD_STATUSES),
            )
        )
    )
    emails_in_file: dict[str, int] = {}
    organizations_in_file: dict[str, int] = {}
    for count, source in enumerate(table.rows, start=1):
        if progress is not None:
            progress(count)
        if source.problem:
            row = CheckedRow(source.number, {}, [("", source.problem)])
            result.rows.append(row)
            continue
        row = check_row(
            source.number,
            source.cells,
            mapping,
            allow_individuals=letter.allow_individuals,
            check_deliverability=check_deliverability,
        )
        result.rows.append(row)
        if row.errors:
            continue
        _check_letter_rules(letter, row)
        key = email_key(row.values["email"])
        if key in emails_in_file:
            row.refuse("email", _same_as(emails_in_file[key]))
        elif key in live_emails:
            row.refuse("email", gettext("This address has already signed this letter."))
        emails_in_file.setdefault(key, row.number)
        if row.is_organization:
            place = organization_key(row.values["organization"]) or ""
            if place in organizations_in_file:
                row.refuse("organization", _same_as(organizations_in_file[place]))
            elif place in held_organizations:
                row.refuse("organization", gettext("This organization is already on the letter."))
            organizations_in_file.setdefault(place, row.number)
    return result


def _same_as(number: int) -> str:
    return gettext("The same as row %(row)s: each may sign once.", row=number)


def _check_letter_rules(letter: Letter, row: CheckedRow) -> None:
    """The letter's own rules, as signing applies them (``signing.check_signing``)."""
    domain = row.email_domain
    if (
        row.is_organization
        and letter.require_domain_match
        and not email_matches_website(domain, row.values["website"])
    ):
        row.refuse(
            "email",
            gettext("This letter needs an address at the organization's website's domain."),
        )
    if is_disposable_domain(domain) and letter.disposable_email != DisposableEmail.REVIEW:
        row.refuse("email", gettext("Addresses at %(domain)s are disposable.", domain=domain))


def _data(row: CheckedRow) -> SignatureData:
    values = row.values
    return SignatureData(
        kind=values["kind"],
        name=values["name"],
        email=values["email"],
        email_domain=row.email_domain,
        country=values["country"],
        title=values["title"] or None,
        organization=values["organization"] or None,
        organization_type=values["organization_type"] or None,
        website=values["website"] or None,
    )


def import_rows(
    session: DbSession,
    letter: Letter,
    checked: Preview,
    *,
    actor: Coordinator | None,
    attested: bool,
    filename: str,
    now: datetime,
    caps: EmailCaps | None = None,
    progress: Callable[[int], None] | None = None,
) -> Imported:
    """Write every row of a ``preview`` without problems, or raise ``ImportRefused``.

    Unattested rows are signed as their signers would (a confirmation email each, through
    the outbox); attested ones are published at once. A signature made meanwhile by
    someone else (a race with the sign form) refuses the whole import: the caller rolls back.
    """
    if not checked.ready:
        raise ImportRefused(gettext("Correct the rows listed first: nothing was imported."))
    caps = caps or EmailCaps()
    terms = signing.SigningLetter.of(letter)
    ids: list[int] = []
    emailed = held_back = published = 0
    for count, row in enumerate(checked.rows, start=1):
        if progress is not None:
            progress(count)
        data = _data(row)
        if attested:
            signature = _attested(session, letter, terms, data, actor=actor, now=now)
            published += signature.status == SignatureStatus.PUBLISHED
            continue
        outcome = signing.sign(session, terms, data, now=now, caps=caps)
        if not outcome.created:
            raise ImportRefused(_signed_meanwhile(row.number))
        ids.append(outcome.signature.id)
        emailed += outcome.emailed
        held_back += not outcome.emailed
    try:
        session.flush()
    except IntegrityError:
        raise ImportRefused(_signed_meanwhile(None)) from None
    for chunk in _chunks(ids):
        session.execute(
            update(Signature)
            .where(Signature.id.in_(chunk))
            .values(source=SignatureSource.IMPORTED)
            .execution_options(synchronize_session=False)
        )
    result = Imported(len(checked.rows), emailed, held_back, published)
    audit.record(
        session,
        "letter.imported",
        actor_label="coordinator" if actor else "cli",
        actor_id=actor.id if actor else None,
        letter_id=letter.id,
        detail={
            "filename": filename[:200],
            "signatures": result.signatures,
            "attested": attested,
            "emailed": emailed,
            "held_back": held_back,
            "published": published,
        },
        now=now,
    )
    return result


def _signed_meanwhile(number: int | None) -> str:
    if number is None:
        return gettext(
            "Someone signed with one of these addresses or organizations while the file was "
            "imported. Nothing was imported: check the file again."
        )
    return gettext(
        "Row %(row)s signed on the letter while the file was imported. Nothing was "
        "imported: check the file again.",
        row=number,
    )


def _attested(
    session: DbSession,
    letter: Letter,
    terms: signing.SigningLetter,
    data: SignatureData,
    *,
    actor: Coordinator | None,
    now: datetime,
) -> Signature:
    """A signature published on the coordinators' word, by the status machine's own steps."""
    check = signing.check_signing(session, terms, data, now=now, caps=EmailCaps())
    if check.existing_id is not None:
        raise ImportRefused(_signed_meanwhile(None))
    is_organization = data.kind == SignatureKind.ORGANIZATION
    signature = Signature(
        letter=letter,
        version_id=check.version_id,
        kind=data.kind,
        organization=data.organization,
        country=data.country,
        organization_type=data.organization_type if is_organization else None,
        website=data.website if is_organization else None,
        name=data.name,
        title=data.title,
        email=data.email,
        domain_verified=check.domain_verified,
        review_reason=",".join(check.reasons) or None,
        status=SignatureStatus.UNCONFIRMED,
        source=SignatureSource.ATTESTED,
        created_at=now,
        status_changed_at=now,
    )
    # The coordinators attest the signer agreed (the confirmation) and decided to publish
    # (the approval, where the letter's moderation would have asked for one).
    if transition(signature, "confirm", now=now) == SignatureStatus.PENDING_REVIEW:
        transition(signature, "approve", now=now)
        signature.moderated_by_id = actor.id if actor else None
        signature.moderated_at = now
    session.add(signature)
    session.flush()
    audit.record(
        session,
        "signature.imported",
        actor_label="coordinator" if actor else "cli",
        actor_id=actor.id if actor else None,
        letter_id=letter.id,
        signature_id=signature.id,
        detail={"attested": True, "kind": data.kind},
        now=now,
    )
    return signature


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


# --- The uploaded file, between its preview and its import ---------------------------------


def store_batch(
    session: DbSession,
    letter: Letter,
    coordinator: Coordinator,
    *,
    filename: str,
    text: str,
    mapping: dict[int, str],
    now: datetime,
    minutes: int = BATCH_MINUTES,
) -> ImportBatch:
    """Keep an uploaded file (as text) for ``minutes``; expired ones are deleted meanwhile."""
    purge_expired(session, now=now)
    batch = ImportBatch(
        letter_id=letter.id,
        coordinator_id=coordinator.id,
        filename=filename[:200],
        text=text,
        mapping=_stored(mapping),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    session.add(batch)
    session.flush()
    return batch


def open_batch(
    session: DbSession, letter: Letter, coordinator: Coordinator, batch_id: int, *, now: datetime
) -> ImportBatch | None:
    """The coordinator's own unexpired upload ``batch_id`` for ``letter``, or None."""
    return session.scalar(
        select(ImportBatch).where(
            ImportBatch.id == batch_id,
            ImportBatch.letter_id == letter.id,
            ImportBatch.coordinator_id == coordinator.id,
            ImportBatch.expires_at > now,
        )
    )


def batch_mapping(batch: ImportBatch) -> dict[int, str]:
    return {int(index): name for index, name in (batch.mapping or {}).items()}


def remember_mapping(batch: ImportBatch, mapping: dict[int, str]) -> None:
    batch.mapping = _stored(mapping)


def _stored(mapping: dict[int, str]) -> dict[str, Any]:
    return {str(index): name for index, name in mapping.items()}


def purge_expired(session: DbSession, *, now: datetime) -> None:
    """Delete uploads past their expiry (run at each upload: no worker chore needed)."""
    session.execute(
        delete(ImportBatch)
        .where(ImportBatch.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
