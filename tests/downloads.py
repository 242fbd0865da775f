"""Reading downloaded CSV files in tests: the byte-order mark Excel needs, then the rows."""

from __future__ import annotations

import csv
import io

BOM = "\ufeff"


def _without_bom(text: str) -> str:
    assert text.startswith(BOM), "the CSV has no byte-order mark"
    return text.removeprefix(BOM)


def csv_rows(text: str) -> list[list[str]]:
    """The rows of a downloaded CSV, its header first; fails unless it starts with the BOM."""
    return list(csv.reader(io.StringIO(_without_bom(text))))


def csv_records(text: str) -> list[dict[str, str]]:
    """The rows of a downloaded CSV as dicts by header; fails unless it starts with the BOM."""
    return list(csv.DictReader(io.StringIO(_without_bom(text))))
