"""Signing in and out, and "forgot password" by emailed link."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import EqualTo, InputRequired, Length

from signatory.core.errors import InvalidArgument, InvalidToken
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload, Tokens
from signatory.letters import PASSWORD_MAX, PASSWORD_MIN
from signatory.manage import accounts, bp
from signatory.manage.access import public_route, signed_in, start_session
from signatory.manage.forms import LoginForm
from signatory.models import audit

# Status codes for links that cannot be used, by reason (as for the signers' links).
LINK_STATUS = {"expired": 410, "gone": 410, "revoked": 410, "used": 409, "accepted": 409}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("manage.dashboard")


def tokens() -> Tokens:
    return current_app.extensions["signatory.tokens"]


def private(response: Any) -> Response:
    """Pages reached by an emailed link: never cached, never leaking the token as a referrer."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    """A new password, typed twice; the length is checked before anything is hashed."""
    return (
        PasswordField(
            _l("New password"),
            description=_l(
                "At least %(min)d characters. A few unrelated words make a good one.",
                min=PASSWORD_MIN,
            ),
            validators=[
                InputRequired(_l("Choose a new password.")),
                Length(
                    min=PASSWORD_MIN,
                    max=PASSWORD_MAX,
                    # WTForms fills in %(min)d and %(max)d.
                    message=_l("Use %(min)d to %(max)d characters."),
                ),
            ],
        ),
        PasswordField(
            _l("New password, again"),
            validators=[
                InputRequired(_l("Type the new password again.")),
                EqualTo("password", message=_l("The two passwords are not the same.")),
            ],
        ),
    )


class ForgotForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[InputRequired(_l("Enter your email.")), Length(max=320)]
    )


class ResetForm(FlaskForm):
    password, password_again = new_password_fields()


@bp.route("/login", methods=["GET", "POST"])
@public_route
def login() -> Response | str | tuple[str, int]:
    """Email and password; the same answer for an unknown address and a wrong password."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("manage/login.html", form=form), status
    address = request.remote_addr or "unknown"
    now = utcnow()
    result = accounts.authenticate(
        db.session, email=form.email.data, password=form.password.data, address=address, now=now
    )
    if result.throttled:
        db.session.commit()
        form.email.errors = [
            gettext("Too many failed attempts. Wait a few minutes, or reset your password.")
        ]
        return render_template("manage/login.html", form=form), 429
    if result.coordinator is None:
        db.session.commit()
        form.password.errors = [gettext("That email and password do not match an account.")]
        return render_template("manage/login.html", form=form), 400
    audit.record(
        db.session,
        "coordinator.signed_in",
        actor_label="coordinator",
        actor_id=result.coordinator.id,
        detail={"address": address},
        now=now,
    )
    db.session.commit()
    start_session(result.coordinator)
    return redirect(_safe_next(request.args.get("next")), code=303)


@bp.post("/logout")
@signed_in
def logout() -> Response:
    """Sign out of this session (the CSRF check on every POST keeps this from being forged)."""
    audit.record(
        db.session,
        "coordinator.signed_out",
        actor_label="coordinator",
        actor_id=current_user.id,
        now=utcnow(),
    )
    db.session.commit()
    logout_user()
    # Nothing of the signed-in session (its CSRF secret included) outlives it.
    session.clear()
    flash(gettext("You are signed out."), "info")
    return redirect(url_for("manage.login"), code=303)


@bp.route("/forgot", methods=["GET", "POST"])
@public_route
def forgot_password() -> str | tuple[str, int]:
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("manage/auth/forgot.html", form=form), status
    accounts.request_password_reset(db.session, email=form.email.data, now=utcnow())
    db.session.commit()
    return render_template("manage/auth/forgot_sent.html", email=form.email.data)


def _reset_problem(error: InvalidToken) -> Response:
    page = render_template(
        "manage/auth/reset_problem.html",
        reason=error.reason,
        actual=getattr(error, "actual", None),
    )
    return private((page, LINK_STATUS.get(error.reason, 400)))


def _read_reset(token: str) -> TokenPayload:
    return tokens().read("sign-in", token)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public_route
def reset_password(token: str) -> Response:
    """Choose a new password from an emailed link; the change happens on POST only."""
    form = ResetForm()
    try:
        payload = _read_reset(token)
        coordinator = accounts.coordinator_for_reset(db.session, payload)
    except InvalidToken as error:
        return _reset_problem(error)
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        page = render_template("manage/auth/reset.html", form=form, coordinator=coordinator)
        return private((page, status))
    try:
        coordinator = accounts.reset_password(
            db.session, payload, password=form.password.data, now=utcnow()
        )
    except InvalidArgument as error:
        db.session.rollback()
        form.password.errors = [str(error)]
        page = render_template("manage/auth/reset.html", form=form, coordinator=coordinator)
        return private((page, 400))
    db.session.commit()
    start_session(coordinator)
    flash(
        gettext("Your password is changed, and you are signed in. Other sessions were signed out."),
        "ok",
    )
    return redirect(url_for("manage.dashboard"), code=303)
