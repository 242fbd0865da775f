"""The delivery package: a PDF of the letter and its signatories, and a ZIP of every file.

Both are made from the frozen data only: the frozen CSV (and so its SHA-256), the
delivery record, and the text of the delivered version with its translations. Nothing
in them comes from the clock, the live list or the visitor's language, so building
them again gives the same bytes: a copy handed over can be checked against a fresh one,
and a cache of them (``store``) can be thrown away at any time.

What makes the bytes fixed: the PDF's creation and modification dates are the delivery
time and its file identifier is derived from the inputs (WeasyPrint would leave both
out or take them from the document otherwise); the ZIP's entries come in a fixed order,
each stamped with the delivery time and fixed permissions; the XLSX inside is rewritten
the same way (``workbook``). The pages are rendered in one fixed language.

The note a coordinator adds to the delivery is left out on purpose: the delivery form
promises it stays in the workspace, and the package is public.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cached_property

from babel.lists import format_list
from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select

from signatory.core.database import DbSession
from signatory.core.spreadsheets import safe_filename
from signatory.delivery import frozen
from signatory.delivery.service import delivered_version
from signatory.delivery.workbook import FixedZip, frozen_workbook
from signatory.models import Delivery, Letter, LetterTranslation

# Bumped whenever the layout of the PDF or the ZIP changes, so a cached copy made by the
# code before is not taken for what this code makes.
FORMAT = 1
# The one language the package is written in (its headings, dates and lists): the frozen
# CSV's own labels are English, and the bytes must not depend on who asks.
PACKAGE_LOCALE = "en"


@dataclass(frozen=True)
class Translation:
    language: str
    title: str
    body_markdown: str


@dataclass(frozen=True)
class PackageInputs:
    """Everything the package is made of, as plain values (no session, no request).

    ``digest`` fingerprints all of it, so two equal inputs make the same files and a
    cached copy can be looked up by it.
    """

    slug: str
    title: str
    recipient: str
    version_number: int
    language: str
    body_markdown: str
    body_html: str
    translations: tuple[Translation, ...]
    delivered_to: str
    delivered_at: datetime
    method: str
    organizations: int
    individuals: int
    sha256: str
    csv_bytes: bytes

    @cached_property
    def digest(self) -> str:
        described = asdict(self)
        described.pop("csv_bytes")  # stands in as its hash, "sha256"
        described["delivered_at"] = _iso(self.delivered_at)
        described["format"] = FORMAT
        described["renderer"] = _renderer()
        text = json.dumps(described, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def basename(self) -> str:
        """``<slug>-delivered-<YYYY-MM-DD>``, as the delivered CSV is named."""
        return f"{safe_filename(self.slug)}-delivered-{self.delivered_at.astimezone(UTC):%Y-%m-%d}"

    @property
    def csv_filename(self) -> str:
        return f"{self.basename}.csv"

    @property
    def pdf_filename(self) -> str:
        return f"{self.basename}.pdf"

    @property
    def zip_filename(self) -> str:
        return f"{self.basename}.zip"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _renderer() -> str:
    # The renderer's version is part of what the PDF is made from: another version may
    # lay the same page out differently. WeasyPrint is imported only when a package is
    # made: it loads Pango on import, which no other page needs.
    from weasyprint import __version__

    return f"weasyprint {__version__}"


def package_inputs(session: DbSession, letter: Letter, delivery: Delivery) -> PackageInputs:
    """The frozen data of ``delivery``: its record, its CSV, and the delivered text."""
    version = delivered_version(session, letter, delivery)
    rows = session.execute(
        select(LetterTranslation.language, LetterTranslation.title, LetterTranslation.body_markdown)
        .where(LetterTranslation.version_id == version.id)
        .order_by(LetterTranslation.language)
    ).all()
    return PackageInputs(
        slug=letter.slug,
        title=letter.title,
        recipient=letter.recipient,
        version_number=version.number,
        language=version.language,
        body_markdown=version.body_markdown,
        body_html=version.body_html,
        translations=tuple(Translation(*row) for row in rows),
        delivered_to=delivery.delivered_to,
        delivered_at=delivery.delivered_at,
        method=delivery.method,
        organizations=delivery.organizations,
        individuals=delivery.individuals,
        sha256=delivery.sha256,
        csv_bytes=bytes(delivery.csv_bytes),
    )


# --- The PDF ----------------------------------------------------------------------------


def _listed(rows: list[frozen.DeliveredRow]) -> str:
    """Organizations' names as a sentence lists them: "A, B and C" ("" for none)."""
    return format_list([row.organization for row in rows], locale=PACKAGE_LOCALE)


