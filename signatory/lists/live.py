"""The live endpoint: a small JSON answer that open pages poll for the count and the newest names.

Thousands may watch one letter at once, so each poll must cost next to nothing. The
answer's ETag is the letter's list revision (``Letter.list_revision``, moved on by the
database's triggers whenever the published list changes), which every node reads from the
database: a poll that finds nothing new is answered ``304 Not Modified`` after one indexed
read of a few columns, sent straight to the driver (``current_list_state``), and
``Cache-Control: public`` lets a shared cache in front answer most polls without asking.

Freshness: a cache may serve an answer for ``MAX_AGE`` seconds, and ``STALE`` more while
it fetches the next; the pages poll every ``POLL_SECONDS`` (static/live.js). A signature
published just after a cache filled therefore shows within 3 + 2 + 4 = 9 seconds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from flask import Response, current_app, has_request_context, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine, bindparam, func, select
from werkzeug.http import http_date, quote_etag

from signatory import caching
from signatory.core.database import QuickStatement
from signatory.core.extensions import db
from signatory.core.i18n import (
    current_locale,
    local_country_name,
    organization_type_name,
    short_date,
)
from signatory.core.time import utcnow
from signatory.letters.lookup import public_letter_or_404
from signatory.letters.queries import published_counts
from signatory.lists import queries as service
from signatory.models import Letter, LetterStatus

MAX_AGE = 3
STALE = 2
POLL_SECONDS = 4
LATEST = 10
# Part of every ETag, so a change to what the answer holds invalidates cached copies.
FORMAT = 1
CACHED_AGGREGATES = 512

T = TypeVar("T")


class RevisionCache:
    """Aggregates of published lists (counts, countries, ...), each kept for one revision.

    A key holds the letter's list revision, so a change to the list makes every older
    entry unreachable (they age out of the LRU): an answer is never stale, and between
    changes a page of a 100,000-signature letter does not count them all again.
    """

    def __init__(self, size: int = CACHED_AGGREGATES) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


def list_cached(letter: Letter, name: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` for ``letter``'s published list as of its revision, computed once.

    Only safe requests use the cache: one that writes could see its own uncommitted
    changes under the revision it read before making them.
    """
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return compute()
    cache = current_app.extensions.setdefault("signatory.list_cache", RevisionCache())
    return cache.get((letter.id, letter.list_revision, name), compute)


def kept_page(
    name: str,
    slug: str,
    render: Callable[[Letter], ResponseReturnValue],
    *,
    varies: tuple[Hashable, ...] = (),
    holes: tuple[caching.Hole, ...] = (),
) -> Response:
    """The page ``render(letter)`` gives, rendered once per state of the letter and its list.

    The state is the letter's two revisions (moved on by the database whatever changes),
    the language, whether it takes signatures now (a deadline passes without a write), and
    ``varies``. A kept page is served without rendering until one of them changes
    (``caching``). The letter is read without its versions: a render that needs them
    reads it again, which only a page not kept yet does.
    """
    letter = public_letter_or_404(slug, with_versions=False)
    state = (
        name,
        letter.id,
        letter.revision,
        letter.list_revision,
        current_locale(),
        letter.accepts_signatures(utcnow()),
        *varies,
    )
    return caching.page(state, lambda: render(letter), holes=holes)


class ListState(NamedTuple):
    """Which state of a letter's published list an answer shows: what its validators name."""

    letter_id: int
    list_revision: int
    last_modified: datetime

    @classmethod
    def of(cls, letter: Letter) -> ListState:
        return cls(letter.id, letter.list_revision, list_last_modified(letter))


# The live endpoint's one read while nothing changed: the columns of its validators alone,
# by the slug's unique index, with no ORM object made (``current_list_state``).
_LIST_STATE = QuickStatement(
    select(
        Letter.id,
        Letter.list_revision,
        # list_last_modified's choice, made by the database: one time to convert, not three.
        func.coalesce(Letter.list_changed_at, Letter.opened_at, Letter.created_at),
    ).where(Letter.slug == bindparam("slug"), Letter.status != bindparam("draft"))
)


