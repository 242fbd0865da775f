"""Signing: what the sign POST reads, checks and writes, in as few statements as it can.

A signature is two reads and three rows. The reads (the letter's signing columns, then
every check in one statement) need no transaction and run before the writes, straight
to the driver (``core.database.QuickStatement``); only the writes hold SQLite's write
lock: the signature, inserted only while the letter is open and refused quietly by the
unique index when the address won a race (``InsertUnlessTaken``), its audit event and
its confirmation email. Confirming, withdrawing and the emailed links are
``signatures.service``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import BindParameter, ColumnElement, Connection, Select, Table, bindparam, select
from sqlalchemy.engine import Engine

from signatory.core.database import DbSession, InsertUnlessTaken, QuickStatement
from signatory.core.domains import email_matches_website, host_of_website
from signatory.core.i18n import ORGANIZATION_TYPES, countries
from signatory.core.text import (
    contains_url,
    has_control_characters,
    invisible_characters,
    mixes_scripts_confusably,
)
from signatory.mail.outbox import enqueue_at_once
from signatory.models import (
    LANGUAGE_TAG_MAX,
    LIVE_STATUSES,
    Letter,
    LetterStatus,
    Signature,
    SignatureKind,
    SignatureStatus,
    audit,
    new_nonce,
)
from signatory.models.letter import (
    DisposableEmail,
    accepting,
    accepting_clause,
    current_version_query,
)
from signatory.models.outbox import CAP_WINDOW, EmailCaps, emails_to_address_query
from signatory.models.signature import (
    AUTHORISED_STATEMENT_MAX,
    ReviewReason,
    derived_keys,
    email_key,
    load_signature,
    lookalike_key,
    organization_key,
)
from signatory.organizations.statements import statement_values
from signatory.signatures.service import (
    DisposableEmailRefused,
    DomainMismatch,
    IndividualsNotAllowed,
    LetterNotOpen,
    OrganizationAlreadySigned,
    SignatureData,
    email_within_caps,
    is_disposable_domain,
    send_links_again,
)
from signatory.signatures.similar import lookalike_query


@dataclass(frozen=True)
class SignOutcome:
    signature: Signature
    created: bool
    # False when a daily cap held the email back (the signer is shown the same page).
    emailed: bool = True


@dataclass(frozen=True)
class Recorded:
    """What ``record_signature`` did: the signature's id, whether it is new, whether mailed."""

    signature_id: int
    created: bool
    emailed: bool


@dataclass(frozen=True)
class SigningLetter:
    """What signing reads of a letter: whether it is open and its rules, never its text."""

    id: int
    slug: str
    status: str
    deadline: datetime | None
    allow_individuals: bool
    require_domain_match: bool
    disposable_email: str
    # Whom it accepts signatures from, and the allowed domains (``invites.service``).
    signing_policy: str
    allowed_domains: str | None
    # Whether the sign form asks "why we signed" (``organizations.statements``).
    statements_enabled: bool

    def accepts_signatures(self, now: datetime) -> bool:
        return accepting(self.status, self.deadline, now)

    @classmethod
    def of(cls, letter: Letter) -> SigningLetter:
        return cls(*(getattr(letter, name) for name in _SIGNING_FIELDS))


_SIGNING_FIELDS = tuple(field.name for field in fields(SigningLetter))


def signing_letter(source: Engine | DbSession, slug: str) -> SigningLetter | None:
    """The public letter at ``slug`` as signing reads it (one indexed row), or None.

    ``source``: the engine, read on a connection of its own (the sign POST, whose reads
    need no transaction: ``check_signing``), or a session, read in its transaction.
    """
    row = _SIGNING_LETTER.first(source, slug=slug)
    return SigningLetter(*row) if row is not None else None


def _core(session: DbSession) -> Connection:
    """The session's connection, for statements sent as Core, after what it holds is flushed.

    Core, not the ORM: signing reads columns and writes a few rows, and the ORM's result
    and flush machinery cost more than the statements. The flush keeps what the caller
    added earlier in the same transaction visible (a second signature, a queued email
    that the caps count).
    """
    session.flush()
    return session.connection()


def _live_for_email(letter_id: Any, key: Any) -> tuple[ColumnElement[bool], ...]:
    """The address's live signature on the letter (each a value or a bound parameter)."""
    return (
        Signature.letter_id == letter_id,
        Signature.email_key == key,
        Signature.status.in_(LIVE_STATUSES),
    )


def _published_organization(letter_id: Any, key: Any) -> Select[int]:
    return select(Signature.id).where(
        Signature.letter_id == letter_id,
        Signature.kind == SignatureKind.ORGANIZATION,
        Signature.organization_key == key,
        Signature.status == SignatureStatus.PUBLISHED,
    )


