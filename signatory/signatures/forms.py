"""The sign form, and the moderators' forms (decisions, unpublishing, corrections).

The sign form's field names are a contract (docs/architecture.md); limits and messages are ours.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app, g
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, TimestampSigner
from markupsafe import Markup
from wtforms import (
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import Select, html_params

from signatory.core.domains import host_of_website
from signatory.core.i18n import (
    ORGANIZATION_TYPES,
    countries,
    current_locale,
    local_countries,
    organization_types,
)
from signatory.core.text import contains_url, has_control_characters, invisible_characters, stripped
from signatory.core.tokens import accepted_keys, fallback_keys
from signatory.models import SignatureKind
from signatory.models.signature import NAME_MAX
from signatory.signatures.moderation import REASON_MAX

WEBSITE_MAX = 300
EMAIL_MAX = 254


class Choices(NamedTuple):
    """A select's options in one language, and the values among them, built once."""

    options: list[SelectChoice]
    values: frozenset[str]


@lru_cache(maxsize=16)
def choices_in(locale: str, which: str) -> Choices:
    """The country or organization type options in ``locale`` (the current language).

    Kept per language: the 250 countries were built again, and each compared with what
    was posted, for every form shown or checked. Never change the list returned.
    """
    if which == "country":
        prompt, named = gettext("Choose a country"), local_countries()
    else:
        prompt, named = gettext("Choose a type"), organization_types()
    options = [SelectChoice("", prompt)] + [SelectChoice(v, label) for v, label in named.items()]
    return Choices(options, frozenset(named) | {""})


# WTForms' own message, translated by its own catalogue (so not one of ours to extract).
WTFORMS_NOT_A_CHOICE = "Not a valid choice."


class LongSelectField(SelectField):
    """A select of a long list, its choice checked by one look-up (``Choices.values``).

    WTForms' own check walks every option, converting each, for every form posted.
    """

    values: frozenset[str] = frozenset()

    def pre_validate(self, form: Any) -> None:
        if self.data not in self.values:
            raise ValidationError(self.gettext(WTFORMS_NOT_A_CHOICE))


class LongSelect(Select):
    """A select of a long, fixed list (the 250 countries), its options escaped once per list.

    WTForms escapes and formats every option on every render: for the country list that
    was a third of the letter page's time. Here the options of each list (a language's
    country names) are rendered once and kept; a render copies them, rendering again only
    the chosen one, so the page is the same as WTForms' own.
    """

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        for flag in self.validation_attrs:
            if flag not in kwargs and getattr(field.flags, flag, False):
                kwargs[flag] = getattr(field.flags, flag)
        pairs = tuple((str(choice.value), str(choice.label)) for choice in field.choices)
        options, position = _rendered_options(pairs)
        # As WTForms decides it: the option whose value equals the field's data, if any.
        chosen = position.get(field.data) if isinstance(field.data, str) else None
        html = list(options)
        if chosen is not None:
            value, label = pairs[chosen]
            html[chosen] = self.render_option(Choice(value, label, True, {}))
        # Every piece is escaped already: html_params escapes the attributes, render_option
        # the values and labels (as WTForms' own Select joins them).
        params = html_params(name=field.name, **kwargs)
        return Markup(f"<select {params}>{''.join(html)}</select>")  # noqa: S704


@lru_cache(maxsize=16)
def _rendered_options(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, ...], dict[str, int]]:
    """Each option of ``pairs`` as WTForms renders it unselected, and where each value is."""
    rendered = tuple(
        str(Select.render_option(Choice(value, label, False, {}))) for value, label in pairs
    )
    return rendered, {value: index for index, (value, _) in enumerate(pairs)}


def _one_line(form: FlaskForm, field: Any) -> None:
    # Invisible format characters first, named, since the bidi controls are among them.
    hidden = invisible_characters(field.data or "")
    if hidden:
        # Refused rather than stripped: what is published must be what the signer typed.
        raise ValidationError(
            gettext(
                "This contains invisible characters (%(characters)s), usually carried along "
                "by copying and pasting. Type it again, or delete them.",
                characters=", ".join(hidden),
            )
        )
    if field.data and has_control_characters(field.data):
        raise ValidationError(gettext("Use letters, numbers and punctuation only, on one line."))


def _no_url(form: FlaskForm, field: Any) -> None:
    if field.data and contains_url(field.data):
        raise ValidationError(
            gettext(
                "Enter a name here, not a web address; the organization's website has a "
                "field of its own."
            )
        )


def _length(limit: int) -> Length:
    # The limit in the message: a 10,000-character paste is told how long it may be.
    return Length(max=limit, message=_l("Keep it under %(max)s characters.", max=f"{limit:,}"))


# --- The sign form's two traps for scripts ----------------------------------------------
#
# A honeypot: a text field people never see (off-screen, hidden from assistive technology,
# out of the tab order, with a name no browser autofills) that a form-filling script fills.
# A fill time: a signed timestamp of when the form was drawn; a form sent back sooner than
# SIGN_MIN_SECONDS is a script's. Either sends the form back, input kept, with a neutral
# message, so a person who was merely quick sends it again. The timestamp has no maximum
# age: a form left open for a day is a person's, and its CSRF token decides whether the
# session still holds (WTF_CSRF_TIME_LIMIT). SIGN_MIN_SECONDS = 0 turns the fill time off.

_FILL_TIME_SALT = "signatory.sign-form-started"


