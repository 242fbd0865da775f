"""Organizations shown as organizations: logos (uploaded, checked, approved, the logo
wall), lead organizations, and the "authorised to sign" statement."""

from __future__ import annotations

from flask import Flask, current_app, request

from signatory.core.access import Sides
from signatory.core.config import ConfigError

# Logos: the largest file taken (LOGO_MAX_BYTES), and the logo wall's page.
LOGO_DEFAULTS = {"LOGO_MAX_BYTES": 2 * 1024 * 1024, "LOGO_WALL_PAGE_SIZE": 48}
# The forms that may carry a logo file, as multipart.
LOGO_UPLOADS = frozenset({"signing.sign", "signing.upload_logo"})


def _room_for_a_logo() -> None:
    """Let a multipart post to a logo form be large enough for its file.

    Every other request keeps MAX_CONTENT_LENGTH (64 KiB). Up to twice the logo limit is
    read, so a file somewhat too large gets the form back with its message and what was
    typed; beyond that the 413 page. The form's text fields keep the usual limit each.
    """
    if request.endpoint in LOGO_UPLOADS and request.mimetype == "multipart/form-data":
        config = current_app.config
        request.max_content_length = 2 * config["LOGO_MAX_BYTES"] + config["MAX_CONTENT_LENGTH"]
        request.max_form_memory_size = config["MAX_CONTENT_LENGTH"]


def init_app(app: Flask, sides: Sides) -> None:
    """The logo pages and the organizations' workspace pages."""
    from signatory.organizations import public
    from signatory.organizations.manage import leads as manage_leads
    from signatory.organizations.manage import logos as manage_logos
    from signatory.organizations.manage import statements as manage_statements

    for key, value in LOGO_DEFAULTS.items():
        app.config.setdefault(key, value)
        if type(app.config[key]) is not int or app.config[key] < 1:
            raise ConfigError(f"SIGNATORY_{key} must be a positive whole number")
    sides.add(public.public_routes, public.routes, manage_logos.routes)
    sides.add(manage_leads.routes, manage_statements.routes)
    sides.manage.context_processor(manage_logos.pending_logo_count)
    # Before the CSRF check, which reads the form (and so the body) first.
    app.before_request_funcs.setdefault(None, []).insert(0, _room_for_a_logo)
