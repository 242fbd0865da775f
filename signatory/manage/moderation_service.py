"""Moderation: the review queue, decisions, corrections of display typos, and unpublishing.

Every status change goes through ``models.transition``; every action writes an AuditEvent
in the caller's transaction. Functions here flush but never commit, and raise a
``ModerationError`` (whose text is written for the moderator) for anything they refuse,
having changed nothing.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any, Generic, TypeVar

from flask_babel import gettext
from sqlalchemy import ColumnElement, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from signatory.core.errors import DomainError
from signatory.core.freemail import email_domain, is_free_mail
from signatory.core.reference import N_
from signatory.core.text import comparison_key, folded, has_control_characters
from signatory.models import (
    HELD_STATUSES,
    AuditEvent,
    Coordinator,
    IllegalTransition,
    Letter,
    Signature,
    SignatureKind,
    SignatureStatus,
    audit,
    transition,
)
from signatory.models.signature import organization_key
from signatory.public.service import Cursor, decode_cursor, encode_cursor
from signatory.signing.forms import NAME_MAX

APPROVE = "approve"
REJECT = "reject"
# Each decision is also the name of its transition; the value is the audit action it writes.
_DECISIONS = {APPROVE: "signature.approved", REJECT: "signature.rejected"}

REASON_MAX = 500
# The largest row id a database integer holds; a larger one in a URL or form names nothing.
MAX_ROW_ID = 2**63 - 1
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
}


def _status_words(status: str) -> str:
    words = _STATUS_WORDS.get(status)
    return gettext(words) if words else status.replace("_", " ")


def label_of(signature: Signature) -> str:
    """How a signature is named in messages: the organization, or the individual's name."""
    if signature.kind == SignatureKind.ORGANIZATION and signature.organization:
        return signature.organization
    return signature.name


# --- Similar organization names -------------------------------------------------------------
#
# A moderator's first question about "E.F.F." is whether the EFF already signed. Names are
# compared three ways: the same after folding case, accents and punctuation; one is the
# other's acronym ("EFF" and "Electronic Frontier Foundation"); or a near-miss in spelling
# ("Electonic Frontier Foundation"). The letter's held names are read in one query and
# compared in Python, so the queue page costs one extra query however long it is.

SAME = "same name"
ACRONYM = "acronym"
SPELLING = "similar spelling"
_REASON_RANK = {SAME: 0, ACRONYM: 1, SPELLING: 2}

SIMILAR_CAP = 5
FUZZY_THRESHOLD = 0.85
# Below this many characters a near-miss is more often a different name than a typo.
FUZZY_MIN_LENGTH = 6

_PARENTHESES = re.compile(r"\(([^()]*)\)")
_WORDS = re.compile(r"[^\W_]+")
# Left out of acronyms: "Centre for Democracy and Technology" is CDT.
_STOP_WORDS = frozenset({
    "a", "an", "and", "at", "de", "del", "der", "des", "di", "die", "du", "e", "et", "for",
    "für", "in", "la", "le", "les", "of", "on", "the", "to", "und", "y",
})  # fmt: skip


def _fold(name: str) -> str:
    # Most names are ASCII, where folding is only case folding: skip the Unicode walk,
    # which is most of the cost of indexing a long list.
    return name.casefold() if name.isascii() else folded(name)


def _name_keys(name: str, key: str) -> frozenset[str]:
    """The comparison keys of a name: whole, without its parentheses, and each parenthesis.

    "Electronic Frontier Foundation (EFF)" is known by its whole name, its long form and
    "EFF". ``key`` is the whole name's key, already computed.
    """
    if "(" not in name:
        return frozenset({key} if key else ())
    keys = {key, comparison_key(_PARENTHESES.sub(" ", name))}
    keys.update(comparison_key(inner) for inner in _PARENTHESES.findall(name))
    keys.discard("")
    return frozenset(keys)


