"""The sign form, and the moderators' forms (decisions, unpublishing, corrections).

The sign form's field names are a contract (docs/architecture.md); limits and messages are ours.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from signatory.core.domains import host_of_website
from signatory.core.i18n import (
    ORGANIZATION_TYPES,
    countries,
    local_countries,
    organization_types,
)
from signatory.core.text import has_control_characters
from signatory.models import SignatureKind
from signatory.models.signature import NAME_MAX
from signatory.signatures.moderation import REASON_MAX

WEBSITE_MAX = 300
EMAIL_MAX = 254


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _choices(prompt: Any, options: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice("", prompt)] + [SelectChoice(v, label) for v, label in options.items()]


def _one_line(form: FlaskForm, field: Any) -> None:
    if field.data and has_control_characters(field.data):
        raise ValidationError(gettext("Use letters, numbers and punctuation only, on one line."))


class SignForm(FlaskForm):
    # Labels and messages are lazy: the form class is built once, each request reads them
    # in its own language.
    kind = RadioField(
        _l("I am signing"),
        choices=[
            SelectChoice(SignatureKind.ORGANIZATION.value, _l("on behalf of an organization")),
            SelectChoice(SignatureKind.INDIVIDUAL.value, _l("as an individual")),
        ],
        default=SignatureKind.ORGANIZATION.value,
        validators=[InputRequired(_l("Choose whether you sign for an organization or yourself."))],
    )
    organization = StringField(
        _l("Organization"),
        filters=[_strip],
        # No Optional(): it would stop the chain before validate_organization, which
        # requires the field for organizations.
        validators=[Length(max=NAME_MAX), _one_line],
    )
    country = SelectField(_l("Country"), validators=[InputRequired(_l("Choose a country."))])
    organization_type = SelectField(_l("Type of organization"))
    website = StringField(
        _l("Organization website"),
        filters=[_strip],
        validators=[Length(max=WEBSITE_MAX), _one_line],
    )
    name = StringField(
        _l("Your name"),
        filters=[_strip],
        validators=[
            InputRequired(_l("Enter your name.")),
            Length(max=NAME_MAX),
            _one_line,
        ],
    )
    title = StringField(
        _l("Your title or role"),
        filters=[_strip],
        validators=[Optional(), Length(max=NAME_MAX), _one_line],
    )
    email = StringField(
        _l("Work email"),
        filters=[_strip],
        validators=[
            InputRequired(_l("Enter your email address.")),
            Length(max=EMAIL_MAX),
        ],
    )

    def __init__(
        self, *args: Any, allow_individuals: bool = True, check_deliverability: bool = False,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.allow_individuals = allow_individuals
        self.check_deliverability = check_deliverability
        self.email_domain = ""
        self.country.choices = _choices(gettext("Choose a country"), local_countries())
        self.organization_type.choices = _choices(gettext("Choose a type"), organization_types())
        if not allow_individuals:
            self.kind.choices = [
                c for c in self.kind.choices if c.value == SignatureKind.ORGANIZATION
            ]

    @property
    def is_organization(self) -> bool:
        return self.kind.data != SignatureKind.INDIVIDUAL

    def validate_kind(self, field: Any) -> None:
        if field.data == SignatureKind.INDIVIDUAL and not self.allow_individuals:
            raise ValidationError(gettext("This letter is signed by organizations only."))

    def validate_country(self, field: Any) -> None:
        if field.data not in countries():
            raise ValidationError(gettext("Choose a country from the list."))

    def validate_organization(self, field: Any) -> None:
        if self.is_organization and not field.data:
            raise ValidationError(gettext("Enter the name of the organization you sign for."))

    def validate_organization_type(self, field: Any) -> None:
        if not self.is_organization:
            return
        if not field.data:
            raise ValidationError(gettext("Choose the type of organization."))
        if field.data not in ORGANIZATION_TYPES:
            raise ValidationError(gettext("Choose a type from the list."))

    def validate_website(self, field: Any) -> None:
        if not self.is_organization:
            return
        if not field.data:
            raise ValidationError(
                gettext("Enter the organization's website, e.g. https://example.org.")
            )
        value = field.data
        if "://" not in value:
            value = f"https://{value}"
        parts = urlsplit(value)
        host = host_of_website(value)
        if parts.scheme not in {"http", "https"} or not host or "." not in host:
            raise ValidationError(gettext("Enter a web address starting with http:// or https://."))
        field.data = value

    def validate_email(self, field: Any) -> None:
        try:
            result = validate_email(field.data, check_deliverability=self.check_deliverability)
        except EmailNotValidError as exc:
            # email-validator explains in English what is wrong; the sentence around it
            # is ours and translated.
            raise ValidationError(
                gettext("Enter a valid email address: %(reason)s", reason=exc)
            ) from None
        field.data = result.normalized
        self.email_domain = result.ascii_domain


# --- Moderation ---------------------------------------------------------------------------


_REASON = TextAreaField(
    _l("Reason"),
    filters=[_strip],
    validators=[
        Length(
            max=REASON_MAX,
            message=_l("Keep the reason under %(max)s characters.", max=REASON_MAX),
        )
    ],
)


class DecisionForm(FlaskForm):
    """Approve or reject the ticked signatures, with one optional reason for all of them."""

    # The checkboxes are drawn by the template, one per row; any id is accepted here and
    # the service checks each belongs to the letter and is awaiting review.
    signature = SelectMultipleField(coerce=int, validate_choice=False)
    decision = HiddenField()
    reason = _REASON
    # The queue page the form was sent from, to come back to it.
    after = HiddenField()
    # "signature" when sent from one signature's page, to go back there.
    return_to = HiddenField()


class UnpublishForm(FlaskForm):
    reason = _REASON


def _name_validators() -> list[Any]:
    return [
        # Checked after the spaces are stripped: "   " is empty too.
        DataRequired(_l("Enter the corrected name; it cannot be empty.")),
        Length(max=NAME_MAX, message=_l("Keep it under %(max)s characters.", max=NAME_MAX)),
        _one_line,
    ]


# The same limits as the sign form (above): a correction may not smuggle in
# what a signer could not have typed.
class CorrectOrganizationForm(FlaskForm):
    organization = StringField(_l("Organization"), filters=[_strip], validators=_name_validators())


class CorrectNameForm(FlaskForm):
    name = StringField(_l("Signer name"), filters=[_strip], validators=_name_validators())


CORRECTION_FORMS: dict[str, type[FlaskForm]] = {
    "organization": CorrectOrganizationForm,
    "name": CorrectNameForm,
}
