"""The invitation link: it checks the link and opens the letter's sign form with the
invited organization filled in (``/letters/<slug>?invitation=<token>``, drawn by the
signatures module, which sits above this one).

A link that no longer works answers a page saying why and what to do next: revoked or
used 410, forged, garbled or another link's 400; never a stack trace. Opening the link
notes when it was first opened, for the coordinators' list; it signs nothing.
"""

from __future__ import annotations

from flask import redirect, render_template, url_for
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.errors import InvalidToken
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import USED, current_tokens
from signatory.core.web import private_page
from signatory.invites import service
from signatory.ratelimits import budgets
from signatory.ratelimits.budgets import limited

routes = Routes("signing")

# Used and revoked links are gone for good; the others were never links of ours.
STATUS = {USED: 410, service.REVOKED: 410}


def link_problem(error: InvalidToken) -> Response:
    """The page of an invitation link that cannot be used, with the reason's status."""
    page = render_template("invites/link_problem.html", reason=error.reason)
    return private_page((page, STATUS.get(error.reason, 400)))


@routes.get("/invitation/<token>")
@limited(budgets.LINKS)
def invitation_link(token: str) -> Response:
    """Check the invitation link, then open the letter's sign form for the organization."""
    try:
        found = service.invitation_for_token(db.session, current_tokens(), token)
    except InvalidToken as error:
        db.session.rollback()
        return link_problem(error)
    slug = found.letter.slug
    service.mark_opened(found, now=utcnow())
    db.session.commit()
    target = url_for("public.letter", slug=slug, invitation=token, _anchor="sign-title")
    return redirect(target, code=303)
