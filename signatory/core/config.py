"""Configuration: embedded defaults, the ``SIGNATORY_`` environment, and validation.

Loading order is defaults -> ``from_prefixed_env("SIGNATORY")`` -> ``test_config``.
With nothing set, the app runs from its instance folder: a SQLite file, mail written
to files, and a secret key generated once and kept there.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from limits import parse_many

DEVELOPMENT_SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
RATELIMIT_FILE = "ratelimits.sqlite3"
# Rates in Flask-Limiter notation, checked at start.
RATE_LIMIT_SETTINGS = (
    "API_RATE_LIMIT",
    "SIGN_RATE_LIMIT",
    "SIGN_DOMAIN_RATE_LIMIT",
    "SIGN_PROVIDER_RATE_LIMIT",
    "LINK_RATE_LIMIT",
    "LOGIN_RATE_LIMIT",
    "LOGIN_ACCOUNT_RATE_LIMIT",
    "FORGOT_RATE_LIMIT",
)
# Rate-limit stores: the SQLite file (signatory/ratelimits/storage.py), memory, Redis.
_RATELIMIT_SCHEMES = {"sqlite", "memory", "redis", "rediss", "redis+unix", "redis+sentinel",
                      "redis+cluster"}  # fmt: skip

DEFAULTS: dict[str, Any] = {
    "BASE_URL": "http://127.0.0.1:5000",
    "MAIL_FROM": "signatory@localhost",
    # Where rate limits are counted: empty means a SQLite file of its own in the instance
    # folder (shared by the workers of one machine); "redis://host:6379/0" across machines;
    # "memory://" counts in each process alone.
    "RATELIMIT_STORAGE_URI": "",
    "RATELIMIT_ENABLED": True,
    # JSON API: requests per client address (Flask-Limiter notation, e.g. "120/minute;
    # 2000/hour"), and how long a shared cache may serve an answer before revalidating.
    "API_RATE_LIMIT": "120 per minute",
    "API_CACHE_MAX_AGE": 15,
    # Pages' rate limits (Flask-Limiter notation; see signatory/ratelimits/budgets.py).
    # Per client address (IPv6 by /64): sign POSTs and "send me a new link" POSTs.
    "SIGN_RATE_LIMIT": "10 per minute; 50 per hour; 200 per day",
    # Per email domain, for sign POSTs that passed the form's checks; the large public
    # mail providers (gmail.com, outlook.com, ...) have their own, larger budget.
    "SIGN_DOMAIN_RATE_LIMIT": "20 per hour; 100 per day",
    "SIGN_PROVIDER_RATE_LIMIT": "300 per hour; 2000 per day",
    # Per address: opening and pressing confirm and withdraw links, and asking to resend one.
    "LINK_RATE_LIMIT": "20 per minute; 100 per hour",
    # Coordinators' sign-in POSTs per address and per account (failed passwords are also
    # throttled in the database, team/accounts.py), and "forgot password" POSTs per address.
    "LOGIN_RATE_LIMIT": "10 per minute; 60 per hour",
    "LOGIN_ACCOUNT_RATE_LIMIT": "5 per minute; 30 per hour",
    "FORGOT_RATE_LIMIT": "5 per 10 minutes; 20 per day",
    # Key rotation: the secret keys SECRET_KEY replaced, as a JSON list of strings
    # ('["old key"]'). Emailed links and session cookies signed with one of them are still
    # accepted; everything new is signed with SECRET_KEY. Remove a key to retire it.
    "SECRET_KEY_FALLBACKS": (),
    # Token lifetimes, in seconds.
    "CONFIRM_TOKEN_MAX_AGE": 7 * 24 * 3600,
    "WITHDRAW_TOKEN_MAX_AGE": 365 * 24 * 3600,
    "INVITE_TOKEN_MAX_AGE": 7 * 24 * 3600,
    "RESET_TOKEN_MAX_AGE": 3600,
    # Unconfirmed signatures older than this are purged by ``flask signatures purge``.
    "UNCONFIRMED_PURGE_DAYS": 14,
    # Privacy (``flask privacy purge``, also run by the mail worker), all in days: withdrawn
    # and rejected signatures lose their personal data this long after leaving the list;
    # sent or failed emails lose their recipient and context; coordinator sign-in attempts
    # are deleted; signatures lose their client-address prefix; and every signature of a
    # delivered letter loses its email and private fields this long after the delivery.
    "WITHDRAWN_RETENTION_DAYS": 30,
    "OUTBOX_RETENTION_DAYS": 30,
    "SIGN_IN_ATTEMPT_RETENTION_DAYS": 30,
    "CLIENT_PREFIX_RETENTION_DAYS": 30,
    "DELIVERED_RETENTION_DAYS": 90,
    # The signer's manage-my-signature link, in seconds.
    "MANAGE_TOKEN_MAX_AGE": 30 * 24 * 3600,
    # Outbox: give up after this many attempts; the backoff is capped at 10 minutes.
    "MAIL_MAX_ATTEMPTS": 20,
    "MAIL_WORKER_INTERVAL": 2.0,
    # Coordinators who chose a daily digest get it from the mail worker after this hour (UTC).
    "DIGEST_HOUR_UTC": 7,
    # email-validator's DNS check; off by default so a first run needs no network.
    "EMAIL_CHECK_DELIVERABILITY": False,
    "PUBLIC_PAGE_SIZE": 100,
    # Coordinator sessions end after this long without a request, and this long at most.
    "SESSION_IDLE_MINUTES": 60,
    "SESSION_MAX_HOURS": 12,
    # Forms are small; anything larger is refused before it is parsed.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_PARTS": 100,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    # No ping before every use: PostgreSQL's connections are pinged only after they sat
    # idle (core.database._configure_postgresql), and a file has none to drop.
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # SQLite: how long (seconds) a write waits for another writer's lock before the request
    # is answered 503 with Retry-After (nothing saved).
    "DATABASE_BUSY_TIMEOUT": 15,
    # The sign form: a form sent sooner than this many seconds after it was shown is sent
    # back unsaved (a person reads the letter first; a script posts at once).
    "SIGN_MIN_SECONDS": 2,
    # Emails a signature, and an address across all letters, may be sent per 24 hours
    # (counted in the outbox); past the cap, signing again queues nothing.
    "SIGNER_EMAILS_PER_SIGNATURE_PER_DAY": 5,
    "SIGNER_EMAILS_PER_ADDRESS_PER_DAY": 10,
    # Behind a reverse proxy, how many of them to trust for X-Forwarded-* (0: none).
    "PROXY_FIX": 0,
    # Rendered public pages of a letter (signatory/caching): empty keeps them in each
    # process's memory (at most CACHE_MEMORY_MB), "redis://host:6379/1" in Redis for every
    # node (each kept CACHE_TTL seconds at most), "none" nowhere.
    "CACHE_URL": "",
    "CACHE_TTL": 3600,
    "CACHE_MEMORY_MB": 32,
}


# The retention periods, in days, that ``privacy.retention`` applies.
RETENTION_KEYS = (
    "UNCONFIRMED_PURGE_DAYS",
    "WITHDRAWN_RETENTION_DAYS",
    "OUTBOX_RETENTION_DAYS",
    "SIGN_IN_ATTEMPT_RETENTION_DAYS",
    "CLIENT_PREFIX_RETENTION_DAYS",
    "DELIVERED_RETENTION_DAYS",
)


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says which setting and why."""


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("SIGNATORY")
    if test_config:
        app.config.from_mapping(test_config)
    _fill_instance_defaults(app, test_config)
    validate_config(app.config)