def _acronyms(name: str) -> frozenset[str]:
    """The initials of a name of several words, with and without its small words."""
    words = _WORDS.findall(_fold(_PARENTHESES.sub(" ", name)))
    if len(words) < 2:
        return frozenset()
    found = {"".join(word[0] for word in words)}
    significant = [word for word in words if word not in _STOP_WORDS]
    if len(significant) >= 2:
        found.add("".join(word[0] for word in significant))
    return frozenset(acronym for acronym in found if len(acronym) >= 2)


def _trigrams(key: str) -> frozenset[str]:
    return frozenset(key[i : i + 3] for i in range(len(key) - 2))


@dataclass(frozen=True)
class SimilarName:
    """A held organization name that looks like the one under review."""

    signature_id: int
    organization: str
    status: str
    reason: str


@dataclass(frozen=True)
class _Entry:
    signature_id: int
    organization: str
    status: str
    keys: frozenset[str]
    acronyms: frozenset[str]
    # The key compared for near-misses (the name outside any parentheses), its trigrams.
    primary: str
    grams: frozenset[str]


def _entry(signature_id: int, organization: str, status: str, key: str | None = None) -> _Entry:
    # The stored key when there is one: it is what the one-place-per-organization index
    # compares, and it saves folding every name again.
    key = key if key is not None else comparison_key(organization)
    primary = comparison_key(_PARENTHESES.sub(" ", organization)) if "(" in organization else key
    primary = primary or key
    return _Entry(
        signature_id=signature_id,
        organization=organization,
        status=status,
        keys=_name_keys(organization, key),
        acronyms=_acronyms(organization),
        primary=primary,
        grams=_trigrams(primary) if len(primary) >= FUZZY_MIN_LENGTH else frozenset(),
    )


# Near-misses are looked for only among names sharing this much of their trigrams (Dice
# coefficient). A typo or two leaves most trigrams intact, so this loses next to nothing
# and saves running difflib against every name on a long list.
TRIGRAM_PREFILTER = 0.5


@dataclass
class NameIndex:
    """A letter's held organization names, indexed for the three comparisons."""

    by_key: dict[str, list[_Entry]] = field(default_factory=lambda: defaultdict(list))
    by_acronym: dict[str, list[_Entry]] = field(default_factory=lambda: defaultdict(list))
    # Trigram -> ids of the names containing it; ids rather than entries so that counting
    # shared trigrams is one Counter.update per trigram, which runs in C.
    by_gram: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_id: dict[int, _Entry] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str, str, str | None]]) -> NameIndex:
        """From ``(signature id, organization, status, organization key)`` rows."""
        index = cls()
        for signature_id, organization, status, key in rows:
            entry = _entry(signature_id, organization, status, key)
            for key in entry.keys:
                index.by_key[key].append(entry)
            for acronym in entry.acronyms:
                index.by_acronym[acronym].append(entry)
            for gram in entry.grams:
                index.by_gram[gram].append(signature_id)
            index.by_id[signature_id] = entry
        return index

    def similar_to(
        self, signature_id: int, organization: str, *, cap: int = SIMILAR_CAP
    ) -> tuple[list[SimilarName], int]:
        """Names like ``organization`` other than the signature's own, strongest first.

        Returns at most ``cap`` of them and how many more there were.
        """
        me = _entry(signature_id, organization, "")
        found: dict[int, tuple[str, float, _Entry]] = {}

        def note(entry: _Entry, reason: str, score: float) -> None:
            if entry.signature_id == signature_id:
                return
            current = found.get(entry.signature_id)
            rank = (_REASON_RANK[reason], -score)
            if current is None or rank < (_REASON_RANK[current[0]], -current[1]):
                found[entry.signature_id] = (reason, score, entry)

        for key in me.keys:
            for entry in self.by_key.get(key, ()):
                note(entry, SAME, 1.0)
            # "EFF" typed on its own is the acronym of a longer name on the list ...
            for entry in self.by_acronym.get(key, ()):
                note(entry, ACRONYM, 1.0)
        # ... and the other way round.
        for acronym in me.acronyms:
            for entry in self.by_key.get(acronym, ()):
                note(entry, ACRONYM, 1.0)
        for entry, score in self._near_misses(me):
            note(entry, SPELLING, score)

        ranked = sorted(found.values(), key=lambda item: (_REASON_RANK[item[0]], -item[1]))
        similar = [
            SimilarName(entry.signature_id, entry.organization, entry.status, reason)
            for reason, _, entry in ranked[:cap]
        ]
        return similar, max(0, len(ranked) - cap)

    def _near_misses(self, me: _Entry) -> Iterator[tuple[_Entry, float]]:
        if not me.grams:
            return
        shared: Counter[int] = Counter()
        for gram in me.grams:
            shared.update(self.by_gram.get(gram, ()))
        matcher = SequenceMatcher(autojunk=False)
        # SequenceMatcher caches what it learns about its second sequence.
        matcher.set_seq2(me.primary)
        # Dice >= p needs 2c >= p(|mine| + |theirs|) >= p(|mine| + c), so c >= p|mine|/(2-p):
        # candidates come most-shared first, and the rest are never looked at.
        least = TRIGRAM_PREFILTER * len(me.grams) / (2 - TRIGRAM_PREFILTER)
        for entry_id, count in shared.most_common():
            if count < least:
                break
            entry = self.by_id[entry_id]
            if entry.primary == me.primary:
                continue
            if 2 * count / (len(me.grams) + len(entry.grams)) < TRIGRAM_PREFILTER:
                continue
            matcher.set_seq1(entry.primary)
            if matcher.real_quick_ratio() < FUZZY_THRESHOLD:
                continue
            if matcher.quick_ratio() < FUZZY_THRESHOLD:
                continue
            score = matcher.ratio()
            if score >= FUZZY_THRESHOLD:
                yield entry, score


