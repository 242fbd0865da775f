"""The public list as files: the CSV and the JSON download. Usable without a request.

Both hold public fields only, organizations then individuals, each in signing order,
read in batches so memory stays flat however long the list. The CSV is written for
spreadsheets (``core.spreadsheets``: a byte-order mark, every cell neutralised); the
delivery freezes exactly these bytes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from flask import url_for

from signatory.core.database import DbSession
from signatory.core.i18n import ORGANIZATION_TYPES, country_name
from signatory.core.spreadsheets import BOM, CsvChunks, neutralise, safe_filename
from signatory.core.spreadsheets import csv_chunk as csv_chunk  # offered here, as it always was
from signatory.lists.queries import DOWNLOAD_BATCH, PUBLIC_KINDS, iter_published
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
    # "initiator", "co-sponsor" or empty (``organizations.leads``); the delivery reads it
    # by this name.
    "lead",
    # The version the signer re-confirmed the signature on after a substantive change
    # (``reconfirm``), or empty; "Letter version" stays the one first signed.
    "reconfirmed_version",
)

SECTION_LABELS: dict[str, str] = {
    SignatureKind.ORGANIZATION: "Organization",
    SignatureKind.INDIVIDUAL: "Individual (affiliation for identification only)",
}


class _Memo(dict[Any, str]):
    """``text(code)`` for each code, worked out the first time the code is met.

    A letter has a few dozen countries and types however many sign it: each row then
    costs a dictionary look-up, and an unknown code still gets what ``text`` makes of it.
    """

    def __init__(self, text: Callable[[Any], str]) -> None:
        super().__init__()
        self._text = text

    def __missing__(self, code: Any) -> str:
        value = self[code] = self._text(code)
        return value


def _country_cell(code: str) -> str:
    return neutralise(country_name(code))


def _type_cell(code: str | None) -> str:
    return neutralise(ORGANIZATION_TYPES.get(code or "", code or ""))


def _verified_cell(domain_verified: bool) -> str:
    return neutralise("yes" if domain_verified else "no")


def _text_cell(value: object) -> str:
    return neutralise(str(value))


class CsvRows:
    """Turns rows of ``iter_published`` (``DOWNLOAD_FIELDS``) into CSV cells, in ``HEADER`` order.

    Every cell is neutralised: the ones a signer typed one by one, the others (labels,
    country names, types, versions) once per value, in the look-up tables.
    """

    def __init__(self) -> None:
        self.countries = _Memo(_country_cell)
        self.codes = _Memo(_text_cell)
        self.types = _Memo(_type_cell)
        self.verified = _Memo(_verified_cell)
        self.versions = _Memo(_text_cell)

    def rows(self, kind: str, batch: Iterable[Sequence[Any]]) -> Iterator[tuple[str, ...]]:
        """The cells of each row of ``batch``, all of section ``kind``."""
        section = neutralise(SECTION_LABELS.get(kind, kind))
        countries, codes, types, versions = self.countries, self.codes, self.types, self.versions
        # Only an organization's domain can be verified; for individuals it does not apply.
        verified = self.verified if kind == SignatureKind.ORGANIZATION else defaultdict(str)
        for (
            _,
            organization,
            country,
            type_code,
            website,
            name,
            title,
            domain_verified,
            signed_at,
            version,
            lead,
            reconfirmed,
        ) in batch:
            yield (
                section,
                neutralise(organization or ""),
                codes[country],
                countries[country],
                types[type_code],
                neutralise(website or ""),
                neutralise(name),
                neutralise(title or ""),
                verified[domain_verified],
                neutralise(signed_at),
                versions[version],
                # A role of ``LeadRole``: never a formula, nothing to neutralise.
                lead or "",
                "" if reconfirmed is None else versions[reconfirmed],
            )


def csv_row(kind: str, row: Sequence[Any]) -> list[str]:
    """One row of ``iter_published`` of section ``kind`` as CSV cells, in ``HEADER`` order."""
    return list(next(CsvRows().rows(kind, [row])))


def iter_csv(
    session: DbSession, letter: Letter, *, batch_size: int = DOWNLOAD_BATCH
) -> Iterator[str]:
    """The whole CSV of ``letter``'s published signatures, as text chunks to stream.

    The BOM and header come first, then organizations and individuals, each in signing
    order, read ``batch_size`` rows at a time so memory does not grow with the letter.
    """
    chunks = CsvChunks()
    cells = CsvRows()
    yield BOM + chunks.chunk([[neutralise(cell) for cell in HEADER]])
    for kind in PUBLIC_KINDS:
        for batch in iter_published(session, letter, kind=kind, batch_size=batch_size):
            yield chunks.chunk(cells.rows(kind, batch))


def csv_filename(letter: Letter) -> str:
    """``<slug>-signatories.csv``, reduced to characters safe inside a quoted header value."""
    return f"{safe_filename(letter.slug)}-signatories.csv"


def json_filename(letter: Letter) -> str:
    """``<slug>-signatories.json``, safe inside a quoted header value."""
    return f"{safe_filename(letter.slug)}-signatories.json"


# --- The JSON download ---------------------------------------------------------------------


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_text(value: str | None) -> str:
    """``value`` as ``json.dumps(value, ensure_ascii=False)`` writes it."""
    return "null" if value is None else encode_basestring(value)


def _json_country(code: str) -> str:
    """The country's code and, after its key, its name: they always come together."""
    return f'{_json_text(code)}, "country_name": {_json_text(country_name(code))}'


class JsonItems:
    """Turns rows of ``iter_published`` into the JSON download's items, as text.

    Each item is what ``json.dumps(item, ensure_ascii=False)`` makes of the dict of its
    public fields (the keys in the order below), written from a template: dumping a dict
    per row cost more than reading the row. Strings go through json's own encoder.
    """

    def __init__(self) -> None:
        self.countries = _Memo(_json_country)
        self.types = _Memo(_json_text)

    def items(self, kind: str, batch: Iterable[Sequence[Any]]) -> Iterator[str]:
        """The JSON text of each row of ``batch``, all of section ``kind``."""
        head = f'{{"id": %d, "kind": {_json_text(kind)}, "organization": '
        # Only an organization's domain can be verified; for individuals it does not apply.
        is_organization = kind == SignatureKind.ORGANIZATION
        countries, types, text = self.countries, self.types, _json_text
        for (
            row_id,
            organization,
            country,
            type_code,
            website,
            name,
            title,
            verified,
            signed_at,
            version,
            _lead,
            _reconfirmed,
        ) in batch:
            yield (
                f'{head % row_id}{text(organization)}, "country": {countries[country]}, '
                f'"organization_type": {types[type_code]}, "website": {text(website)}, '
                f'"name": {text(name)}, "title": {text(title)}, "domain_verified": '
                f"{('true' if verified else 'false') if is_organization else 'null'}, "
                f'"signed_at": {text(signed_at)}, "version": {version:d}}}'
            )


def iter_json(
    session: DbSession,
    letter: Letter,
    *,
    base_url: str,
    now: datetime,
    batch_size: int = DOWNLOAD_BATCH,
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
    items = JsonItems()
    first = True
    for kind in PUBLIC_KINDS:
        for batch in iter_published(session, letter, kind=kind, batch_size=batch_size):
            chunk = ",\n".join(items.items(kind, batch))
            yield ("\n" if first else ",\n") + chunk
            first = False
    yield "\n]}\n"
