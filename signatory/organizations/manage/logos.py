"""The logo review queue of a letter (moderators and up): each pending logo shown, approved
or rejected; and the count of pending logos on the letter's tab."""

from __future__ import annotations

import sys
from typing import Any

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.errors import ChangedMeanwhile
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, LogoStatus, Membership
from signatory.organizations import logos
from signatory.organizations.forms import LogoDecisionForm
from signatory.organizations.public import image_response
from signatory.team.access import Permissions, current_coordinator, letter_route

routes = Routes("manage")

ENDPOINT = "manage.logo_queue"


@routes.get("/letters/<slug>/logos")
@letter_route("moderator")
def logo_queue(letter: Letter, membership: Membership) -> str:
    """The letter's logos awaiting a decision, each with its image and two buttons."""
    return render_template(
        "organizations/manage/logos.html",
        letter=letter,
        queued=logos.pending_logos(db.session, letter),
        limit=logos.QUEUE_LIMIT,
        form=LogoDecisionForm(),
    )


@routes.get("/letters/<slug>/logos/<int:logo_id>-<digest>.png")
@letter_route("moderator")
def logo_preview(letter: Letter, membership: Membership, logo_id: int, digest: str) -> Response:
    """A logo of the letter as stored, whatever its status: what the moderator decides on."""
    logo = logos.letter_logo(db.session, letter, logo_id)
    if logo is None or logo.digest8 != digest:
        abort(404, description=gettext("There is no such logo on this letter."))
    # The workspace's answers are never cached (core.web), images included.
    return image_response(logo.image, logo.media_type, cache="no-store")


@routes.post("/letters/<slug>/logos/<int:logo_id>")
@letter_route("moderator")
def decide_logo(letter: Letter, membership: Membership, logo_id: int) -> Response | tuple[str, int]:
    """Approve or reject one logo, the one whose image the moderator saw (by its hash)."""
    form = LogoDecisionForm()
    back = url_for(ENDPOINT, slug=letter.slug)
    if not form.validate_on_submit():
        flash(gettext("The decision was not understood; look at the logo again."), "error")
        return redirect(back, code=303)
    try:
        decided = logos.decide(
            db.session,
            letter,
            logo_id,
            decision=form.decision.data,
            sha256=form.sha256.data,
            actor=current_coordinator(),
            now=utcnow(),
        )
    except LookupError:
        db.session.rollback()
        abort(404, description=gettext("There is no such logo on this letter."))
    except ChangedMeanwhile:
        db.session.rollback()
        flash(
            gettext("The signer sent a new logo since you looked: look at the new one first."),
            "error",
        )
        page = render_template(
            "organizations/manage/logos.html",
            letter=letter,
            queued=logos.pending_logos(db.session, letter),
            limit=logos.QUEUE_LIMIT,
            form=LogoDecisionForm(formdata=None),
        )
        return page, 409
    db.session.commit()
    if decided == LogoStatus.APPROVED:
        flash(
            gettext("Logo approved: it is on the logo wall while its signature is on the list."),
            "ok",
        )
    else:
        flash(gettext("Logo rejected: it will not be shown."), "ok")
    return redirect(back, code=303)


def pending_logo_count() -> dict[str, Any]:
    """For the letter's workspace frame: how many logos await a decision (the tab shows it).

    Only for a viewer who may open the queue, and never while an error page is rendered.
    """
    membership = g.get("membership")
    if membership is None or sys.exc_info()[0] is not None:
        return {}
    if not Permissions(membership).opens(ENDPOINT):
        return {}
    return {"pending_logos": logos.pending_count(db.session, membership.letter_id)}
