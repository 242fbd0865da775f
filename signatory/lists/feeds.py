"""The Atom feed of a letter's newest signatories: an Atom 1.0 document, built with ElementTree.

Absolute URLs come from ``BASE_URL``, not the request's host: a feed read by an
aggregator must point at the service's real address. The feed is a machine format and
stays in English.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree as ET

from flask import url_for

from signatory.core.i18n import ORGANIZATION_TYPES, country_name
from signatory.lists.queries import SEARCH_MAX_LENGTH, PublicSignature
from signatory.models import Letter, SignatureKind

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 50

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- An Atom document: what this feed and the updates' (``updates.feeds``) share -----------


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def atom_time(value: datetime) -> str:
    """A time as Atom writes it (RFC 3339, UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    """An Atom element under ``parent``; its text without what XML cannot hold."""
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = _text(text)
    return element


def letter_tag(letter: Letter, base_url: str) -> str:
    """The tag URI (RFC 4151) the letter's feeds name their ids under, stable for good."""
    host = urlsplit(base_url).hostname or "localhost"
    return f"tag:{host},{letter.created_at:%Y-%m-%d}:letters/{letter.id}"


def new_feed() -> ET.Element:
    """An empty Atom feed element, its language English (a machine format's words)."""
    ET.register_namespace("", ATOM)
    return ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "en"})


def feed_bytes(feed: ET.Element) -> bytes:
    """The document, UTF-8, with its XML declaration."""
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def _entry_title(signature: PublicSignature) -> str:
    if signature.kind == SignatureKind.ORGANIZATION:
        return signature.organization or signature.name
    return signature.name


def _entry_summary(signature: PublicSignature, letter: Letter) -> str:
    where = country_name(signature.country)
    if signature.kind == SignatureKind.ORGANIZATION:
        kind = ORGANIZATION_TYPES.get(signature.organization_type or "", "organization")
        signer = signature.name + (f", {signature.title}" if signature.title else "")
        verified = (
            " The signer's email address is at the organization's own domain."
            if signature.domain_verified
            else ""
        )
        return (
            f"{signature.organization} ({kind}, {where}) signed “{letter.title}”. "
            f"Signed by {signer}.{verified}"
        )
    affiliation = (
        f" ({signature.organization}, for identification only)" if signature.organization else ""
    )
    return f"{signature.name}{affiliation}, {where}, signed “{letter.title}” as an individual."


def atom_feed(
    letter: Letter, entries: list[PublicSignature], *, base_url: str, updated: datetime
) -> bytes:
    """The newest signatories of ``letter`` as an Atom 1.0 document (UTF-8 bytes).

    ElementTree escapes every value; characters XML cannot hold at all are dropped.
    Entry ids are tag URIs (RFC 4151) on the service's host, stable for good.
    """
    tag = letter_tag(letter, base_url)
    list_url = f"{base_url}{url_for('public.signatories', slug=letter.slug)}"
    feed = new_feed()
    add(feed, "id", f"{tag}/signatories")
    add(feed, "title", f"New signatories: {letter.title}")
    add(
        feed,
        "subtitle",
        f"Organizations and people who signed the open letter to {letter.recipient}.",
    )
    add(feed, "updated", atom_time(updated))
    author = add(feed, "author")
    add(author, "name", "signatory")
    feed_url = f"{base_url}{url_for('public.feed', slug=letter.slug)}"
    letter_url = f"{base_url}{url_for('public.letter', slug=letter.slug)}"
    add(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    add(feed, "link", rel="alternate", type="text/html", href=letter_url)
    add(feed, "generator", "signatory")
    for signature in entries:
        entry = add(feed, "entry")
        add(entry, "id", f"{tag}/signatures/{signature.id}")
        add(entry, "title", _entry_title(signature))
        add(entry, "published", atom_time(signature.published_at))
        add(entry, "updated", atom_time(signature.published_at))
        # The list, searched for this name: the entry's own row, wherever it is.
        entry_url = f"{list_url}?{_search_query(_entry_title(signature))}"
        add(entry, "link", rel="alternate", type="text/html", href=entry_url)
        add(entry, "category", term=signature.kind)
        add(entry, "summary", _entry_summary(signature, letter), type="text")
    return feed_bytes(feed)


def _search_query(name: str) -> str:
    return urlencode({"q": _text(name)[:SEARCH_MAX_LENGTH], "sort": "newest"})
