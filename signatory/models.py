"""Tables, and the one function that moves a signature through its status machine.

::

    unconfirmed --confirm--> pending_review --approve--> published
         |                        |  \\--reject--> rejected
         |  (no review needed) ---+--------------> published
         +-- expires: purged, nothing public ever held it
    published / pending_review --withdraw--> withdrawn
    published --unpublish (a coordinator)--> pending_review
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from signatory.core.errors import IllegalTransition
from signatory.core.extensions import db
from signatory.core.text import name_sort_key, search_text
from signatory.core.time import UTCDateTime, utcnow


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


class LetterStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    DELIVERED = "delivered"


class Moderation(StrEnum):
    NONE = "none"
    # Only organization signatures whose email domain does not match their website.
    MISMATCH = "mismatch"
    ALL = "all"


class SignatureKind(StrEnum):
    ORGANIZATION = "organization"
    INDIVIDUAL = "individual"


class SignatureStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"
    PENDING_REVIEW = "pending_review"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


# A "live" signature blocks another with the same email on the same letter.
LIVE_STATUSES = (
    SignatureStatus.UNCONFIRMED,
    SignatureStatus.PENDING_REVIEW,
    SignatureStatus.PUBLISHED,
)
# A "held" organization signature blocks another for the same organization. Unconfirmed
# ones do not hold the place: otherwise anyone could squat an organization's name with
# an address they never confirm.
HELD_STATUSES = (SignatureStatus.PENDING_REVIEW, SignatureStatus.PUBLISHED)


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Letter(db.Model):
    __tablename__ = "letter"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default=LetterStatus.DRAFT)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    allow_individuals: Mapped[bool] = mapped_column(Boolean, default=True)
    moderation: Mapped[str] = mapped_column(String(16), default=Moderation.NONE)
    require_domain_match: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Moved on whenever the public list changes (see ``_note_list_change`` below): the live
    # endpoint's ETag, so a poll that finds nothing new costs one indexed read.
    list_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    list_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    versions: Mapped[list[LetterVersion]] = relationship(
        back_populates="letter", order_by="LetterVersion.number"
    )

    def accepts_signatures(self, now: datetime) -> bool:
        """Open, and before its deadline: a deadline closes signing with no scheduler."""
        return self.status == LetterStatus.OPEN and (self.deadline is None or now < self.deadline)

    def needs_review(self, signature: Signature) -> bool:
        if self.moderation == Moderation.ALL:
            return True
        if self.moderation == Moderation.MISMATCH:
            return signature.kind == SignatureKind.ORGANIZATION and not signature.domain_verified
        return False

    @property
    def current_version(self) -> LetterVersion:
        return self.versions[-1]


# Long enough for a language tag with script and region ("sr-Latn-RS") and then some.
LANGUAGE_TAG_MAX = 35


def _inherited_language(context: Any) -> str:
    """The language of the letter's latest version before this one, "en" for the first."""
    row = context.get_current_parameters()
    table = LetterVersion.__table__
    earlier = context.connection.scalar(
        select(table.c.language)
        .where(table.c.letter_id == row["letter_id"], table.c.number < row["number"])
        .order_by(table.c.number.desc())
        .limit(1)
    )
    return earlier or "en"


def _own_language(context: Any) -> str:
    # A new version has no translations yet: its own text is the authoritative one.
    return context.get_current_parameters().get("language") or _inherited_language(context)


