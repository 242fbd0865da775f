"""Positions in the public list: the cursors its "more" links and the API's pages carry.

A cursor only carries a position (a publication time or a sort name, and a row id, all
public facts), so it is encoded, not signed: a forged one can do no more than start the
list elsewhere. Anything the encoders never made raises ``InvalidCursor``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from signatory.core.database import MAX_ROW_ID
from signatory.core.errors import InvalidArgument


class Sort(StrEnum):
    SIGNED = "signed"  # order of signing, oldest first
    NEWEST = "newest"
    NAME = "name"


class InvalidCursor(InvalidArgument):
    """A cursor that this module did not make (truncated, edited or from elsewhere)."""


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the last row already seen."""

    published_at: datetime
    id: int


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CURSOR_PAYLOAD = re.compile(r"([0-9]{1,17})\.([0-9]{1,18})")


def _unpadded_b64(payload: bytes) -> str:
    # Cursors travel in URLs: URL-safe alphabet, and no "=" padding to escape.
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


def _cursor_payload(
    token: str, text: re.Pattern[str], payload: re.Pattern[str], encoding: str
) -> re.Match[str]:
    """Decode a cursor token and match its payload, or raise ``InvalidCursor``."""
    if not text.fullmatch(token):
        raise InvalidCursor("not a cursor")
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode(encoding)
    except (binascii.Error, ValueError) as error:
        raise InvalidCursor("not a cursor") from error
    match = payload.fullmatch(decoded)
    if match is None:
        raise InvalidCursor("not a cursor")
    return match


def encode_cursor(cursor: Cursor) -> str:
    """An opaque, URL-safe token for ``cursor``.

    It only carries a position (a publication time and a row id, both public facts), so
    it is encoded, not signed: a forged one can do no more than start the list elsewhere.
    """
    micros = (cursor.published_at - _EPOCH) // timedelta(microseconds=1)
    return _unpadded_b64(f"{micros}.{cursor.id}".encode("ascii"))


def decode_cursor(token: str) -> Cursor:
    """The position in ``token``, or ``InvalidCursor`` for anything ``encode_cursor`` never made."""
    match = _cursor_payload(token, _CURSOR_TEXT, _CURSOR_PAYLOAD, "ascii")
    try:
        published_at = _EPOCH + timedelta(microseconds=int(match.group(1)))
    except OverflowError as error:
        raise InvalidCursor("cursor out of range") from error
    row_id = int(match.group(2))
    if published_at.year > 9999 or row_id > MAX_ROW_ID:
        raise InvalidCursor("cursor out of range")
    return Cursor(published_at, row_id)


@dataclass(frozen=True)
class NameCursor:
    """A position in the list sorted by name: the last row already seen."""

    sort_key: str
    id: int


_NAME_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]{1,1200}")
_NAME_CURSOR_PAYLOAD = re.compile(r"n([0-9]{1,18}):(.*)", re.S)


def encode_name_cursor(cursor: NameCursor) -> str:
    """An opaque, URL-safe token for a position in name order (a name and an id, both public)."""
    return _unpadded_b64(f"n{cursor.id}:{cursor.sort_key}".encode())


def decode_name_cursor(token: str) -> NameCursor:
    """The position in ``token``, or ``InvalidCursor`` for anything not made by the encoder."""
    match = _cursor_payload(token, _NAME_CURSOR_TEXT, _NAME_CURSOR_PAYLOAD, "utf-8")
    if "\x00" in match.group(2) or len(match.group(2)) > 200:
        raise InvalidCursor("not a cursor")
    row_id = int(match.group(1))
    if row_id > MAX_ROW_ID:
        raise InvalidCursor("cursor out of range")
    return NameCursor(match.group(2), row_id)


def decode_position(token: str, sort: Sort) -> Cursor | NameCursor:
    """A cursor for ``sort``: name order has its own kind; the two time orders share one."""
    return decode_name_cursor(token) if sort == Sort.NAME else decode_cursor(token)
