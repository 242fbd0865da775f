"""The signed-in coordinator's own account: name, notifications, language, password."""

from __future__ import annotations

from contextlib import nullcontext

from flask import flash, redirect, render_template, url_for
from flask_babel import force_locale, gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.errors import InvalidArgument
from signatory.core.extensions import db
from signatory.core.i18n import remember_language
from signatory.core.time import utcnow
from signatory.team import accounts
from signatory.team.access import current_coordinator, signed_in, start_session
from signatory.team.forms import PasswordForm, ProfileForm

routes = Routes("manage")


def _page(
    profile: ProfileForm | None = None, password: PasswordForm | None = None, status: int = 200
) -> tuple[str, int]:
    if profile is None:
        profile = ProfileForm(obj=current_user, formdata=None)
        # No stored language shows as the first choice, "the one my browser asks for".
        profile.language.data = current_user.language or ""
    if password is None:
        password = PasswordForm(formdata=None)
    page = render_template("team/manage/account.html", profile=profile, password_form=password)
    return page, status


@routes.get("/account")
@signed_in
def account() -> tuple[str, int]:
    """The coordinator's name, notification choice, and a form to change the password."""
    return _page()


@routes.post("/account/profile")
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
            language=form.language.data,
            now=utcnow(),
        )
    except InvalidArgument as error:
        db.session.rollback()
        form.name.errors = [str(error)]
        return _page(profile=form, status=400)
    db.session.commit()
    language = current_coordinator().language
    # The next page speaks the chosen language at once, and so does this message.
    with force_locale(language) if language else nullcontext():
        flash(gettext("Your account is saved.") if changed else gettext("Nothing to change."), "ok")
    return remember_language(redirect(url_for("manage.account"), code=303), language)


@routes.post("/account/password")
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