def _fill_instance_defaults(app: Flask, test_config: dict[str, Any] | None) -> None:
    instance = Path(app.instance_path)
    config = app.config
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'signatory.sqlite3'}"
        config["USING_DEFAULT_DATABASE"] = True
    if not config.get("MAIL_URL"):
        config["MAIL_URL"] = (instance / "mail").as_uri()
        config["USING_DEFAULT_MAIL"] = True
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(instance / DEVELOPMENT_SECRET_FILE)
        config["USING_GENERATED_SECRET"] = True
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if not config.get("RATELIMIT_STORAGE_URI"):
        # A file of its own, never the app's database: counting a request must not wait
        # for the write lock a signature needs.
        config["RATELIMIT_STORAGE_URI"] = f"sqlite:///{instance / RATELIMIT_FILE}"
    config["BASE_URL"] = str(config["BASE_URL"]).rstrip("/")
    # Served over HTTPS, the session cookie (which carries the CSRF secret) never goes
    # over plain HTTP.
    if "SESSION_COOKIE_SECURE" not in (test_config or {}) and not os.environ.get(
        "SIGNATORY_SESSION_COOKIE_SECURE"
    ):
        config["SESSION_COOKIE_SECURE"] = config["BASE_URL"].startswith("https://")


def _instance_secret(path: Path) -> str:
    """Read the generated secret, creating it once with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    # O_EXCL: if two processes start at once, one writes and the other reads its key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _validate_rate_limits(config: dict[str, Any]) -> None:
    for key in RATE_LIMIT_SETTINGS:
        try:
            rates = parse_many(str(config[key]))
        except ValueError:
            rates = []
        if not rates:
            raise ConfigError(
                f"SIGNATORY_{key} must be a rate such as '120 per minute' or "
                f"'120/minute;2000/hour', got {config[key]!r}"
            )
    uri = str(config["RATELIMIT_STORAGE_URI"])
    scheme = urlsplit(uri).scheme
    if scheme not in _RATELIMIT_SCHEMES:
        raise ConfigError(
            "SIGNATORY_RATELIMIT_STORAGE_URI must be sqlite:///path, redis://host:port or "
            f"memory://, got {uri!r}"
        )
    database = str(config["DATABASE_URL"])
    if scheme == "sqlite" and database.startswith("sqlite:"):
        limits_file = uri.split(":", 1)[1].lstrip("/")
        if limits_file and limits_file == database.split(":", 1)[1].lstrip("/"):
            raise ConfigError(
                "SIGNATORY_RATELIMIT_STORAGE_URI must name a file of its own, not the "
                "app's database"
            )
    # Flask-Limiter reads this flag; a string from the environment would be always true.
    if not isinstance(config["RATELIMIT_ENABLED"], bool):
        raise ConfigError("SIGNATORY_RATELIMIT_ENABLED must be true or false")
    hops = config["PROXY_FIX"]
    # bool is an int in Python; "true" from the environment is not a number of proxies.
    if type(hops) is not int or hops < 0:
        raise ConfigError(
            "SIGNATORY_PROXY_FIX must be the whole number of reverse proxies in front "
            f"(0 when none), got {hops!r}"
        )


def _validate_key_fallbacks(config: dict[str, Any]) -> None:
    # A plain string would be read one character at a time as a list of one-letter keys
    # (Flask's session does so), letting anyone sign a cookie: only a real list passes.
    fallbacks = config["SECRET_KEY_FALLBACKS"]
    if not isinstance(fallbacks, list | tuple) or not all(
        isinstance(key, str) and key for key in fallbacks
    ):
        raise ConfigError(
            "SIGNATORY_SECRET_KEY_FALLBACKS must be a JSON list of the old secret keys, "
            "such as '[\"my old key\"]' (or [] for none); got "
            # Never the value: it is a secret.
            + (
                "a list with an empty or non-text entry"
                if isinstance(fallbacks, list | tuple)
                else f"a {type(fallbacks).__name__}"
            )
        )
    if config.get("ENV_PRODUCTION") and any(len(key) < 32 for key in fallbacks):
        raise ConfigError(
            "SIGNATORY_SECRET_KEY_FALLBACKS: each key must be at least 32 characters in production"
        )


def validate_config(config: dict[str, Any]) -> None:
    """Refuse settings that cannot work, and development defaults in production."""
    database = str(config["DATABASE_URL"])
    if not database.startswith(("sqlite:", "postgresql")):
        raise ConfigError(
            "SIGNATORY_DATABASE_URL must be sqlite:///… or postgresql+psycopg://…, "
            f"got {database!r}"
        )
    mail_scheme = urlsplit(str(config["MAIL_URL"])).scheme
    if mail_scheme not in {"smtp", "file", "console"}:
        raise ConfigError(
            "SIGNATORY_MAIL_URL must be smtp://host:port, file:///dir or console:, "
            f"got {config['MAIL_URL']!r}"
        )
    base = urlsplit(str(config["BASE_URL"]))
    if base.scheme not in {"http", "https"} or not base.netloc:
        raise ConfigError(f"SIGNATORY_BASE_URL must be an absolute http(s) URL, got {base!r}")
    for key in (
        "CONFIRM_TOKEN_MAX_AGE",
        "WITHDRAW_TOKEN_MAX_AGE",
        "INVITE_TOKEN_MAX_AGE",
        "RESET_TOKEN_MAX_AGE",
        "MANAGE_TOKEN_MAX_AGE",
        "MAIL_MAX_ATTEMPTS",
    ):
        if not isinstance(config[key], int) or config[key] <= 0:
            raise ConfigError(f"SIGNATORY_{key} must be a positive whole number")
    for key in RETENTION_KEYS:
        # bool is an int in Python; "true" parsed from the environment is not a period.
        if type(config[key]) is not int or config[key] < 1:
            raise ConfigError(f"SIGNATORY_{key} must be a whole number of days, 1 or more")
    _validate_rate_limits(config)
    _validate_key_fallbacks(config)
    busy = config["DATABASE_BUSY_TIMEOUT"]
    if type(busy) not in (int, float) or busy < 0:
        raise ConfigError("SIGNATORY_DATABASE_BUSY_TIMEOUT must be a number of seconds, 0 or more")
    if type(config["SIGN_MIN_SECONDS"]) not in (int, float) or config["SIGN_MIN_SECONDS"] < 0:
        raise ConfigError("SIGNATORY_SIGN_MIN_SECONDS must be a number of seconds, 0 or more")
    for key in ("SIGNER_EMAILS_PER_SIGNATURE_PER_DAY", "SIGNER_EMAILS_PER_ADDRESS_PER_DAY"):
        if type(config[key]) is not int or config[key] <= 0:
            raise ConfigError(f"SIGNATORY_{key} must be a positive whole number")
    if not isinstance(config["API_CACHE_MAX_AGE"], int) or config["API_CACHE_MAX_AGE"] < 0:
        raise ConfigError("SIGNATORY_API_CACHE_MAX_AGE must be a whole number of seconds")
    cache = str(config["CACHE_URL"])
    if cache not in ("", "none") and urlsplit(cache).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(
            "SIGNATORY_CACHE_URL must be empty (memory), none, or redis://host:port/db, "
            f"got {cache!r}"
        )
    for key in ("CACHE_TTL", "CACHE_MEMORY_MB"):
        if type(config[key]) is not int or config[key] <= 0:
            raise ConfigError(f"SIGNATORY_{key} must be a positive whole number")
    digest_hour = config["DIGEST_HOUR_UTC"]
    # bool is an int in Python; "true" parsed from the environment is not an hour.
    if type(digest_hour) is not int or not 0 <= digest_hour <= 23:
        raise ConfigError("SIGNATORY_DIGEST_HOUR_UTC must be a whole hour from 0 to 23")
    if config.get("ENV_PRODUCTION"):
        problems = [
            name
            for name, flag in (
                ("SIGNATORY_SECRET_KEY", "USING_GENERATED_SECRET"),
                ("SIGNATORY_DATABASE_URL", "USING_DEFAULT_DATABASE"),
                ("SIGNATORY_MAIL_URL", "USING_DEFAULT_MAIL"),
            )
            if config.get(flag)
        ]
        if problems:
            raise ConfigError(
                "SIGNATORY_ENV_PRODUCTION is set but these still use development defaults: "
                + ", ".join(problems)
            )
        if len(str(config["SECRET_KEY"])) < 32:
            raise ConfigError("SIGNATORY_SECRET_KEY must be at least 32 characters in production")
