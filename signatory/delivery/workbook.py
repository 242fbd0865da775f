"""Archives whose bytes depend only on what goes in them: the package's ZIP and its XLSX.

A ZIP entry carries a modification time and permissions, and ``zipfile`` stamps the
current time unless told otherwise; an XLSX is itself a ZIP, and openpyxl also writes
the time of saving into ``docProps/core.xml``. Both are fixed here to the delivery time.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from signatory.core.spreadsheets import BOM

# rw-r--r--, as a regular file, for every entry: unzip then gives ordinary files.
_FILE_MODE = (0o100644 & 0xFFFF) << 16
_UNIX = 3
# Deflate at a fixed level: another level would give other (equally valid) bytes.
_LEVEL = 9
# The first moment a ZIP can record (MS-DOS time starts in 1980).
_ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)


class FixedZip:
    """A ZIP written in memory with every entry stamped ``moment`` and given fixed modes.

    Entries keep the order they are added in.
    """

    def __init__(self, *, moment: datetime) -> None:
        moment = max(moment.astimezone(UTC), _ZIP_EPOCH)
        self._stamp = moment.timetuple()[:6]
        self._buffer = io.BytesIO()
        self._zip = zipfile.ZipFile(self._buffer, "w", zipfile.ZIP_DEFLATED)

    def add(self, name: str, data: bytes) -> None:
        """Add the file ``name`` holding ``data``."""
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = _UNIX
        info.external_attr = _FILE_MODE
        self._zip.writestr(info, data, compresslevel=_LEVEL)

    def close(self) -> bytes:
        """The archive's bytes; nothing can be added after."""
        self._zip.close()
        return self._buffer.getvalue()


def refixed(archive: bytes, *, moment: datetime, replace: dict[str, bytes]) -> bytes:
    """``archive`` written again, entries in the same order, stamped ``moment``.

    ``replace`` gives new bytes for some entries (by name).
    """
    out = FixedZip(moment=moment)
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        for info in source.infolist():
            out.add(info.filename, replace.get(info.filename) or source.read(info))
    return out.close()


_W3C = "%Y-%m-%dT%H:%M:%SZ"
_CORE_DATES = re.compile(
    rb"(<dcterms:(created|modified) [^>]*>)[^<]*(</dcterms:(?:created|modified)>)"
)


def _fixed_core(core: bytes, moment: datetime) -> bytes:
    stamp = moment.astimezone(UTC).strftime(_W3C).encode("ascii")
    return _CORE_DATES.sub(lambda match: match.group(1) + stamp + match.group(3), core)


def _text(value: str) -> str:
    # openpyxl refuses control characters a cell cannot hold; the CSV was written from
    # names the sign form checked, but a package must not fail on one old row.
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def frozen_workbook(csv_bytes: bytes, *, title: str, moment: datetime) -> bytes:
    """The frozen CSV as an XLSX, cell for cell (guards against formulas included).

    The cells are the CSV's own text, so a spreadsheet shows what the CSV holds; every
    cell is typed as text, so nothing in it is ever taken for a formula or a number.
    """
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "signatory"
    workbook.properties.title = ILLEGAL_CHARACTERS_RE.sub("", f"{title} — delivered list")
    workbook.properties.created = moment.astimezone(UTC).replace(tzinfo=None)
    sheet = workbook.create_sheet("Delivered list")
    sheet.freeze_panes = "A2"
    reader = csv.reader(io.StringIO(csv_bytes.decode("utf-8").removeprefix(BOM), newline=""))
    for index, cells in enumerate(reader):
        row = []
        for value in cells:
            cell = WriteOnlyCell(sheet, value=_text(value))
            cell.data_type = "s"
            if index == 0:
                cell.font = Font(bold=True)
            row.append(cell)
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    saved = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(saved)) as archive:
        core = archive.read("docProps/core.xml")
    return refixed(saved, moment=moment, replace={"docProps/core.xml": _fixed_core(core, moment)})