def name_index(session: Session, letter: Letter) -> NameIndex:
    """The letter's published and pending organization names, in one query."""
    rows = session.execute(
        select(
            Signature.id, Signature.organization, Signature.status, Signature.organization_key
        ).where(
            Signature.letter_id == letter.id,
            Signature.kind == SignatureKind.ORGANIZATION,
            Signature.status.in_(HELD_STATUSES),
            Signature.organization.is_not(None),
        )
    ).all()
    return NameIndex.build((row[0], row[1], row[2], row[3]) for row in rows)


# --- The queue and the list of signatures --------------------------------------------------
#
# Both are keyset-paginated, newest first, on (created_at, id), like the public list: a page
# starts strictly after the last row of the previous one. The cursor codec is the public
# list's; its "published_at" slot carries the signing time here.


@dataclass(frozen=True)
class QueueItem:
    """A signature awaiting review, with what a moderator needs to decide."""

    signature: Signature
    email_domain: str
    free_mail: bool
    similar: list[SimilarName]
    more_similar: int


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # Where the next page starts, already encoded; None on the last page.
    next_cursor: str | None


def _newest_first(query: Any, after: Cursor | None, limit: int) -> Any:
    query = query.order_by(Signature.created_at.desc(), Signature.id.desc()).limit(limit + 1)
    if after is not None:
        query = query.where(
            tuple_(Signature.created_at, Signature.id) < (after.published_at, after.id)
        )
    return query


def _paged(rows: list[Signature], limit: int) -> tuple[list[Signature], str | None]:
    items = rows[:limit]
    more = len(rows) > limit
    next_cursor = encode_cursor(Cursor(items[-1].created_at, items[-1].id)) if more else None
    return items, next_cursor


def parse_cursor(token: str) -> Cursor | None:
    """The position in a "next page" link, or ``InvalidCursor``; None for no cursor."""
    return decode_cursor(token) if token else None


