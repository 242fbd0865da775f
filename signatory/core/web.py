"""What every side of the site shares: error pages, security headers, template helpers,
absolute links, the forms every workspace page uses, and private, streamed downloads."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flask import (
    Flask,
    Request,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext, lazy_gettext, ngettext
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError, UnsupportedMediaType

from signatory.core.database import SAFE_METHODS, DbSession, commit_sent, database_unavailable
from signatory.core.errors import ChangedMeanwhile
from signatory.core.extensions import db
from signatory.core.i18n import (
    local_countries,
    local_country_name,
    organization_type_name,
    organization_types,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# What each error page says; the status line alone is not a next step.
_MESSAGES = {
    400: lazy_gettext(
        "The request could not be understood. Go back, check the form and try again."
    ),
    401: lazy_gettext("Sign in to open this page."),
    403: lazy_gettext("You do not have access to this page."),
    404: lazy_gettext(
        "There is nothing at this address. Check the link, or start from the list of letters."
    ),
    405: lazy_gettext("This address does not accept that kind of request."),
    408: lazy_gettext("Sending took too long, so nothing was received. Try again."),
    409: lazy_gettext(
        "This could not be done because something changed meanwhile. Reload the page."
    ),
    410: lazy_gettext("What was at this address is gone."),
    413: lazy_gettext("What you sent is too large. Shorten the text and try again."),
    414: lazy_gettext(
        "This address is too long. Check the link, or start from the list of letters."
    ),
    415: lazy_gettext(
        "This address takes a form sent from its page. Open the page and send the form there."
    ),
    429: lazy_gettext("Too many requests. Wait a minute and try again."),
    431: lazy_gettext(
        "Your browser sent too much with this request. Clear this site's cookies and try again."
    ),
    # An unexpected error ends the request before its one commit, so it saved nothing, but
    # it may have come after it: say only what is known.
    500: lazy_gettext(
        "Something went wrong on our side and this request did not finish. If you were "
        "sending a form, check whether it was saved before you send it again."
    ),
    503: lazy_gettext("The site is busy for a moment. Wait a few seconds and try again."),
}
# Any other status gets the message of its class.
_CLASS_MESSAGES = {
    4: lazy_gettext("This request could not be completed. Go back and try again."),
    5: _MESSAGES[500],
}
# The database was busy or out of reach: the request's transaction was rolled back whole.
_BUSY_WRITE = lazy_gettext(
    "The site is too busy to save anything right now, so nothing you sent was saved. "
    "Wait a few seconds, then send it again."
)
# ...unless the connection broke after a COMMIT was sent: then nobody here can know.
_BUSY_IN_DOUBT = lazy_gettext(
    "The site lost its database while saving, so what you sent may or may not have been "
    "saved. Wait a few seconds and check before you send it again."
)
# How long (seconds) a client is asked to wait after a 503 for a busy database.
BUSY_RETRY_AFTER = 5

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def message_for(status: int) -> str:
    """What the error page says for ``status``, in the reader's language."""
    message = _MESSAGES.get(status) or _CLASS_MESSAGES.get(status // 100, _MESSAGES[500])
    return str(message)


def absolute_url(endpoint: str, **values: Any) -> str:
    """``endpoint``'s URL under the configured ``BASE_URL``, never the request's ``Host``.

    Every absolute link a page, an email, a feed or the API hands out is built here: the
    ``Host`` header is the client's to choose, and a link built from it could be cached
    and served to others pointing anywhere.
    """
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


def this_page_url() -> str:
    """The address of the page being answered, under ``BASE_URL`` as ``absolute_url``'s:
    its path and query string, never the request's ``Host``."""
    query = request.query_string.decode("utf-8", "replace")
    return current_app.config["BASE_URL"] + request.path + (f"?{query}" if query else "")


# Fields never written back into a page, even one that offers to send a form again.
_NEVER_REPEATED = ("password", "new_password", "current_password", "confirm_password")


def resendable_fields() -> list[tuple[str, str]]:
    """The fields of the form being answered, to offer "send it again" on a 429 or 503.

    Only for a POST of an ordinary form; passwords are left out (the person types theirs
    again), and so is anything too long to be a form field of ours.
    """
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return []
    return [
        (name, value)
        for name, values in request.form.lists()
        if name not in _NEVER_REPEATED
        for value in values
        if len(value) <= 10_000
    ]


def wait_sentence(seconds: int, *, resend: bool = False) -> str:
    """How long to wait, as people say it, in whole sentences (a translator sees each one):
    seconds, then minutes up to an hour and a half, then hours; always rounded up, never in
    thousands of seconds. ``resend``: on a page that kept the form to send again."""
    minutes = math.ceil(seconds / 60)
    hours = math.ceil(minutes / 60)
    if resend:
        if seconds < 60:
            return ngettext(
                "What you sent is kept here. Wait %(num)d second, then send it again.",
                "What you sent is kept here. Wait %(num)d seconds, then send it again.",
                int(seconds),
            )
        if minutes <= 90:
            return ngettext(
                "What you sent is kept here. Wait a minute, then send it again.",
                "What you sent is kept here. Wait %(num)d minutes, then send it again.",
                minutes,
            )
        return ngettext(
            "What you sent is kept here. Wait an hour, then send it again.",
            "What you sent is kept here. Wait %(num)d hours, then send it again.",
            hours,
        )
    if seconds < 60:
        return ngettext(
            "Wait %(num)d second, then try again.",
            "Wait %(num)d seconds, then try again.",
            int(seconds),
        )
    if minutes <= 90:
        return ngettext(
            "Wait a minute, then try again.", "Wait %(num)d minutes, then try again.", minutes
        )
    return ngettext("Wait an hour, then try again.", "Wait %(num)d hours, then try again.", hours)


def error_response(
    status: int, code: str, message: str, *, retry_after: int | None = None
) -> Response:
    """The error answer: JSON under /api/, else the error page.

    ``retry_after`` (seconds) becomes the ``Retry-After`` header. On a 429 or 503 to a form,
    the page keeps what was sent, with a button to send it again (``resendable_fields``).
    """
    message = str(message)  # a lazy translation becomes text in the request's language
    if wants_json():
        response = make_response(jsonify({"error": {"code": code, "message": message}}), status)
    else:
        resend = resendable_fields() if status in (429, 503) else []
        page = render_template(
            "errors/error.html",
            status=status,
            message=message,
            resend=resend,
            # Sent again to the same address, query included (a sign-in's ``next``).
            resend_to=request.full_path.rstrip("?"),
            retry_after=retry_after,
        )
        response = make_response(page, status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(retry_after)))
    # An error is about one request: no cache may serve it to anyone else, or again.
    response.headers["Cache-Control"] = "no-store"
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = (error.name or "error").lower().replace(" ", "_")
    # Our own aborts carry a specific description; Werkzeug's defaults are replaced.
    default = type(error).description
    message = error.description if error.description != default else None
    response = make_response(error_response(status, code, message or message_for(status)))
    # Keep what the error says about the request, e.g. Allow on a 405.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _csrf_error(error: CSRFError) -> Response:
    return error_response(
        400,
        "csrf_failed",
        gettext(
            "This form has expired or was not sent from our page. "
            "Reload the page and submit it again; nothing was saved."
        ),
    )


