"""A signature, its statuses, and the keys derived from what the signer typed.

Its status changes only through ``models.status.transition``. The derived keys (the
email's and the organization's comparison keys, the name's sort and search keys) are
computed here and nowhere else: mapper events keep them in step on every ORM write.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Mapper, joinedload, mapped_column, relationship
from sqlalchemy.orm.util import identity_key

from signatory.core.database import DbSession
from signatory.core.extensions import Model
from signatory.core.text import comparison_key, name_sort_key, search_text, skeleton
from signatory.core.time import UTCDateTime, utcnow
from signatory.models.common import LANGUAGE_TAG_MAX, in_list, new_nonce
from signatory.models.letter import Letter, LetterVersion

if TYPE_CHECKING:
    from signatory.models.team import Coordinator

# The longest organization, signer name or title a signature holds (its columns' length).
NAME_MAX = 200
# The longest lookalike key stored; a longer one is cut to this.
LOOKALIKE_KEY_MAX = 200
# The longest "authorised to sign" wording stored (its column's length).
AUTHORISED_STATEMENT_MAX = 300


class SignatureKind(StrEnum):
    ORGANIZATION = "organization"
    INDIVIDUAL = "individual"


class ReviewReason(StrEnum):
    """Why a signature goes to the moderation queue even on a letter without moderation."""

    # The address is at a disposable-mail provider and the letter sends those to review.
    DISPOSABLE_EMAIL = "disposable_email"
    # The organization's name looks like (Unicode confusables) one already on the letter.
    LOOKALIKE_NAME = "lookalike_name"
    # A word of the organization's name mixes Latin, Cyrillic or Greek lookalike letters.
    MIXED_SCRIPTS = "mixed_scripts"


class LeadRole(StrEnum):
    """How a lead organization leads a letter; initiators are named first."""

    INITIATOR = "initiator"
    CO_SPONSOR = "co-sponsor"


# The most lead organizations a letter has: the few named first, not a second list.
LEADS_MAX = 50


class SignatureStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"
    PENDING_REVIEW = "pending_review"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    # Off the public list and out of its counts because its signer did not re-confirm it
    # within the letter's policy after a substantive change (``reconfirm``); re-confirming
    # puts it back in its place. Migration 0022.
    LAPSED = "lapsed"


# A "live" signature blocks another with the same email on the same letter. A lapsed one
# too: its way back is its re-confirm link, not a second signature.
LIVE_STATUSES = (
    SignatureStatus.UNCONFIRMED,
    SignatureStatus.PENDING_REVIEW,
    SignatureStatus.PUBLISHED,
    SignatureStatus.LAPSED,
)
# A "held" organization signature blocks another for the same organization. Unconfirmed
# ones do not hold the place: otherwise anyone could squat an organization's name with
# an address they never confirm. A lapsed one keeps it, to come back to.
HELD_STATUSES = (
    SignatureStatus.PENDING_REVIEW,
    SignatureStatus.PUBLISHED,
    SignatureStatus.LAPSED,
)
# Signatures that stand (or may soon stand) on the public list: whom a change to the text
# concerns. Unconfirmed ones never confirmed anything; withdrawn and rejected ones are no
# longer on the letter. A lapsed one is still told: re-confirming the newer text brings it back.
STANDING_STATUSES = HELD_STATUSES


class Signature(Model):
    __tablename__ = "signature"
    __table_args__ = (
        Index(
            "uq_signature_live_email",
            "letter_id",
            "email_key",
            unique=True,
            sqlite_where=text(in_list("status", LIVE_STATUSES)),
            postgresql_where=text(in_list("status", LIVE_STATUSES)),
        ),
        Index(
            "uq_signature_held_organization",
            "letter_id",
            "organization_key",
            unique=True,
            sqlite_where=text("kind = 'organization' AND " + in_list("status", HELD_STATUSES)),
            postgresql_where=text("kind = 'organization' AND " + in_list("status", HELD_STATUSES)),
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
        # A letter's signatures by signing time: the abuse reports' hour and day windows.
        Index("ix_signature_letter_created", "letter_id", "created_at"),
        # Signing's own look-ups, each one equality on the letter and a key, whatever the
        # letter's size: the live signature of an address, the place of an organization,
        # and an organization that looks like another (``lookalike_key``). Full, not partial
        # indexes (a partial one is used only when the query spells out its condition), and
        # ending in the kind and status the look-ups also compare: SQLite, without ANALYZE,
        # prefers the index matching most equalities, and would otherwise walk the letter's
        # published organizations by ``ix_signature_public``.
        Index("ix_signature_letter_email", "letter_id", "email_key", "status"),
        Index(
            "ix_signature_letter_organization", "letter_id", "organization_key", "kind", "status"
        ),
        Index("ix_signature_lookalike", "letter_id", "lookalike_key", "kind", "status"),
        # A letter's signatures from one address prefix (a bulk rule), and those under a hold.
        Index("ix_signature_client_prefix", "letter_id", "client_prefix", "created_at"),
        # Only the rows under a hold, or asking for a correction (migration 0015): nearly
        # none, and a new signature then writes no page of either.
        Index(
            "ix_signature_hold",
            "hold_id",
            sqlite_where=text("hold_id IS NOT NULL"),
            postgresql_where=text("hold_id IS NOT NULL"),
        ),
        # Every signature of one address across letters: the daily cap on signer emails.
        Index("ix_signature_email_key", "email_key"),
        # A letter's lead organizations (``organizations.leads``): a handful of rows, read
        # on every letter page and list without walking the letter's signatures.
        Index(
            "ix_signature_lead",
            "letter_id",
            "lead_role",
            "lead_rank",
            sqlite_where=text("lead_role IS NOT NULL"),
            postgresql_where=text("lead_role IS NOT NULL"),
        ),
        # The correction requests awaiting a moderator, per letter (``signatures.own``).
        Index(
            "ix_signature_correction",
            "letter_id",
            "correction_requested_at",
            sqlite_where=text("correction_requested_at IS NOT NULL"),
            postgresql_where=text("correction_requested_at IS NOT NULL"),
        ),
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
    # Every UPDATE and DELETE of a signature is conditional on the status it was read with
    # (``... WHERE id = ? AND status = ?``): a change decided on a status that another
    # request has changed since matches no row and raises ``StaleDataError``, instead of
    # overwriting it (a moderator's approval after the signer withdrew, two decisions at
    # once, a bulk rejection after a confirmation). The status machine sets the new value.
    __mapper_args__ = {"version_id_col": status, "version_id_generator": False}
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
    # Folded copies of the names for the public list (``refresh_keys``): the name it
    # sorts under, and the text its search matches.
    sort_key: Mapped[str] = mapped_column(String(200), default="", server_default="")
    search_key: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The interface language the signer used (not public); None from before it was kept.
    language: Mapped[str | None] = mapped_column(String(LANGUAGE_TAG_MAX))
    # When the signer ticked "email me updates about this letter" (``updates``); None when
    # they did not, or unsubscribed since. Never public.
    updates_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why this signature waits for a moderator whatever the letter's moderation (set when
    # signing; ``ReviewReason`` values, comma-separated), or None. Never public.
    review_reason: Mapped[str | None] = mapped_column(String(100))
    # The signer's client address shortened to its /24 or /48 (``ratelimits.clients``),
    # for the abuse reports; None from before it was kept. Never public.
    client_prefix: Mapped[str | None] = mapped_column(String(64))
    # How the organization's name looks rather than how it is spelled (``lookalike_key``):
    # "Аmnesty" with a Cyrillic "А" has the key of "Amnesty". None for no organization.
    lookalike_key: Mapped[str | None] = mapped_column(String(LOOKALIKE_KEY_MAX))
    # The coordinators' bulk hold this signature is under (``abuse.bulk``), or None.
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("bulk_action.id", ondelete="SET NULL"))
    # Privacy (migration 0008): the nonce of the signer's manage-my-signature link; when the
    # personal data was erased (``privacy.retention``); and the correction of the entry
    # the signer asked for, awaiting a moderator (all three None when there is none).
    manage_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    correction_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_organization: Mapped[str | None] = mapped_column(String(200))
    requested_name: Mapped[str | None] = mapped_column(String(200))
    requested_title: Mapped[str | None] = mapped_column(String(200))
    # The country the signer asked for (migration 0023); the title is edited directly now,
    # so ``requested_title`` only holds requests made before that.
    requested_country: Mapped[str | None] = mapped_column(String(2))
    # How it came when not by its signer's own form: ``models.bulk.SignatureSource``
    # ("imported" from a spreadsheet, or "attested": added by the coordinators, marked on
    # the list); None for the sign form. Migration 0020.
    source: Mapped[str | None] = mapped_column(String(16))

    # A lead organization (``organizations.leads``): "initiator" or "co-sponsor"
    # (``LeadRole``), and its place among the letter's leads; both None for the others.
    # Cleared when the signature leaves the list (``_lead_ends_off_the_list``). Public.
    lead_role: Mapped[str | None] = mapped_column(String(16))
    lead_rank: Mapped[int | None] = mapped_column(Integer)
    # "I am authorised to sign on behalf of this organization": the wording the signer
    # ticked, in the language shown, and when (organizations only; migration 0019). Shown
    # to the coordinators, never public.
    authorised_statement: Mapped[str | None] = mapped_column(String(AUTHORISED_STATEMENT_MAX))
    authorised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Re-confirmation (``reconfirm``; migration 0022): the newest version the signer kept
    # their signature on after a substantive change, and when; ``version_id`` still names
    # what they first signed. Public (the list shows it). The nonce of the keep links.
    # (No ON DELETE: a version goes only with its letter, and its signatures with it, as
    # for ``version_id``; SQLite adds the column in place, where it keeps no option.)
    reconfirmed_version_id: Mapped[int | None] = mapped_column(ForeignKey("letter_version.id"))
    reconfirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reconfirm_nonce: Mapped[str | None] = mapped_column(String(32), default=new_nonce)
    # "Why we signed" (``organizations.statements``; migration 0024): the signer's optional
    # statement, public only once ``statement_status`` is "approved"; who decided, and when.
    # (No ON DELETE, as for ``reconfirmed_version_id``: SQLite adds the column in place,
    # where it keeps no option; no coordinator is ever deleted.)
    statement: Mapped[str | None] = mapped_column(String(280))
    statement_status: Mapped[str | None] = mapped_column(String(16))
    statement_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))
    statement_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    letter: Mapped[Letter] = relationship(lazy="raise_on_sql")
    version: Mapped[LetterVersion] = relationship(lazy="raise_on_sql", foreign_keys=[version_id])
    reconfirmed_version: Mapped[LetterVersion | None] = relationship(
        lazy="raise_on_sql", foreign_keys=[reconfirmed_version_id]
    )
    moderated_by: Mapped[Coordinator | None] = relationship(
        lazy="raise_on_sql", foreign_keys=[moderated_by_id]
    )

    def clear_correction_request(self) -> None:
        """Forget the correction of the entry the signer asked for (decided, or erased)."""
        self.correction_requested_at = None
        self.requested_organization = None
        self.requested_name = None
        self.requested_title = None
        self.requested_country = None


def load_signature(session: DbSession, signature_id: int) -> Signature | None:
    """The signature ``signature_id`` with its letter, which nearly every use of one needs.

    One the session holds already with its letter, unchanged (the mail worker reads a
    batch's at once), is returned with no query: the query would return that same object.
    Otherwise a query rather than ``session.get``: a signature already in the session
    still gets its letter loaded (relationships raise on a lazy load).
    """
    held: Signature | None = session.identity_map.get(identity_key(Signature, signature_id))
    if held is not None:
        state = inspect(held)
        if not state.modified and "letter" not in state.unloaded:
            return held
    return session.scalar(
        select(Signature).options(joinedload(Signature.letter)).where(Signature.id == signature_id)
    )


# --- What follows from what the signer typed ----------------------------------------------
#
# Derived from a signature's fields: the comparison keys of its email and organization
# (one live signature per address, one place per organization), its folded sort and
# search keys. Mapper events keep all of them in step on every ORM write (signing, the
# status machine, a moderator correcting a name), so no caller computes or sets them. Core
# bulk statements bypass the events: whoever writes signatures that way fills the keys
# with the functions below. (The letter's counts and list revision are the database's
# triggers', which no write bypasses.)


# Providers that deliver ``name+anything@`` to ``name@`` (documented plus-addressing): the
# tag is ignored in the key. Gmail also ignores dots in the local part, and googlemail.com
# is the same provider as gmail.com. Only providers that document it: elsewhere
# "a.b@" and "ab@" may be two people. This is the one list; nothing else normalises.
PLUS_ADDRESSING_DOMAINS = frozenset({
    "gmail.com",
    "outlook.com", "hotmail.com", "live.com",
    "fastmail.com", "fastmail.fm",
    "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
    "icloud.com", "me.com", "mac.com",
})  # fmt: skip
DOTS_IGNORED_DOMAINS = frozenset({"gmail.com"})
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}


def email_key(email: str) -> str:
    """The address compared for "one live signature per email" and for the mail caps.

    Case is ignored (domains are case-insensitive and, in practice, so are local parts),
    and so are what the address's provider ignores: ``+tags`` at the providers in
    ``PLUS_ADDRESSING_DOMAINS``, dots at Gmail's. ``Plus.Tag+2@googlemail.com`` is
    ``plustag@gmail.com``. Only the key: the address stored and mailed to is as typed.
    """
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    domain = DOMAIN_ALIASES.get(domain, domain)
    if domain in PLUS_ADDRESSING_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in DOTS_IGNORED_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else address


def organization_key(organization: str | None) -> str | None:
    """The name compared for "one place per organization": "E.F.F." and "eff" are one."""
    return comparison_key(organization) if organization else None


def sort_key(kind: str, organization: str | None, name: str | None) -> str:
    """The name the list sorts under: an organization's name, else the signer's own."""
    listed = organization if kind == SignatureKind.ORGANIZATION else None
    return name_sort_key(listed or name or "")


def search_key(organization: str | None, name: str | None) -> str:
    """The text a name search matches: both names (an individual's affiliation included)."""
    return search_text(organization, name)


def lookalike_key(organization: str | None) -> str | None:
    """The organization's name as it looks (``core.text.skeleton``): lookalikes share it."""
    return skeleton(organization)[:LOOKALIKE_KEY_MAX] or None if organization else None


def derived_keys(
    *, kind: str, organization: str | None, name: str | None, email: str | None
) -> dict[str, str | None]:
    """Every derived key of a signature with these fields, by column name."""
    return {
        "email_key": email_key(email or ""),
        "organization_key": organization_key(organization),
        "lookalike_key": lookalike_key(organization),
        "sort_key": sort_key(kind, organization, name),
        "search_key": search_key(organization, name),
    }


def refresh_keys(signature: Signature) -> None:
    """Set every derived key of ``signature`` from its fields."""
    keys = derived_keys(
        kind=signature.kind,
        organization=signature.organization,
        name=signature.name,
        email=signature.email,
    )
    for column, value in keys.items():
        setattr(signature, column, value)


# What the keys derive from. The status too: an approval re-derives the organization's key,
# so a key stored by an older normaliser cannot let a second "EFF" through.
KEYED_FIELDS = ("status", "kind", "organization", "name", "email")

# Indexes a migration makes on one database only, which the models do not describe: the
# trigram index of the name search on PostgreSQL (migration 0012).
DATABASE_SPECIFIC_INDEXES = frozenset({"ix_signature_search_trgm"})


def described_by_models(
    _object: object, name: str | None, type_: str, reflected: bool, _compare_to: object
) -> bool:
    """Alembic's ``include_object``: leave the database-specific indexes out of comparisons."""
    return not (type_ == "index" and reflected and name in DATABASE_SPECIFIC_INDEXES)


# The counts (``models.letter.SignatureTally``) and the letter's list revision are kept by
# the database's triggers (migration 0011), not here: they hold whatever writes the rows.


@event.listens_for(Signature, "before_insert")
def _keys_on_insert(_mapper: Mapper[Signature], _connection: Connection, target: Signature) -> None:
    refresh_keys(target)


@event.listens_for(Signature, "before_update")
def _keys_on_update(_mapper: Mapper[Signature], _connection: Connection, target: Signature) -> None:
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in KEYED_FIELDS):
        refresh_keys(target)


@event.listens_for(Signature, "before_update")
def _lead_ends_off_the_list(
    _mapper: Mapper[Signature], _connection: Connection, target: Signature
) -> None:
    """A lead organization unpublished, withdrawn or rejected is no longer a lead.

    A bulk hold keeps its publication time (its release puts it back in its place), and
    so its role: the leads shown are published ones only (``lists.queries``).
    """
    if target.lead_role is None or target.status == SignatureStatus.PUBLISHED:
        return
    if not inspect(target).attrs["status"].history.has_changes():
        return
    if target.published_at is None or target.status in (
        SignatureStatus.WITHDRAWN,
        SignatureStatus.REJECTED,
    ):
        target.lead_role = None
        target.lead_rank = None
