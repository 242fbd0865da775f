"""Retention: how long personal data is kept, and the purges that end it.

Each kind of data has its period in days in the configuration (``Periods``). A purge
changes only rows past their period and never touches what the public sees: an erased
signature of a delivered letter keeps every published field, so the list, its downloads,
its API and the frozen delivered CSV stay byte for byte as they were.

Erasing a signature replaces its address by a placeholder unique to the row
(``erased-<id>@erased.invalid``: the ``.invalid`` domain can never receive mail, and being
unique it keeps the one-live-address-per-letter index satisfied however many erased rows a
letter holds), clears what only the signer and the coordinators saw, and rotates every
link nonce, so no old emailed link opens anything about the row again.

Functions here add, update and flush; the caller commits (``flask privacy purge``, or the
mail worker's chore) or, for a dry run, rolls back. Every purge that changed something
writes an audit event with its counts, never with what was erased.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update

from signatory.core.database import DbSession
from signatory.models import (
    Delivery,
    Letter,
    LetterStatus,
    OutboxMessage,
    OutboxStatus,
    Signature,
    SignatureKind,
    SignatureStatus,
    SignInAttempt,
    audit,
    new_nonce,
)
from signatory.organizations.logos import delete_logos
from signatory.organizations.statements import forget_statement
from signatory.signatures.service import purge_unconfirmed

log = logging.getLogger(__name__)

# What an erased signer's name reads in the coordinators' pages and exports.
ERASED_NAME = "[erased]"
ERASED_DOMAIN = "erased.invalid"
# Signatures that left the letter for good. A lapsed one (``reconfirm``) has not: it is off
# the list until its signer keeps it, so it is kept like a published one (and erased only
# with its delivered letter, keeping what the list would show).
ENDED_STATUSES = (SignatureStatus.WITHDRAWN, SignatureStatus.REJECTED)

# The kinds of purge, in the order they run and are reported.
UNCONFIRMED = "unconfirmed"
ENDED = "withdrawn_rejected"
OUTBOX = "outbox"
SIGN_IN_ATTEMPTS = "sign_in_attempts"
CLIENT_PREFIXES = "client_prefixes"
DELIVERED = "delivered"
KINDS = (UNCONFIRMED, ENDED, OUTBOX, SIGN_IN_ATTEMPTS, CLIENT_PREFIXES, DELIVERED)

# The configuration key of each kind's period, in days.
PERIOD_KEYS = {
    UNCONFIRMED: "UNCONFIRMED_PURGE_DAYS",
    ENDED: "WITHDRAWN_RETENTION_DAYS",
    OUTBOX: "OUTBOX_RETENTION_DAYS",
    SIGN_IN_ATTEMPTS: "SIGN_IN_ATTEMPT_RETENTION_DAYS",
    CLIENT_PREFIXES: "CLIENT_PREFIX_RETENTION_DAYS",
    DELIVERED: "DELIVERED_RETENTION_DAYS",
}

# An address anywhere in an SMTP error ("550 5.1.1 <ada@example.org>: unknown user").
_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")


@dataclass(frozen=True)
class Periods:
    """Each kind's retention period, in days."""

    days: Mapping[str, int]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Periods:
        return cls({kind: int(config[key]) for kind, key in PERIOD_KEYS.items()})


