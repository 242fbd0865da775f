"""Reading an uploaded spreadsheet: bytes to text to a header and rows, or a clear refusal.

What a coordinator's file can be besides a clean CSV, and what each gets:

- too large (``IMPORT_MAX_BYTES``), too many rows (``IMPORT_MAX_ROWS``) or columns
  (``IMPORT_MAX_COLUMNS``), empty, a header with no rows: the whole file is refused, with
  the limit or what is missing named;
- a workbook, a PDF, an image, anything holding NUL bytes: refused as not a CSV, with
  what to do (save as CSV);
- an encoding: UTF-8 with or without a byte-order mark, and UTF-16 with one, are read as
  they are; anything else is refused naming the line and byte that is not UTF-8, unless
  the coordinator chose Windows-1252 (older Excel's "CSV"), which is then read as that;
- two columns with the same name: refused (which one would the mapping mean?);
- a row with more or fewer cells than the header: that row is refused, the others read.

Cells that a spreadsheet would run as formulas are the rows' business (``imports.rows``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from signatory.core.errors import DomainError
from signatory.core.i18n import N_, count_text
from signatory.core.text import comparison_key

ENCODINGS = ("utf-8", "windows-1252")
DEFAULT_LIMITS = {
    "IMPORT_MAX_BYTES": 5 * 1024 * 1024,
    "IMPORT_MAX_ROWS": 20_000,
    "IMPORT_MAX_COLUMNS": 40,
}
# The longest cell read: ten times the longest field, so a longer one is surely a mistake.
CELL_MAX = 3000
DELIMITERS = (",", ";", "\t")

# What other files start with: said by name, since "not UTF-8" would puzzle.
_MAGIC = (
    (b"PK\x03\x04", N_("an Excel workbook or a ZIP archive")),
    (b"\xd0\xcf\x11\xe0", N_("an old Excel workbook")),
    (b"%PDF", N_("a PDF")),
    (b"\x89PNG", N_("an image")),
    (b"\xff\xd8\xff", N_("an image")),
    (b"GIF8", N_("an image")),
)


class UnreadableFile(DomainError):
    """The file cannot be read as a CSV of signatories; ``message`` says why, translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_columns: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(*(int(config.get(key, default)) for key, default in DEFAULT_LIMITS.items()))


@dataclass(frozen=True)
class Row:
    # The spreadsheet's row number: the header is row 1.
    number: int
    cells: list[str]
    # Set when the row cannot be read into the columns (a ragged row).
    problem: str | None = None


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[Row]


def size_text(size: int) -> str:
    """A byte count as people say it: "5 MB", "300 KB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{max(1, round(size / 1024))} KB"


def too_large(limits: Limits) -> str:
    return gettext(
        "The file is larger than %(size)s. Split it into smaller files.",
        size=size_text(limits.max_bytes),
    )


def decode(data: bytes, *, encoding: str = "utf-8", limits: Limits) -> str:
    """``data`` as text: UTF-8 (BOM or not), UTF-16 with a BOM, or Windows-1252 if chosen."""
    if len(data) > limits.max_bytes:
        raise UnreadableFile(too_large(limits))
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise UnreadableFile(gettext("The file is empty."))
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise UnreadableFile(
                gettext(
                    "This file is %(what)s, not a CSV. In your spreadsheet, choose "
                    "“Save as” and the format “CSV UTF-8”, then upload that file.",
                    what=gettext(what),
                )
            )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableFile(
                gettext("The file says it is UTF-16 but is not. Save it as “CSV UTF-8”.")
            ) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise UnreadableFile(
            gettext(
                "The file holds a NUL byte (line %(line)s, byte %(byte)s), so it is not a "
                "text CSV. Save it as “CSV UTF-8” and upload it again.",
                line=data.count(b"\n", 0, nul) + 1,
                byte=nul + 1,
            )
        )
    codec = "windows-1252" if encoding == "windows-1252" else "utf-8-sig"
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        if codec != "utf-8-sig":
            message = gettext(
                "Byte %(byte)s (line %(line)s) is not a Windows-1252 character either. "
                "Save the file as “CSV UTF-8”.",
                byte=error.start + 1,
                line=data.count(b"\n", 0, error.start) + 1,
            )
        else:
            message = gettext(
                "Line %(line)s is not UTF-8 (byte %(byte)s). Save the file as “CSV UTF-8”, "
                "or, if it came from an older Excel, choose the Windows-1252 encoding.",
                line=data.count(b"\n", 0, error.start) + 1,
                byte=error.start + 1,
            )
        raise UnreadableFile(message) from None


def _delimiter(first_line: str) -> str:
    # Excel writes ";" where the decimal separator is a comma (most of Europe), and some
    # tools write tabs: the header line says which, by what it holds most of.
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse(text: str, *, limits: Limits) -> Table:
    """The header and the rows of ``text`` (blank rows skipped), or ``UnreadableFile``."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise UnreadableFile(gettext("The file holds NUL characters, so it is not a text CSV."))
    lines = text.lstrip("\r\n").split("\n", 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(lines[0]), strict=True)
    header: list[str] | None = None
    rows: list[Row] = []
    number = 0
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, or a row of empty cells at the end of an export
            number += 1
            if any(len(cell) > CELL_MAX for cell in cells):
                raise UnreadableFile(
                    gettext(
                        "Row %(row)s holds a cell longer than %(max)s characters: is it "
                        "really a list of signatories?",
                        row=number,
                        max=f"{CELL_MAX:,}",
                    )
                )
            if header is None:
                header = _header(cells, limits)
                continue
            if len(rows) >= limits.max_rows:
                raise UnreadableFile(
                    gettext(
                        "The file has more than %(max)s rows. Split it into smaller files.",
                        max=f"{limits.max_rows:,}",
                    )
                )
            rows.append(_row(number, cells, len(header)))
    except csv.Error as error:
        raise UnreadableFile(
            gettext(
                "Line %(line)s cannot be read as CSV (%(reason)s): check its quotes.",
                line=reader.line_num,
                reason=str(error),
            )
        ) from None
    if header is None:
        raise UnreadableFile(gettext("The file is empty."))
    if not rows:
        raise UnreadableFile(gettext("The file has a header row but no signatories under it."))
    return Table(header, rows)


def _header(cells: list[str], limits: Limits) -> list[str]:
    header = [cell.strip().removeprefix("\ufeff").strip() for cell in cells]
    while header and not header[-1]:
        header.pop()
    if len(header) > limits.max_columns:
        raise UnreadableFile(
            gettext(
                "The file has %(count)s columns; at most %(max)s are read. Delete the "
                "columns you do not import.",
                count=len(header),
                max=limits.max_columns,
            )
        )
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        key = comparison_key(name)
        if not key:
            continue
        if key in seen:
            raise UnreadableFile(
                gettext(
                    "Columns %(first)s and %(second)s are both named “%(name)s”. Rename "
                    "one of them.",
                    first=seen[key],
                    second=position,
                    name=name,
                )
            )
        seen[key] = position
    return header


def _row(number: int, cells: list[str], width: int) -> Row:
    # Empty cells past the header's last column are only what some tools write.
    while len(cells) > width and not cells[-1].strip():
        cells = cells[:-1]
    if len(cells) == width:
        return Row(number, cells)
    problem = gettext(
        "This row has %(cells)s where the header has %(columns)s: check for a missing or an "
        "extra comma, or a quote left open.",
        cells=count_text("%(num)s cell", "%(num)s cells", len(cells)),
        columns=width,
    )
    return Row(number, cells + [""] * (width - len(cells)), problem)
