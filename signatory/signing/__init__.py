"""Signing, confirming and withdrawing: the signer's pages."""

from flask import Blueprint

from signatory.core.access import declare

bp = declare(Blueprint("signing", __name__), "public")
