"""How every answer of the API behaves, whatever the route.

- a success carries a strong ``ETag`` (a hash of the body) and a short public
  ``Cache-Control``, and a matching ``If-None-Match`` gets ``304`` with no body, so a
  shared cache in front can serve many readers from one answer;
- any origin may read it (CORS for ``GET``, preflights answered), on ``/api/`` only;
- each client address (``ratelimits.clients.limit_key``: IPv6 by /64) gets
  ``API_RATE_LIMIT`` requests, counted on the shared store, with the ``X-RateLimit-*``
  headers on every answer and a JSON ``429`` past the limit;
- every error, including 404 and 405, answers ``{"error": {"code", "message"}}``, marked
  ``no-store`` (no cache keeps a 429 meant for one address, nor a passing 404): the app's
  handlers in ``core.web`` (``error_response``) do that for any path under ``/api/``, and a
  parameter the API cannot use is a ``BadParameter`` (400 ``invalid_<name>``).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.wrappers import Response as BaseResponse

from signatory.api.openapi import RATE_LIMIT_HEADERS
from signatory.core.extensions import limiter
from signatory.core.web import error_response
from signatory.ratelimits.budgets import address_key

# Headers a script on another origin may read besides the CORS-safelisted ones.
_EXPOSED = ", ".join(("ETag", "Retry-After", *RATE_LIMIT_HEADERS))
# A browser sends If-None-Match when a script revalidates by hand, which needs a preflight.
_ALLOWED_REQUEST_HEADERS = "If-None-Match, If-Modified-Since"
_PREFLIGHT_MAX_AGE = 24 * 3600


class BadParameter(Exception):
    """A query parameter the API cannot use; answered as 400 ``invalid_<name>``."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _bad_parameter(error: BadParameter) -> Response:
    return error_response(400, f"invalid_{error.name}", error.message)


def _rate_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


def _not_counted() -> bool:
    # A preflight is the browser's own request, paid for by the GET that follows; the docs
    # page is a page for people, which this limit is not about.
    return request.method == "OPTIONS" or request.endpoint == "api.docs"


def _limit_message() -> str:
    return (
        f"Too many requests from your address: the API allows {_rate_limit()}. "
        "Wait the number of seconds in Retry-After, then try again."
    )


def _conditional(response: Response) -> BaseResponse:
    """ETag, Cache-Control and 304 for every successful read of the blueprint."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    response.add_etag()
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["API_CACHE_MAX_AGE"]
    return response.make_conditional(request)


def _api_headers(response: Response) -> Response:
    """CORS for every answer under /api/, and no caching of errors.

    An app-wide hook because an unknown path or a wrong method is answered before any
    blueprint is chosen, and those answers need the same headers. Nothing outside /api/
    is touched: the workspace and the pages never allow other origins.
    """
    if not request.path.startswith("/api/") or request.endpoint == "api.docs":
        return response
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Expose-Headers"] = _EXPOSED
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        headers["Access-Control-Allow-Headers"] = _ALLOWED_REQUEST_HEADERS
        headers["Access-Control-Max-Age"] = str(_PREFLIGHT_MAX_AGE)
    return response


def install(api: Blueprint) -> None:
    """Give the API blueprint its rate limit, caching, CORS and parameter errors."""
    # One budget for the whole API per address, not one per route: a client walking pages
    # and a client polling the letter draw from the same allowance. (Flask-Limiter keeps
    # it by blueprint name, and the same limit declared again for another app is one.)
    limiter.shared_limit(
        _rate_limit,
        scope="api",
        key_func=address_key,
        exempt_when=_not_counted,
        error_message=_limit_message,
    )(api)
    limiter.checks(api)
    api.after_request(_conditional)
    # App-wide: an unknown path or a wrong method under /api/ is answered before any
    # blueprint is chosen, and those answers need the same headers.
    api.after_app_request(_api_headers)
    api.register_error_handler(BadParameter, _bad_parameter)
