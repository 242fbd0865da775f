"""What every side of the site shares: error pages, security headers, template helpers,
the forms every workspace page uses, and private, streamed downloads."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from signatory.core.database import DbSession
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
    403: lazy_gettext("You do not have access to this page."),
    404: lazy_gettext(
        "There is nothing at this address. Check the link, or start from the list of letters."
    ),
    405: lazy_gettext("This address does not accept that kind of request."),
    413: lazy_gettext("What you sent is too large. Shorten the text and try again."),
    429: lazy_gettext("Too many requests. Wait a minute and try again."),
    500: lazy_gettext(
        "Something went wrong on our side. Nothing you sent was lost; please try again."
    ),
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


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
            resend_to=request.path,
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
    response = make_response(
        error_response(status, code, message or _MESSAGES.get(status, error.name))
    )
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


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", _MESSAGES[500])


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    # X-Frame-Options is the older twin of frame-ancestors: a response that sets its own
    # policy to be framed (the embeddable widget) must not be denied by the other.
    if "frame-ancestors 'none'" in headers["Content-Security-Policy"]:
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "interest-cohort=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
    app.after_request(_security_headers)
    app.jinja_env.globals.update(
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
