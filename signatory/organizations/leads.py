"""Lead organizations: the published organizations a letter names first, as initiators or
co-sponsors, in the order the coordinators choose.

A lead is a role on a published organization signature (``Signature.lead_role`` and
``lead_rank``), read by ``lists.queries.lead_organizations`` for the letter page, the list,
the CSV and the API. It ends when the signature leaves the list (unpublished, withdrawn:
``models.signature``). Every change is audited; the list revision's trigger (migration
0019) moves on with it, so kept pages and downloads show it at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, tuple_
from sqlalchemy.orm.exc import StaleDataError

from signatory.core.database import DbSession
from signatory.core.errors import ChangedMeanwhile, DomainError
from signatory.core.text import search_text
from signatory.lists.cursors import NameCursor
from signatory.models import (
    Coordinator,
    Letter,
    Signature,
    SignatureKind,
    SignatureStatus,
    audit,
)
from signatory.models.signature import LEADS_MAX, LeadRole

# How many organizations one search shows at a time (then a "more" link, by keyset).
SEARCH_LIMIT = 20
SEARCH_MAX_LENGTH = 100


class LeadRefused(DomainError):
    """A change to the leads that cannot be made; ``status`` is the page's, ``message`` says why."""

    status = 409
    message: Any = _l("That change to the lead organizations cannot be made.")

    def __str__(self) -> str:
        return str(self.message)


class NoSuchOrganization(LeadRefused):
    """No signature of this letter has that id (another letter's included: not told apart)."""

    status = 404
    message = _l("This letter has no such signature.")


class NotAnOrganization(LeadRefused):
    status = 422
    message = _l("Only an organization can be a lead organization; this is an individual.")


class NotOnTheList(LeadRefused):
    status = 409
    message = _l(
        "Only a published organization can be a lead organization; this one is not on the "
        "public list."
    )


class NotALead(LeadRefused):
    status = 404
    message = _l("This organization is not a lead organization of the letter.")


class TooManyLeads(LeadRefused):
    status = 409
    message = _l(
        "A letter names at most %(max)s lead organizations; remove one first.", max=LEADS_MAX
    )


def _signature_of(session: DbSession, letter: Letter, signature_id: int) -> Signature:
    signature = session.scalar(
        select(Signature).where(Signature.id == signature_id, Signature.letter_id == letter.id)
    )
    if signature is None:
        raise NoSuchOrganization()
    return signature


def _leads(session: DbSession, letter: Letter) -> list[Signature]:
    """The letter's lead signatures as rows to change, in their order (by ``ix_signature_lead``)."""
    return list(
        session.scalars(
            select(Signature)
            .where(Signature.letter_id == letter.id, Signature.lead_role.is_not(None))
            .order_by(Signature.lead_rank, Signature.id)
        )
    )


def _audit(
    session: DbSession,
    action: str,
    signature: Signature,
    *,
    actor: Coordinator,
    now: datetime,
    detail: dict[str, Any],
) -> None:
    audit.record(
        session,
        action,
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=signature.letter_id,
        signature_id=signature.id,
        detail={"organization": signature.organization, **detail},
        now=now,
    )


def _flush(session: DbSession) -> None:
    # A signature whose status changed since it was read (withdrawn, unpublished) matches
    # no row: the status is its mapper's version column.
    try:
        session.flush()
    except StaleDataError:
        raise ChangedMeanwhile("the signature changed while its lead role was decided") from None


def mark_lead(
    session: DbSession,
    letter: Letter,
    signature_id: int,
    role: str,
    *,
    actor: Coordinator,
    now: datetime,
) -> bool:
    """Make the published organization ``signature_id`` a lead of ``letter`` as ``role``.

    A new lead goes last; a lead given the other role keeps its place. Whether anything
    changed (marking a lead again with its own role changes nothing and records nothing).
    """
    role = LeadRole(role)
    signature = _signature_of(session, letter, signature_id)
    if signature.kind != SignatureKind.ORGANIZATION:
        raise NotAnOrganization()
    if signature.status != SignatureStatus.PUBLISHED:
        raise NotOnTheList()
    previous = signature.lead_role
    if previous == role:
        return False
    if previous is None:
        leads = _leads(session, letter)
        if len(leads) >= LEADS_MAX:
            raise TooManyLeads()
        signature.lead_rank = max((lead.lead_rank or 0 for lead in leads), default=0) + 1
    signature.lead_role = role
    _audit(
        session,
        "organization.lead_marked",
        signature,
        actor=actor,
        now=now,
        detail={"role": str(role), "previous": previous},
    )
    _flush(session)
    return True


