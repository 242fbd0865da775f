"""The public side: letters, the list of signatories, and its downloads."""

from flask import Blueprint

from signatory.core.access import declare

bp = declare(Blueprint("public", __name__), "public")
