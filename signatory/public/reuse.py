"""Reuse of a letter's list elsewhere: an embeddable widget, an Atom feed, a JSON download,
and what a shared link shows (Open Graph and Twitter card tags).

Absolute URLs come from ``BASE_URL``, not the request's host: a widget pasted into
another site and a feed read by an aggregator must point at the service's real address.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree as ET

from flask import Response, current_app, render_template, stream_with_context, url_for
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy.orm import Session

from signatory.core.extensions import db
from signatory.core.i18n import count_text, lang_args
from signatory.core.reference import ORGANIZATION_TYPES, country_name
from signatory.core.time import utcnow
from signatory.core.web import CONTENT_SECURITY_POLICY
from signatory.models import Letter, SignatureKind
from signatory.public import bp, exports, live, service
from signatory.public.views import letter_or_404

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 50
WIDGET_ORGANIZATIONS = 5
# The widget is the one page other sites may frame; everything else keeps 'none'.
WIDGET_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def absolute_url(endpoint: str, **values: Any) -> str:
    """``endpoint``'s URL under the configured ``BASE_URL``."""
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


def _count_phrase(counts: service.Counts) -> str:
    return gettext(
        "%(signatures)s: %(organizations)s and %(individuals)s",
        signatures=count_text("%(num)s signature", "%(num)s signatures", counts.total),
        organizations=count_text(
            "%(num)s organization", "%(num)s organizations", counts.organizations
        ),
        individuals=count_text("%(num)s individual", "%(num)s individuals", counts.individuals),
    )


def share_context(letter: Letter, counts: service.Counts) -> dict[str, str]:
    """What the letter page needs for link previews, the feed link and the embed snippet."""
    # The widget speaks the language of the page its snippet was copied from.
    widget_url = absolute_url("public.widget", slug=letter.slug, **lang_args())
    # The snippet is HTML for another site: its attribute values are escaped here, and the
    # page escapes the whole snippet again to show it as text.
    snippet = (
        f'<iframe src="{escape(widget_url)}" '
        f'title="{escape(gettext("%(title)s: signatories", title=letter.title))}" '
        'width="360" height="420" style="border:0;max-width:100%" loading="lazy"></iframe>'
    )
    return {
        "url": absolute_url("public.letter", slug=letter.slug),
        "title": letter.title,
        "description": gettext(
            "An open letter to %(recipient)s. %(counts)s.",
            recipient=letter.recipient,
            counts=_count_phrase(counts),
        ),
        "widget_url": widget_url,
        "embed_snippet": snippet,
    }


# --- The widget ----------------------------------------------------------------------------


@bp.get("/letters/<slug>/widget")
def widget(slug: str) -> Response:
    """A small page for other sites to frame: the count, the newest organizations, a link to sign.

    It is the only page with ``frame-ancestors *`` (and so without ``X-Frame-Options``):
    it holds nothing but public facts and links that leave the frame. It reads no
    session, so a shared cache may keep it; the count then updates itself by polling.
    """
    letter = letter_or_404(slug)
    accepting = letter.accepts_signatures(utcnow())

    def render() -> Response:
        latest = live.list_cached(
            letter,
            ("latest", WIDGET_ORGANIZATIONS),
            lambda: service.latest_public(db.session, letter, limit=WIDGET_ORGANIZATIONS),
        )
        counts = live.list_cached(
            letter, "counts", lambda: service.published_counts(db.session, letter)
        )
        page = render_template(
            "public/widget.html",
            letter=letter,
            counts=counts,
            organizations=latest.organizations,
            limit=WIDGET_ORGANIZATIONS,
            accepting=accepting,
            letter_url=absolute_url("public.letter", slug=letter.slug),
        )
        return Response(page, content_type="text/html; charset=utf-8")

    # Whether signing is open changes the page without changing the list.
    response = live.revalidated(
        letter, render, variant=f"widget-{int(accepting)}", max_age=30, stale=30
    )
    response.headers["Content-Security-Policy"] = WIDGET_POLICY
    return response