class LetterVersion(db.Model):
    __tablename__ = "letter_version"
    __table_args__ = (UniqueConstraint("letter_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # initial | correction | substantive
    kind: Mapped[str] = mapped_column(String(16), default="initial")
    change_note: Mapped[str] = mapped_column(String(500), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When earlier signatories were told of this (substantive) change, if they were.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The language of the version's own text (a BCP 47 tag such as "en" or "pt-BR"); a new
    # version is written in the language of the one before unless told otherwise.
    language: Mapped[str] = mapped_column(
        String(LANGUAGE_TAG_MAX), default=_inherited_language, server_default="en"
    )
    # Which text is authoritative: the version's own language or one of its translations'.
    authoritative_language: Mapped[str] = mapped_column(
        String(LANGUAGE_TAG_MAX), default=_own_language, server_default="en"
    )

    letter: Mapped[Letter] = relationship(back_populates="versions")
    author: Mapped[Coordinator | None] = relationship()
    translations: Mapped[list[LetterTranslation]] = relationship(
        back_populates="version",
        order_by="LetterTranslation.language",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class LetterTranslation(db.Model):
    """A version's text in another language, added by an editor.

    It belongs to one version: a new version starts with none. ``source_sha256`` is the
    digest of the version's own text the translation was written (or last saved) against,
    so a translation copied from an earlier version, or left behind by a draft corrected
    in place, shows as needing review instead of passing for a match.
    """

    __tablename__ = "letter_translation"
    __table_args__ = (UniqueConstraint("version_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("letter_version.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(LANGUAGE_TAG_MAX))
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    version: Mapped[LetterVersion] = relationship(back_populates="translations")
    author: Mapped[Coordinator | None] = relationship()


class Signature(db.Model):
    __tablename__ = "signature"
    __table_args__ = (
        Index(
            "uq_signature_live_email",
            "letter_id",
            "email_key",
            unique=True,
            sqlite_where=text(_in_list("status", LIVE_STATUSES)),
            postgresql_where=text(_in_list("status", LIVE_STATUSES)),
        ),
        Index(
            "uq_signature_held_organization",
            "letter_id",
            "organization_key",
            unique=True,
            sqlite_where=text("kind = 'organization' AND " + _in_list("status", HELD_STATUSES)),
            postgresql_where=text("kind = 'organization' AND " + _in_list("status", HELD_STATUSES)),
        ),
        # The public list: published signatures of one letter and section, in signing order.
        # The search key rides along so a name search is tested on the index entry and the
        # row is read only when it matches (and so its count never reads the table).
        Index(
            "ix_signature_public",
            "letter_id",
            "status",
            "kind",
            "published_at",
            "id",
            "search_key",
        ),
        # Country-filtered lists and counts: equality on four columns, then signing order.
        Index(
            "ix_signature_country_kind",
            "letter_id",
            "status",
            "country",
            "kind",
            "published_at",
            "id",
        ),
        Index("ix_signature_status_created", "status", "created_at"),
        # The list sorted by name, whole or from one country: keyset on (sort_key, id).
        Index("ix_signature_name", "letter_id", "status", "kind", "sort_key", "id", "search_key"),
        Index(
            "ix_signature_country_name",
            "letter_id",
            "status",
            "country",
            "kind",
            "sort_key",
            "id",
        ),
        # Organizations of one type, in signing order; also answers the counts per type.
        Index(
            "ix_signature_type",
            "letter_id",
            "status",
            "kind",
            "organization_type",
            "published_at",
            "id",
        ),
        # Organizations by domain verification, in signing order, and their count.
        Index(
            "ix_signature_verified",
            "letter_id",
            "status",
            "kind",
            "domain_verified",
            "published_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("letter_version.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # For individuals: an affiliation, shown "for identification only".
    organization: Mapped[str | None] = mapped_column(String(200))
    organization_key: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    organization_type: Mapped[str | None] = mapped_column(String(32))
    website: Mapped[str | None] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    # Never public.
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    domain_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=SignatureStatus.UNCONFIRMED)
    confirm_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    withdraw_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The last moderation decision: who, when, and the optional reason given.
    moderated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    moderation_reason: Mapped[str | None] = mapped_column(String(500))
    # Folded copies of the names for the public list (``refresh_search_keys``): the name it
    # sorts under, and the text its search matches.
    sort_key: Mapped[str] = mapped_column(String(200), default="", server_default="")
    search_key: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The interface language the signer used (not public); None from before it was kept.
    language: Mapped[str | None] = mapped_column(String(LANGUAGE_TAG_MAX))

    letter: Mapped[Letter] = relationship()
    version: Mapped[LetterVersion] = relationship()
    moderated_by: Mapped[Coordinator | None] = relationship()


_ALLOWED: dict[str, tuple[SignatureStatus, ...]] = {
    "confirm": (SignatureStatus.UNCONFIRMED,),
    "approve": (SignatureStatus.PENDING_REVIEW,),
    "reject": (SignatureStatus.PENDING_REVIEW,),
    "withdraw": (SignatureStatus.PUBLISHED, SignatureStatus.PENDING_REVIEW),
    # A coordinator takes a published signature off the list; it goes back to the queue.
    "unpublish": (SignatureStatus.PUBLISHED,),
}


def transition(signature: Signature, event: str, *, now: datetime) -> SignatureStatus:
    """Apply ``event`` to ``signature`` or raise ``IllegalTransition``; return the new status.

    This is the only place a signature's status changes.
    """
    allowed = _ALLOWED.get(event)
    if allowed is None or signature.status not in allowed:
        raise IllegalTransition(signature.status, event)
    if event == "confirm":
        signature.confirmed_at = now
        target = (
            SignatureStatus.PENDING_REVIEW
            if signature.letter.needs_review(signature)
            else SignatureStatus.PUBLISHED
        )
    elif event == "approve":
        target = SignatureStatus.PUBLISHED
    elif event == "reject":
        target = SignatureStatus.REJECTED
    elif event == "unpublish":
        signature.published_at = None
        target = SignatureStatus.PENDING_REVIEW
    else:
        signature.withdrawn_at = now
        target = SignatureStatus.WITHDRAWN
    if target == SignatureStatus.PUBLISHED:
        signature.published_at = now
    signature.status = target
    signature.status_changed_at = now
    return target


# --- What follows from a signature's public fields ---------------------------------------
#
# Two things derive from what the public list shows: each signature's folded sort and
# search keys, and its letter's list revision (the live endpoint's ETag). Mapper events
# keep both in step on every ORM write (signing, the status machine, a moderator correcting
# a name), so no caller has to remember. Core bulk statements bypass them: whoever writes
# signatures that way fills the keys (``name_sort_key``, ``search_text``) itself.

# What the public list shows of a published signature: a change to any of these changes it.
LISTED_FIELDS = (
    "status",
    "kind",
    "organization",
    "country",
    "organization_type",
    "website",
    "name",
    "title",
    "domain_verified",
    "version_id",
    "published_at",
)


def refresh_search_keys(signature: Signature) -> None:
    """Set ``sort_key`` and ``search_key`` from the signature's names.

    The list sorts organizations by the organization's name and individuals by their own,
    and a search looks in both names (an individual's affiliation included).
    """
    listed = signature.organization if signature.kind == SignatureKind.ORGANIZATION else None
    signature.sort_key = name_sort_key(listed or signature.name or "")
    signature.search_key = search_text(signature.organization, signature.name)


def _note_list_change(connection: Connection, letter_id: int) -> None:
    # One atomic UPDATE, not read-add-write: two signatures published at once must move
    # the revision twice, or a watcher could keep the first one's count for ever.
    letter = Letter.__table__
    connection.execute(
        update(letter)
        .where(letter.c.id == letter_id)
        .values(list_revision=letter.c.list_revision + 1, list_changed_at=utcnow())
    )


def _stored_status(connection: Connection, signature: Signature) -> str | None:
    table = Signature.__table__
    return connection.scalar(select(table.c.status).where(table.c.id == signature.id))


@event.listens_for(Signature, "before_insert")
def _keys_on_insert(_mapper: Mapper[Signature], connection: Connection, target: Signature) -> None:
    refresh_search_keys(target)
    if target.status == SignatureStatus.PUBLISHED:
        _note_list_change(connection, target.letter_id or target.letter.id)


@event.listens_for(Signature, "before_update")
def _keys_on_update(_mapper: Mapper[Signature], connection: Connection, target: Signature) -> None:
    state = inspect(target)
    changed = {name for name in LISTED_FIELDS if state.attrs[name].history.has_changes()}
    if not changed:
        return
    if changed & {"kind", "organization", "name"}:
        refresh_search_keys(target)
    status = state.attrs.status.history
    if target.status == SignatureStatus.PUBLISHED:
        listed = True
    elif status.deleted:
        listed = status.deleted[0] == SignatureStatus.PUBLISHED
    elif status.added:
        # Set without the old value ever being loaded: the row still holds it.
        listed = _stored_status(connection, target) == SignatureStatus.PUBLISHED
    else:
        listed = False
    if listed:
        _note_list_change(connection, target.letter_id)


@event.listens_for(Signature, "before_delete")
def _keys_on_delete(_mapper: Mapper[Signature], connection: Connection, target: Signature) -> None:
    if _stored_status(connection, target) == SignatureStatus.PUBLISHED:
        _note_list_change(connection, target.letter_id)


class NotifyPreference(StrEnum):
    EACH = "each"  # an email per signature awaiting review
    DIGEST = "digest"  # one email a day
    NONE = "none"


class Coordinator(db.Model):
    __tablename__ = "coordinator"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Part of the session's identity: rotating it (password change, reset) signs out
    # every other session of this account.
    session_token: Mapped[str] = mapped_column(String(32), default=new_nonce)
    # Nonce for the "forgot password" link; rotated when a link is used.
    reset_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notify: Mapped[str] = mapped_column(String(16), default=NotifyPreference.DIGEST)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Flask-Login's user protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"


class SignInAttempt(db.Model):
    """Sign-in attempts, to throttle failures per account and per address (not globally)."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        Index("ix_sign_in_attempt_email", "email_key", "created_at"),
        Index("ix_sign_in_attempt_address", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_key: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MembershipRole(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    MODERATOR = "moderator"


# Each role can do everything the roles below it can.
ROLE_RANK = {MembershipRole.MODERATOR: 1, MembershipRole.EDITOR: 2, MembershipRole.OWNER: 3}


class Membership(db.Model):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("coordinator_id", "letter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("coordinator.id", ondelete="CASCADE"))
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    coordinator: Mapped[Coordinator] = relationship()
    letter: Mapped[Letter] = relationship()

    def allows(self, role: str) -> bool:
        """Whether this membership's role is ``role`` or above it."""
        return ROLE_RANK[MembershipRole(self.role)] >= ROLE_RANK[MembershipRole(role)]


class Invitation(db.Model):
    """An emailed invitation to join a letter's team; the link works once (nonce)."""

    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_letter", "letter_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    letter: Mapped[Letter] = relationship()
    invited_by: Mapped[Coordinator | None] = relationship()


class Delivery(db.Model):
    """The list as handed over: frozen bytes, counts and their SHA-256, never rewritten."""

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    delivered_to: Mapped[str] = mapped_column(String(300))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    csv_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    organizations: Mapped[int] = mapped_column(Integer)
    individuals: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    letter: Mapped[Letter] = relationship()


class AuditEvent(db.Model):
    """Append-only: nothing in the app edits or deletes these rows."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_letter_time", "letter_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letter.id", ondelete="SET NULL"))
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signature.id", ondelete="SET NULL")
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))
    # Who acted when there is no coordinator: "signer", "cli", "system".
    actor_label: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(db.Model):
    """An email to send, written in the transaction of the change that causes it.

    It stores the template and its context, not the rendered text: links carry tokens
    that are minted when the message is sent, so no live credential sits in this table.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    to_addr: Mapped[str] = mapped_column(String(320))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subject: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letter.id", ondelete="SET NULL"))
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signature.id", ondelete="SET NULL")
    )
