"""Signing in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from .. import audit
from ..extensions import db
from ..timeutil import utcnow
from . import accounts, bp
from .access import public_route, signed_in, start_session
from .forms import LoginForm


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("manage.dashboard")


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
            "Too many failed attempts. Wait a few minutes, or reset your password."
        ]
        return render_template("manage/login.html", form=form), 429
    if result.coordinator is None:
        db.session.commit()
        form.password.errors = ["That email and password do not match an account."]
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
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("manage.login"), code=303)