def _roll_back() -> None:
    """Undo whatever the failed request wrote, so nothing of it is ever committed."""
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone; the request's end discards it
        log.warning("rolling back after an error failed", exc_info=True)


def _database_busy(error: Exception) -> Response:
    """503 with Retry-After: the database stayed locked past the busy timeout, or is down.

    The request's transaction is rolled back, so nothing of it was saved (unless a COMMIT
    had been sent, when the page says it cannot know); a form's fields come back on the
    page to send again (``error_response``).
    """
    log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
    _roll_back()
    # The page must not need the database: a coordinator who could not be loaded is shown
    # the page signed out rather than tried again (Flask-Login keeps the user in g).
    login_manager = getattr(current_app, "login_manager", None)
    if login_manager is not None and "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()
    if commit_sent():
        message = _BUSY_IN_DOUBT
    elif request.method in SAFE_METHODS:
        message = _MESSAGES[503]
    else:
        message = _BUSY_WRITE
    return error_response(503, "database_unavailable", message, retry_after=BUSY_RETRY_AFTER)


_CHANGED_MEANWHILE = lazy_gettext(
    "Someone else changed this while your request was on its way. Nothing you sent was "
    "saved: reload the page to see it as it is now, then try again."
)


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http_error(error)
    if database_unavailable(error):
        return _database_busy(error)
    if isinstance(error, StaleDataError | ChangedMeanwhile):
        # A conditional update matched no row: another request changed what this one was
        # decided on. Its transaction is rolled back whole.
        _roll_back()
        return error_response(409, "changed_meanwhile", _CHANGED_MEANWHILE)
    log.exception("unhandled error on %s %s", request.method, request.path)
    _roll_back()
    return error_response(500, "internal_error", _MESSAGES[500])


# What a page's form may be sent as; the API takes no request bodies at all.
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _forms_only() -> None:
    """A body that is not a form (JSON, XML...) sent to a page is refused as 415.

    Before the CSRF check (which would read it as a form without its token), so the answer
    names the real problem.
    """
    if request.method in SAFE_METHODS or wants_json():
        return
    if request.mimetype and request.mimetype not in _FORM_TYPES:
        raise UnsupportedMediaType()


