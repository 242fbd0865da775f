"""Rendered pages kept for every visitor to whom they are the same.

A public page of a letter (its list, its charts, its widget, its feed) is the same for every
anonymous visitor who asks for the same URL in the same language, until the letter or its
list changes. ``page(key, render)`` renders it once per state, names the state by the
letter's two revisions (moved on by the database's triggers, so no change is missed:
``Letter.revision``, ``Letter.list_revision``), and hands every later visitor the stored
bytes.

Where the pages are kept (``SIGNATORY_CACHE_URL``):

- empty (the default): in each process's memory, a few tens of MB at most;
- ``redis://host:6379/1``: in Redis, shared by every worker and node;
- ``none``: nowhere; every page is rendered for each request.

A store that fails (Redis down) is a miss: the page is rendered, a warning logged, and the
store left alone for a few seconds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from flask import Flask, Response, current_app, make_response, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user

from signatory.caching.stores import MemoryStore, NoStore, RedisStore, Store

__all__ = ["EXTENSION", "Hole", "init_app", "page", "store_from_url"]

EXTENSION = "signatory.page_cache"
# Set on every answer a cached page could have come from: "hit", "miss" or "bypass".
HEADER = "X-Signatory-Cache"
# Headers of the rendered answer that are the page's own (the rest are set per request).
KEPT_HEADERS = ("Content-Type", "Content-Language", "Vary")


def store_from_url(url: str, *, ttl: int, memory_bytes: int) -> Store:
    if not url:
        return MemoryStore(max_bytes=memory_bytes)
    if url == "none":
        return NoStore()
    return RedisStore(url, ttl=ttl)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = store_from_url(
        app.config["CACHE_URL"],
        ttl=int(app.config["CACHE_TTL"]),
        memory_bytes=int(app.config["CACHE_MEMORY_MB"]) * 1024 * 1024,
    )


def _cacheable() -> bool:
    """A page may come from the store: a plain read, no message waiting, nobody signed in."""
    if request.method not in ("GET", "HEAD"):
        return False
    # A message waiting to be shown (a flash) is this visitor's alone.
    if "_flashes" in session:
        return False
    return not (current_user and current_user.is_authenticated)


@dataclass(frozen=True)
class Hole:
    """A value of the page that is each visitor's own (a form's CSRF token): kept as a mark
    and filled in for each visitor. ``make`` gives this request's value (the same however
    often it is called); ``made`` the value the render used, or None if it used none."""

    name: str
    make: Callable[[], str]
    made: Callable[[], str | None]


def page(
    key: tuple[Hashable, ...],
    render: Callable[[], ResponseReturnValue],
    *,
    holes: tuple[Hole, ...] = (),
) -> Response:
    """The answer ``render()`` gives, rendered once for each ``key`` and kept.

    ``key`` must name everything the page depends on besides the request's path and query
    (which are added): the letter's revisions, the language, whatever else varies. The
    values of ``holes`` are never kept: each visitor gets their own.
    """
    store: Store = current_app.extensions[EXTENSION]
    if isinstance(store, NoStore) or not _cacheable():
        response = make_response(render())
        response.headers[HEADER] = "bypass"
        return response
    name = _name(key)
    found = store.get(name)
    if found is not None:
        response = _unpack(_filled(found, holes))
        response.headers[HEADER] = "hit"
        return response
    response = make_response(render())
    if response.status_code == 200 and not response.is_streamed:
        packed = _pack(response)
        marked = _marked(packed, holes)
        if marked is not None:
            store.set(name, marked)
    response.headers[HEADER] = "miss"
    return response


def _mark(hole: str) -> bytes:
    return f"\x00signatory-hole:{hole}\x00".encode()


def _marked(page: bytes, holes: tuple[Hole, ...]) -> bytes | None:
    """``page`` with each value a hole gave the render replaced by its mark; None (keep
    nothing) if a value is too short to be told from other text."""
    for hole in holes:
        value = hole.made()
        if value is None:
            continue  # the render did not use it (a closed letter shows no form)
        if len(value) < 16:
            return None
        page = page.replace(value.encode(), _mark(hole.name))
    return page


def _filled(page: bytes, holes: tuple[Hole, ...]) -> bytes:
    for hole in holes:
        mark = _mark(hole.name)
        if mark in page:
            page = page.replace(mark, hole.make().encode())
    return page


def _name(key: tuple[Hashable, ...]) -> str:
    # Keyed with the site's secret: two sites sharing one Redis never read each other's
    # pages (their letter ids and revisions may well be the same), and the names say
    # nothing of what the pages are.
    parts = (*key, request.path, request.query_string)
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return "page:" + hmac.new(secret, repr(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def _pack(response: Response) -> bytes:
    headers = "\n".join(
        f"{name}: {response.headers[name]}" for name in KEPT_HEADERS if name in response.headers
    )
    return headers.encode("utf-8") + b"\n\n" + response.get_data()


def _unpack(stored: bytes) -> Response:
    head, _, body = stored.partition(b"\n\n")
    response = Response(body)
    for line in head.decode("utf-8").splitlines():
        name, _, value = line.partition(": ")
        response.headers[name] = value
    return response
