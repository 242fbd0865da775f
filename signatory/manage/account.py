"""The signed-in coordinator's own account: name, notifications, password."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from signatory.core.errors import InvalidArgument
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.letters import PASSWORD_MAX
from signatory.manage import accounts, bp
from signatory.manage.access import current_coordinator, signed_in, start_session
from signatory.manage.auth import new_password_fields
from signatory.models import NotifyPreference

NOTIFY_CHOICES = [
    SelectChoice(NotifyPreference.EACH.value, _l("An email for each signature awaiting review")),
    SelectChoice(NotifyPreference.DIGEST.value, _l("One email a day with what awaits review")),
    SelectChoice(NotifyPreference.NONE.value, _l("No emails; I will look in the workspace")),
]


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class ProfileForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        filters=[_strip],
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


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[
            InputRequired(_l("Enter your current password.")),
            Length(max=PASSWORD_MAX, message=_l("That is longer than any password here.")),
        ],
    )
    password, password_again = new_password_fields()


def _page(
    profile: ProfileForm | None = None, password: PasswordForm | None = None, status: int = 200
) -> tuple[str, int]:
    if profile is None:
        profile = ProfileForm(obj=current_user, formdata=None)
    if password is None:
        password = PasswordForm(formdata=None)
    page = render_template("manage/account/account.html", profile=profile, password_form=password)
    return page, status


@bp.get("/account")
@signed_in
def account() -> tuple[str, int]:
    """The coordinator's name, notification choice, and a form to change the password."""
    return _page()


@bp.post("/account/profile")
@signed_in
def update_profile() -> Response | tuple[str, int]:
    """Save the display name and the notification choice."""
    form = ProfileForm()
    if not form.validate_on_submit():
        return _page(profile=form, status=400)
    try:
        changed = accounts.update_profile(
            db.session,
            current_coordinator(),
            name=form.name.data,
            notify=form.notify.data,
            now=utcnow(),
        )
    except InvalidArgument as error:
        db.session.rollback()
        form.name.errors = [str(error)]
        return _page(profile=form, status=400)
    db.session.commit()
    flash(gettext("Your account is saved.") if changed else gettext("Nothing to change."), "ok")
    return redirect(url_for("manage.account"), code=303)


@bp.post("/account/password")
@signed_in
def change_password() -> Response | tuple[str, int]:
    """Change the password; every other session of this account is signed out."""
    form = PasswordForm()
    if not form.validate_on_submit():
        return _page(password=form, status=400)
    coordinator = current_coordinator()
    try:
        accounts.change_password(
            db.session,
            coordinator,
            current=form.current_password.data,
            new=form.password.data,
            now=utcnow(),
        )
    except accounts.WrongPassword:
        db.session.rollback()
        form.current_password.errors = [gettext("That is not your current password.")]
        return _page(password=form, status=400)
    except InvalidArgument as error:
        db.session.rollback()
        form.password.errors = [str(error)]
        return _page(password=form, status=400)
    db.session.commit()
    # The new session token ended every session, this one included: begin a fresh one.
    start_session(coordinator)
    flash(
        gettext("Your password is changed. Any other sessions of this account were signed out."),
        "ok",
    )
    return redirect(url_for("manage.account"), code=303)
