"""The forms of the traffic page: the rule to look at, and the action taken on its matches."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from signatory.core.text import stripped
from signatory.signatures.moderation import REASON_MAX


class RuleForm(FlaskForm):
    """What to match; sent by GET (a dry run changes nothing), so no CSRF token."""

    class Meta:
        csrf = False

    prefix = StringField(_l("Address prefix"), filters=[stripped], validators=[Length(max=64)])
    domain = StringField(_l("Email domain"), filters=[stripped], validators=[Length(max=253)])
    since = StringField(_l("From (UTC)"), filters=[stripped], validators=[Length(max=32)])
    until = StringField(_l("Until (UTC)"), filters=[stripped], validators=[Length(max=32)])


class BulkForm(FlaskForm):
    """Hold or reject what a rule matched: the rule again, and the count the page showed."""

    prefix = HiddenField(validators=[Length(max=64)])
    domain = HiddenField(validators=[Length(max=253)])
    since = HiddenField(validators=[Length(max=32)])
    until = HiddenField(validators=[Length(max=32)])
    expected = IntegerField(
        validators=[InputRequired(), NumberRange(min=1, max=10_000_000)],
    )
    reason = TextAreaField(
        _l("Reason (kept in the audit trail, not sent to anyone)"),
        filters=[stripped],
        validators=[Optional(), Length(max=REASON_MAX)],
    )


class ReleaseForm(FlaskForm):
    """Release a hold: the CSRF token is all it carries."""