# --- The Atom feed -------------------------------------------------------------------------


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _atom_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = _text(text)
    return element


def _entry_title(signature: service.PublicSignature) -> str:
    if signature.kind == SignatureKind.ORGANIZATION:
        return signature.organization or signature.name
    return signature.name


def _entry_summary(signature: service.PublicSignature, letter: Letter) -> str:
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
    letter: Letter, entries: list[service.PublicSignature], *, base_url: str, updated: datetime
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
    return urlencode({"q": _text(name)[: service.SEARCH_MAX_LENGTH], "sort": "newest"})


@bp.get("/letters/<slug>/feed.atom")
def feed(slug: str) -> Response:
    """An Atom feed of the newest published signatories, newest first."""
    letter = letter_or_404(slug)

    def render() -> Response:
        page = service.find_page(
            db.session, letter, service.ListFilters(), sort=service.Sort.NEWEST, limit=FEED_ENTRIES
        )
        updated = page.items[0].published_at if page.items else live.list_last_modified(letter)
        body = atom_feed(
            letter, page.items, base_url=current_app.config["BASE_URL"], updated=updated
        )
        return Response(body, content_type="application/atom+xml; charset=utf-8")

    # The title and recipient appear in the feed too, so an edit to them is a new version.
    wording = zlib.crc32(f"{letter.title}\n{letter.recipient}".encode())
    return live.revalidated(letter, render, variant=f"feed-{wording:x}", max_age=60, stale=60)


# --- The JSON download ---------------------------------------------------------------------


def download_item(signature: service.PublicSignature) -> dict[str, Any]:
    """One signatory in the JSON download: the public fields, as the CSV has them."""
    return {
        "id": signature.id,
        "kind": signature.kind,
        "organization": signature.organization,
        "country": signature.country,
        "country_name": country_name(signature.country),
        "organization_type": signature.organization_type,
        "website": signature.website,
        "name": signature.name,
        "title": signature.title,
        "domain_verified": signature.domain_verified
        if signature.kind == SignatureKind.ORGANIZATION
        else None,
        "signed_at": _atom_time(signature.published_at),
        "version": signature.version,
    }


def iter_json(
    session: Session, letter: Letter, *, base_url: str, now: datetime, batch_size: int = 1000
) -> Iterator[str]:
    """The whole public list as one JSON document, in text chunks to stream.

    Organizations then individuals, each in signing order, as in the CSV; read
    ``batch_size`` rows at a time, so memory stays flat however long the list. The text
    is UTF-8 as written (names are not turned into ``\\u`` escapes).
    """
    head = {
        "letter": {
            "slug": letter.slug,
            "title": letter.title,
            "recipient": letter.recipient,
            "status": letter.status,
            "url": f"{base_url}{url_for('public.letter', slug=letter.slug)}",
        },
        "generated_at": _atom_time(now),
    }
    # The head, then the array opened by hand so the rows can follow as they are read.
    yield json.dumps(head, ensure_ascii=False)[:-1] + ',"signatures":['
    first = True
    for kind in service.PUBLIC_KINDS:
        for batch in service.iter_published(session, letter, kind=kind, batch_size=batch_size):
            chunk = ",\n".join(json.dumps(download_item(s), ensure_ascii=False) for s in batch)
            yield ("\n" if first else ",\n") + chunk
            first = False
    yield "\n]}\n"


@bp.get("/letters/<slug>/signatories.json")
def signatories_json(slug: str) -> Response:
    """The published list as JSON (UTF-8, public fields only), streamed in batches."""
    letter = letter_or_404(slug)
    response = Response(
        stream_with_context(
            iter_json(db.session, letter, base_url=current_app.config["BASE_URL"], now=utcnow())
        ),
        content_type="application/json; charset=utf-8",
    )
    filename = exports.csv_filename(letter).removesuffix(".csv") + ".json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
