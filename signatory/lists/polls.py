"""The live poll's quick answer: a copy that is still current gets its 304 before Flask runs.

Every open page of a letter polls ``/letters/<slug>/live.json`` every few seconds with the
ETag it was given, and nearly every poll finds nothing new. Deciding that takes one
indexed read (``live.current_list_state``); building a Flask request around it (the
contexts, the session, every module's hooks) cost the 304 more than the read did.
``LivePolls`` wraps the app's WSGI callable and answers those polls itself, with the
headers the view sends (``live.validators``; a test holds the two answers equal).

Anything else goes on to Flask, which answers it as always: another path or method, no
ETag or another one, a letter that is not there, a database that fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from signatory.core.extensions import db
from signatory.core.ops.logs import HEADER as REQUEST_ID_HEADER
from signatory.core.ops.logs import new_request_id, sane_request_id
from signatory.lists import live

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_PREFIX = "/letters/"
_SUFFIX = "/live.json"
# What the view adds to the validators (public.live): any site may read the count.
_SHARED = ("Access-Control-Allow-Origin", "*")


class LivePolls:
    """WSGI middleware: ``304 Not Modified`` for a live poll whose ETag is the current one."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self._app = app
        self._wsgi_app = wsgi_app
        self._engine: Engine | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        sent = environ.get("HTTP_IF_NONE_MATCH")
        if sent and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            path: str = environ.get("PATH_INFO", "")
            if path.startswith(_PREFIX) and path.endswith(_SUFFIX):
                headers = self._current(path[len(_PREFIX) : -len(_SUFFIX)], sent)
                if headers is not None:
                    request_id = sane_request_id(environ.get("HTTP_X_REQUEST_ID"))
                    headers.append((REQUEST_ID_HEADER, request_id or new_request_id()))
                    start_response("304 NOT MODIFIED", headers)
                    return []
        return self._wsgi_app(environ, start_response)

    def _current(self, slug: str, sent: str) -> list[tuple[str, str]] | None:
        """The 304's headers if ``sent`` is exactly the ETag of ``slug``'s list now, else None."""
        if not slug or "/" in slug or not slug.isascii():
            return None
        try:
            state = live.current_list_state(slug, self._engine or self._app_engine())
        except SQLAlchemyError:
            return None  # Flask reads again, and answers the failure as it answers any
        if state is None or sent != f'"{live.list_etag(state)}"':
            return None
        headers = live.validators(state, "live", max_age=live.MAX_AGE, stale=live.STALE)
        headers.append(_SHARED)
        return headers

    def _app_engine(self) -> Engine:
        with self._app.app_context():
            self._engine = db.engine
        return self._engine


def install(app: Flask) -> None:
    """Put ``LivePolls`` in front of ``app``'s WSGI callable."""
    wrapped: Any = app.wsgi_app
    app.wsgi_app = LivePolls(app, wrapped)  # type: ignore[method-assign]
