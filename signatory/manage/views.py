"""The workspace's pages. Each feature's routes live in their own module, imported here."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.manage import bp, service
from signatory.manage.access import letter_route, signed_in
from signatory.models import Letter, Membership


@bp.get("/")
@signed_in
def dashboard() -> str:
    """The coordinator's letters, with what needs attention."""
    return render_template(
        "manage/dashboard.html", summaries=service.letters_of(db.session, current_user)
    )


@bp.get("/letters/<slug>/")
@letter_route("moderator")
def overview(letter: Letter, membership: Membership) -> str:
    """One letter at a glance: status, counts, and where to go next."""
    return render_template(
        "manage/overview.html",
        letter=letter,
        membership=membership,
        counts=service.status_counts(db.session, letter),
        accepting=letter.accepts_signatures(utcnow()),
    )


# Each module registers its routes on ``bp`` when imported.
from signatory.manage import (  # noqa: E402,F401
    account,
    audit_views,
    auth,
    auth_mail,
    delivery,
    editing,
    exports,
    moderation,
    notify_mail,
    team,
    translations,
)