def package_html(inputs: PackageInputs) -> str:
    """The PDF's page as HTML (``templates/delivery/package.html``), in the package's language.

    Needs an app context (templates, catalogues), not a request.
    """
    # A list frozen before the export had its lead column names no leads: no lead line.
    leads = (
        frozen.lead_organizations(frozen.parse_rows(inputs.csv_bytes))
        if frozen.has_lead_column(inputs.csv_bytes)
        else frozen.Leads([], [])
    )
    with force_locale(PACKAGE_LOCALE):
        return render_template(
            "delivery/package.html",
            package=inputs,
            package_locale=PACKAGE_LOCALE,
            delivered_at=_iso(inputs.delivered_at),
            sections=frozen.delivered_sections(inputs.csv_bytes),
            initiators=_listed(leads.initiators),
            co_sponsors=_listed(leads.co_sponsors),
        )


# One build at a time may stamp fontTools' clock (``_fixed_font_clock``).
_FONT_CLOCK = threading.Lock()


@contextmanager
def _fixed_font_clock(moment: datetime) -> Iterator[None]:
    """fontTools' "now" set to ``moment`` while fonts are subset.

    WeasyPrint subsets the embedded fonts with HarfBuzz (libharfbuzz-subset0), which keeps
    the font's own dates; without that library it falls back on fontTools, which stamps
    each subset's ``head`` table with the current time, and the PDF would differ from one
    build to the next. The module's clock is what fontTools reads (it honours
    ``SOURCE_DATE_EPOCH`` only from the environment, which a server cannot set per build).
    """
    from fontTools.misc.timeTools import timestampSinceEpoch
    from fontTools.ttLib.tables import _h_e_a_d

    with _FONT_CLOCK:
        original = _h_e_a_d.timestampNow
        _h_e_a_d.timestampNow = lambda: timestampSinceEpoch(moment.timestamp())
        try:
            yield
        finally:
            _h_e_a_d.timestampNow = original


def build_pdf(inputs: PackageInputs) -> bytes:
    """The PDF of the letter, its lead organizations and its signatories, with the record.

    Slow for long lists (see ``store``): build it once per delivery and keep the bytes,
    never per request. Needs an app context (the template), not a request.
    """
    from weasyprint import HTML

    document = HTML(string=package_html(inputs))
    with _fixed_font_clock(inputs.delivered_at):
        return document.write_pdf(
            # The file identifier is the same for every build of the same delivery, as
            # the PDF standard means it: "the same document" across copies.
            pdf_identifier=inputs.digest[:32].encode("ascii"),
        )


# --- The ZIP ----------------------------------------------------------------------------


def letter_markdown(inputs: PackageInputs) -> str:
    """The delivered text as Markdown, headed by its title and recipient."""
    return (
        f"# {inputs.title}\n\n"
        f"To: {inputs.recipient}\n\n"
        f"{inputs.body_markdown.strip()}\n\n"
        f"---\n\n"
        f"Version {inputs.version_number}, delivered to {inputs.delivered_to} "
        f"on {_iso(inputs.delivered_at)} ({inputs.method}).\n"
    )


def translation_markdown(inputs: PackageInputs, translation: Translation) -> str:
    """A translation of the delivered text as Markdown, saying which version it renders."""
    return (
        f"# {translation.title}\n\n"
        f"{translation.body_markdown.strip()}\n\n"
        f"---\n\n"
        f"Translation ({translation.language}) of version {inputs.version_number}.\n"
    )


def package_files(inputs: PackageInputs, pdf: bytes) -> list[tuple[str, bytes]]:
    """The files of the ZIP but its manifest, in the ZIP's order, each with its bytes."""
    base = inputs.basename
    files = [(f"{base}/letter.md", letter_markdown(inputs).encode("utf-8"))]
    for translation in inputs.translations:
        name = safe_filename(translation.language)
        files.append(
            (f"{base}/letter.{name}.md", translation_markdown(inputs, translation).encode("utf-8"))
        )
    files += [
        (f"{base}/{inputs.pdf_filename}", pdf),
        (f"{base}/{inputs.csv_filename}", inputs.csv_bytes),
        (
            f"{base}/{base}.xlsx",
            frozen_workbook(inputs.csv_bytes, title=inputs.title, moment=inputs.delivered_at),
        ),
    ]
    return files


def manifest(inputs: PackageInputs, files: list[tuple[str, bytes]]) -> bytes:
    """``manifest.json``: the letter, the delivery, and each file's SHA-256 and size."""
    document = {
        "letter": inputs.slug,
        "title": inputs.title,
        "recipient": inputs.recipient,
        "version": inputs.version_number,
        "delivered_at": _iso(inputs.delivered_at),
        "delivered_to": inputs.delivered_to,
        "method": inputs.method,
        "organizations": inputs.organizations,
        "individuals": inputs.individuals,
        "list_sha256": inputs.sha256,
        "files": [
            {
                "name": name.split("/", 1)[1],
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
            for name, data in files
        ],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def build_zip(inputs: PackageInputs, pdf: bytes) -> bytes:
    """The ZIP: the text (Markdown and PDF), the CSV, an XLSX, and ``manifest.json``."""
    files = package_files(inputs, pdf)
    archive = FixedZip(moment=inputs.delivered_at)
    for name, data in files:
        archive.add(name, data)
    archive.add(f"{inputs.basename}/manifest.json", manifest(inputs, files))
    return archive.close()
