"""The forms of the coordinators' accounts and teams: sign-in, reset, account, team."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length

from signatory.core.i18n import LANGUAGE_NAMES, LOCALES
from signatory.core.text import stripped
from signatory.models import MembershipRole, NotifyPreference
from signatory.team import accounts
from signatory.team.accounts import PASSWORD_MAX, PASSWORD_MIN
from signatory.team.mail import ROLE_DESCRIPTIONS


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


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    """A new password, typed twice; the length is checked before anything is hashed."""
    return (
        PasswordField(
            _l("New password"),
            description=_l(
                "At least %(min)d characters. A few unrelated words make a good one.",
                min=PASSWORD_MIN,
            ),
            validators=[
                InputRequired(_l("Choose a new password.")),
                Length(
                    min=PASSWORD_MIN,
                    max=PASSWORD_MAX,
                    # WTForms fills in %(min)d and %(max)d.
                    message=_l("Use %(min)d to %(max)d characters."),
                ),
            ],
        ),
        PasswordField(
            _l("New password, again"),
            validators=[
                InputRequired(_l("Type the new password again.")),
                EqualTo("password", message=_l("The two passwords are not the same.")),
            ],
        ),
    )


class ForgotForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[InputRequired(_l("Enter your email.")), Length(max=320)]
    )


class ResetForm(FlaskForm):
    password, password_again = new_password_fields()


NOTIFY_CHOICES = [
    SelectChoice(NotifyPreference.EACH.value, _l("An email for each signature awaiting review")),
    SelectChoice(NotifyPreference.DIGEST.value, _l("One email a day with what awaits review")),
    SelectChoice(NotifyPreference.NONE.value, _l("No emails; I will look in the workspace")),
]


class ProfileForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        filters=[stripped],
        validators=[
            DataRequired(_l("Enter your name.")),
            Length(max=accounts.NAME_MAX, message=_l("Use at most %(max)d characters.")),
        ],
    )
    notify = RadioField(
        _l("Signatures awaiting review"),
        choices=NOTIFY_CHOICES,
        validators=[InputRequired(_l("Choose how you want to hear of signatures to review."))],
    )
    # Each language named in itself, as in the language menu; "" follows the browser.
    language = SelectField(
        _l("Language of the workspace and of your emails"),
        choices=[SelectChoice("", _l("The one my browser asks for"))]
        + [SelectChoice(code, LANGUAGE_NAMES[code], render_kw={"lang": code}) for code in LOCALES],
        default="",
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[
            InputRequired(_l("Enter your current password.")),
            Length(max=PASSWORD_MAX, message=_l("That is longer than any password here.")),
        ],
    )
    password, password_again = new_password_fields()


ROLE_LABELS = {
    MembershipRole.OWNER.value: _l("Owner"),
    MembershipRole.EDITOR.value: _l("Editor"),
    MembershipRole.MODERATOR.value: _l("Moderator"),
}


ROLE_CHOICES = [SelectChoice(role, label) for role, label in ROLE_LABELS.items()]


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        filters=[stripped],
        validators=[DataRequired(_l("Enter the email address to invite.")), Length(max=320)],
    )
    role = RadioField(
        _l("Role"),
        choices=[
            SelectChoice(
                c.value,
                _l(
                    "%(role)s: %(description)s",
                    role=c.label,
                    description=ROLE_DESCRIPTIONS[c.value],
                ),
            )
            for c in ROLE_CHOICES
        ],
        # The least power by default; an owner raises it on purpose.
        default=MembershipRole.MODERATOR.value,
        validators=[InputRequired(_l("Choose a role."))],
    )


class RoleForm(FlaskForm):
    role = SelectField(
        _l("Role"), choices=ROLE_CHOICES, validators=[InputRequired(_l("Choose a role."))]
    )


class JoinForm(FlaskForm):
    """An account for the invited address: a name and a password."""

    name = StringField(
        _l("Your name"),
        filters=[stripped],
        validators=[
            DataRequired(_l("Enter your name.")),
            Length(max=accounts.NAME_MAX, message=_l("Use at most %(max)d characters.")),
        ],
    )
    password, password_again = new_password_fields()
