"""Reading a letter's audit trail: filtered pages of events, the filters offered, the CSV.

Audit events are only ever read here; ``models.audit.record`` writes them and nothing in
the app edits or deletes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, select

from signatory.core.database import MAX_ROW_ID, DbSession
from signatory.core.spreadsheets import BOM, csv_chunk, iso, neutralise
from signatory.models import AuditEvent, Coordinator, Letter, Signature, SignatureKind

# Longest filter value worth looking for: actions and labels are short words.
FILTER_MAX = 64


@dataclass(frozen=True)
class AuditFilter:
    """Which events to show.

    ``action`` ending in "." is a prefix ("signature." is every signature event); otherwise
    it is one exact action. ``actor`` is a coordinator's id, or a label such as "signer".
    """

    action: str = ""
    actor: str = ""

    @property
    def active(self) -> bool:
        return bool(self.action or self.actor)

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.action.endswith("."):
            escaped = self.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            found.append(AuditEvent.action.like(f"{escaped}%", escape="\\"))
        elif self.action:
            found.append(AuditEvent.action == self.action)
        if self.actor.isdigit():
            # An id no database integer can hold names nobody: match nothing.
            actor_id = int(self.actor)
            found.append(AuditEvent.actor_id == actor_id if actor_id <= MAX_ROW_ID else false())
        elif self.actor:
            found.append(AuditEvent.actor_label == self.actor)
            found.append(AuditEvent.actor_id.is_(None))
        return found


@dataclass(frozen=True)
class AuditEntry:
    """An event as shown: who (a coordinator's name, else the label), and which signature."""

    event: AuditEvent
    actor_name: str | None
    signature_label: str | None

    @property
    def who(self) -> str:
        if self.actor_name is not None:
            return self.actor_name
        if self.event.actor_id is not None:
            return "a former coordinator"
        return self.event.actor_label


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    # The id to continue before, for the "older events" link; None on the last page.
    next_before: int | None


def _entries_query(letter: Letter, audit_filter: AuditFilter) -> Any:
    return (
        select(
            AuditEvent,
            Coordinator.name,
            Signature.kind,
            Signature.organization,
            Signature.name,
        )
        .outerjoin(Coordinator, Coordinator.id == AuditEvent.actor_id)
        .outerjoin(Signature, Signature.id == AuditEvent.signature_id)
        .where(AuditEvent.letter_id == letter.id, *audit_filter.conditions())
    )


def _entry(row: Any) -> AuditEntry:
    event, actor_name, kind, organization, name = row
    if event.signature_id is None or kind is None:
        label = None
    elif kind == SignatureKind.ORGANIZATION:
        label = organization
    else:
        label = name
    return AuditEntry(event, actor_name, label)


def audit_page(
    session: DbSession,
    letter: Letter,
    audit_filter: AuditFilter,
    *,
    before: int | None = None,
    limit: int = 50,
) -> AuditPage:
    """The letter's events newest first, ``limit`` at a time, before the event id ``before``."""
    query = _entries_query(letter, audit_filter).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = session.execute(query).all()
    entries = [_entry(row) for row in rows[:limit]]
    next_before = entries[-1].event.id if len(rows) > limit else None
    return AuditPage(entries, next_before)


def iter_entries(
    session: DbSession,
    letter: Letter,
    audit_filter: AuditFilter,
    *,
    up_to_id: int,
    batch_size: int = 1000,
    release: Callable[[], None] | None = None,
) -> Iterator[list[AuditEntry]]:
    """The letter's events up to ``up_to_id``, oldest first, in batches (for the CSV).

    ``release`` is called after each batch is read (see ``export_service.iter_rows``).
    """
    query = _entries_query(letter, audit_filter)
    after = 0
    while True:
        rows = session.execute(
            query.where(AuditEvent.id > after, AuditEvent.id <= up_to_id)
            .order_by(AuditEvent.id)
            .limit(batch_size)
        ).all()
        batch = [_entry(row) for row in rows]
        if release is not None:
            release()
        if batch:
            yield batch
        if len(batch) < batch_size:
            return
        after = batch[-1].event.id


def export_extent(session: DbSession, letter: Letter, audit_filter: AuditFilter) -> tuple[int, int]:
    """How many events an export of the trail holds, and the newest event's id.

    The export stops at that id, so it ends where it began and the count audited is the
    count delivered.
    """
    highest = session.scalar(
        select(func.max(AuditEvent.id)).where(AuditEvent.letter_id == letter.id)
    )
    count = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.letter_id == letter.id, AuditEvent.id <= (highest or 0))
        .where(*audit_filter.conditions())
    )
    return count or 0, highest or 0


@dataclass(frozen=True)
class FilterOptions:
    # (prefix, [actions under it]) in alphabetical order.
    actions: list[tuple[str, list[str]]]
    # (value, label): coordinators by id, then labels such as "signer".
    actors: list[tuple[str, str]]


def filter_options(session: DbSession, letter: Letter) -> FilterOptions:
    """The actions and actors that occur in the letter's trail, for the filter menus."""
    actions = sorted(
        session.scalars(
            select(AuditEvent.action).where(AuditEvent.letter_id == letter.id).distinct()
        )
    )
    grouped: dict[str, list[str]] = {}
    for action in actions:
        prefix = action.split(".", 1)[0] + "." if "." in action else ""
        grouped.setdefault(prefix, []).append(action)
    rows = session.execute(
        select(AuditEvent.actor_id, AuditEvent.actor_label, Coordinator.name, Coordinator.email)
        .outerjoin(Coordinator, Coordinator.id == AuditEvent.actor_id)
        .where(AuditEvent.letter_id == letter.id)
        .distinct()
    ).all()
    coordinators: dict[str, str] = {}
    labels: set[str] = set()
    for actor_id, label, name, email in rows:
        if actor_id is None:
            labels.add(label)
        else:
            coordinators[str(actor_id)] = f"{name} ({email})" if name else f"account #{actor_id}"
    actors = sorted(coordinators.items(), key=lambda item: item[1].casefold())
    actors += [(label, label) for label in sorted(labels)]
    return FilterOptions(sorted(grouped.items()), actors)


CSV_HEADER = (
    "Event ID",
    "Time (UTC)",
    "Action",
    "Actor",
    "Actor type",
    "Coordinator ID",
    "Signature ID",
    "Signature",
    "Detail",
)


def csv_cells(entry: AuditEntry) -> list[str]:
    """One event as CSV cells, every one neutralised."""
    event = entry.event
    cells = [
        str(event.id),
        iso(event.created_at),
        event.action,
        entry.who,
        event.actor_label,
        str(event.actor_id or ""),
        str(event.signature_id or ""),
        entry.signature_label or "",
        json.dumps(event.detail or {}, ensure_ascii=False, sort_keys=True),
    ]
    return [neutralise(cell) for cell in cells]


def iter_csv(
    session: DbSession,
    letter: Letter,
    audit_filter: AuditFilter,
    *,
    up_to_id: int,
    release: Callable[[], None] | None = None,
) -> Iterator[str]:
    """The trail as CSV text chunks (BOM, header, then oldest first)."""
    yield BOM + csv_chunk([list(CSV_HEADER)])
    for batch in iter_entries(session, letter, audit_filter, up_to_id=up_to_id, release=release):
        yield csv_chunk(csv_cells(entry) for entry in batch)
