"""Forms of the workspace that several pages share."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from ..letters import PASSWORD_MAX


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
