"""The coordinators' re-confirmation page: per substantive version told, how its earlier
signatories answered, and the letter's policy for those who did not.

Moderators and up see the counts (as they see the versions page); editors and owners set
the policy, which changes what the public list shows.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext, ngettext
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, Membership
from signatory.reconfirm import lapsing
from signatory.reconfirm.forms import PolicyForm
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")


def _page(letter: Letter, form: PolicyForm, status: int = 200) -> Any:
    page = render_template(
        "reconfirm/manage/reconfirmation.html",
        letter=letter,
        counts=lapsing.version_counts(db.session, letter),
        form=form,
    )
    return page, status


@routes.get("/letters/<slug>/reconfirmation")
@letter_route("moderator")
def reconfirmation(letter: Letter, membership: Membership) -> Any:
    """Told, re-confirmed, withdrawn since and not answered, per substantive version."""
    return _page(letter, PolicyForm(data={"days": letter.reconfirm_days}))


@routes.post("/letters/<slug>/reconfirmation")
@letter_route("editor")
def reconfirmation_policy(letter: Letter, membership: Membership) -> Any:
    """Set or turn off the policy that hides signatures not re-confirmed in time."""
    form = PolicyForm()
    if not form.validate_on_submit():
        return _page(letter, form, 400)
    days = form.days.data
    try:
        changed = lapsing.set_policy(
            db.session, letter, days, actor=current_coordinator(), now=utcnow()
        )
    except lapsing.InvalidPolicy as error:
        db.session.rollback()
        form.days.errors = [str(error)]
        return _page(letter, form, 400)
    db.session.commit()
    if not changed:
        flash(gettext("The policy is unchanged."), "ok")
    elif days is None:
        flash(gettext("Policy off: no signature is hidden for not re-confirming."), "ok")
    else:
        flash(
            ngettext(
                "Policy set: signatures told of a change and not kept within %(num)s day are "
                "hidden from the public list until they are kept.",
                "Policy set: signatures told of a change and not kept within %(num)s days are "
                "hidden from the public list until they are kept.",
                days,
            ),
            "ok",
        )
    return _redirect(letter)


def _redirect(letter: Letter) -> Response:
    return redirect(url_for("manage.reconfirmation", slug=letter.slug), code=303)