_SIGNING_LETTER = QuickStatement(
    select(*(getattr(Letter, name) for name in _SIGNING_FIELDS)).where(
        Letter.slug == bindparam("slug"), Letter.status != LetterStatus.DRAFT
    )
)
_LETTER_ID: BindParameter[int] = bindparam("letter_id")
# Every look-up signing makes, in one statement, each by an index on the letter and a key
# whatever the letter's size: the address's live signature; whether the organization is
# already published, and whether a held organization looks like it (both None-keyed, so
# false, for an individual); the emails the address had today, on every letter (the caps);
# and the current version, which the signature records.
_SIGNING_CHECKS = QuickStatement(
    select(
        select(Signature.id)
        .where(*_live_for_email(_LETTER_ID, bindparam("email_key")))
        .limit(1)
        .scalar_subquery(),
        _published_organization(_LETTER_ID, bindparam("published_key")).exists(),
        lookalike_query(
            _LETTER_ID, bindparam("lookalike_key"), bindparam("organization_key")
        ).exists(),
        emails_to_address_query(bindparam("email_key"), since=bindparam("since")).scalar_subquery(),
        current_version_query(_LETTER_ID).scalar_subquery(),
    )
)
_LETTER_STATUS = select(Letter.status, Letter.deadline).where(Letter.id == _LETTER_ID)
# A new signature's columns (``_signature_values``), every one given: no defaults run.
_NEW_SIGNATURE_COLUMNS = (
    "letter_id", "version_id", "kind", "organization", "country", "organization_type",
    "website", "name", "title", "email", "domain_verified", "language", "review_reason",
    "client_prefix", "status", "created_at", "status_changed_at",
    "email_key", "organization_key", "lookalike_key", "sort_key", "search_key",
    "confirm_nonce", "withdraw_nonce", "manage_nonce", "updates_consent_at",
    "authorised_statement", "authorised_at", "statement", "statement_status",
)  # fmt: skip
_INSERT_SIGNATURE = InsertUnlessTaken(
    cast(Table, Signature.__table__),
    _NEW_SIGNATURE_COLUMNS,
    accepting_clause(_LETTER_ID, bindparam("now")),
)


def review_reasons(data: SignatureData, *, disposable: bool, lookalike: bool) -> list[ReviewReason]:
    """Why this signature must wait for a moderator whatever the letter's moderation.

    ``lookalike``: whether a held organization on the letter looks like this one.
    """
    reasons = []
    if disposable:
        reasons.append(ReviewReason.DISPOSABLE_EMAIL)
    if data.organization:
        if data.kind == SignatureKind.ORGANIZATION and lookalike:
            reasons.append(ReviewReason.LOOKALIKE_NAME)
        if mixes_scripts_confusably(data.organization):
            reasons.append(ReviewReason.MIXED_SCRIPTS)
    return reasons


@dataclass(frozen=True)
class SigningCheck:
    """What signing found by reading alone, before it writes anything (``check_signing``)."""

    # The live signature this address already had on the letter: its links go again.
    existing_id: int | None
    email_key: str
    version_id: int
    domain_verified: bool
    reasons: list[ReviewReason]
    # The address has had its day's emails: the audited cap check decides (``cap_reached``).
    address_at_cap: bool


def sign(
    session: DbSession,
    letter: Letter | SigningLetter,
    data: SignatureData,
    *,
    now: datetime,
    caps: EmailCaps | None = None,
) -> SignOutcome:
    """Record a signature awaiting confirmation and queue its confirmation email.

    Signing again with an email that already has a live signature on this letter creates
    nothing: it queues the links again. Callers show the same page either way, so the
    answer never tells a stranger who has signed; nor does it tell them that a daily cap
    (``caps``) held the email back. The sign POST runs the two halves itself, ending the
    reading transaction between them (``core.database.end_reads``).
    """
    caps = caps or EmailCaps()
    terms = letter if isinstance(letter, SigningLetter) else SigningLetter.of(letter)
    check = check_signing(session, terms, data, now=now, caps=caps)
    recorded = record_signature(session, terms, data, check, now=now, caps=caps)
    signature = session.get(Signature, recorded.signature_id)
    if signature is None:
        raise LookupError(f"signature {recorded.signature_id} was not found after signing")
    return SignOutcome(signature, created=recorded.created, emailed=recorded.emailed)