def current_list_state(slug: str, engine: Engine | None = None) -> ListState | None:
    """The list state of the public letter at ``slug``, or None if there is none.

    ``engine``: the app's (``db.engine``, which needs an app context) unless given.
    """
    source = engine if engine is not None else db.engine
    row = _LIST_STATE.first(source, slug=slug, draft=LetterStatus.DRAFT.value)
    if row is None:
        return None
    letter_id, revision, last_modified = row
    return ListState(letter_id, revision, last_modified)


def list_etag(state: ListState, variant: str = "live") -> str:
    """The validator of anything derived from the published list alone."""
    return f"{variant}-{FORMAT}-{state.letter_id}-{state.list_revision}"


def list_last_modified(letter: Letter) -> datetime:
    return letter.list_changed_at or letter.opened_at or letter.created_at


def _not_modified(etag: str, last_modified: datetime) -> bool:
    # RFC 9110 13.2.2: If-None-Match, when sent, decides alone (a weak comparison). A
    # page's poll sends back the one ETag it was given, compared here before any parsing.
    if request.environ.get("HTTP_IF_NONE_MATCH") == f'"{etag}"':
        return True
    if request.if_none_match:
        return request.if_none_match.contains_weak(etag)
    since = request.if_modified_since
    return since is not None and last_modified.replace(microsecond=0) <= since


def revalidated(
    state: ListState,
    render: Callable[[], Response],
    *,
    variant: str,
    max_age: int,
    stale: int,
) -> Response:
    """``render()``'s response, or an empty 304 when the client's copy is still current.

    Both carry the ETag and caching headers. ``Last-Modified`` goes out only once the
    change is a second old: it has one-second resolution, so a second change within the
    same second would otherwise look unmodified to a client that only sends
    ``If-Modified-Since``.
    """
    etag = list_etag(state, variant)
    response = Response(status=304) if _not_modified(etag, state.last_modified) else render()
    response.headers.extend(validators(state, variant, max_age=max_age, stale=stale))
    return response


def validators(
    state: ListState, variant: str, *, max_age: int, stale: int
) -> list[tuple[str, str]]:
    """The ETag and caching headers of an answer showing ``state`` (``revalidated``'s)."""
    headers = [("ETag", quote_etag(list_etag(state, variant)))]
    if utcnow() - state.last_modified >= timedelta(seconds=1):
        headers.append(("Last-Modified", http_date(state.last_modified)))
    headers.append(("Cache-Control", f"public, max-age={max_age}, stale-while-revalidate={stale}"))
    return headers


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def live_item(signature: service.PublicSignature) -> dict[str, Any]:
    """A signatory as the pages show it: public fields, with names ready to display.

    The names and the date are in the language the request asked for (``?lang=``).
    """
    website = signature.website or ""
    return {
        "id": signature.id,
        "kind": signature.kind,
        "organization": signature.organization,
        "name": signature.name,
        "title": signature.title,
        "country": signature.country,
        "country_name": local_country_name(signature.country),
        "organization_type": signature.organization_type,
        "organization_type_name": organization_type_name(signature.organization_type),
        # Only web addresses become links on the pages.
        "website": website if website.startswith(("https://", "http://")) else None,
        "domain_verified": signature.domain_verified,
        "signed_at": _timestamp(signature.published_at),
        "signed_on": short_date(signature.published_at),
        "version": signature.version,
        # The version re-confirmed on after a substantive change (``reconfirm``), or None.
        "reconfirmed_version": signature.reconfirmed_version,
    }


def live_body(letter: Letter) -> dict[str, Any]:
    """The counts and the newest signatories of ``letter``."""
    counts = list_cached(letter, "counts", lambda: published_counts(db.session, letter))
    latest = list_cached(
        letter, ("latest", LATEST), lambda: service.latest_public(db.session, letter, limit=LATEST)
    )
    return {
        "revision": letter.list_revision,
        "counts": {
            "organizations": counts.organizations,
            "individuals": counts.individuals,
            "total": counts.total,
        },
        "latest": [live_item(row) for row in latest.signatures],
        "latest_organizations": [live_item(row) for row in latest.organizations],
    }
