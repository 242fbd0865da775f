"""The public side of updates: the letter's updates page and feed, the newest updates on the
letter page, and the unsubscribe link of the update emails.

The unsubscribe link follows RFC 8058: a mail client's "unsubscribe" button POSTs to it
with no session, no cookie and no CSRF token (only ``List-Unsubscribe=One-Click``), so the
POST is exempt from CSRF (``updates.init_app``) and is safe to be: the signed token in the
address is what authorises it, and all it can do is switch updates off. A GET only shows
a page with a button, so a mail scanner that opens links changes nothing.
"""

from __future__ import annotations

from flask import Response, current_app, render_template, url_for

from signatory.core.access import Routes
from signatory.core.errors import InvalidToken
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import INVALID, current_tokens, nonce_matches
from signatory.core.web import private_page
from signatory.letters.lookup import public_letter_or_404
from signatory.models import UpdateRecipient
from signatory.ratelimits import budgets
from signatory.ratelimits.budgets import limited
from signatory.updates import feeds, service

routes = Routes("public")
links = Routes("signing")


@routes.get("/letters/<slug>/updates")
def updates(slug: str) -> str:
    """Every update the coordinators have posted on the letter, newest first."""
    letter = public_letter_or_404(slug, with_versions=False)
    return render_template(
        "updates/updates.html", letter=letter, updates=service.updates_of(db.session, letter.id)
    )


@routes.get("/letters/<slug>/updates.atom")
def updates_feed(slug: str) -> Response:
    """The letter's updates as an Atom feed, newest first."""
    letter = public_letter_or_404(slug, with_versions=False)
    body = feeds.updates_feed(
        letter,
        service.updates_of(db.session, letter.id, limit=feeds.ENTRIES),
        base_url=current_app.config["BASE_URL"].rstrip("/"),
        letter_path=url_for("public.letter", slug=letter.slug),
        updates_path=url_for("public.updates", slug=letter.slug),
        feed_path=url_for("public.updates_feed", slug=letter.slug),
    )
    response = Response(body, content_type="application/atom+xml; charset=utf-8")
    response.cache_control.public = True
    response.cache_control.max_age = 60
    return response


# --- The unsubscribe link -----------------------------------------------------------------


def _recipient(token: str) -> UpdateRecipient:
    """The recipient the link names; ``InvalidToken`` when it names none that is real."""
    payload = current_tokens().read("unsubscribe", token, allow_expired=True)
    recipient = service.recipient_for_unsubscribe(db.session, payload.row_id)
    if recipient is None:
        # The signature was purged or the update deleted: nobody is mailed from this row.
        raise InvalidToken("gone")
    if not nonce_matches(recipient.unsubscribe_nonce, payload.nonce):
        raise InvalidToken(INVALID)
    return recipient


def _problem(error: InvalidToken) -> Response:
    page = render_template("updates/unsubscribe_problem.html", reason=error.reason)
    return private_page((page, error.status))


@links.get("/unsubscribe/<token>")
@limited(budgets.LINKS)
def unsubscribe_page(token: str) -> Response:
    """Show what the link would stop, with a button; nothing changes on a GET."""
    try:
        recipient = _recipient(token)
    except InvalidToken as error:
        return _problem(error)
    signature = recipient.signature
    page = render_template(
        "updates/unsubscribe.html",
        letter=signature.letter,
        token=token,
        subscribed=signature.updates_consent_at is not None,
    )
    return private_page(page)


# No rate limit on the POST: mailbox providers send every one-click unsubscribe of their
# users from a few addresses, and only a token signed by this service gets past its first line.
@links.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> Response:
    """Stop the letter's update emails to this signature; 200 again for a repeat."""
    try:
        recipient = _recipient(token)
    except InvalidToken as error:
        return _problem(error)
    letter = recipient.signature.letter
    service.unsubscribe(db.session, recipient, now=utcnow())
    db.session.commit()
    return private_page(render_template("updates/unsubscribed.html", letter=letter))