def check_signing(
    source: Engine | DbSession,
    letter: SigningLetter,
    data: SignatureData,
    *,
    now: datetime,
    caps: EmailCaps,
) -> SigningCheck:
    """Every check signing makes, by reading only; a refusal raises its ``DomainError``.

    Nothing here needs the write lock, nor a transaction: given the engine (the sign
    POST), the one statement of look-ups runs on a connection of its own (``QuickStatement``);
    given a session, in its transaction, seeing what it wrote. What a concurrent request
    could change before the writes is either guarded by the database (one live signature
    per address: a unique index, ``record_signature``) or looked at again there (whether
    the letter is open).
    """
    if not letter.accepts_signatures(now):
        raise LetterNotOpen(letter.slug)
    is_organization = data.kind == SignatureKind.ORGANIZATION
    if not is_organization and not letter.allow_individuals:
        raise IndividualsNotAllowed(letter.slug)
    domain_verified = bool(
        is_organization and data.website and email_matches_website(data.email_domain, data.website)
    )
    if is_organization and letter.require_domain_match and not domain_verified:
        raise DomainMismatch(data.email_domain)
    disposable = is_disposable_domain(data.email_domain)
    if disposable and letter.disposable_email != DisposableEmail.REVIEW:
        raise DisposableEmailRefused(data.email_domain)

    key = email_key(data.email)
    organization = data.organization if is_organization else None
    found = _SIGNING_CHECKS.first(
        source,
        letter_id=letter.id,
        email_key=key,
        published_key=organization_key(organization),
        lookalike_key=lookalike_key(organization),
        organization_key=organization_key(organization),
        since=now - CAP_WINDOW,
    )
    assert found is not None  # a SELECT without FROM gives one row
    existing_id, published, lookalike, emails_today, version_id = found
    if version_id is None:
        raise LookupError(f"letter {letter.id} has no version")
    if existing_id is None and organization and published:
        raise OrganizationAlreadySigned(organization)
    return SigningCheck(
        existing_id=existing_id,
        email_key=key,
        version_id=version_id,
        domain_verified=domain_verified,
        reasons=review_reasons(data, disposable=disposable, lookalike=bool(lookalike)),
        # A new signature has had no email yet; its address may have, on other letters.
        address_at_cap=caps.per_signature <= 0 or emails_today >= caps.per_address,
    )


def record_signature(
    session: DbSession,
    letter: SigningLetter,
    data: SignatureData,
    check: SigningCheck,
    *,
    now: datetime,
    caps: EmailCaps,
) -> Recorded:
    """Write what ``check_signing`` decided: the signature, its audit event, its email."""
    if check.existing_id is not None:
        # Read again: it may have been confirmed (its link is another) or withdrawn since.
        existing = load_signature(session, check.existing_id)
        if existing is not None and existing.status in LIVE_STATUSES:
            return _links_again(session, existing, now=now, caps=caps)
    # The insert reads whether the letter is open again, with the write: on SQLite closing
    # the letter takes the write lock too, so a close since the check is seen. And no
    # savepoint: a live signature of the same address, inserted by another request since
    # the check, makes the unique index refuse the row quietly.
    connection = _core(session)
    values = _signature_values(letter, data, check, now=now)
    signature_id = _INSERT_SIGNATURE.execute(connection, values)
    if signature_id is None:
        status, deadline = connection.execute(_LETTER_STATUS, {"letter_id": letter.id}).one()
        if not accepting(status, deadline, now):
            raise LetterNotOpen(letter.slug)
        existing = session.scalar(
            select(Signature).where(*_live_for_email(letter.id, check.email_key))
        )
        if existing is None:
            raise LookupError(f"signing {letter.slug}: insert refused, no live signature found")
        return _links_again(session, existing, now=now, caps=caps)

    detail: dict[str, Any] = {"kind": data.kind, "domain_verified": check.domain_verified}
    if check.reasons:
        detail["review_reason"] = [str(reason) for reason in check.reasons]
    # Written at once, not flushed at the commit: the ORM's flush would cost more than rows.
    audit.record_at_once(
        connection,
        "signature.created",
        actor_label="signer",
        letter_id=letter.id,
        signature_id=signature_id,
        detail=detail,
        now=now,
    )
    if check.address_at_cap:
        signature = load_signature(session, signature_id)
        assert signature is not None  # inserted in this transaction
        emailed = email_within_caps(session, signature, "confirm_request", now=now, caps=caps)
    else:
        enqueue_at_once(
            connection,
            template="confirm_request",
            to=data.email,
            context={"signature_id": signature_id},
            letter_id=letter.id,
            signature_id=signature_id,
            now=now,
        )
        emailed = True
    return Recorded(signature_id, created=True, emailed=emailed)


