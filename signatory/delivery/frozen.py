"""The frozen list: the public CSV as bytes at the moment of delivery, and read back.

The frozen file is the public CSV exactly as ``/letters/<slug>/signatories.csv`` would
have served it at that moment (same header, same neutralised cells, same byte-order
mark), stored with its SHA-256. The printable page and the counts are read back from
those same bytes, so they cannot disagree with the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

from signatory.core.database import DbSession
from signatory.core.spreadsheets import BOM, FORMULA_TRIGGERS, safe_filename
from signatory.core.text import folded
from signatory.lists.writers import HEADER, SECTION_LABELS, iter_csv
from signatory.models import Delivery, Letter, SignatureKind


@dataclass(frozen=True)
class FrozenList:
    csv_bytes: bytes
    sha256: str
    organizations: int
    individuals: int


def freeze_list(session: DbSession, letter: Letter) -> FrozenList:
    """The public CSV of ``letter`` as bytes now, with its counts and SHA-256.

    Built from ``public.exports.iter_csv``, the generator the public download streams,
    and encoded as UTF-8 as that response is: the bytes are the ones a visitor would get.
    Built in memory, which is fine for something done once per letter.
    """
    csv_bytes = "".join(iter_csv(session, letter)).encode("utf-8")
    rows = parse_rows(csv_bytes)
    return FrozenList(
        csv_bytes=csv_bytes,
        sha256=hashlib.sha256(csv_bytes).hexdigest(),
        organizations=sum(1 for row in rows if row.kind == SignatureKind.ORGANIZATION),
        individuals=sum(1 for row in rows if row.kind == SignatureKind.INDIVIDUAL),
    )


# --- Reading the frozen file back -------------------------------------------------------


@dataclass(frozen=True)
class DeliveredRow:
    """One row of the frozen CSV, with the spreadsheet guard taken off for display."""

    kind: str
    organization: str
    country_code: str
    country: str
    organization_type: str
    website: str
    name: str
    title: str
    domain_verified: str
    signed_at: str
    version: str
    # "initiator", "co-sponsor" or "": from the lead column, which lists frozen before it
    # existed do not have.
    lead: str = ""


@dataclass(frozen=True)
class CountryGroup:
    country: str
    country_code: str
    rows: list[DeliveredRow]


@dataclass(frozen=True)
class DeliveredSection:
    kind: str
    count: int
    countries: list[CountryGroup]


_KIND_BY_LABEL = {label: str(kind) for kind, label in SECTION_LABELS.items()}


def _unguard(cell: str) -> str:
    """Undo ``public.exports.neutralise`` for display: the ``'`` is only there for spreadsheets.

    It was added exactly when the text after it (past leading spaces) starts with a
    formula trigger, so that is exactly when it is taken off.
    """
    if cell.startswith("'"):
        rest = cell[1:]
        stripped = rest.lstrip(" ")
        if stripped and stripped[0] in FORMULA_TRIGGERS:
            return rest
    return cell


# The columns every frozen CSV has, by header label, and the fields they fill. Read by
# label rather than by place, so a column added to the export later (such as the lead
# column) neither breaks the lists frozen before it nor those frozen after.
_COLUMNS = {
    "Organization or affiliation": "organization",
    "Country code": "country_code",
    "Country": "country",
    "Organization type": "organization_type",
    "Website": "website",
    "Signer name": "name",
    "Title": "title",
    "Domain verified": "domain_verified",
    "Signed at (UTC)": "signed_at",
    "Letter version": "version",
}
LEAD_ROLES = ("initiator", "co-sponsor")


def _lead_column(header: list[str]) -> int | None:
    """Where the lead column is ("Lead", "Lead role", …), or None in a list frozen before it."""
    for index, label in enumerate(header):
        if label.strip().casefold().startswith("lead"):
            return index
    return None


def _lead_role(cell: str) -> str:
    """The cell's role, whether written as the code ("co-sponsor") or a label ("Co-sponsor")."""
    role = cell.strip().casefold().replace(" ", "-").replace("cosponsor", "co-sponsor")
    return role if role in LEAD_ROLES else ""


def parse_rows(csv_bytes: bytes) -> list[DeliveredRow]:
    """The data rows of a frozen CSV, in file order."""
    text = csv_bytes.decode("utf-8").removeprefix(BOM)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return []
    header = [_unguard(label) for label in header]
    if header[:1] != [HEADER[0]] or not set(_COLUMNS) <= set(header):
        raise ValueError("the frozen CSV does not have the export's columns")
    places = {field: header.index(label) for label, field in _COLUMNS.items()}
    lead = _lead_column(header)
    rows = []
    for cells in reader:
        if not cells:
            continue
        values = [_unguard(cell) for cell in cells]
        values += [""] * (len(header) - len(values))
        fields = {field: values[place] for field, place in places.items()}
        rows.append(
            DeliveredRow(
                kind=_KIND_BY_LABEL.get(values[0], values[0]),
                lead=_lead_role(values[lead]) if lead is not None else "",
                **fields,
            )
        )
    return rows


def has_lead_column(csv_bytes: bytes) -> bool:
    """Whether the frozen CSV says which organizations lead (lists frozen before cannot)."""
    text = csv_bytes.decode("utf-8").removeprefix(BOM)
    header = next(csv.reader(io.StringIO(text, newline="")), None)
    return header is not None and _lead_column([_unguard(label) for label in header]) is not None


@dataclass(frozen=True)
class Leads:
    """The lead organizations of a frozen list, each in file order."""

    initiators: list[DeliveredRow]
    co_sponsors: list[DeliveredRow]


def lead_organizations(rows: list[DeliveredRow]) -> Leads:
    """The organizations the frozen list marks as initiating and co-sponsoring the letter."""
    organizations = [row for row in rows if row.kind == SignatureKind.ORGANIZATION]
    return Leads(
        [row for row in organizations if row.lead == "initiator"],
        [row for row in organizations if row.lead == "co-sponsor"],
    )


def _row_order(row: DeliveredRow) -> tuple[str, str]:
    if row.kind == SignatureKind.ORGANIZATION:
        return folded(row.organization), folded(row.name)
    return folded(row.name), folded(row.organization)


def delivered_sections(csv_bytes: bytes) -> list[DeliveredSection]:
    """Organizations, then individuals, each grouped by country name and sorted by name.

    Exactly the rows of the frozen file; a section with no rows is left out.
    """
    rows = parse_rows(csv_bytes)
    sections = []
    for kind in (SignatureKind.ORGANIZATION, SignatureKind.INDIVIDUAL):
        of_kind = [row for row in rows if row.kind == kind]
        if not of_kind:
            continue
        by_country: dict[tuple[str, str], list[DeliveredRow]] = {}
        for row in of_kind:
            by_country.setdefault((row.country, row.country_code), []).append(row)
        groups = [
            CountryGroup(country, code, sorted(members, key=_row_order))
            for (country, code), members in sorted(
                by_country.items(), key=lambda item: (folded(item[0][0]), item[0][1])
            )
        ]
        sections.append(DeliveredSection(str(kind), len(of_kind), groups))
    return sections


def delivered_filename(letter: Letter, delivery: Delivery) -> str:
    """``<slug>-delivered-<YYYY-MM-DD>.csv``, safe inside a quoted header value."""
    return f"{safe_filename(letter.slug)}-delivered-{delivery.delivered_at:%Y-%m-%d}.csv"
