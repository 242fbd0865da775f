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


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _atom_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = _text(text)
    return element


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
    host = urlsplit(base_url).hostname or "localhost"
    tag = f"tag:{host},{letter.created_at:%Y-%m-%d}:letters/{letter.id}"
    list_url = f"{base_url}{url_for('public.signatories', slug=letter.slug)}"
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "en"})
    _add(feed, "id", f"{tag}/signatories")
    _add(feed, "title", f"New signatories: {letter.title}")
    _add(
        feed,
        "subtitle",
        f"Organizations and people who signed the open letter to {letter.recipient}.",
    )
    _add(feed, "updated", _atom_time(updated))
    author = _add(feed, "author")
    _add(author, "name", "signatory")
    feed_url = f"{base_url}{url_for('public.feed', slug=letter.slug)}"
    letter_url = f"{base_url}{url_for('public.letter', slug=letter.slug)}"
    _add(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    _add(feed, "link", rel="alternate", type="text/html", href=letter_url)
    _add(feed, "generator", "signatory")
    for signature in entries:
        entry = _add(feed, "entry")
        _add(entry, "id", f"{tag}/signatures/{signature.id}")
        _add(entry, "title", _entry_title(signature))
        _add(entry, "published", _atom_time(signature.published_at))
        _add(entry, "updated", _atom_time(signature.published_at))
        # The list, searched for this name: the entry's own row, wherever it is.
        entry_url = f"{list_url}?{_search_query(_entry_title(signature))}"
        _add(entry, "link", rel="alternate", type="text/html", href=entry_url)
        _add(entry, "category", term=signature.kind)
        _add(entry, "summary", _entry_summary(signature, letter), type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def _search_query(name: str) -> str:
    return urlencode({"q": _text(name)[:SEARCH_MAX_LENGTH], "sort": "newest"})
