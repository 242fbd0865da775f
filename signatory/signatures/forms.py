"""The sign form, and the moderators' forms (decisions, unpublishing, corrections).

The sign form's field names are a contract (docs/architecture.md); limits and messages are ours.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, NamedTuple

from flask import current_app, g
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from itsdangerous import BadSignature, TimestampSigner
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
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

from signatory.core.i18n import current_locale, local_countries, organization_types
from signatory.core.text import stripped
from signatory.core.tokens import accepted_keys, fallback_keys
from signatory.models import SignatureKind
from signatory.models.signature import NAME_MAX
from signatory.organizations import statements
from signatory.organizations.images import LogoRefused, PreparedLogo, prepare_upload
from signatory.signatures import signing
from signatory.signatures.moderation import REASON_MAX
from signatory.signatures.signing import EMAIL_MAX, REQUIRED, WEBSITE_MAX, FieldRefused


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


# The checks themselves are plain functions in ``signatures.signing``, which the
# spreadsheet import runs too; here they become WTForms validators.


def _one_line(form: FlaskForm, field: Any) -> None:
    try:
        signing.check_one_line(field.data or "")
    except FieldRefused as error:
        raise ValidationError(str(error)) from None


def _no_url(form: FlaskForm, field: Any) -> None:
    try:
        signing.check_no_url(field.data or "")
    except FieldRefused as error:
        raise ValidationError(str(error)) from None


def _length(limit: int) -> Length:
    return Length(max=limit, message=signing.length_message(limit))


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
        validators=[InputRequired(REQUIRED["kind"])],
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
    # Optional, organizations only: checked and re-encoded (``organizations.images``) when
    # the form is validated, kept in ``prepared_logo`` for the view to store.
    logo = FileField(_l("Organization logo"))
    # Organizations only: the signer confirms they may sign for it. The wording shown (in the
    # language shown) is stored with the signature, with the time (``authorised_statement``).
    authorised = BooleanField(_l("I am authorised to sign on behalf of this organization"))
    country = LongSelectField(
        _l("Country"), validators=[InputRequired(REQUIRED["country"])], widget=LongSelect()
    )
    name = StringField(
        _l("Your name"),
        filters=[stripped],
        validators=[
            InputRequired(REQUIRED["name"]),
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
            InputRequired(REQUIRED["email"]),
            _length(EMAIL_MAX),
        ],
    )
    # Unticked unless the signer ticks it: their consent to the letter's update emails
    # (``updates``), stored with its time.
    updates_consent = BooleanField(
        _l("Email me updates about this letter (at most a few; unsubscribe with one click)")
    )
    # Only where the letter asks for it (``statements``): elsewhere ignored, never refused.
    statement = TextAreaField(
        _l(
            "Why we signed (optional, up to 280 characters): shown on the list after a "
            "coordinator approves it"
        )
    )
    started = FillTimeField()
    reference_code = StringField(_l("Leave this field empty"))
    # The token of the invitation that opened the form, on an invite-only letter
    # (``invites``); checked by the sign POST, never trusted for more than it names.
    invitation = HiddenField(filters=[stripped])

    def __init__(
        self, *args: Any, allow_individuals: bool = True, check_deliverability: bool = False,
        statements: bool = False, **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.allow_individuals = allow_individuals
        self.statements = statements
        self.check_deliverability = check_deliverability
        self.email_domain = ""
        self.held_back = False
        self.prepared_logo: PreparedLogo | None = None
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
    def posted(
        cls, *, allow_individuals: bool, check_deliverability: bool, statements: bool = False
    ) -> SignForm:
        """The form as the sign POST reads it: without a CSRF field of its own.

        CSRFProtect checked the request's token before the view ran, as for every POST
        (``core.extensions``); the form's own field would only check it again, and draw a
        new token that no page shows when the signature is taken. A refusal's page draws
        the form again with one (``shown_again``).
        """
        return cls(
            allow_individuals=allow_individuals,
            check_deliverability=check_deliverability,
            statements=statements,
            meta={"csrf": False},
        )

    def shown_again(self) -> SignForm:
        """This form as it was sent, with its errors, to draw again: with a CSRF token."""
        shown = SignForm(
            allow_individuals=self.allow_individuals,
            check_deliverability=self.check_deliverability,
            statements=self.statements,
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

    @property
    def authorised_statement(self) -> str | None:
        """The statement the organization's signer ticked, as the page showed it; else None."""
        if not self.is_organization or not self.authorised.data:
            return None
        return str(self.authorised.label.text)

    def validate_authorised(self, field: Any) -> None:
        # Required only for organizations: an individual signs for nobody but themselves.
        if self.is_organization and not field.data:
            raise ValidationError(
                gettext("Tick this box to confirm that you may sign for the organization.")
            )

    def validate_logo(self, field: Any) -> None:
        # A file sent with an individual's signature is ignored, not refused.
        if not self.is_organization or not isinstance(field.data, FileStorage):
            return
        if not field.data.filename:
            return
        try:
            self.prepared_logo = prepare_upload(
                field.data.stream, max_bytes=current_app.config["LOGO_MAX_BYTES"]
            )
        except LogoRefused as refused:
            raise ValidationError(
                f"{refused} " + gettext("Choose the file again when you send the form.")
            ) from None

    def validate_statement(self, field: Any) -> None:
        # On a letter that does not ask for statements, whatever was sent is dropped.
        if not self.statements:
            field.data = None
            return
        try:
            field.data = statements.checked_statement(field.data)
        except statements.StatementRefused as error:
            raise ValidationError(str(error)) from None

    def validate_kind(self, field: Any) -> None:
        if field.data == SignatureKind.INDIVIDUAL and not self.allow_individuals:
            raise ValidationError(gettext("This letter is signed by organizations only."))

    # The rules are ``signatures.signing``'s (the spreadsheet import runs them too).
    def validate_country(self, field: Any) -> None:
        try:
            signing.check_country(field.data)
        except FieldRefused as error:
            raise ValidationError(str(error)) from None

    def validate_organization(self, field: Any) -> None:
        try:
            signing.check_organization(field.data, is_organization=self.is_organization)
        except FieldRefused as error:
            raise ValidationError(str(error)) from None

    def validate_organization_type(self, field: Any) -> None:
        try:
            signing.check_organization_type(field.data, is_organization=self.is_organization)
        except FieldRefused as error:
            raise ValidationError(str(error)) from None

    def validate_website(self, field: Any) -> None:
        try:
            field.data = signing.checked_website(field.data, is_organization=self.is_organization)
        except FieldRefused as error:
            raise ValidationError(str(error)) from None

    def validate_email(self, field: Any) -> None:
        try:
            field.data, self.email_domain = signing.checked_email(
                field.data, check_deliverability=self.check_deliverability
            )
        except FieldRefused as error:
            raise ValidationError(str(error)) from None


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