def remove_lead(
    session: DbSession, letter: Letter, signature_id: int, *, actor: Coordinator, now: datetime
) -> None:
    """Take ``signature_id`` off the letter's leads; it stays on the list as it was."""
    signature = _signature_of(session, letter, signature_id)
    if signature.lead_role is None:
        raise NotALead()
    role = signature.lead_role
    signature.lead_role = None
    signature.lead_rank = None
    _audit(
        session, "organization.lead_removed", signature, actor=actor, now=now, detail={"role": role}
    )
    _flush(session)


def move_lead(
    session: DbSession,
    letter: Letter,
    signature_id: int,
    direction: str,
    *,
    actor: Coordinator,
    now: datetime,
) -> bool:
    """Move a lead one place ``up`` or ``down`` among the leads of its role.

    Whether it moved (the first cannot go up, nor the last down). The leads are numbered
    afresh, so ranks left uneven by removals never tie.
    """
    if direction not in ("up", "down"):
        raise ValueError(f"unknown direction {direction!r}")
    leads = _leads(session, letter)
    moving = next((lead for lead in leads if lead.id == signature_id), None)
    if moving is None:
        _signature_of(session, letter, signature_id)  # 404 when it is not the letter's
        raise NotALead()
    group = [lead for lead in leads if lead.lead_role == moving.lead_role]
    at = group.index(moving)
    to = at - 1 if direction == "up" else at + 1
    if not 0 <= to < len(group):
        return False
    group[at], group[to] = group[to], group[at]
    # Leads of the other role keep their ranks; this role's take the same numbers, reordered.
    ranks = sorted(lead.lead_rank or 0 for lead in group)
    for lead, rank in zip(group, _distinct(ranks), strict=True):
        lead.lead_rank = rank
    _audit(
        session,
        "organization.lead_moved",
        moving,
        actor=actor,
        now=now,
        detail={"role": moving.lead_role, "direction": direction, "position": to + 1},
    )
    _flush(session)
    return True


def _distinct(ranks: Sequence[int]) -> list[int]:
    """``ranks`` (sorted), each raised as needed to be above the one before: no ties."""
    out: list[int] = []
    for rank in ranks:
        out.append(max(rank, out[-1] + 1) if out else rank)
    return out


# --- Finding an organization to add ----------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A published organization of the letter, as the leads page offers it."""

    id: int
    organization: str
    country: str
    website: str | None
    lead_role: str | None
    sort_key: str


@dataclass(frozen=True)
class Found:
    items: list[Candidate]
    # Where the next page of matches starts; None on the last.
    next_position: NameCursor | None


def search_organizations(
    session: DbSession,
    letter: Letter,
    search: str,
    *,
    after: NameCursor | None = None,
    limit: int = SEARCH_LIMIT,
) -> Found:
    """Up to ``limit`` published organizations of ``letter`` whose name matches ``search``,
    by name, after ``after``.

    Read along ``ix_signature_name`` (letter, status, kind, then name order), the search
    tested on the index entry: a page costs the same on a letter of any size.
    """
    query = select(
        Signature.id,
        Signature.organization,
        Signature.country,
        Signature.website,
        Signature.lead_role,
        Signature.sort_key,
    ).where(
        Signature.letter_id == letter.id,
        Signature.status == SignatureStatus.PUBLISHED,
        Signature.kind == SignatureKind.ORGANIZATION,
    )
    term = search_text(search[:SEARCH_MAX_LENGTH]) if search else ""
    if term:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Signature.search_key.like(f"%{escaped}%", escape="\\"))
    if after is not None:
        query = query.where(tuple_(Signature.sort_key, Signature.id) > (after.sort_key, after.id))
    # An organization signature always has its name; the column may not.
    rows = [
        Candidate(row_id, organization or "", country, website, role, key)
        for row_id, organization, country, website, role, key in session.execute(
            query.order_by(Signature.sort_key, Signature.id).limit(limit + 1)
        )
    ]
    items = rows[:limit]
    more = len(rows) > limit
    return Found(items, NameCursor(items[-1].sort_key, items[-1].id) if more else None)
