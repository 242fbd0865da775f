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
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

BOM = "\ufeff"

# What makes Excel, LibreOffice or Google Sheets treat a cell as a formula (OWASP's list),
# plus a newline, and the full-width forms that some spreadsheets normalise to ASCII
# before deciding.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# The first characters that can make a cell need the guard: a trigger, or a space that
# ``neutralise`` looks past. Any other first character settles it at once (most cells).
_MAYBE_FORMULA = FORMULA_TRIGGERS | {" "}

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def neutralise(value: str) -> str:
    """``value``, with a leading ``'`` if a spreadsheet would run it as a formula.

    Leading spaces are looked through too: some importers trim them and then see ``=``.
    """
    # Called for every cell of every download: the common case costs one set look-up.
    if not value or value[0] not in _MAYBE_FORMULA:
        return value
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


class CsvChunks:
    """CSV text for a whole download, a chunk per batch of rows, as ``csv_chunk`` writes it.

    The CSV writer writes a row as its cells joined by commas unless a cell holds a
    comma, a double quote, a CR or an LF, which it quotes, or the row is a single empty
    cell (written ``""``). Most rows hold none of these: joining them directly gives the
    writer's text at a fraction of its cost. A cell with a comma (common: "Director,
    Programs") is put in double quotes, as the writer does; a batch with a double quote,
    a CR or an LF anywhere (rare) goes through the writer whole.
    """

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def chunk(self, rows: Iterable[Sequence[str]]) -> str:
        """``rows`` as CSV text (RFC 4180: quoted where needed, CRLF line ends)."""
        rows = rows if isinstance(rows, list) else list(rows)
        if not rows:
            return ""
        lines = self._joined(rows)
        if lines is None:
            return self._written(rows)
        body = "\r\n".join(lines)
        breaks = len(lines) - 1
        if '"' in body or body.count("\r") != breaks or body.count("\n") != breaks:
            return self._written(rows)
        # A row whose line has more commas than its cells make holds a cell with one.
        quoted = [i for i, line in enumerate(lines) if line.count(",") != len(rows[i]) - 1]
        if not quoted:
            return body + "\r\n"
        for index in quoted:
            lines[index] = ",".join([f'"{cell}"' if "," in cell else cell for cell in rows[index]])
        return "\r\n".join(lines) + "\r\n"

    @staticmethod
    def _joined(rows: list[Sequence[str]]) -> list[str] | None:
        """Each row's cells joined by commas; None if a row is too short or holds no text."""
        if min(map(len, rows)) < 2:
            return None
        try:
            return list(map(",".join, rows))
        except TypeError:  # a cell that is not text: the writer's str() decides
            return None

    def _written(self, rows: list[Sequence[str]]) -> str:
        self._writer.writerows(rows)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def safe_filename(slug: str) -> str:
    """``slug`` reduced to characters safe inside a quoted header value ("letter" if none)."""
    return _UNSAFE_FILENAME.sub("-", slug).strip("-.") or "letter"


def dated_filename(slug: str, what: str, fmt: str, *, now: datetime) -> str:
    """``<slug>-<what>-YYYY-MM-DD.<fmt>``, safe inside a quoted header value."""
    return f"{safe_filename(slug)}-{what}-{now.astimezone(UTC):%Y-%m-%d}.{fmt}"


def iso(moment: datetime | None) -> str:
    """ISO 8601 in UTC with a Z, or "" for no time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


class iso_text(FunctionElement[str]):  # noqa: N801 - named like the SQL functions it stands for
    """A UTC time column as ``iso`` writes it (``2025-03-01T09:30:15Z``), made by the database.

    For the downloads: parsing a time into a datetime and formatting it again costs more
    than the rest of a row's cells together, at a million rows. NULL stays NULL. The
    seconds are cut, never rounded, as ``strftime`` does.
    """

    type = String()
    inherit_cache = True


@compiles(iso_text, "sqlite")
def _iso_text_sqlite(element: iso_text, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps the text SQLAlchemy wrote ("2025-03-01 09:30:15.250000"); cut from it,
    # not strftime(), which rounds to the millisecond and would move 15.9996 s to 16 s.
    column = compiler.process(element.clauses, **kw)
    return f"substr({column}, 1, 10) || 'T' || substr({column}, 12, 8) || 'Z'"


@compiles(iso_text, "postgresql")
def _iso_text_postgresql(element: iso_text, compiler: SQLCompiler, **kw: Any) -> str:
    # A timestamp without time zone holding UTC: to_char prints it as stored, seconds cut.
    column = compiler.process(element.clauses, **kw)
    return f"""to_char({column}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
