"""The coordinators' form for the re-confirmation policy."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from signatory.reconfirm.lapsing import DAYS_MAX, DAYS_MIN

# More digits than any number of days the policy takes: refused before being read as one
# (a few hundred digits would overflow the range check's float comparison).
_DIGITS_MAX = 6


class _DaysField(IntegerField):
    """An integer field that refuses overlong input as not a number of days."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and len(str(valuelist[0]).strip()) > _DIGITS_MAX:
            self.data = None
            raise ValueError(self.gettext("Not a valid integer value."))
        super().process_formdata(valuelist)


class PolicyForm(FlaskForm):
    """How many days signatories told of a change have to keep their signature (empty: off)."""

    days = _DaysField(
        _l("Days to keep a signature after being told"),
        description=_l(
            "Leave empty to hide nobody. Otherwise, %(min)s to %(max)s days.",
            min=DAYS_MIN,
            max=DAYS_MAX,
        ),
        validators=[
            Optional(),
            NumberRange(
                min=DAYS_MIN,
                max=DAYS_MAX,
                message=_l("Choose between %(min)s and %(max)s days.", min=DAYS_MIN, max=DAYS_MAX),
            ),
        ],
    )
