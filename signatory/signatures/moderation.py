"""Moderation: decisions on the review queue, corrections of display typos, unpublishing.

The queue and the list of signatures are read by ``queue``, similar organization names
found by ``similar``. Every status change goes through ``models.status.transition``;
every action writes an AuditEvent in the caller's transaction. Functions here flush but
never commit, and raise a ``ModerationError`` (whose text is written for the moderator)
for anything they refuse, having changed nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from signatory.core.database import MAX_ROW_ID, DbSession
from signatory.core.errors import DomainError
from signatory.core.i18n import N_, countries
from signatory.core.text import has_control_characters
from signatory.mail.outbox import enqueue
from signatory.models import (
    HELD_STATUSES,
    Coordinator,
    IllegalTransition,
    Letter,
    Signature,
    SignatureKind,
    SignatureStatus,
    audit,
    transition,
)
from signatory.models.signature import NAME_MAX, organization_key

APPROVE = "approve"
REJECT = "reject"
# Each decision is also the name of its transition; the value is the audit action it writes.
_DECISIONS = {APPROVE: "signature.approved", REJECT: "signature.rejected"}
# The email that tells the signer of each decision (``signatures.mail``).
_DECISION_EMAILS = {APPROVE: "signature_approved", REJECT: "signature_rejected"}

REASON_MAX = 500
# The largest row id a database integer holds; a larger one in a URL or form names nothing.

# More ids than this in one request is not a moderator ticking boxes.
MAX_BATCH = 500

CORRECTABLE_FIELDS = {"organization": "organization", "name": "signer name"}


# --- Errors -------------------------------------------------------------------------------


class ModerationError(DomainError):
    """A moderation action that cannot be done; ``str(error)`` is the message to show."""


class InvalidDecision(ModerationError):
    def __init__(self) -> None:
        super().__init__(gettext("Choose Approve or Reject."))


class NothingSelected(ModerationError):
    def __init__(self) -> None:
        super().__init__(gettext("Select at least one signature, then choose Approve or Reject."))


class SignatureNotFound(ModerationError):
    def __init__(self) -> None:
        super().__init__(
            gettext(
                "A selected signature is not on this letter any more (an unconfirmed one may "
                "have been purged). Nothing was changed; reload the page and try again."
            )
        )


class NotAwaitingReview(ModerationError):
    def __init__(self, signature: Signature) -> None:
        super().__init__(
            gettext(
                "“%(label)s” is no longer awaiting review: it is %(status)s, perhaps decided "
                "by another coordinator meanwhile. Nothing was changed.",
                label=label_of(signature),
                status=_status_words(signature.status),
            )
        )
        self.signature_id = signature.id


class NotPublished(ModerationError):
    def __init__(self, signature: Signature) -> None:
        super().__init__(
            gettext(
                "“%(label)s” is %(status)s, not published, so there is nothing to unpublish. "
                "Nothing was changed.",
                label=label_of(signature),
                status=_status_words(signature.status),
            )
        )
        self.signature_id = signature.id


class OrganizationPlaceTaken(ModerationError):
    """Another pending or published signature already holds this organization's place."""

    def __init__(self, organization: str | None, holder: Signature | None = None) -> None:
        rest = gettext(
            "an organization can hold only one place on the list. Reject or withdraw one of "
            "the two first. Nothing was changed."
        )
        if organization and holder:
            message = gettext(
                "“%(organization)s” already signed this letter (signature #%(id)s, "
                "%(status)s): %(rest)s",
                organization=organization,
                id=holder.id,
                status=_status_words(holder.status),
                rest=rest,
            )
        elif organization:
            message = gettext(
                "“%(organization)s” already signed this letter: %(rest)s",
                organization=organization,
                rest=rest,
            )
        else:
            message = gettext(
                "One of these organizations already signed this letter: %(rest)s", rest=rest
            )
        super().__init__(message)
        self.holder_id = holder.id if holder else None


class InvalidCorrection(ModerationError):
    """A corrected name that cannot be used (empty, too long, not one line of text)."""


class InvalidReason(ModerationError):
    """A reason that cannot be stored (too long, or not text)."""


