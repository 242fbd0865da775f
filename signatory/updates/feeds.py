"""The Atom feed of a letter's updates: an Atom 1.0 document, built with ElementTree, as the
feed of its newest signatories is (``lists.feeds``).

Absolute URLs come from ``BASE_URL``, never from the request's host. Each entry carries the
update's sanitised HTML as its content; the feed's own words stay in English, a machine
format's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from signatory.models import Letter, LetterUpdate

ATOM = "http://www.w3.org/2005/Atom"
# Entries in the feed: every update a coordinator is likely to post, and a bound.
ENTRIES = 100

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _atom_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = _text(text)
    return element


def updates_feed(
    letter: Letter,
    updates: Sequence[LetterUpdate],
    *,
    base_url: str,
    letter_path: str,
    updates_path: str,
    feed_path: str,
) -> bytes:
    """The updates of ``letter``, newest first, as an Atom 1.0 document (UTF-8 bytes).

    Entry ids are tag URIs (RFC 4151) on the service's host, stable for good; the feed's
    ``updated`` is its newest entry's, or the letter's creation when there is none.
    """
    host = urlsplit(base_url).hostname or "localhost"
    tag = f"tag:{host},{letter.created_at:%Y-%m-%d}:letters/{letter.id}"
    updates_url = f"{base_url}{updates_path}"
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "en"})
    _add(feed, "id", f"{tag}/updates")
    _add(feed, "title", f"Updates: {letter.title}")
    _add(feed, "subtitle", f"News from the coordinators of the open letter to {letter.recipient}.")
    newest = max((_changed(update) for update in updates), default=letter.created_at)
    _add(feed, "updated", _atom_time(newest))
    author = _add(feed, "author")
    _add(author, "name", "The letter's coordinators")
    _add(feed, "link", rel="self", type="application/atom+xml", href=f"{base_url}{feed_path}")
    _add(feed, "link", rel="alternate", type="text/html", href=updates_url)
    _add(feed, "link", rel="related", type="text/html", href=f"{base_url}{letter_path}")
    _add(feed, "generator", "signatory")
    for update in updates:
        entry = _add(feed, "entry")
        _add(entry, "id", f"{tag}/updates/{update.id}")
        _add(entry, "title", update.title)
        _add(entry, "published", _atom_time(update.posted_at))
        _add(entry, "updated", _atom_time(_changed(update)))
        _add(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=f"{updates_url}#update-{update.id}",
        )
        # Sanitised when it was posted (``core.text.render_markdown``); escaped again here
        # as the text of an element, as Atom's type="html" expects.
        _add(entry, "content", update.body_html, type="html")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def _changed(update: LetterUpdate) -> datetime:
    return update.edited_at or update.posted_at
