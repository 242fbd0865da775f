"""The named budgets of requests, and the code that spends them.

Each budget is a rate in Flask-Limiter's notation ("10 per minute; 50 per hour"), read from
its setting, and counted under a key: the client's address (``clients.limit_key``: IPv4
whole, IPv6 by /64), an email domain, or a coordinator account.

- ``SIGN`` (``SIGN_RATE_LIMIT``), by address: every sign POST and every "send me a new
  link" POST;
- ``SIGN_DOMAIN`` (``SIGN_DOMAIN_RATE_LIMIT``), by email domain: a sign POST that passed
  the form's checks; ``SIGN_PROVIDER`` (``SIGN_PROVIDER_RATE_LIMIT``) instead for the
  large public mail providers (``PROVIDER_DOMAINS``), as thousands share them;
- ``LINKS`` (``LINK_RATE_LIMIT``), by address: GET and POST of a confirm or withdraw link,
  and the resend POST;
- ``LOGIN`` (``LOGIN_RATE_LIMIT``), by address, and ``LOGIN_ACCOUNT``
  (``LOGIN_ACCOUNT_RATE_LIMIT``), by the account named: sign-in POSTs;
- ``FORGOT`` (``FORGOT_RATE_LIMIT``), by address: "forgot password" POSTs.

The JSON API's ``API_RATE_LIMIT`` is Flask-Limiter's own (``api/http.py``), on the same
storage and strategy. A domain is only charged once the form is valid, so one person's
typos never spend a whole organization's allowance.

**When the storage is down** (Redis unreachable, the file store locked past its busy
timeout): the site keeps serving, and limits do not lift. Each process counts in its own
memory instead, with the same budgets, and logs a warning; it tries the storage again
after ``STORAGE_RETRY_SECONDS``. A limit then holds per process rather than for the whole
site (with ``-w N``, at most N times the budget), which is better than refusing every
signer because Redis restarted, and better than no limit at all. The API does the same
through Flask-Limiter's ``in_memory_fallback_enabled`` and ``swallow_errors``
(``core.extensions``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, current_app
from flask_babel import lazy_gettext
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import STRATEGIES, RateLimiter
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from signatory.core.domains import email_domain
from signatory.core.extensions import RATELIMIT_STRATEGY
from signatory.core.web import error_response, wait_sentence
from signatory.ratelimits.clients import client_address, limit_key

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# Seconds a process counts in memory after its storage failed, before trying it again.
STORAGE_RETRY_SECONDS = 30.0

# Mail providers that many unrelated people share: their own, larger per-domain budget.
PROVIDER_DOMAINS = frozenset(
    {
        "aol.com", "gmail.com", "gmx.de", "gmx.net", "googlemail.com", "hotmail.com",
        "icloud.com", "live.com", "mail.ru", "me.com", "msn.com", "outlook.com",
        "proton.me", "protonmail.com", "qq.com", "web.de", "yahoo.com", "yandex.ru",
        "163.com", "126.com", "orange.fr", "free.fr", "laposte.net", "yahoo.fr",
        "hotmail.fr", "libero.it", "mail.com", "zoho.com", "rediffmail.com",
    }
)  # fmt: skip

_EXTENSION = "signatory.ratelimits"


@dataclass(frozen=True)
class Budget:
    """A named allowance: the rate comes from ``setting``; ``reason`` says what ran out."""

    name: str
    setting: str
    reason: Any  # a lazy translation

    def rates(self) -> list[RateLimitItem]:
        # Shortest window first, as Flask-Limiter orders them: the soonest to refill answers.
        return sorted(parse_many(str(current_app.config[self.setting])))


SIGN = Budget(
    "sign",
    "SIGN_RATE_LIMIT",
    lazy_gettext("The sign form has been sent many times from your address in a short while."),
)
SIGN_DOMAIN = Budget(
    "sign-domain",
    "SIGN_DOMAIN_RATE_LIMIT",
    lazy_gettext(
        "Many signatures have just come from addresses at this email domain; to protect its "
        "inboxes, we take more a little later."
    ),
)
SIGN_PROVIDER = Budget("sign-provider", "SIGN_PROVIDER_RATE_LIMIT", SIGN_DOMAIN.reason)
LINKS = Budget(
    "links",
    "LINK_RATE_LIMIT",
    lazy_gettext(
        "Many confirmation or withdrawal links have been opened from your address in a short while."
    ),
)
LOGIN = Budget(
    "login",
    "LOGIN_RATE_LIMIT",
    lazy_gettext("Too many sign-in attempts have come from your address."),
)
LOGIN_ACCOUNT = Budget(
    "login-account",
    "LOGIN_ACCOUNT_RATE_LIMIT",
    lazy_gettext("Too many sign-in attempts have been made for this account."),
)
FORGOT = Budget(
    "forgot",
    "FORGOT_RATE_LIMIT",
    lazy_gettext("Too many password reset requests have come from your address."),
)


class RateLimited(TooManyRequests):
    """A budget ran out; ``retry_after`` is the whole seconds until a place frees."""

    def __init__(self, budget: Budget, retry_after: int) -> None:
        super().__init__(str(budget.reason), retry_after=retry_after)
        self.budget = budget
        self.seconds = retry_after

    @property
    def message(self) -> str:
        """The reason and the wait, as one or two sentences for a page."""
        return f"{self.budget.reason} {wait_sentence(self.seconds)}"


# --- Counting ---------------------------------------------------------------------------


def _described(uri: str) -> str:
    """The storage URI without credentials, for logs."""
    parts = urlsplit(uri)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


class Counter:
    """One app's counts: the configured storage, or this process's memory while it is down."""

    def __init__(self, uri: str, strategy: str = RATELIMIT_STRATEGY) -> None:
        self.uri = uri
        # wrap_exceptions: any failure of the storage arrives as limits' StorageError, so
        # only that is taken for an outage, never a bug of ours.
        self.storage: Storage = cast(Storage, storage_from_string(uri, wrap_exceptions=True))
        self._shared: RateLimiter = STRATEGIES[strategy](self.storage)
        self._memory: RateLimiter = STRATEGIES[strategy](MemoryStorage())
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def falling_back(self) -> bool:
        """Whether this process is counting in its own memory for now."""
        return time.monotonic() < self._down_until

    def hit(self, item: RateLimitItem, *identifiers: str) -> int | None:
        """Take one place; None when taken, else the seconds until one frees."""
        if not self.falling_back:
            try:
                return self._hit(self._shared, item, identifiers)
            except StorageError as error:
                self._storage_failed(error)
        return self._hit(self._memory, item, identifiers)

    @staticmethod
    def _hit(
        strategy: RateLimiter, item: RateLimitItem, identifiers: tuple[str, ...]
    ) -> int | None:
        if strategy.hit(item, *identifiers):
            return None
        reset = strategy.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset - time.time()))

    def _storage_failed(self, error: StorageError) -> None:
        with self._lock:
            self._down_until = time.monotonic() + STORAGE_RETRY_SECONDS
        log.warning(
            "rate-limit storage %s is unavailable (%s); counting in this process's memory "
            "for %d s, then trying it again",
            _described(self.uri),
            error.storage_error,
            STORAGE_RETRY_SECONDS,
        )


def counter(app: Flask | None = None) -> Counter:
    return cast(Counter, (app or current_app).extensions[_EXTENSION])


def private_key(key: str) -> str:
    """A keyed hash of ``key``: the store never holds an address, a domain or an account,
    and nobody who reads it (or Redis's keys) can tell whose counts they are."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:32]


def spend(budget: Budget, key: str) -> None:
    """Take one request from ``budget`` for ``key``; raise ``RateLimited`` if it ran out."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    counts = counter()
    hashed = private_key(key)
    for rate in budget.rates():
        wait = counts.hit(rate, budget.name, hashed)
        if wait is not None:
            log.info("rate limit %s (%s) reached", budget.name, rate)
            raise RateLimited(budget, wait)


def address_key() -> str:
    """What the current request's address is counted under (a keyed hash of its limit key)."""
    return private_key(limit_key(client_address()))


def spend_for_email(email: str) -> None:
    """Charge the domain of ``email`` (lower-cased): a provider's budget or a domain's."""
    domain = email_domain(email)
    if not domain:
        return
    spend(SIGN_PROVIDER if domain in PROVIDER_DOMAINS else SIGN_DOMAIN, domain)


def limited(
    *budgets: Budget,
    methods: tuple[str, ...] = ("GET", "POST"),
    answer: Callable[[RateLimited], Response] | None = None,
) -> Callable[[F], F]:
    """Charge ``budgets`` by the client's address before the view runs (for ``methods``).

    ``answer`` builds the 429 for this view, for this refusal and for a ``RateLimited``
    the view raises itself (a domain's budget, spent once the form is valid); without it,
    the error page answers (``answer_limited``).
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from flask import request

            try:
                if request.method in methods:
                    for budget in budgets:
                        spend(budget, limit_key(client_address()))
                return view(*args, **kwargs)
            except RateLimited as refusal:
                if answer is None:
                    raise
                response = answer(refusal)
                return with_retry_after(response, refusal)

        return cast(F, wrapper)

    return decorate


def with_retry_after(response: Response, refusal: RateLimited) -> Response:
    """A 429 that nothing caches, saying when to come back."""
    response.status_code = 429
    response.headers["Retry-After"] = str(refusal.seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


def answer_limited(refusal: RateLimited) -> Response:
    """The error page (or JSON under /api/) for a budget that ran out, keeping a form's input."""
    return error_response(
        429, "rate_limited", str(refusal.budget.reason), retry_after=refusal.seconds
    )


def init_app(app: Flask) -> None:
    """Open the app's rate-limit storage and answer ``RateLimited`` with a 429."""
    app.extensions[_EXTENSION] = Counter(str(app.config["RATELIMIT_STORAGE_URI"]))
    app.register_error_handler(RateLimited, answer_limited)
