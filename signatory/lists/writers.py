"""The public list as files: the CSV and the JSON download. Usable without a request.

Both hold public fields only, organizations then individuals, each in signing order,
read in batches so memory stays flat however long the list. The CSV is written for
spreadsheets (``core.spreadsheets``: a byte-order mark, every cell neutralised); the
delivery freezes exactly these bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import url_for

from signatory.core.database import DbSession
from signatory.core.i18n import ORGANIZATION_TYPES, country_name
from signatory.core.spreadsheets import BOM, csv_chunk, neutralise, safe_filename
from signatory.lists.queries import PUBLIC_KINDS, PublicSignature, iter_published
from signatory.models import Letter, SignatureKind

HEADER = (
    "Section",
    "Organization or affiliation",
    "Country code",
    "Country",
    "Organization type",
    "Website",
    "Signer name",
    "Title",
    "Domain verified",
    "Signed at (UTC)",
    "Letter version",
)

SECTION_LABELS: dict[str, str] = {
    SignatureKind.ORGANIZATION: "Organization",
    SignatureKind.INDIVIDUAL: "Individual (affiliation for identification only)",
}


def csv_row(signature: PublicSignature) -> list[str]:
    """One signature as CSV cells, in ``HEADER`` order, every cell neutralised."""
    is_organization = signature.kind == SignatureKind.ORGANIZATION
    type_code = signature.organization_type or ""
    cells = [
        SECTION_LABELS.get(signature.kind, signature.kind),
        signature.organization or "",
        signature.country,
        country_name(signature.country),
        ORGANIZATION_TYPES.get(type_code, type_code),
        signature.website or "",
        signature.name,
        signature.title or "",
        # Only an organization's domain can be verified; for individuals it does not apply.
        ("yes" if signature.domain_verified else "no") if is_organization else "",
        signature.published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        str(signature.version),
    ]
    return [neutralise(cell) for cell in cells]


def iter_csv(session: DbSession, letter: Letter, *, batch_size: int = 1000) -> Iterator[str]:
    """The whole CSV of ``letter``'s published signatures, as text chunks to stream.

    The BOM and header come first, then organizations and individuals, each in signing
    order, read ``batch_size`` rows at a time so memory does not grow with the letter.
    """
    yield BOM + csv_chunk([[neutralise(cell) for cell in HEADER]])
    for kind in PUBLIC_KINDS:
        for batch in iter_published(session, letter, kind=kind, batch_size=batch_size):
            yield csv_chunk(csv_row(signature) for signature in batch)


def csv_filename(letter: Letter) -> str:
    """``<slug>-signatories.csv``, reduced to characters safe inside a quoted header value."""
    return f"{safe_filename(letter.slug)}-signatories.csv"


def json_filename(letter: Letter) -> str:
    """``<slug>-signatories.json``, safe inside a quoted header value."""
    return f"{safe_filename(letter.slug)}-signatories.json"


# --- The JSON download ---------------------------------------------------------------------


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def download_item(signature: PublicSignature) -> dict[str, Any]:
    """One signatory in the JSON download: the public fields, as the CSV has them."""
    return {
        "id": signature.id,
        "kind": signature.kind,
        "organization": signature.organization,
        "country": signature.country,
        "country_name": country_name(signature.country),
        "organization_type": signature.organization_type,
        "website": signature.website,
        "name": signature.name,
        "title": signature.title,
        "domain_verified": signature.domain_verified
        if signature.kind == SignatureKind.ORGANIZATION
        else None,
        "signed_at": _timestamp(signature.published_at),
        "version": signature.version,
    }


def iter_json(
    session: DbSession, letter: Letter, *, base_url: str, now: datetime, batch_size: int = 1000
) -> Iterator[str]:
    """The whole public list as one JSON document, in text chunks to stream.

    Organizations then individuals, each in signing order, as in the CSV; read
    ``batch_size`` rows at a time, so memory stays flat however long the list. The text
    is UTF-8 as written (names are not turned into ``\\u`` escapes).
    """
    head = {
        "letter": {
            "slug": letter.slug,
            "title": letter.title,
            "recipient": letter.recipient,
            "status": letter.status,
            "url": f"{base_url}{url_for('public.letter', slug=letter.slug)}",
        },
        "generated_at": _timestamp(now),
    }
    # The head, then the array opened by hand so the rows can follow as they are read.
    yield json.dumps(head, ensure_ascii=False)[:-1] + ',"signatures":['
    first = True
    for kind in PUBLIC_KINDS:
        for batch in iter_published(session, letter, kind=kind, batch_size=batch_size):
            chunk = ",\n".join(json.dumps(download_item(s), ensure_ascii=False) for s in batch)
            yield ("\n" if first else ",\n") + chunk
            first = False
    yield "\n]}\n"