# Sent with every answer unless the view set its own (the widget sets its own policy).
_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("Permissions-Policy", "interest-cohort=()"),
)
_HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def _security_headers(response: Response) -> Response:
    # A 304 has no body, nothing to protect: the client keeps the headers of the copy it
    # just revalidated (RFC 9111, 4.3.4), policies included. The live poll is mostly these.
    if response.status_code != 304:
        _add_policies(response)
    if _is_private(response):
        response.headers["Cache-Control"] = "no-store"
    return response


def _add_policies(response: Response) -> None:
    headers = response.headers
    # The names already set, read once: werkzeug's Headers finds a missing name by raising
    # KeyError, and these hooks run for every answer.
    present = {name.lower() for name, _ in headers.items()}
    headers.extend(pair for pair in _SECURITY_HEADERS if pair[0].lower() not in present)
    # X-Frame-Options is the older twin of frame-ancestors: a response that sets its own
    # policy to be framed (the embeddable widget) must not be denied by the other.
    if "x-frame-options" not in present and "frame-ancestors 'none'" in headers.get(
        "Content-Security-Policy", ""
    ):
        headers.add("X-Frame-Options", "DENY")
    # Over HTTPS (directly, or as a trusted proxy's X-Forwarded-Proto says), browsers are
    # told to use nothing else, on every subdomain too, for a year.
    if request.is_secure and "strict-transport-security" not in present:
        headers.add(*_HSTS)


def _is_private(response: Response) -> bool:
    """A workspace answer, or a page carrying a form bound to this session.

    Such a page may hold a coordinator's data, or a CSRF token that a shared cache would
    hand to the next visitor (whose session it does not match), or the browser would show
    again from its history after sign-out. Flask-WTF keeps the token it generated for this
    request in ``g``; lists, feeds, the widget and the API render none and keep their
    caching.
    """
    if request.blueprint == "manage":
        return True
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return response.mimetype == "text/html" and g.get(field) is not None


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signer for a request that has none.

    Flask makes an itsdangerous serializer (deriving its key) at the start of every
    request, cookie or not; most requests (polls, the lists, the API) carry no session.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # No Cookie header at all (a poll, a feed reader, the API): nothing to parse.
        if app.secret_key and (
            "HTTP_COOKIE" not in request.environ
            or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if "public" in response.headers.get("Cache-Control", ""):
            # The views mark an answer public only when it is the same whoever asks (the
            # live count, the widget, the feed), and a shared cache may keep it for
            # everyone: it must carry no visitor's cookie. Flask-Login touches the session
            # on every request (its freshness flag, its remember-me check), which would
            # send one, and add "Vary: Cookie" (one cached copy per visitor, while every
            # watcher of a letter has the sign form's session). Nothing such an answer
            # does to the session is kept.
            return
        # Untouched and empty: Flask would work out the cookie's every setting, then send
        # nothing (no cookie, and no Vary, which only a session read adds).
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
    app.after_request(_security_headers)
    # First of all before-request hooks: ahead of the CSRF check and the rate limits.
    app.before_request_funcs.setdefault(None, []).insert(0, _forms_only)
    app.jinja_env.globals.update(
        this_page_url=this_page_url,
        wait_sentence=wait_sentence,
        organization_types=organization_types,
        country_choices=local_countries,
    )
    # Pages name countries and organization types in the reader's language.
    app.jinja_env.filters["country_name"] = local_country_name
    app.jinja_env.filters["organization_type_name"] = organization_type_name


# --- Forms every side uses ------------------------------------------------------------------


def show_field_error(form: FlaskForm, error: Any, default: str) -> None:
    """Show a service's refusal next to its field: ``error.field``, else ``default``.

    ``error`` is a domain error carrying ``field`` (or None) and ``message``.
    """
    field = getattr(form, error.field or default, None) or getattr(form, default)
    field.errors = [*field.errors, error.message]


# --- Private pages and downloads ------------------------------------------------------


def private_page(response: Any) -> Response:
    """A page reached by an emailed link: never cached, never leaking the token as a referrer."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def private_download(response: Response, name: str) -> Response:
    """Mark ``response`` as an attachment named ``name`` that nothing may cache."""
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # Emails of every signer, or who did what: no browser or proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def streamed(
    load: Callable[[DbSession], T | None], produce: Callable[[DbSession, T], Iterator[str]]
) -> Iterator[str]:
    """The chunks of ``produce(session, load(session))``, read in an app context of their own.

    Unlike ``stream_with_context``, nothing is pushed until the first chunk is asked for,
    and the context is popped by the generator that pushed it when the body ends or the
    client goes away: a response dropped unread leaves no context behind for the garbage
    collector to pop later, out of order, in the middle of another request. The request's
    session is gone by then, so ``load`` reads again (by id) what ``produce`` needs; a row
    gone meanwhile gives an empty body.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def generate() -> Iterator[str]:
        with app.app_context():
            found = load(db.session)
            if found is not None:
                yield from produce(db.session, found)

    return generate()
