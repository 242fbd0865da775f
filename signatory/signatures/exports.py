"""The coordinators' full export: every signature in every status, with emails.

Unlike the public CSV this file holds personal data (emails, rejected and withdrawn
signatures, moderators' reasons), so it is only served to editors and owners, never
cached, and every download is audited. It is neutralised against formula injection
exactly like the public file: signers choose what goes in these cells.

Rows are read in keyset batches of plain values, so memory stays flat however long the
list is; the XLSX is written by openpyxl's write-only workbook, which streams rows to a
temporary file rather than building the sheet in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select

from signatory.core.database import DbSession
from signatory.core.domains import email_domain, is_free_mail
from signatory.core.i18n import ORGANIZATION_TYPES, country_name
from signatory.core.spreadsheets import BOM, CsvChunks, dated_filename, iso_text, neutralise
from signatory.models import Coordinator, Letter, LetterVersion, Signature, SignatureKind, audit

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)

HEADER = (
    "Signature ID",
    "Status",
    "Kind",
    "Organization or affiliation",
    "Country code",
    "Country",
    "Organization type",
    "Website",
    "Signer name",
    "Title",
    "Email",
    "Email domain",
    "Domain matches website",
    "Free-mail address",
    "Version signed",
    "Signed at (UTC)",
    "Confirmed at (UTC)",
    "Published at (UTC)",
    "Withdrawn at (UTC)",
    "Status changed at (UTC)",
    "Moderated by",
    "Moderated at (UTC)",
    "Moderation reason",
    # Organizations: the "authorised to sign" wording the signer ticked, and when.
    "Authorised statement",
    "Authorised at (UTC)",
)

# Column widths in the XLSX, in characters, in HEADER order.
_WIDTHS = (
    (10, 14, 12, 36, 8, 20, 22, 30, 26, 22, 32, 22, 10, 10, 8) + (21,) * 5 + (28, 21, 40) + (50, 21)
)


@dataclass(frozen=True)
class ExportRow:
    """One signature as exported: plain values, not an ORM object."""

    id: int
    status: str
    kind: str
    organization: str | None
    country: str
    organization_type: str | None
    website: str | None
    name: str
    title: str | None
    email: str
    domain_verified: bool
    version: int
    # Times as the file writes them (``iso_text``: ``2025-03-01T09:30:15Z``), None for none.
    created_at: str
    confirmed_at: str | None
    published_at: str | None
    withdrawn_at: str | None
    status_changed_at: str
    moderator_name: str | None
    moderator_email: str | None
    moderated_at: str | None
    moderation_reason: str | None
    authorised_statement: str | None
    authorised_at: str | None


# Typed loosely: a select of this many columns has no precise row type to check against.
_COLUMNS: tuple[Any, ...] = (
    Signature.id,
    Signature.status,
    Signature.kind,
    Signature.organization,
    Signature.country,
    Signature.organization_type,
    Signature.website,
    Signature.name,
    Signature.title,
    Signature.email,
    Signature.domain_verified,
    LetterVersion.number,
    # Formatted by the database: parsing each time into a datetime and formatting it
    # again cost more than all the rest of a row.
    iso_text(Signature.created_at),
    iso_text(Signature.confirmed_at),
    iso_text(Signature.published_at),
    iso_text(Signature.withdrawn_at),
    iso_text(Signature.status_changed_at),
    Coordinator.name,
    Coordinator.email,
    iso_text(Signature.moderated_at),
    Signature.moderation_reason,
    Signature.authorised_statement,
    iso_text(Signature.authorised_at),
)


@dataclass(frozen=True)
class Snapshot:
    """What an export covers: the signatures that existed when it began."""

    rows: int
    up_to_id: int


def snapshot(session: DbSession, letter: Letter) -> Snapshot:
    """How many signatures the letter has, and the highest id among them.

    The export streams rows up to that id, so a signature arriving mid-download is not
    half in the file, and the count audited is the count delivered.
    """
    count, highest = session.execute(
        select(func.count(), func.max(Signature.id)).where(Signature.letter_id == letter.id)
    ).one()
    return Snapshot(rows=count, up_to_id=highest or 0)


def iter_rows(
    session: DbSession,
    letter: Letter,
    *,
    up_to_id: int,
    batch_size: int = 1000,
    release: Callable[[], None] | None = None,
) -> Iterator[list[ExportRow]]:
    """Every signature of ``letter`` with an id up to ``up_to_id``, in signing order, in batches.

    ``release`` is called after each batch is read, before it is handed on: the caller
    ends its read transaction there, so a slow download holds no lock and no snapshot
    between batches.
    """
    letter_id = letter.id
    after = 0
    while True:
        batch = [
            ExportRow(*row)
            for row in session.execute(
                select(*_COLUMNS)
                .join(LetterVersion, LetterVersion.id == Signature.version_id)
                .outerjoin(Coordinator, Coordinator.id == Signature.moderated_by_id)
                .where(
                    Signature.letter_id == letter_id,
                    Signature.id > after,
                    Signature.id <= up_to_id,
                )
                .order_by(Signature.id)
                .limit(batch_size)
            )
        ]
        if release is not None:
            release()
        if batch:
            yield batch
        if len(batch) < batch_size:
            return
        after = batch[-1].id


def _moderator(row: ExportRow) -> str:
    if row.moderator_name is not None:
        return f"{row.moderator_name} <{row.moderator_email}>"
    # The decision was made by an account deleted since.
    return "a former coordinator" if row.moderated_at else ""


def _cells(row: ExportRow) -> list[str | int]:
    """One row in HEADER order; numbers stay numbers, text is not yet neutralised."""
    domain = email_domain(row.email)
    is_organization = row.kind == SignatureKind.ORGANIZATION
    type_code = row.organization_type or ""
    return [
        row.id,
        row.status,
        row.kind,
        row.organization or "",
        row.country,
        country_name(row.country),
        ORGANIZATION_TYPES.get(type_code, type_code),
        row.website or "",
        row.name,
        row.title or "",
        row.email,
        domain,
        # Only an organization's domain can match its website; for individuals it does not apply.
        ("yes" if row.domain_verified else "no") if is_organization else "",
        "yes" if is_free_mail(domain) else "no",
        row.version,
        row.created_at,
        row.confirmed_at or "",
        row.published_at or "",
        row.withdrawn_at or "",
        row.status_changed_at,
        _moderator(row),
        row.moderated_at or "",
        row.moderation_reason or "",
        row.authorised_statement or "",
        row.authorised_at or "",
    ]


def csv_cells(row: ExportRow) -> list[str]:
    """One row as CSV cells, every one neutralised."""
    return [neutralise(str(cell)) for cell in _cells(row)]


def iter_csv(
    session: DbSession,
    letter: Letter,
    *,
    up_to_id: int,
    batch_size: int = 1000,
    release: Callable[[], None] | None = None,
) -> Iterator[str]:
    """The full export as CSV text chunks: BOM and header, then one chunk per batch."""
    chunks = CsvChunks()
    yield BOM + chunks.chunk([[neutralise(cell) for cell in HEADER]])
    batches = iter_rows(session, letter, up_to_id=up_to_id, batch_size=batch_size, release=release)
    for batch in batches:
        yield chunks.chunk([csv_cells(row) for row in batch])


def _xlsx_text(value: str) -> str:
    # openpyxl refuses control characters a cell cannot hold; a name never has them (the
    # sign form refuses them), but an export must not fail on one old row.
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))


def _xlsx_cell(sheet: object, value: str | int, *, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=_xlsx_text(value) if isinstance(value, str) else value)
    if isinstance(value, str):
        # Neutralised text never starts with "=", so openpyxl would not store a formula
        # anyway; saying "string" outright keeps it so whatever openpyxl decides next.
        cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


def write_xlsx(
    session: DbSession,
    letter: Letter,
    target: IO[bytes],
    *,
    up_to_id: int,
    batch_size: int = 1000,
    release: Callable[[], None] | None = None,
) -> int:
    """Write the full export as an XLSX workbook to ``target``; return the number of rows."""
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "signatory"
    workbook.properties.title = ILLEGAL_CHARACTERS_RE.sub("", f"{letter.title} — signatures")
    sheet = workbook.create_sheet("Signatures")
    # A write-only sheet takes its view and columns before the first row is written.
    sheet.freeze_panes = "A2"
    for index, width in enumerate(_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append([_xlsx_cell(sheet, title, bold=True) for title in HEADER])
    rows = 0
    batches = iter_rows(session, letter, up_to_id=up_to_id, batch_size=batch_size, release=release)
    for batch in batches:
        for row in batch:
            sheet.append([_xlsx_cell(sheet, value) for value in _cells(row)])
            rows += 1
    workbook.save(target)
    return rows


def filename(letter: Letter, fmt: str, *, now: datetime) -> str:
    """``<slug>-signatures-YYYY-MM-DD.<fmt>``, safe inside a quoted header value."""
    return dated_filename(letter.slug, "signatures", fmt, now=now)


def record_export(
    session: DbSession, letter: Letter, *, fmt: str, rows: int, actor: Coordinator, now: datetime
) -> None:
    """Audit a download of the full list (``letter.exported``)."""
    audit.record(
        session,
        "letter.exported",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        detail={"format": fmt, "rows": rows},
        now=now,
    )