def fill_time_token(secret_key: str, *, now: float | None = None) -> str:
    """The signed "form drawn at" value; ``now`` (a Unix time) is for tests."""
    stamp = time.time() if now is None else now

    class _At(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(stamp)

    return _At(secret_key, salt=_FILL_TIME_SALT).sign("sign").decode()


def seconds_since_drawn(
    secret_key: str | list[str], token: str, *, now: float | None = None
) -> float | None:
    """How long ago the form carrying ``token`` was drawn; None if missing or tampered.

    ``secret_key`` may be the keys accepted, oldest first (the retired ones still in
    ``SECRET_KEY_FALLBACKS``, then the current one), so a rotation spares open forms.
    """
    try:
        _, drawn = TimestampSigner(secret_key, salt=_FILL_TIME_SALT).unsign(
            token, return_timestamp=True
        )
    except (BadSignature, UnicodeError, ValueError):
        return None
    return (time.time() if now is None else now) - drawn.timestamp()


class FillTimeField(HiddenField):
    """A hidden field that always draws a fresh timestamp: each showing of the form starts
    its own clock, so a form sent back (too quick, or with a mistake) counts anew."""

    def _value(self) -> str:
        return drawn_now()


def drawn_now() -> str:
    """This request's "form drawn at" value: the same however often the page asks for it
    (the kept letter page fills it in for each visitor, ``signatures.public``)."""
    if "sign_form_drawn" not in g:
        g.sign_form_drawn = fill_time_token(current_app.config["SECRET_KEY"])
    return str(g.sign_form_drawn)


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
        filters=[stripped],
        # No Optional(): it would stop the chain before validate_organization, which
        # requires the field for organizations.
        validators=[_length(NAME_MAX), _one_line, _no_url],
    )
    # Declared in the order the page shows them: the error summary lists in this order.
    organization_type = LongSelectField(_l("Type of organization"))
    website = StringField(
        _l("Organization website"),
        filters=[stripped],
        validators=[_length(WEBSITE_MAX), _one_line],
    )
    country = LongSelectField(
        _l("Country"), validators=[InputRequired(_l("Choose a country."))], widget=LongSelect()
    )
    name = StringField(
        _l("Your name"),
        filters=[stripped],
        validators=[
            InputRequired(_l("Enter your name.")),
            _length(NAME_MAX),
            _one_line,
            _no_url,
        ],
    )
    title = StringField(
        _l("Your title or role"),
        filters=[stripped],
        validators=[Optional(), _length(NAME_MAX), _one_line, _no_url],
    )
    email = StringField(
        _l("Work email"),
        filters=[stripped],
        validators=[
            InputRequired(_l("Enter your email address.")),
            _length(EMAIL_MAX),
        ],
    )
    started = FillTimeField()
    reference_code = StringField(_l("Leave this field empty"))

    def __init__(
        self, *args: Any, allow_individuals: bool = True, check_deliverability: bool = False,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.allow_individuals = allow_individuals
        self.check_deliverability = check_deliverability
        self.email_domain = ""
        self.held_back = False
        locale = current_locale()
        self.country.choices, self.country.values = choices_in(locale, "country")
        self.organization_type.choices, self.organization_type.values = choices_in(
            locale, "organization_type"
        )
        if not allow_individuals:
            self.kind.choices = [
                c for c in self.kind.choices if c.value == SignatureKind.ORGANIZATION
            ]

    @classmethod
    def posted(cls, *, allow_individuals: bool, check_deliverability: bool) -> SignForm:
        """The form as the sign POST reads it: without a CSRF field of its own.

        CSRFProtect checked the request's token before the view ran, as for every POST
        (``core.extensions``); the form's own field would only check it again, and draw a
        new token that no page shows when the signature is taken. A refusal's page draws
        the form again with one (``shown_again``).
        """
        return cls(
            allow_individuals=allow_individuals,
            check_deliverability=check_deliverability,
            meta={"csrf": False},
        )

    def shown_again(self) -> SignForm:
        """This form as it was sent, with its errors, to draw again: with a CSRF token."""
        shown = SignForm(
            allow_individuals=self.allow_individuals,
            check_deliverability=self.check_deliverability,
        )
        for name, field in self._fields.items():
            shown[name].errors = list(field.errors)
        shown.form_errors = list(self.form_errors)
        shown.held_back = self.held_back
        shown.email_domain = self.email_domain
        return shown

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' checks, then the traps (``held_back`` when one was sprung)."""
        valid = super().validate(extra_validators)
        self.held_back = self._looks_automated()
        return valid and not self.held_back

    def _looks_automated(self) -> bool:
        if self.reference_code.data:
            return True
        minimum = current_app.config["SIGN_MIN_SECONDS"]
        if not minimum:
            return False
        config = current_app.config
        keys = accepted_keys(config["SECRET_KEY"], fallback_keys(config))
        elapsed = seconds_since_drawn(keys, self.started.data or "")
        return elapsed is None or elapsed < minimum

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
        try:
            scheme = urlsplit(value).scheme
        except ValueError:  # "https://[": an unclosed IPv6 bracket
            scheme = ""
        host = host_of_website(value)
        if scheme not in {"http", "https"} or not host or "." not in host:
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
    filters=[stripped],
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
        _length(NAME_MAX),
        _one_line,
        _no_url,
    ]


# The same limits as the sign form (above): a correction may not smuggle in
# what a signer could not have typed.
class CorrectOrganizationForm(FlaskForm):
    organization = StringField(
        _l("Organization"), filters=[stripped], validators=_name_validators()
    )


class CorrectNameForm(FlaskForm):
    name = StringField(_l("Signer name"), filters=[stripped], validators=_name_validators())


CORRECTION_FORMS: dict[str, type[FlaskForm]] = {
    "organization": CorrectOrganizationForm,
    "name": CorrectNameForm,
}
