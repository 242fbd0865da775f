"""Signing in and out, and "forgot password" by emailed link."""

from __future__ import annotations

from flask import (
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.errors import InvalidArgument, InvalidToken
from signatory.core.extensions import db
from signatory.core.i18n import safe_next
from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload, current_tokens
from signatory.core.web import private_page
from signatory.models import audit
from signatory.ratelimits import budgets
from signatory.ratelimits.budgets import RateLimited, limited
from signatory.ratelimits.clients import client_address
from signatory.team import accounts
from signatory.team.access import public_route, signed_in, start_session
from signatory.team.forms import ForgotForm, LoginForm, ResetForm

routes = Routes("manage")

# Status codes for links that cannot be used, by reason (as for the signers' links).
LINK_STATUS = {"expired": 410, "gone": 410, "revoked": 410, "used": 409, "accepted": 409}


def _safe_next(target: str | None) -> str:
    """Only a path on this site, else the workspace home: never an open redirect.

    ``safe_next`` refuses what a browser could read as another host: two or more leading
    slashes, backslashes (read as slashes), control characters (tabs and newlines are
    dropped by browsers), a scheme (``javascript:``, ``http:evil.example``) or a host.
    """
    return safe_next(target) or url_for("manage.dashboard")


def _login_limited(refusal: RateLimited) -> Response:
    """The sign-in form again, its email kept, saying why and how long to wait (a 429)."""
    form = LoginForm()
    form.email.errors = [refusal.message]
    return make_response(render_template("team/manage/login.html", form=form))


@routes.route("/login", methods=["GET", "POST"])
@public_route
@limited(budgets.LOGIN, methods=("POST",), answer=_login_limited)
def login() -> Response | str | tuple[str, int]:
    """Email and password; the same answer for an unknown address and a wrong password.

    A flood of POSTs is cut off per address and per account by the rate limits; failed
    passwords are also counted in the database (``accounts.authenticate``).
    """
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("team/manage/login.html", form=form), status
    budgets.spend(budgets.LOGIN_ACCOUNT, form.email.data.strip().lower())
    address = client_address()
    now = utcnow()
    result = accounts.authenticate(
        db.session, email=form.email.data, password=form.password.data, address=address, now=now
    )
    if result.throttled:
        db.session.commit()
        form.email.errors = [
            gettext("Too many failed attempts. Wait a few minutes, or reset your password.")
        ]
        return render_template("team/manage/login.html", form=form), 429
    if result.coordinator is None:
        db.session.commit()
        form.password.errors = [gettext("That email and password do not match an account.")]
        return render_template("team/manage/login.html", form=form), 400
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


@routes.post("/logout")
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


@routes.route("/forgot", methods=["GET", "POST"])
@public_route
@limited(budgets.FORGOT, methods=("POST",))
def forgot_password() -> str | tuple[str, int]:
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("team/manage/forgot.html", form=form), status
    accounts.request_password_reset(db.session, email=form.email.data, now=utcnow())
    db.session.commit()
    return render_template("team/manage/forgot_sent.html", email=form.email.data)


def _reset_problem(error: InvalidToken) -> Response:
    page = render_template(
        "team/manage/reset_problem.html",
        reason=error.reason,
        actual=getattr(error, "actual", None),
    )
    return private_page((page, LINK_STATUS.get(error.reason, 400)))


def _read_reset(token: str) -> TokenPayload:
    return current_tokens().read("sign-in", token)


@routes.route("/reset/<token>", methods=["GET", "POST"])
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
        page = render_template("team/manage/reset.html", form=form, coordinator=coordinator)
        return private_page((page, status))
    try:
        coordinator = accounts.reset_password(
            db.session, payload, password=form.password.data, now=utcnow()
        )
    except InvalidArgument as error:
        db.session.rollback()
        form.password.errors = [str(error)]
        page = render_template("team/manage/reset.html", form=form, coordinator=coordinator)
        return private_page((page, 400))
    db.session.commit()
    start_session(coordinator)
    flash(
        gettext("Your password is changed, and you are signed in. Other sessions were signed out."),
        "ok",
    )
    return redirect(url_for("manage.dashboard"), code=303)
