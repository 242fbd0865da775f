"""Forms of the workspace that several pages share."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from signatory.letters import PASSWORD_MAX


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[InputRequired(_l("Enter your email.")), Length(max=320)]
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            InputRequired(_l("Enter your password.")),
            # Checked before any hashing: a slow hash of a huge input is a cheap attack.
            Length(max=PASSWORD_MAX, message=_l("That is longer than any password here.")),
        ],
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token is sent."""


def show_field_error(form: FlaskForm, error: Any, default: str) -> None:
    """Show a service's refusal next to its field: ``error.field``, else ``default``.

    ``error`` is a domain error carrying ``field`` (or None) and ``message``.
    """
    field = getattr(form, error.field or default, None) or getattr(form, default)
    field.errors = [*field.errors, error.message]
