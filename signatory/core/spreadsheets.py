"""What every file meant for a spreadsheet needs: a byte-order mark, safe cells, safe names.

Two things matter beyond the data. A UTF-8 byte-order mark: without it Excel reads UTF-8
as the local code page and mangles every accented name. And formula injection: a signer
who types ``=HYPERLINK(...)`` as their organization must not get a live formula on the
recipient's machine, so every cell that a spreadsheet would run is neutralised.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import UTC, datetime

BOM = "\ufeff"

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


def csv_chunk(rows: Iterable[Iterable[str]]) -> str:
    """``rows`` as CSV text (RFC 4180: quoted where needed, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def safe_filename(slug: str) -> str:
    """``slug`` reduced to characters safe inside a quoted header value ("letter" if none)."""
    return _UNSAFE_FILENAME.sub("-", slug).strip("-.") or "letter"


def dated_filename(slug: str, what: str, fmt: str, *, now: datetime) -> str:
    """``<slug>-<what>-YYYY-MM-DD.<fmt>``, safe inside a quoted header value."""
    return f"{safe_filename(slug)}-{what}-{now.astimezone(UTC):%Y-%m-%d}.{fmt}"


def iso(moment: datetime | None) -> str:
    """ISO 8601 in UTC with a Z, or "" for no time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""