_STATUS_WORDS = {
    "unconfirmed": N_("unconfirmed"),
    "pending_review": N_("pending review"),
    "published": N_("published"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
    "lapsed": N_("hidden for not being re-confirmed"),
}


def _status_words(status: str) -> str:
    words = _STATUS_WORDS.get(status)
    return gettext(words) if words else status.replace("_", " ")


def label_of(signature: Signature) -> str:
    """How a signature is named in messages: the organization, or the individual's name."""
    if signature.kind == SignatureKind.ORGANIZATION and signature.organization:
        return signature.organization
    return signature.name


# --- Actions ------------------------------------------------------------------------------


def clean_reason(reason: str | None) -> str | None:
    """A reason as stored: trimmed, None when empty; refused when too long or not text."""
    reason = (reason or "").strip()
    if not reason:
        return None
    if len(reason) > REASON_MAX:
        raise InvalidReason(gettext("Keep the reason under %(max)s characters.", max=REASON_MAX))
    # Line breaks are fine in a reason; other control characters are not.
    if has_control_characters(reason.replace("\r\n", "\n").replace("\n", " ")):
        raise InvalidReason(gettext("Use letters, numbers and punctuation in the reason."))
    return reason


def _holder_of(session: DbSession, signature: Signature, key: str) -> Signature | None:
    """Another pending or published signature holding the organization ``key``, if any."""
    return session.scalar(
        select(Signature)
        .where(
            Signature.letter_id == signature.letter_id,
            Signature.kind == SignatureKind.ORGANIZATION,
            Signature.organization_key == key,
            Signature.status.in_(HELD_STATUSES),
            Signature.id != signature.id,
        )
        .limit(1)
    )


class ChangedWhileDeciding(ModerationError):
    """Another coordinator or the signer changed the signature after this page read it."""

    def __init__(self) -> None:
        super().__init__(
            gettext(
                "A signature changed while you were deciding: another coordinator or the "
                "signer acted first. Nothing was changed; reload the page to see it now."
            )
        )


def _flush_or_place_taken(session: DbSession, organization: str | None) -> None:
    # The explicit checks give the better message; the unique index is the guarantee,
    # e.g. against a confirmation committed between our check and this flush. Every
    # update is conditional on the status read (``Signature.__mapper_args__``): one whose
    # status changed since matches no row. Either error ends the transaction's usefulness:
    # the pages that call this roll back and say what happened.
    try:
        session.flush()
    except IntegrityError:
        raise OrganizationPlaceTaken(organization) from None
    except StaleDataError:
        raise ChangedWhileDeciding() from None


def _record(
    session: DbSession,
    action: str,
    signature: Signature,
    actor: Coordinator,
    now: datetime,
    detail: dict[str, object],
) -> None:
    audit.record(
        session,
        action,
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=signature.letter_id,
        signature_id=signature.id,
        detail=detail,
        now=now,
    )


def decide(
    session: DbSession,
    letter: Letter,
    signature_ids: Sequence[int],
    *,
    decision: str,
    reason: str | None,
    actor: Coordinator,
    now: datetime,
) -> list[Signature]:
    """Approve or reject the signatures ``signature_ids`` of ``letter``, all or none.

    Each must be awaiting review; an approval must not give an organization a second
    place on the list. If any cannot be decided, nothing is changed and the error says
    which. Returns the signatures decided, each with an audit event.
    """
    if decision not in _DECISIONS:
        raise InvalidDecision()
    wanted = set(signature_ids)
    if not wanted:
        raise NothingSelected()
    if len(wanted) > MAX_BATCH:
        raise ModerationError(gettext("Decide at most %(num)s signatures at once.", num=MAX_BATCH))
    if not all(0 < each <= MAX_ROW_ID for each in wanted):
        raise SignatureNotFound()
    reason = clean_reason(reason)
    signatures = list(
        session.scalars(
            select(Signature)
            .where(Signature.letter_id == letter.id, Signature.id.in_(wanted))
            .order_by(Signature.id)
        )
    )
    if len(signatures) != len(wanted):
        raise SignatureNotFound()
    # Everything is checked before anything changes, so a refusal leaves no half-done batch.
    for signature in signatures:
        if signature.status != SignatureStatus.PENDING_REVIEW:
            raise NotAwaitingReview(signature)
    if decision == APPROVE:
        for signature in signatures:
            if signature.kind != SignatureKind.ORGANIZATION or not signature.organization:
                continue
            # Recomputed rather than trusted: a key stored by an older normaliser must not
            # let a second "EFF" through (the approval stores the recomputed one).
            key = organization_key(signature.organization) or ""
            holder = _holder_of(session, signature, key)
            if holder is not None:
                raise OrganizationPlaceTaken(signature.organization, holder)

    detail: dict[str, object] = {"reason": reason} if reason else {}
    for signature in signatures:
        transition(signature, decision, now=now)
        signature.moderated_by_id = actor.id
        signature.moderated_at = now
        signature.moderation_reason = reason
        _record(session, _DECISIONS[decision], signature, actor, now, dict(detail))
        # The signer hears of it, with the reason, in the language they signed in; one
        # email per signature, also in a bulk decision. Sent only if still true then.
        enqueue(
            session,
            template=_DECISION_EMAILS[decision],
            to=signature.email,
            context={"signature_id": signature.id},
            letter_id=signature.letter_id,
            signature_id=signature.id,
            now=now,
        )
    _flush_or_place_taken(session, label_of(signatures[0]) if len(signatures) == 1 else None)
    return signatures


def correct(
    session: DbSession,
    signature: Signature,
    *,
    field_name: str,
    value: str,
    actor: Coordinator,
    now: datetime,
) -> Signature:
    """Correct a display typo in the signature's organization or signer name.

    The value before is kept in the audit event's detail; the organization's comparison
    key follows the new spelling, and may not collide with another organization's place.
    """
    if field_name not in CORRECTABLE_FIELDS:
        raise InvalidCorrection(
            gettext("Only the organization and the signer's name can be corrected.")
        )
    value = (value or "").strip()
    organization = field_name == "organization"
    if not value:
        raise InvalidCorrection(
            gettext("Enter the corrected organization; it cannot be empty.")
            if organization
            else gettext("Enter the corrected signer name; it cannot be empty.")
        )
    if len(value) > NAME_MAX:
        raise InvalidCorrection(
            gettext("Keep the organization under %(max)s characters.", max=NAME_MAX)
            if organization
            else gettext("Keep the signer name under %(max)s characters.", max=NAME_MAX)
        )
    if has_control_characters(value):
        raise InvalidCorrection(gettext("Use letters, numbers and punctuation only, on one line."))
    before = getattr(signature, field_name)
    if value == before:
        raise InvalidCorrection(
            gettext("That is the organization already; nothing to correct.")
            if organization
            else gettext("That is the signer name already; nothing to correct.")
        )

    if field_name == "organization":
        key = organization_key(value) or ""
        if (
            signature.kind == SignatureKind.ORGANIZATION
            and signature.status in HELD_STATUSES
            and key != signature.organization_key
        ):
            holder = _holder_of(session, signature, key)
            if holder is not None:
                raise OrganizationPlaceTaken(value, holder)
        signature.organization = value
    else:
        signature.name = value
    _record(
        session,
        "signature.corrected",
        signature,
        actor,
        now,
        {"field": field_name, "before": before, "after": value},
    )
    _flush_or_place_taken(session, value)
    return signature


def unpublish(
    session: DbSession,
    signature: Signature,
    *,
    reason: str | None,
    actor: Coordinator,
    now: datetime,
) -> Signature:
    """Take a published signature off the public list; it goes back to the review queue."""
    reason = clean_reason(reason)
    try:
        transition(signature, "unpublish", now=now)
    except IllegalTransition:
        raise NotPublished(signature) from None
    signature.moderated_by_id = actor.id
    signature.moderated_at = now
    signature.moderation_reason = reason
    detail: dict[str, object] = {"reason": reason} if reason else {}
    _record(session, "signature.unpublished", signature, actor, now, detail)
    _flush_or_place_taken(session, None)
    return signature


# --- Corrections the signer asked for (``own.request_correction``) --------------------------


class NoCorrectionRequested(ModerationError):
    def __init__(self) -> None:
        super().__init__(
            gettext(
                "This signature has no correction waiting: perhaps another coordinator "
                "decided it meanwhile. Nothing was changed."
            )
        )


def decide_correction(
    session: DbSession,
    letter: Letter,
    signature: Signature,
    *,
    approve: bool,
    actor: Coordinator,
    now: datetime,
) -> Signature:
    """Apply (``approve``) or decline the entry the signer asked for; audited either way.

    Applying checks what a moderator's own correction does: the organization may not take
    another's place on the list. The request is cleared in both cases.
    """
    if signature.correction_requested_at is None:
        raise NoCorrectionRequested()
    before = {
        "organization": signature.organization,
        "name": signature.name,
        "title": signature.title,
        "country": signature.country,
    }
    after = {
        "organization": signature.requested_organization,
        "name": signature.requested_name or signature.name,
        # Signers edit their title directly now; only a request made before asks for one.
        "title": signature.requested_title or signature.title,
        "country": signature.requested_country or signature.country,
    }
    if approve:
        if letter.status == "delivered" or signature.status not in HELD_STATUSES:
            raise ModerationError(
                gettext(
                    "“%(label)s” is %(status)s, or its list was delivered: the correction "
                    "can no longer be applied. Decline it instead.",
                    label=label_of(signature),
                    status=_status_words(signature.status),
                )
            )
        key = organization_key(after["organization"]) or ""
        if signature.kind == SignatureKind.ORGANIZATION and key != signature.organization_key:
            holder = _holder_of(session, signature, key)
            if holder is not None:
                raise OrganizationPlaceTaken(after["organization"], holder)
        signature.organization = after["organization"]
        signature.name = after["name"] or signature.name
        signature.title = after["title"]
        if after["country"] not in countries():
            # Checked when asked for; a code the country list has since dropped is not listed.
            raise ModerationError(gettext("The country asked for is not on the list any more."))
        signature.country = after["country"] or signature.country
        changed = {field: value for field, value in after.items() if before[field] != value}
        detail: dict[str, object] = {
            "before": {field: before[field] for field in changed},
            "after": changed,
        }
        action = "signature.correction_approved"
    else:
        detail = {}
        action = "signature.correction_declined"
    signature.clear_correction_request()
    _record(session, action, signature, actor, now, detail)
    _flush_or_place_taken(session, after["organization"])
    return signature
