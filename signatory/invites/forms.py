"""The coordinators' forms for who may sign: the policy, one invitation, a pasted list.

The fields' own rules are ``invites.service``'s (``checked_entry``, ``parse_lines``) and
``invites.policy``'s (the domains), run by the views, so a form here only bounds what is
read. The resend and revoke buttons carry only the CSRF token, which ``CSRFProtect``
checks for every POST.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from signatory.core.text import stripped
from signatory.models import SigningPolicy
from signatory.models.invitation import EMAIL_MAX, INVITATION_NOTE_MAX
from signatory.models.signature import NAME_MAX

# A pasted list: BATCH_MAX lines of a few hundred characters, with room to spare.
LINES_MAX = 200_000
# The domains as typed: longer than what is stored, since it may hold spaces and repeats.
DOMAINS_TYPED_MAX = 2_000


class PolicyForm(FlaskForm):
    """Whom the letter accepts signatures from, and the allowed domains."""

    signing_policy = RadioField(
        _l("Who may sign"),
        choices=[
            SelectChoice(SigningPolicy.ANYONE.value, _l("Anyone")),
            SelectChoice(SigningPolicy.INVITED.value, _l("Only invited organizations")),
            SelectChoice(
                SigningPolicy.DOMAINS.value, _l("Only email addresses at the domains below")
            ),
        ],
        validators=[InputRequired(_l("Choose who may sign."))],
    )
    allowed_domains = TextAreaField(
        _l("Allowed domains"),
        filters=[stripped],
        validators=[Length(max=DOMAINS_TYPED_MAX, message=_l("That list is too long."))],
    )


class InviteForm(FlaskForm):
    """One organization to invite."""

    organization = StringField(
        _l("Organization"),
        filters=[stripped],
        validators=[Length(max=NAME_MAX, message=_l("Keep it under 200 characters."))],
    )
    email = StringField(
        _l("Contact email"),
        filters=[stripped],
        validators=[Length(max=EMAIL_MAX, message=_l("That address is too long."))],
    )
    name = StringField(
        _l("Contact name"),
        filters=[stripped],
        validators=[Length(max=NAME_MAX, message=_l("Keep it under 200 characters."))],
    )
    note = TextAreaField(
        _l("Note in the email"),
        filters=[stripped],
        validators=[Length(max=INVITATION_NOTE_MAX, message=_l("Keep it under 500 characters."))],
    )


class BatchForm(FlaskForm):
    """Many organizations at once: one "Organization, email" line each."""

    lines = TextAreaField(
        _l("Organizations and contacts"),
        validators=[Length(max=LINES_MAX, message=_l("That is too much to paste at once."))],
    )
