"""The organizations' forms: a logo uploaded from the signer's page, a moderator's decision."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Regexp, ValidationError

from signatory.organizations.images import LogoRefused, PreparedLogo, prepare_upload


def logo_from(data: Any) -> PreparedLogo | None:
    """The logo made from a file field's data, None when no file was chosen.

    ``LogoRefused`` (a ``DomainError``) when the file is not taken. The limit is
    ``LOGO_MAX_BYTES``.
    """
    if not isinstance(data, FileStorage) or not data.filename:
        return None
    return prepare_upload(data.stream, max_bytes=current_app.config["LOGO_MAX_BYTES"])


class LogoForm(FlaskForm):
    """A logo chosen on the signer's own page; ``prepared`` holds the image made from it."""

    logo = FileField(_l("Your organization's logo"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: PreparedLogo | None = None
        self.refusal_status = 400

    def validate_logo(self, field: Any) -> None:
        try:
            self.prepared = logo_from(field.data)
        except LogoRefused as refused:
            self.refusal_status = refused.status
            raise ValidationError(str(refused)) from refused
        if self.prepared is None:
            raise ValidationError(_l("Choose the image file of your organization's logo."))


class LogoDecisionForm(FlaskForm):
    """A moderator's decision on one logo, naming the image they saw by its hash."""

    decision = StringField(validators=[AnyOf(("approve", "reject"))])
    sha256 = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}$")])
