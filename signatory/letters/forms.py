"""The forms of the letters' workspace pages: a new draft, its text, its settings, translations."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, Regexp

from signatory.letters.service import (
    BODY_MAX,
    CHANGE_NOTE_MAX,
    CORRECTION,
    RECIPIENT_MAX,
    SLUG,
    SLUG_MAX,
    SUBSTANTIVE,
    TITLE_MAX,
)
from signatory.letters.texts import TranslationError, parse_language
from signatory.models import Moderation
from signatory.models.letter import DisposableEmail

MODERATION_CHOICES = [
    SelectChoice(
        Moderation.NONE.value, _l("None: signatures are published as soon as they are confirmed")
    ),
    SelectChoice(
        Moderation.MISMATCH.value,
        _l("Organizations whose email domain does not match their website are reviewed first"),
    ),
    SelectChoice(Moderation.ALL.value, _l("Every signature is reviewed before it is published")),
]


DISPOSABLE_EMAIL_CHOICES = [
    SelectChoice(
        DisposableEmail.REFUSE.value,
        _l("Refused: the signer is asked for an address they will keep"),
    ),
    SelectChoice(
        DisposableEmail.REVIEW.value,
        _l("Accepted, and reviewed by a moderator before they are published"),
    ),
]


KIND_CHOICES = [
    SelectChoice(CORRECTION, _l("Correction: typos or formatting; the meaning is unchanged")),
    SelectChoice(SUBSTANTIVE, _l("Substantive: what the letter says or asks has changed")),
]


def _at_most(limit: int) -> Any:
    """A length limit's message, with the number grouped as people read it."""
    grouped = format(limit, ",")
    return _l("At most %(max)s characters.", max=grouped)


# Fields that the new-letter form shares with the text and settings forms.
def _title_field() -> StringField:
    return StringField(
        _l("Title"),
        validators=[
            InputRequired(_l("Give the letter a title.")),
            Length(max=TITLE_MAX, message=_at_most(TITLE_MAX)),
        ],
    )


def _recipient_field() -> StringField:
    return StringField(
        _l("Recipient"),
        validators=[
            InputRequired(_l("Say to whom the letter is addressed.")),
            Length(max=RECIPIENT_MAX, message=_at_most(RECIPIENT_MAX)),
        ],
    )


def _body_field() -> TextAreaField:
    return TextAreaField(
        _l("Text (Markdown)"),
        validators=[
            InputRequired(_l("Write the text of the letter.")),
            Length(max=BODY_MAX, message=_at_most(BODY_MAX)),
        ],
    )


class NewLetterForm(FlaskForm):
    slug = StringField(
        _l("Web address"),
        validators=[
            InputRequired(_l("Choose the letter's web address.")),
            Length(max=SLUG_MAX, message=_at_most(SLUG_MAX)),
            Regexp(
                SLUG,
                message=_l(
                    "Use lowercase letters, digits and single hyphens, e.g. civic-space-2025."
                ),
            ),
        ],
    )
    title = _title_field()
    recipient = _recipient_field()
    body = _body_field()


class TextForm(FlaskForm):
    body = _body_field()
    # Whether kind and note are required is the service's decision: it knows whether
    # the letter has been signed.
    kind = RadioField(_l("Kind of change"), choices=KIND_CHOICES, validators=[Optional()])
    change_note = StringField(
        _l("What changed"),
        validators=[Length(max=CHANGE_NOTE_MAX, message=_at_most(CHANGE_NOTE_MAX))],
    )
    # The version the editor started from, to notice a version published meanwhile.
    based_on = HiddenField()


def stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


# What may group a goal's digits, whatever the coordinator's habit: "5,000", "5 000", "5.000".
_DIGIT_GROUPING = str.maketrans("", "", ",.'\u00a0\u202f _")


def _whole_number(form: FlaskForm, field: StringField) -> None:
    """An empty field is None; otherwise a whole number, its digit grouping ignored."""
    text = (field.data or "").translate(_DIGIT_GROUPING)
    if not text:
        field.data = None
    elif text.isascii() and text.isdigit() and len(text) <= 12:
        field.data = int(text)
    else:
        raise ValidationError(
            _l("Give the goal as a whole number of signatures, such as 5000, or leave it empty.")
        )


class SettingsForm(FlaskForm):
    title = _title_field()
    recipient = _recipient_field()
    deadline = DateTimeLocalField(
        _l("Deadline, in UTC"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        tz=UTC,
        validators=[Optional()],
        invalid_value_message=_l(
            "Give a date and time such as 2030-06-30T17:00, or leave it empty."
        ),
    )
    allow_individuals = BooleanField(_l("Individuals may sign, in their own section"))
    moderation = RadioField(
        _l("Moderation"),
        choices=MODERATION_CHOICES,
        validators=[InputRequired(_l("Choose how signatures are moderated."))],
    )
    require_domain_match = BooleanField(
        _l("Organizations must sign from an email address at their website's domain")
    )
    disposable_email = RadioField(
        _l("Disposable email addresses (mailinator.com and the like)"),
        choices=DISPOSABLE_EMAIL_CHOICES,
        # Checked by the service; a form sent without it leaves the setting as it was.
        validate_choice=False,
    )
    goal = StringField(_l("Signature goal"), filters=[stripped], validators=[_whole_number])
    # Checked by the service (``letters.settings.check_goal``), which words its refusals.
    goal_milestones = StringField(_l("Email the coordinators at"), filters=[stripped])
    # Unticked, or left out of the form, turns it off (as every BooleanField here).
    statements_enabled = BooleanField(_l("Ask signatories why they sign"))


def _language_tag(form: FlaskForm, field: StringField) -> None:
    """Accept a language code the service accepts, canonicalised ("PT_br" -> "pt-BR")."""
    try:
        field.data = parse_language(field.data or "")
    except TranslationError as error:
        raise ValidationError(error.message) from None


def _translated_title_field() -> Any:
    return StringField(
        _l("Title in this language"),
        validators=[
            InputRequired(_l("Give the letter's title in this language.")),
            Length(max=TITLE_MAX, message=_at_most(TITLE_MAX)),
        ],
    )


def _translated_body_field() -> Any:
    return TextAreaField(
        _l("Translated text (Markdown)"),
        validators=[
            InputRequired(_l("Write the translated text.")),
            Length(max=BODY_MAX, message=_at_most(BODY_MAX)),
        ],
    )


class TitleAndTextForm(FlaskForm):
    title = _translated_title_field()
    body = _translated_body_field()


class NewTranslationForm(FlaskForm):
    # Declared first, so it comes first on the page and in the error summary.
    language = StringField(
        _l("Language code"),
        validators=[InputRequired(_l("Give the language's code, e.g. fr.")), _language_tag],
    )
    title = _translated_title_field()
    body = _translated_body_field()


class LanguageForm(FlaskForm):
    language = StringField(
        _l("Language code"), validators=[InputRequired(_l("Choose a language.")), _language_tag]
    )
