"""The Atom feed of a letter's updates: an Atom 1.0 document, built with ElementTree, as the
feed of its newest signatories is (``lists.feeds``).

Absolute URLs come from ``BASE_URL``, never from the request's host. Each entry carries the
update's sanitised HTML as its content; the feed's own words stay in English, a machine
format's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from signatory.lists.feeds import add, atom_time, feed_bytes, letter_tag, new_feed
from signatory.models import Letter, LetterUpdate

# Entries in the feed: every update a coordinator is likely to post, and a bound.
ENTRIES = 100


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
    tag = letter_tag(letter, base_url)
    updates_url = f"{base_url}{updates_path}"
    feed = new_feed()
    add(feed, "id", f"{tag}/updates")
    add(feed, "title", f"Updates: {letter.title}")
    add(feed, "subtitle", f"News from the coordinators of the open letter to {letter.recipient}.")
    newest = max((_changed(update) for update in updates), default=letter.created_at)
    add(feed, "updated", atom_time(newest))
    author = add(feed, "author")
    add(author, "name", "The letter's coordinators")
    add(feed, "link", rel="self", type="application/atom+xml", href=f"{base_url}{feed_path}")
    add(feed, "link", rel="alternate", type="text/html", href=updates_url)
    add(feed, "link", rel="related", type="text/html", href=f"{base_url}{letter_path}")
    add(feed, "generator", "signatory")
    for update in updates:
        entry = add(feed, "entry")
        add(entry, "id", f"{tag}/updates/{update.id}")
        add(entry, "title", update.title)
        add(entry, "published", atom_time(update.posted_at))
        add(entry, "updated", atom_time(_changed(update)))
        add(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=f"{updates_url}#update-{update.id}",
        )
        # Sanitised when it was posted (``core.text.render_markdown``); escaped again here
        # as the text of an element, as Atom's type="html" expects.
        add(entry, "content", update.body_html, type="html")
    return feed_bytes(feed)


def _changed(update: LetterUpdate) -> datetime:
    return update.edited_at or update.posted_at
