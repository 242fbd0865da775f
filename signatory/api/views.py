"""JSON API v1 (filled in below)."""

from . import bp  # noqa: F401
