"""Signer pages: the sign POST, and the confirm and withdraw links.

A GET on an emailed link only shows a page with a button; the change happens on POST,
so mail scanners that open links cannot confirm or withdraw on the signer's behalf.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, make_response, redirect, render_template, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from signatory.core.errors import (
    DomainMismatch,
    IndividualsNotAllowed,
    InvalidToken,
    LetterNotOpen,
    OrganizationAlreadySigned,
)
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import EXPIRED, TokenPayload, Tokens
from signatory.models import Signature
from signatory.public.views import interface_language, letter_or_404, render_letter_page
from signatory.signing import bp, service
from signatory.signing.forms import SignForm

# Status codes for links that cannot be used, by reason.
_LINK_STATUS = {"expired": 410, "gone": 410, "used": 409, "invalid": 400, "wrong_purpose": 400}


def _tokens() -> Tokens:
    return current_app.extensions["signatory.tokens"]


def _private(response: Any) -> Response:
    """Pages reached by a token: never cached, never leaking the token as a referrer."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/letters/<slug>/sign")
def sign(slug: str) -> Response | tuple[str, int]:
    """Take a signature; on success send the signer to check their inbox."""
    letter = letter_or_404(slug)
    form = SignForm(
        allow_individuals=letter.allow_individuals,
        check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
    )
    now = utcnow()
    if not letter.accepts_signatures(now):
        return render_letter_page(letter, form, status=409)
    if not form.validate():
        return render_letter_page(letter, form, status=400)
    data = service.SignatureData(
        kind=form.kind.data,
        name=form.name.data,
        email=form.email.data,
        email_domain=form.email_domain,
        country=form.country.data,
        title=form.title.data or None,
        organization=form.organization.data or None,
        organization_type=form.organization_type.data or None,
        website=form.website.data or None,
        language=interface_language(),
    )
    try:
        service.sign(db.session, letter, data, now=now)
    except LetterNotOpen:
        db.session.rollback()
        return render_letter_page(letter, form, status=409)
    except IndividualsNotAllowed:
        db.session.rollback()
        form.kind.errors = [gettext("This letter is signed by organizations only.")]
        return render_letter_page(letter, form, status=400)
    except DomainMismatch:
        db.session.rollback()
        form.email.errors = [
            gettext(
                "This letter asks organizations to sign from an address at their own "
                "website's domain. Use your work email, or check the website address."
            )
        ]
        return render_letter_page(letter, form, status=400)
    except OrganizationAlreadySigned:
        db.session.rollback()
        form.organization.errors = [
            gettext(
                "%(organization)s has already signed this letter. If someone else should "
                "sign for it, ask the letter's coordinators.",
                organization=data.organization,
            )
        ]
        return render_letter_page(letter, form, status=409)
    db.session.commit()
    return redirect(url_for("signing.check_email", slug=letter.slug), code=303)


@bp.get("/letters/<slug>/signed")
def check_email(slug: str) -> str:
    """The same page whether the signature is new or the email had signed before."""
    letter = letter_or_404(slug)
    return render_template("signing/check_email.html", letter=letter)


def _link_problem(purpose: str, token: str, error: InvalidToken) -> Response:
    signature = db.session.get(Signature, error.signature_id) if error.signature_id else None
    status = _LINK_STATUS.get(error.reason, 400)
    page = render_template(
        "signing/link_problem.html",
        purpose=purpose,
        reason=error.reason,
        token=token,
        signature=signature,
        actual=getattr(error, "actual", None),
        purge_days=current_app.config["UNCONFIRMED_PURGE_DAYS"],
    )
    return _private((page, status))


def _read(purpose: str, token: str) -> tuple[TokenPayload, Signature]:
    payload = _tokens().read(purpose, token)
    return payload, service.signature_for_token(db.session, purpose, payload)


def _link_page(purpose: str, token: str) -> Response:
    try:
        _, signature = _read(purpose, token)
    except InvalidToken as error:
        return _link_problem(purpose, token, error)
    return _private(render_template(f"signing/{purpose}.html", signature=signature, token=token))


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> Response:
    """Show what is about to be confirmed, with a button."""
    return _link_page("confirm", token)


@bp.get("/withdraw/<token>")
def withdraw_page(token: str) -> Response:
    """Show what is about to be withdrawn, with a button."""
    return _link_page("withdraw", token)


@bp.post("/confirm/<token>")
def confirm(token: str) -> Response:
    """Confirm the signature: it is published, or waits for the coordinators' review."""
    try:
        payload = _tokens().read("confirm", token)
        signature = service.confirm(db.session, payload, now=utcnow())
    except InvalidToken as error:
        db.session.rollback()
        return _link_problem("confirm", token, error)
    except OrganizationAlreadySigned:
        db.session.rollback()
        signature = service.signature_for_token(db.session, "confirm", payload)
        page = render_template("signing/organization_taken.html", signature=signature)
        return _private((page, 409))
    except LetterNotOpen:
        db.session.rollback()
        letter = db.session.get(Signature, payload.row_id).letter
        page = render_template("signing/letter_closed.html", letter=letter)
        return _private((page, 409))
    db.session.commit()
    return _private(render_template("signing/confirmed.html", signature=signature))


@bp.post("/withdraw/<token>")
def withdraw(token: str) -> Response:
    """Withdraw the signature: it leaves the public list at once."""
    try:
        payload = _tokens().read("withdraw", token)
        signature = service.withdraw(db.session, payload, now=utcnow())
    except InvalidToken as error:
        db.session.rollback()
        return _link_problem("withdraw", token, error)
    db.session.commit()
    return _private(render_template("signing/withdrawn.html", signature=signature))


@bp.post("/<any(confirm, withdraw):purpose>/<token>/resend")
def resend(purpose: str, token: str) -> Response:
    """Send a fresh link in place of an expired one, to the address already on record."""
    try:
        payload = _tokens().read(purpose, token)
    except InvalidToken as error:
        if error.reason != EXPIRED:
            return _link_problem(purpose, token, error)
        payload = _tokens().read(purpose, token, allow_expired=True)
    else:
        # Not expired: nothing to replace; the link itself still works.
        return redirect(url_for(f"signing.{purpose}_page", token=token), code=303)
    try:
        signature = service.resend_after_expiry(db.session, purpose, payload, now=utcnow())
    except InvalidToken as error:
        db.session.rollback()
        return _link_problem(purpose, token, error)
    except LetterNotOpen:
        db.session.rollback()
        letter = db.session.get(Signature, payload.row_id).letter
        return _private((render_template("signing/letter_closed.html", letter=letter), 409))
    db.session.commit()
    return _private(render_template("signing/resent.html", signature=signature))