def _signature_values(
    letter: SigningLetter, data: SignatureData, check: SigningCheck, *, now: datetime
) -> dict[str, Any]:
    """The new signature's row: what was typed, what the check found, its derived keys."""
    is_organization = data.kind == SignatureKind.ORGANIZATION
    organization = data.organization or None
    return {
        "letter_id": letter.id,
        "version_id": check.version_id,
        "kind": data.kind,
        "organization": organization,
        "country": data.country,
        "organization_type": data.organization_type if is_organization else None,
        "website": data.website if is_organization else None,
        "name": data.name,
        "title": data.title or None,
        "email": data.email,
        "domain_verified": check.domain_verified,
        "language": (data.language or "")[:LANGUAGE_TAG_MAX] or None,
        "review_reason": ",".join(check.reasons) or None,
        "client_prefix": data.client_prefix,
        "status": SignatureStatus.UNCONFIRMED,
        "created_at": now,
        "status_changed_at": now,
        **derived_keys(kind=data.kind, organization=organization, name=data.name, email=data.email),
        "confirm_nonce": new_nonce(),
        "withdraw_nonce": new_nonce(),
        "manage_nonce": new_nonce(),
        # When the signer asked for the letter's update emails (``updates``), or None.
        "updates_consent_at": now if data.updates_consent else None,
        # The "authorised to sign" statement as the organization's signer accepted it.
        "authorised_statement": (
            data.authorised_statement[:AUTHORISED_STATEMENT_MAX]
            if is_organization and data.authorised_statement
            else None
        ),
        "authorised_at": now if is_organization and data.authorised_statement else None,
        **statement_values(data.statement if letter.statements_enabled else None),
        # Not a column: the time the insert's condition (the letter is open) is read at.
        "now": now,
    }


def _links_again(
    session: DbSession, signature: Signature, *, now: datetime, caps: EmailCaps
) -> Recorded:
    emailed = send_links_again(session, signature, now=now, caps=caps)
    return Recorded(signature.id, created=False, emailed=emailed)


# --- The sign form's rules, as plain functions ---------------------------------------------
#
# The sign form (``signatures.forms``) and the spreadsheet import (``imports``) check each
# field with these, so an imported row obeys exactly what a signer could have typed. Each
# raises ``FieldRefused`` with the form's own message.

WEBSITE_MAX = 300
EMAIL_MAX = 254
# The messages of the fields the form marks InputRequired, by field name.
REQUIRED = {
    "kind": _l("Choose whether you sign for an organization or yourself."),
    "country": _l("Choose a country."),
    "name": _l("Enter your name."),
    "email": _l("Enter your email address."),
}


class FieldRefused(ValueError):
    """A value the sign form refuses; ``str(error)`` is its message, translated."""


def length_message(limit: int) -> Any:
    # The limit in the message: a 10,000-character paste is told how long it may be.
    return _l("Keep it under %(max)s characters.", max=f"{limit:,}")


def check_length(value: str, limit: int) -> None:
    if len(value) > limit:
        raise FieldRefused(str(length_message(limit)))


def check_one_line(value: str) -> None:
    """No invisible format characters (named), no control characters: one line of text."""
    hidden = invisible_characters(value)
    if hidden:
        # Refused rather than stripped: what is published must be what the signer typed.
        raise FieldRefused(
            gettext(
                "This contains invisible characters (%(characters)s), usually carried along "
                "by copying and pasting. Type it again, or delete them.",
                characters=", ".join(hidden),
            )
        )
    if value and has_control_characters(value):
        raise FieldRefused(gettext("Use letters, numbers and punctuation only, on one line."))


def check_no_url(value: str) -> None:
    if value and contains_url(value):
        raise FieldRefused(
            gettext(
                "Enter a name here, not a web address; the organization's website has a "
                "field of its own."
            )
        )


def check_country(value: str) -> None:
    if value not in countries():
        raise FieldRefused(gettext("Choose a country from the list."))


def check_organization(value: str, *, is_organization: bool) -> None:
    if is_organization and not value:
        raise FieldRefused(gettext("Enter the name of the organization you sign for."))


def check_organization_type(value: str, *, is_organization: bool) -> None:
    if not is_organization:
        return
    if not value:
        raise FieldRefused(gettext("Choose the type of organization."))
    if value not in ORGANIZATION_TYPES:
        raise FieldRefused(gettext("Choose a type from the list."))


def checked_website(value: str, *, is_organization: bool) -> str:
    """The website as stored (``https://`` added when no scheme was typed)."""
    if not is_organization:
        return value
    if not value:
        raise FieldRefused(gettext("Enter the organization's website, e.g. https://example.org."))
    if "://" not in value:
        value = f"https://{value}"
    try:
        scheme = urlsplit(value).scheme
    except ValueError:  # "https://[": an unclosed IPv6 bracket
        scheme = ""
    host = host_of_website(value)
    if scheme not in {"http", "https"} or not host or "." not in host:
        raise FieldRefused(gettext("Enter a web address starting with http:// or https://."))
    return value


def checked_email(value: str, *, check_deliverability: bool) -> tuple[str, str]:
    """The address normalised, and its ASCII domain."""
    try:
        result = validate_email(value, check_deliverability=check_deliverability)
    except EmailNotValidError as exc:
        # email-validator explains in English what is wrong; the sentence around it is ours.
        raise FieldRefused(gettext("Enter a valid email address: %(reason)s", reason=exc)) from None
    return result.normalized, result.ascii_domain
