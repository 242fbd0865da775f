"""JSON API v1: public fields only."""

from flask import Blueprint

from signatory.core.access import declare

bp = declare(Blueprint("api", __name__), "api")
