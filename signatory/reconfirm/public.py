"""The keep link of the email about a substantive change: ``/letters/<slug>/keep/<token>``.

A GET only shows the page: what changed since the version signed, and a button; the POST
keeps the signature. Mail scanners that open links therefore keep nothing. Both answer a
link already used with what it did ("kept on version N", 200), so a second press or a
reload is no error.
"""

from __future__ import annotations

from flask import render_template
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.errors import InvalidToken
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import current_tokens
from signatory.core.web import private_page
from signatory.letters import diff
from signatory.models import LetterVersion
from signatory.ratelimits import budgets
from signatory.ratelimits.budgets import limited
from signatory.reconfirm import service
from signatory.reconfirm.service import KeepLink, KeepRefused

links = Routes("signing")

# Unchanged paragraphs shown around each change on the page, as in the email.
CONTEXT_PARAGRAPHS = 1


def _link(slug: str, token: str) -> KeepLink:
    try:
        payload = current_tokens().read("reconfirm", token)
    except InvalidToken:
        # Forged, altered, cut short, or made for another purpose: nothing names a row.
        raise KeepRefused(service.INVALID) from None
    return service.read_link(db.session, payload, slug=slug)


def _refused(error: KeepRefused) -> Response:
    page = render_template(
        "reconfirm/problem.html",
        reason=error.reason,
        signature=error.signature,
        version=error.version,
        newer=error.newer,
    )
    return private_page((page, error.status))


def _kept(link: KeepLink) -> Response:
    kept = link.kept
    assert kept is not None
    page = render_template(
        "reconfirm/kept.html", signature=link.signature, version=link.version, kept=kept
    )
    return private_page(page)


@links.get("/letters/<slug>/keep/<token>")
@limited(budgets.LINKS)
def keep_page(slug: str, token: str) -> Response:
    """What changed since the version signed, with a button to keep the signature."""
    try:
        link = _link(slug, token)
    except KeepRefused as error:
        return _refused(error)
    if link.kept is not None:
        return _kept(link)
    signed = db.session.get(LetterVersion, link.signature.version_id)
    assert signed is not None
    changes = diff.compare(signed.body_markdown, link.version.body_markdown)
    page = render_template(
        "reconfirm/keep.html",
        signature=link.signature,
        letter=link.signature.letter,
        version=link.version,
        signed=signed,
        changed=changes.changed,
        diff_html=diff.to_html(changes, context=CONTEXT_PARAGRAPHS),
        token=token,
    )
    return private_page(page)


@links.post("/letters/<slug>/keep/<token>")
@limited(budgets.LINKS)
def keep(slug: str, token: str) -> Response:
    """Keep the signature on the link's version; the same answer for a link already used."""
    try:
        link = service.keep(db.session, _link(slug, token), now=utcnow())
    except KeepRefused as error:
        if error.reason == service.CHANGED:
            # Another press (or a lapse, a withdrawal) got there first: undone, and the
            # link read again, so a double press answers "kept" like a second one.
            db.session.rollback()
            return _answer_again(slug, token)
        # Drawn before the rollback, which would expire what the page shows; nothing was
        # written by a refused link.
        page = _refused(error)
        db.session.rollback()
        return page
    db.session.commit()
    return _kept(link)


def _answer_again(slug: str, token: str) -> Response:
    try:
        link = _link(slug, token)
    except KeepRefused as error:
        return _refused(error)
    if link.kept is not None:
        return _kept(link)
    return _refused(KeepRefused(service.CHANGED))
