"""Who may do what in the workspace.

Every view in this blueprint is wrapped by exactly one of ``public_route`` (sign-in,
password reset, invitation links), ``signed_in`` (any coordinator: the dashboard, their
account) or ``letter_route(role)`` (a member of the letter named in the URL, with at
least that role). A test walks the URL map and fails on any view without one.

A coordinator who is not a member of a letter gets 404 on every page and action of it,
so the workspace does not even confirm that a draft exists. A member whose role is too
low gets 403 with a page saying which role is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from flask_login import LoginManager, current_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from signatory.core.extensions import db
from signatory.core.i18n import STORED_LANGUAGE
from signatory.models import Coordinator, Letter, Membership, MembershipRole

login_manager = LoginManager()
login_manager.login_view = "manage.login"
login_manager.login_message = lazy_gettext("Sign in to continue.")
login_manager.login_message_category = "info"
# Sessions are protected by their own timeouts (below) and by the session token in the
# user id; Flask-Login's "strong" mode would also sign people out on a changed IP, which
# mobile networks do all the time.
login_manager.session_protection = "basic"

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
SIGNED_IN = "signed_in"

# Session keys for the timeouts: when the session began, and when it was last used.
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"


@login_manager.user_loader
def _load_coordinator(user_id: str) -> Coordinator | None:
    row_id, _, token = user_id.partition(":")
    if not row_id.isdigit() or not token:
        return None
    coordinator = db.session.get(Coordinator, int(row_id))
    # A rotated session token (password change or reset) ends every older session.
    if coordinator is None or not coordinator.active or coordinator.session_token != token:
        return None
    return coordinator


def _mark(view: Callable[..., Any], access: str) -> None:
    view.manage_access = access  # type: ignore[attr-defined]


def public_route(view: F) -> F:
    """Anyone may open this page (sign-in, reset and invitation links)."""
    _mark(view, PUBLIC)
    return view


def signed_in(view: F) -> F:
    """Any signed-in coordinator."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    _mark(wrapped, SIGNED_IN)
    return wrapped  # type: ignore[return-value]


def current_coordinator() -> Coordinator:
    """The signed-in coordinator itself, not Flask-Login's proxy, to hand to services."""
    return current_user._get_current_object()


def membership_for(coordinator: Coordinator, slug: str) -> tuple[Letter, Membership] | None:
    row = db.session.execute(
        select(Letter, Membership)
        .join(Membership, Membership.letter_id == Letter.id)
        .where(Letter.slug == slug, Membership.coordinator_id == coordinator.id)
    ).first()
    return (row[0], row[1]) if row else None


def letter_route(role: str) -> Callable[[F], F]:
    """A member of the letter ``<slug>`` in the URL with at least ``role``.

    The view is called as ``view(letter, membership, **other_url_values)``.
    """
    required = MembershipRole(role)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(slug: str, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            found = membership_for(current_user, slug)
            if found is None:
                abort(404)
            letter, membership = found
            # For the templates' ``may`` (``Permissions``): what this member may do here.
            g.membership = membership
            if not membership.allows(required):
                abort(
                    403,
                    description=f"This needs the {required} role on this letter; "
                    f"you are a {membership.role}. Ask an owner if you need more.",
                )
            return view(letter, membership, **kwargs)

        _mark(wrapped, f"letter:{required}")
        return wrapped  # type: ignore[return-value]

    return decorate


def start_session(coordinator: Coordinator) -> None:
    """Begin a fresh session for ``coordinator`` (called by sign-in and invitation)."""
    from flask_login import login_user

    # A new session at sign-in: nothing from before (a planted session, an old CSRF
    # secret) carries over.
    session.clear()
    login_user(coordinator)
    now = time.time()
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now


def _enforce_timeouts() -> Response | None:
    """Sign out sessions idle too long, or older than the absolute limit."""
    if not current_user.is_authenticated:
        return None
    now = time.time()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_MAX_HOURS"] * 3600
    signed_in_at = session.get(SIGNED_IN_AT, 0)
    seen_at = session.get(SEEN_AT, 0)
    if now - seen_at > idle or now - signed_in_at > absolute:
        logout_user()
        session.clear()
        flash(
            gettext("You were signed out after a period without activity. Sign in again."), "info"
        )
        return redirect(url_for("manage.login", next=request.full_path.rstrip("?")))
    session[SEEN_AT] = now
    return None


@dataclass(frozen=True)
class Permissions:
    """What the signed-in coordinator may do on the letter in the URL, for templates.

    Templates show or hide controls by these answers; the decisions are made here, from
    the membership, by the rule ``letter_route`` enforces: ``opens(endpoint)`` reads the
    role that the page's own ``letter_route`` declares, so a tab appears exactly when its
    page would let the viewer in.
    """

    membership: Membership | None = None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership is not None else None

    def _has(self, role: str) -> bool:
        return self.membership is not None and self.membership.allows(role)

    @property
    def edit(self) -> bool:
        return self._has(MembershipRole.EDITOR)

    @property
    def own(self) -> bool:
        return self._has(MembershipRole.OWNER)

    def opens(self, endpoint: str) -> bool:
        """Whether the viewer may open the workspace page ``endpoint`` of this letter."""
        view = current_app.view_functions.get(endpoint)
        access = str(getattr(view, "manage_access", ""))
        if not access.startswith("letter:"):
            return False
        return self._has(access.removeprefix("letter:"))


def _permissions() -> dict[str, Any]:
    return {"may": Permissions(g.get("membership"))}


def _stored_language() -> str | None:
    """The signed-in coordinator's chosen interface language, None for anyone else."""
    return current_user.language if current_user.is_authenticated else None


def init_app(app: Flask, manage: Blueprint) -> None:
    """Sessions for the workspace: Flask-Login, the timeouts, and what a member may do."""
    login_manager.init_app(app)
    app.extensions[STORED_LANGUAGE] = _stored_language
    manage.before_request(_enforce_timeouts)
    manage.context_processor(_permissions)