def queue_page(
    session: Session, letter: Letter, *, after: Cursor | None = None, limit: int = 50
) -> Page[QueueItem]:
    """Signatures awaiting review, newest first, each with its flags and similar names."""
    query = (
        select(Signature)
        .options(joinedload(Signature.version))
        .where(
            Signature.letter_id == letter.id,
            Signature.status == SignatureStatus.PENDING_REVIEW,
        )
    )
    rows = list(session.scalars(_newest_first(query, after, limit)))
    signatures, next_cursor = _paged(rows, limit)
    index = name_index(session, letter) if signatures else NameIndex()
    items = []
    for signature in signatures:
        domain = email_domain(signature.email)
        similar: list[SimilarName] = []
        more = 0
        if signature.kind == SignatureKind.ORGANIZATION and signature.organization:
            similar, more = index.similar_to(signature.id, signature.organization)
        items.append(QueueItem(signature, domain, is_free_mail(domain), similar, more))
    return Page(items, next_cursor)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search_condition(search: str) -> ColumnElement[bool]:
    lowered = search.lower()
    conditions: list[ColumnElement[bool]] = [
        func.lower(Signature.name).like(_like_pattern(lowered), escape="\\"),
        func.lower(Signature.organization).like(_like_pattern(lowered), escape="\\"),
        Signature.email_key.like(_like_pattern(lowered), escape="\\"),
    ]
    # The stored organization key is folded already, so "cafe" finds "Café Coopérative"
    # and "E.F.F." finds "EFF" whatever the database's idea of lower case.
    key = comparison_key(search)
    if key:
        conditions.append(Signature.organization_key.like(_like_pattern(key), escape="\\"))
    return or_(*conditions)


def signatures_page(
    session: Session,
    letter: Letter,
    *,
    status: str | None = None,
    search: str = "",
    after: Cursor | None = None,
    limit: int = 50,
) -> Page[Signature]:
    """Every signature of the letter, newest first, optionally of one status or matching
    ``search`` (in the organization, the signer's name or the email)."""
    query = (
        select(Signature)
        .options(joinedload(Signature.version), joinedload(Signature.moderated_by))
        .where(Signature.letter_id == letter.id)
    )
    if status is not None:
        query = query.where(Signature.status == status)
    search = search.strip()
    if search:
        query = query.where(_search_condition(search))
    rows = list(session.scalars(_newest_first(query, after, limit)).unique())
    items, next_cursor = _paged(rows, limit)
    return Page(items, next_cursor)


def signature_of(session: Session, letter: Letter, signature_id: int) -> Signature | None:
    """The signature ``signature_id`` if it belongs to ``letter``; None otherwise."""
    if not 0 < signature_id <= MAX_ROW_ID:
        return None
    return session.scalar(
        select(Signature).where(Signature.id == signature_id, Signature.letter_id == letter.id)
    )


def signature_history(
    session: Session, signature: Signature, *, limit: int = 100
) -> list[tuple[AuditEvent, str | None]]:
    """The signature's audit events, newest first, with the acting coordinator's name."""
    rows = session.execute(
        select(AuditEvent, Coordinator.name)
        .outerjoin(Coordinator, Coordinator.id == AuditEvent.actor_id)
        .where(AuditEvent.signature_id == signature.id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return [(event, name) for event, name in rows]


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


def _holder_of(session: Session, signature: Signature, key: str) -> Signature | None:
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


def _flush_or_place_taken(session: Session, organization: str | None) -> None:
    # The explicit checks give the better message; the unique index is the guarantee,
    # e.g. against a confirmation committed between our check and this flush.
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise OrganizationPlaceTaken(organization) from None


def _record(
    session: Session,
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
    session: Session,
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
        raise ModerationError(f"Decide at most {MAX_BATCH} signatures at once.")
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
    _flush_or_place_taken(session, label_of(signatures[0]) if len(signatures) == 1 else None)
    return signatures


def correct(
    session: Session,
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
        key = organization_key(value)
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
    session: Session,
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
    session.flush()
    return signature
