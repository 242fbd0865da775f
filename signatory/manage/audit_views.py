"""A letter's audit trail: the page (filterable, paginated) and its CSV.

Audit events are only ever read here. Nothing in the app edits or deletes them. The CSV
is asked for with a POST, like the coordinator exports (see ``exports``): downloading it
is itself recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import ColumnElement, false, func, select
from sqlalchemy.orm import Session

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.manage import bp
from signatory.manage.access import letter_route
from signatory.manage.export_service import filename, iso
from signatory.manage.exports import private_download, streamed
from signatory.manage.moderation_service import MAX_ROW_ID
from signatory.models import AuditEvent, Coordinator, Letter, Membership, Signature, SignatureKind
from signatory.models import audit as audit_log
from signatory.public.exports import BOM, csv_chunk, neutralise

# Longest filter value worth looking for: actions and labels are short words.
FILTER_MAX = 64


# --- Queries ----------------------------------------------------------------------------


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
    session: Session,
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
    session: Session,
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


def export_extent(session: Session, letter: Letter, audit_filter: AuditFilter) -> tuple[int, int]:
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


def filter_options(session: Session, letter: Letter) -> FilterOptions:
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
    session: Session,
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


# --- Views ------------------------------------------------------------------------------


def _filter_from(values: Any) -> AuditFilter:
    action = values.get("action", "").strip()
    actor = values.get("actor", "").strip()
    if len(action) > FILTER_MAX or len(actor) > FILTER_MAX:
        abort(400, description=gettext("That filter is longer than any action or actor here."))
    return AuditFilter(action=action, actor=actor)


def _before_arg() -> int | None:
    raw = request.args.get("before", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        abort(
            400,
            description=gettext("This page link is damaged. Start again from the newest events."),
        )
    return int(raw)


@bp.get("/letters/<slug>/audit")
@letter_route("moderator")
def audit(letter: Letter, membership: Membership) -> str:
    """The letter's audit trail, newest first, filterable by action and by actor."""
    audit_filter = _filter_from(request.args)
    before = _before_arg()
    page = audit_page(
        db.session,
        letter,
        audit_filter,
        before=before,
        limit=int(current_app.config.get("MANAGE_PAGE_SIZE", 50)),
    )
    return render_template(
        "manage/audit/trail.html",
        letter=letter,
        membership=membership,
        page=page,
        audit_filter=audit_filter,
        options=filter_options(db.session, letter),
        paged=before is not None,
    )


@bp.route("/letters/<slug>/audit.csv", methods=["GET", "POST"])
@letter_route("moderator")
def audit_csv(letter: Letter, membership: Membership) -> Response:
    """The trail (with the page's filters) as CSV, streamed; the download is itself audited."""
    if request.method == "GET":
        return redirect(url_for("manage.audit", slug=letter.slug), code=303)
    audit_filter = _filter_from(request.form)
    now = utcnow()
    name = filename(letter, "csv", now=now, what="audit")
    rows, up_to_id = export_extent(db.session, letter, audit_filter)
    audit_log.record(
        db.session,
        "audit.exported",
        actor_label="coordinator",
        actor_id=current_user.id,
        letter_id=letter.id,
        detail={
            "format": "csv",
            "rows": rows,
            "action": audit_filter.action,
            "actor": audit_filter.actor,
        },
        now=now,
    )
    # Committed before the first byte, like the coordinator exports.
    db.session.commit()
    chunks = streamed(
        letter,
        lambda session, found: iter_csv(
            session, found, audit_filter, up_to_id=up_to_id, release=session.rollback
        ),
    )
    return private_download(Response(chunks, content_type="text/csv; charset=utf-8"), name)
