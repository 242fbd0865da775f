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

DEFAULTS: dict[str, Any] = {
    "BASE_URL": "http://127.0.0.1:5000",
    "MAIL_FROM": "signatory@localhost",
    "RATELIMIT_STORAGE_URI": "memory://",
    # JSON API: requests per client address (Flask-Limiter notation, e.g. "120/minute;
    # 2000/hour"), and how long a shared cache may serve an answer before revalidating.
    "API_RATE_LIMIT": "120 per minute",
    "API_CACHE_MAX_AGE": 15,
    # Token lifetimes, in seconds.
    "CONFIRM_TOKEN_MAX_AGE": 7 * 24 * 3600,
    "WITHDRAW_TOKEN_MAX_AGE": 365 * 24 * 3600,
    "INVITE_TOKEN_MAX_AGE": 7 * 24 * 3600,
    "RESET_TOKEN_MAX_AGE": 3600,
    # Unconfirmed signatures older than this are purged by ``flask signatures purge``.
    "UNCONFIRMED_PURGE_DAYS": 14,
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
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    # Behind a reverse proxy, how many of them to trust for X-Forwarded-* (0: none).
    "PROXY_FIX": 0,
}


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
        "MAIL_MAX_ATTEMPTS",
    ):
        if not isinstance(config[key], int) or config[key] <= 0:
            raise ConfigError(f"SIGNATORY_{key} must be a positive whole number")
    try:
        parse_many(str(config["API_RATE_LIMIT"]))
    except ValueError:
        raise ConfigError(
            "SIGNATORY_API_RATE_LIMIT must be a rate such as '120 per minute' or "
            f"'120/minute;2000/hour', got {config['API_RATE_LIMIT']!r}"
        ) from None
    if not isinstance(config["API_CACHE_MAX_AGE"], int) or config["API_CACHE_MAX_AGE"] < 0:
        raise ConfigError("SIGNATORY_API_CACHE_MAX_AGE must be a whole number of seconds")
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
