"""The coordinators' form for updates: the title and text. (The send and test buttons
carry only the CSRF token, which ``CSRFProtect`` checks for every POST.)"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from signatory.core.text import stripped
from signatory.models.update import UPDATE_BODY_MAX, UPDATE_TITLE_MAX


def _at_most(limit: int) -> Any:
    return _l("At most %(max)s characters.", max=format(limit, ","))


class UpdateForm(FlaskForm):
    """An update's title and Markdown body; the same limits as ``updates.service``'s."""

    title = StringField(
        _l("Title"),
        filters=[stripped],
        validators=[
            DataRequired(_l("Give the update a title.")),
            Length(max=UPDATE_TITLE_MAX, message=_at_most(UPDATE_TITLE_MAX)),
        ],
    )
    body = TextAreaField(
        _l("Text (Markdown)"),
        filters=[stripped],
        validators=[
            DataRequired(_l("Write what the update says.")),
            Length(max=UPDATE_BODY_MAX, message=_at_most(UPDATE_BODY_MAX)),
        ],
    )
