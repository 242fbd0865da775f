"""Logos: storing the image made from an upload, the coordinators' decisions, the logo wall.

An organization signature has at most one logo (``models.SignatureLogo``). It is stored as
``organizations.images`` re-encoded it, waits for a coordinator (``pending``), and is
shown only once ``approved`` and while its signature is published: a withdrawn, rejected
or erased signature's logo is never served (the public reads join the signature's
status), and erasing a signature deletes its logo (``delete_logos``, from
``privacy.retention``). A new upload replaces the image and goes back to ``pending``.

The wall and the queue read ``ix_signature_logo_letter`` (letter, status, signature id),
keyset-paginated by the signature's id, so a page costs the same on a letter of ten
signatures or a million.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from signatory.core.database import MAX_ROW_ID, DbSession
from signatory.core.errors import ChangedMeanwhile, DomainError, InvalidArgument, InvalidToken
from signatory.core.tokens import USED, TokenPayload, nonce_matches
from signatory.models import (
    HELD_STATUSES,
    LIVE_STATUSES,
    Coordinator,
    Letter,
    LetterStatus,
    LogoStatus,
    Signature,
    SignatureKind,
    SignatureLogo,
    SignatureStatus,
    audit,
    new_nonce,
)
from signatory.organizations.images import PreparedLogo

GONE = "gone"


class LogoNotAllowed(DomainError):
    """This signature cannot carry a logo (an individual's, or one off the letter)."""


class InvalidWallCursor(InvalidArgument):
    """A logo wall position that ``encode_wall_cursor`` did not make."""


# --- Uploads --------------------------------------------------------------------------------


def may_have_logo(signature: Signature) -> bool:
    """Whether the signer may upload a logo: an organization, still on (or bound for) the list."""
    return (
        signature.kind == SignatureKind.ORGANIZATION
        and signature.status in LIVE_STATUSES
        and signature.erased_at is None
    )


def attach_new(
    session: DbSession,
    *,
    signature_id: int,
    letter_id: int,
    prepared: PreparedLogo,
    now: datetime,
) -> SignatureLogo:
    """The logo of a signature made in this transaction (the sign form's), pending review."""
    logo = SignatureLogo(signature_id=signature_id, letter_id=letter_id, uploaded_at=now)
    _fill(logo, prepared)
    session.add(logo)
    session.flush()
    _audit_upload(session, logo, replaced=False, now=now)
    return logo


def replace_logo(
    session: DbSession, signature: Signature, prepared: PreparedLogo, *, now: datetime
) -> SignatureLogo:
    """Give ``signature`` this logo in place of any earlier one, back to pending review.

    Raises ``LogoNotAllowed`` for an individual's signature or one off the letter, and
    ``ChangedMeanwhile`` when another upload for it was stored at the same moment.
    """
    if not may_have_logo(signature):
        raise LogoNotAllowed(signature.id)
    logo = logo_of(session, signature.id)
    replaced = logo is not None
    if logo is None:
        logo = SignatureLogo(signature_id=signature.id, letter_id=signature.letter_id)
        session.add(logo)
    _fill(logo, prepared)
    logo.uploaded_at = now
    try:
        session.flush()
    except IntegrityError as error:
        # Two first uploads at once: the unique signature_id kept one.
        raise ChangedMeanwhile(str(signature.id)) from error
    _audit_upload(session, logo, replaced=replaced, now=now)
    return logo


def _fill(logo: SignatureLogo, prepared: PreparedLogo) -> None:
    logo.status = LogoStatus.PENDING
    logo.image = prepared.image
    logo.media_type = prepared.media_type
    logo.width = prepared.width
    logo.height = prepared.height
    logo.sha256 = prepared.sha256
    logo.source_type = prepared.source_type
    logo.decided_by_id = None
    logo.decided_at = None


def _audit_upload(
    session: DbSession, logo: SignatureLogo, *, replaced: bool, now: datetime
) -> None:
    audit.record(
        session,
        "logo.uploaded",
        actor_label="signer",
        letter_id=logo.letter_id,
        signature_id=logo.signature_id,
        detail={"sha256": logo.sha256, "source_type": logo.source_type, "replaced": replaced},
        now=now,
    )


def logo_of(session: DbSession, signature_id: int) -> SignatureLogo | None:
    """The logo of ``signature_id``, whatever its status, or None."""
    return session.scalar(select(SignatureLogo).where(SignatureLogo.signature_id == signature_id))


def signature_for_upload(session: DbSession, payload: TokenPayload) -> Signature:
    """The signature a manage link names, with its letter; else ``InvalidToken``.

    The same checks as the manage page's own (``signatures.own.signature_for_manage``),
    which this module sits beneath.
    """
    signature = session.scalar(
        select(Signature)
        .options(joinedload(Signature.letter))
        .where(Signature.id == payload.row_id)
    )
    if signature is None or signature.erased_at is not None:
        raise InvalidToken(GONE)
    if not nonce_matches(signature.manage_nonce, payload.nonce):
        raise InvalidToken(USED, signature_id=signature.id)
    return signature


def move_manage_link_on(signature: Signature) -> None:
    """Retire the manage link used for a change, as every change made from the page does."""
    signature.manage_nonce = new_nonce()


# --- The coordinators' review ------------------------------------------------------------


@dataclass(frozen=True)
class QueuedLogo:
    """A pending logo as the review queue shows it (its image comes from its own URL)."""

    id: int
    sha256: str
    width: int
    height: int
    source_type: str
    uploaded_at: datetime
    signature_id: int
    organization: str | None
    website: str | None
    signature_status: str

    @property
    def digest8(self) -> str:
        return self.sha256[:8]


QUEUE_LIMIT = 100


def _in_review() -> tuple[object, ...]:
    # Logos of signatures confirmed by their signer: an unconfirmed one may never be.
    return (
        SignatureLogo.status == LogoStatus.PENDING,
        Signature.status.in_(HELD_STATUSES),
    )


def pending_logos(
    session: DbSession, letter: Letter, *, limit: int = QUEUE_LIMIT
) -> list[QueuedLogo]:
    """The letter's logos awaiting a decision, oldest upload first, at most ``limit``."""
    rows = session.execute(
        select(
            SignatureLogo.id,
            SignatureLogo.sha256,
            SignatureLogo.width,
            SignatureLogo.height,
            SignatureLogo.source_type,
            SignatureLogo.uploaded_at,
            SignatureLogo.signature_id,
            Signature.organization,
            Signature.website,
            Signature.status.label("signature_status"),
        )
        .join(Signature, Signature.id == SignatureLogo.signature_id)
        .where(SignatureLogo.letter_id == letter.id, *_in_review())  # type: ignore[arg-type]
        .order_by(SignatureLogo.uploaded_at, SignatureLogo.id)
        .limit(limit)
    )
    return [QueuedLogo(**row._asdict()) for row in rows]


def pending_count(session: DbSession, letter_id: int) -> int:
    """How many of the letter's logos await a decision (the workspace tab shows it)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(SignatureLogo)
            .join(Signature, Signature.id == SignatureLogo.signature_id)
            .where(SignatureLogo.letter_id == letter_id, *_in_review())  # type: ignore[arg-type]
        )
        or 0
    )


def letter_logo(session: DbSession, letter: Letter, logo_id: int) -> SignatureLogo | None:
    """The logo ``logo_id`` of one of the letter's signatures, whatever its status."""
    return session.scalar(
        select(SignatureLogo).where(
            SignatureLogo.id == logo_id, SignatureLogo.letter_id == letter.id
        )
    )


DECISIONS = {"approve": LogoStatus.APPROVED, "reject": LogoStatus.REJECTED}


def decide(
    session: DbSession,
    letter: Letter,
    logo_id: int,
    *,
    decision: str,
    sha256: str,
    actor: Coordinator,
    now: datetime,
) -> LogoStatus:
    """Approve or reject the logo the moderator looked at (``sha256``); audited.

    A logo replaced since the page was drawn (another hash) is not decided: the update is
    conditional on the hash, so ``ChangedMeanwhile`` says to look again. ``LookupError``
    for a logo that is not the letter's.
    """
    status = DECISIONS.get(decision)
    if status is None:
        raise InvalidArgument(decision)
    logo = letter_logo(session, letter, logo_id)
    if logo is None:
        raise LookupError(logo_id)
    changed = session.execute(
        update(SignatureLogo)
        .where(SignatureLogo.id == logo_id, SignatureLogo.sha256 == sha256)
        .values(status=status, decided_by_id=actor.id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise ChangedMeanwhile(str(logo_id))
    session.expire(logo)
    audit.record(
        session,
        f"logo.{status}",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        signature_id=logo.signature_id,
        detail={"sha256": sha256},
        now=now,
    )
    return status


def delete_logos(session: DbSession, signature_ids: Iterable[int]) -> int:
    """Delete the logos of these signatures (erased ones); how many there were."""
    ids = list(signature_ids)
    if not ids:
        return 0
    result = session.execute(
        delete(SignatureLogo)
        .where(SignatureLogo.signature_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- What the public sees ----------------------------------------------------------------


def _shown() -> tuple[object, ...]:
    return (
        SignatureLogo.status == LogoStatus.APPROVED,
        Signature.status == SignatureStatus.PUBLISHED,
        Signature.kind == SignatureKind.ORGANIZATION,
        Signature.erased_at.is_(None),
    )


def public_logo(
    session: DbSession, slug: str, logo_id: int, digest: str
) -> tuple[bytes, str] | None:
    """The image and type of an approved logo of a published signature on ``slug``, or None.

    ``digest`` must be the image's hash's start, as its URL carries it: an old URL of a
    replaced logo finds nothing.
    """
    if not re.fullmatch(r"[0-9a-f]{8}", digest) or not 0 < logo_id <= MAX_ROW_ID:
        return None
    found = session.execute(
        select(SignatureLogo.image, SignatureLogo.media_type, SignatureLogo.sha256)
        .join(Signature, Signature.id == SignatureLogo.signature_id)
        .join(Letter, Letter.id == SignatureLogo.letter_id)
        .where(
            SignatureLogo.id == logo_id,
            Letter.slug == slug,
            Letter.status != LetterStatus.DRAFT,
            *_shown(),  # type: ignore[arg-type]
        )
    ).first()
    if found is None or not found.sha256.startswith(digest):
        return None
    return found.image, found.media_type


@dataclass(frozen=True)
class WallTile:
    """One logo on the wall: its address's parts, its size, and whose it is."""

    id: int
    sha256: str
    width: int
    height: int
    signature_id: int
    organization: str

    @property
    def digest8(self) -> str:
        return self.sha256[:8]


@dataclass(frozen=True)
class WallPage:
    tiles: Sequence[WallTile]
    next_cursor: str | None


def wall_query(letter_id: int, *, after: int | None, limit: int) -> Select[*tuple[Any, ...]]:
    """The wall's one statement: ``limit`` shown logos after the signature ``after``."""
    query = (
        select(
            SignatureLogo.id,
            SignatureLogo.sha256,
            SignatureLogo.width,
            SignatureLogo.height,
            SignatureLogo.signature_id,
            Signature.organization,
        )
        .join(Signature, Signature.id == SignatureLogo.signature_id)
        .where(SignatureLogo.letter_id == letter_id, *_shown())  # type: ignore[arg-type]
        .order_by(SignatureLogo.signature_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(SignatureLogo.signature_id > after)
    return query


def wall_page(session: DbSession, letter: Letter, *, after: int | None, limit: int) -> WallPage:
    """A page of the letter's logo wall, in signing order after the signature ``after``.

    One more row than ``limit`` is read to know whether there is a next page.
    """
    rows = list(session.execute(wall_query(letter.id, after=after, limit=limit + 1)))
    tiles = [
        WallTile(
            id=row.id,
            sha256=row.sha256,
            width=row.width,
            height=row.height,
            signature_id=row.signature_id,
            organization=row.organization or "",
        )
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return WallPage(tiles, encode_wall_cursor(tiles[-1].signature_id) if more else None)


_WALL_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,32}")
_WALL_PAYLOAD = re.compile(r"w([0-9]{1,18})")


def encode_wall_cursor(signature_id: int) -> str:
    """An opaque, URL-safe token for a position on the wall (a signature id, a public fact)."""
    return base64.urlsafe_b64encode(f"w{signature_id}".encode()).decode().rstrip("=")


def decode_wall_cursor(token: str) -> int:
    """The signature id in ``token``; ``InvalidWallCursor`` for anything not made above."""
    if not _WALL_CURSOR.fullmatch(token):
        raise InvalidWallCursor("not a cursor")
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError) as error:
        raise InvalidWallCursor("not a cursor") from error
    match = _WALL_PAYLOAD.fullmatch(decoded)
    if match is None or int(match.group(1)) > MAX_ROW_ID:
        raise InvalidWallCursor("not a cursor")
    return int(match.group(1))