@dataclass
class PurgeReport:
    """How many rows each kind of purge changed (or, in a dry run, would change)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    # Delivered letters whose signatures were erased, by slug, with their counts.
    letters: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --- Erasing one signature ----------------------------------------------------------------


def erased_email(signature_id: int) -> str:
    """The placeholder address of an erased signature: undeliverable, unique to the row."""
    return f"erased-{signature_id}@{ERASED_DOMAIN}"


def erase_private(signature: Signature, *, now: datetime) -> None:
    """Erase what only the signer and the coordinators saw; keep every published field.

    The address goes (its comparison key follows it through the model's mapper events),
    with the interface language, the client-address prefix, the moderator's reason and
    any correction the signer asked for; every link nonce is rotated.
    """
    signature.email = erased_email(signature.id)
    signature.language = None
    signature.client_prefix = None
    signature.moderation_reason = None
    signature.clear_correction_request()
    # The signer's own words, not part of any delivered list: they go too.
    forget_statement(signature)
    signature.confirm_nonce = new_nonce()
    signature.withdraw_nonce = new_nonce()
    signature.manage_nonce = new_nonce()
    signature.erased_at = now


def erase_entry(signature: Signature, *, now: datetime) -> None:
    """Erase a signature that is off the list: its private fields and the signer's identity.

    An organization's own particulars (name, country, type, website) are not personal data
    and stay, so coordinators can still see which organization withdrew or was refused; an
    individual's affiliation says who they are, and goes with their name and title.
    """
    erase_private(signature, now=now)
    signature.name = ERASED_NAME
    signature.title = None
    if signature.kind != SignatureKind.ORGANIZATION:
        signature.organization = None


# --- The purges ---------------------------------------------------------------------------


def _audit(
    session: DbSession,
    kind: str,
    count: int,
    days: int,
    *,
    actor_label: str,
    now: datetime,
    letter_id: int | None = None,
) -> None:
    if count:
        audit.record(
            session,
            "privacy.purged",
            actor_label=actor_label,
            letter_id=letter_id,
            detail={"kind": kind, "count": count, "older_than_days": days},
            now=now,
        )


# Signatures erased per flush.
ERASE_BATCH = 1000


def erase_ended(
    session: DbSession, *, now: datetime, days: int, actor_label: str = "system"
) -> int:
    """Erase withdrawn and rejected signatures that left the list more than ``days`` ago."""
    cutoff = now - timedelta(days=days)
    count = 0
    for batch in _in_batches(
        session,
        Signature.status.in_(ENDED_STATUSES),
        Signature.erased_at.is_(None),
        Signature.status_changed_at < cutoff,
    ):
        for signature in batch:
            erase_entry(signature, now=now)
        # An erased entry shows nothing any more, its logo included.
        delete_logos(session, (signature.id for signature in batch))
        count += len(batch)
    _audit(session, ENDED, count, days, actor_label=actor_label, now=now)
    return count


def _in_batches(session: DbSession, *conditions: ColumnElement[bool]) -> Iterator[list[Signature]]:
    """The signatures matching ``conditions``, ``ERASE_BATCH`` at a time by id.

    The caller changes each batch; it is then flushed and let go, so a letter of a million
    signatures never sits in memory whole.
    """
    after = 0
    while batch := list(
        session.scalars(
            select(Signature)
            .where(*conditions, Signature.id > after)
            .order_by(Signature.id)
            .limit(ERASE_BATCH)
        )
    ):
        yield batch
        after = batch[-1].id
        session.flush()
        for signature in batch:
            if signature in session:
                session.expunge(signature)


def clear_outbox(
    session: DbSession, *, now: datetime, days: int, actor_label: str = "system"
) -> int:
    """Remove the recipient and content of emails sent or given up on more than ``days`` ago.

    The row stays (template, subject, attempts, outcome: what coordinators account for);
    any address quoted in its last SMTP error is blanked too.
    """
    cutoff = now - timedelta(days=days)
    finished = (
        OutboxMessage.status.notin_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < cutoff,
        OutboxMessage.to_addr != "",
    )
    quoted = list(
        session.execute(
            select(OutboxMessage.id, OutboxMessage.last_error).where(
                *finished, OutboxMessage.last_error.contains("@")
            )
        )
    )
    for row_id, error in quoted:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(last_error=_ADDRESS.sub("[erased]", error or ""))
        )
    result = session.execute(
        update(OutboxMessage)
        .where(*finished)
        .values(to_addr="", context={})
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    _audit(session, OUTBOX, count, days, actor_label=actor_label, now=now)
    return count


def delete_sign_in_attempts(
    session: DbSession, *, now: datetime, days: int, actor_label: str = "system"
) -> int:
    """Delete coordinators' sign-in attempts (address and account tried) older than ``days``."""
    result = session.execute(
        delete(SignInAttempt)
        .where(SignInAttempt.created_at < now - timedelta(days=days))
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    _audit(session, SIGN_IN_ATTEMPTS, count, days, actor_label=actor_label, now=now)
    return count


def clear_client_prefixes(
    session: DbSession, *, now: datetime, days: int, actor_label: str = "system"
) -> int:
    """Clear the client-address prefix of signatures made more than ``days`` ago.

    A Core UPDATE: the prefix is in no derived key and on no public list, so the model's
    events have nothing to keep in step.
    """
    result = session.execute(
        update(Signature)
        .where(
            Signature.client_prefix.is_not(None),
            Signature.created_at < now - timedelta(days=days),
        )
        .values(client_prefix=None)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    _audit(session, CLIENT_PREFIXES, count, days, actor_label=actor_label, now=now)
    return count


def erase_delivered(
    session: DbSession, *, now: datetime, days: int, actor_label: str = "system"
) -> dict[str, int]:
    """Erase the private fields of every signature of letters delivered more than ``days`` ago.

    Counted from the later of the delivery's date and the day it was recorded here, so
    recording an old hand-over does not erase its signers' addresses at once. Published
    and pending signatures keep what the list shows; withdrawn and rejected ones are erased
    whole (``erase_entry``); unconfirmed ones, which nothing public ever held, are deleted.
    Returns the count per letter slug.
    """
    cutoff = now - timedelta(days=days)
    letters = list(
        session.execute(
            select(Letter.id, Letter.slug)
            .join(Delivery, Delivery.letter_id == Letter.id)
            .where(Letter.status == LetterStatus.DELIVERED)
            .group_by(Letter.id, Letter.slug)
            .having(func.max(Delivery.delivered_at) < cutoff)
            .having(func.max(Delivery.created_at) < cutoff)
            .order_by(Letter.id)
        )
    )
    erased: dict[str, int] = {}
    for letter_id, slug in letters:
        count = 0
        for batch in _in_batches(
            session, Signature.letter_id == letter_id, Signature.erased_at.is_(None)
        ):
            for signature in batch:
                if signature.status == SignatureStatus.UNCONFIRMED:
                    session.delete(signature)
                elif signature.status in ENDED_STATUSES:
                    erase_entry(signature, now=now)
                    delete_logos(session, [signature.id])
                else:
                    erase_private(signature, now=now)
            count += len(batch)
        if not count:
            continue
        erased[slug] = count
        _audit(
            session,
            DELIVERED,
            count,
            days,
            actor_label=actor_label,
            now=now,
            letter_id=letter_id,
        )
    return erased


def purge_all(
    session: DbSession, periods: Periods, *, now: datetime, actor_label: str = "system"
) -> PurgeReport:
    """Run every purge, in ``KINDS`` order, and report what each changed. Flushes, never commits."""
    report = PurgeReport()
    days = periods.days
    report.counts[UNCONFIRMED] = purge_unconfirmed(
        session, now=now, older_than_days=days[UNCONFIRMED]
    )
    report.counts[ENDED] = erase_ended(session, now=now, days=days[ENDED], actor_label=actor_label)
    report.counts[OUTBOX] = clear_outbox(
        session, now=now, days=days[OUTBOX], actor_label=actor_label
    )
    report.counts[SIGN_IN_ATTEMPTS] = delete_sign_in_attempts(
        session, now=now, days=days[SIGN_IN_ATTEMPTS], actor_label=actor_label
    )
    report.counts[CLIENT_PREFIXES] = clear_client_prefixes(
        session, now=now, days=days[CLIENT_PREFIXES], actor_label=actor_label
    )
    report.letters = erase_delivered(
        session, now=now, days=days[DELIVERED], actor_label=actor_label
    )
    report.counts[DELIVERED] = sum(report.letters.values())
    return report


# --- The mail worker's chore --------------------------------------------------------------

# How often the worker runs the purges: the periods are in days, so an hour is close enough.
PURGE_EVERY = timedelta(hours=1)


@dataclass
class PrivacySchedule:
    """The mail worker's chore: every purge (``purge_all``) about once an hour."""

    periods: Periods
    last_run: datetime | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PrivacySchedule:
        return cls(Periods.from_config(config))

    def run_if_due(self, session: DbSession, *, now: datetime) -> PurgeReport | None:
        """Purge and commit if ``PURGE_EVERY`` has passed; the report, or None if not due."""
        if self.last_run is not None and now - self.last_run < PURGE_EVERY:
            return None
        # Tried again at the next interval, not on every pass, if it fails.
        self.last_run = now
        try:
            report = purge_all(session, self.periods, now=now)
            session.commit()
        except Exception:
            # Housekeeping must never stop the mail.
            session.rollback()
            log.exception("the privacy purge failed")
            return None
        if report.total:
            log.info("privacy purge: %s", ", ".join(f"{k} {n}" for k, n in report.counts.items()))
        return report
