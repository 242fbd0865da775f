"""The list of signatories as CSV: pure helpers, usable without a request.

The file is meant to be opened in a spreadsheet, so two things matter beyond the data:
a UTF-8 byte-order mark (without it Excel reads UTF-8 as the local code page and mangles
every accented name), and formula injection (a signer who types ``=HYPERLINK(...)`` as
their organization must not get a live formula on the recipient's machine).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import UTC

from sqlalchemy.orm import Session

from signatory.core.reference import ORGANIZATION_TYPES, country_name
from signatory.models import Letter, SignatureKind
from signatory.public.service import PUBLIC_KINDS, PublicSignature, iter_published

BOM = "\ufeff"

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

SECTION_LABELS = {
    SignatureKind.ORGANIZATION: "Organization",
    SignatureKind.INDIVIDUAL: "Individual (affiliation for identification only)",
}

# What makes Excel, LibreOffice or Google Sheets treat a cell as a formula (OWASP's list),
# plus a newline, and the full-width forms that some spreadsheets normalise to ASCII
# before deciding.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def neutralise(value: str) -> str:
    """``value``, with a leading ``'`` if a spreadsheet would run it as a formula.

    Leading spaces are looked through too: some importers trim them and then see ``=``.
    """
    stripped = value.lstrip(" ")
    if stripped and stripped[0] in FORMULA_TRIGGERS:
        return "'" + value
    return value


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


def csv_chunk(rows: Iterable[Iterable[str]]) -> str:
    """``rows`` as CSV text (RFC 4180: quoted where needed, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def iter_csv(session: Session, letter: Letter, *, batch_size: int = 1000) -> Iterator[str]:
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
    slug = _UNSAFE_FILENAME.sub("-", letter.slug).strip("-.") or "letter"
    return f"{slug}-signatories.csv"
