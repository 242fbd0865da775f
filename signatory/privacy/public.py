"""The privacy notice, and the signer's manage-my-signature pages.

``/my-signature`` asks for the link ("send me my link"): it answers the same page whatever
the database holds, and the link goes only to the address on record. The link opens
``/my-signature/<token>``: a GET only shows; withdrawing, editing the title or website
and asking for a correction are POSTs, each of which retires the link used and moves the
page to a fresh one. Every
answer about a signature is a ``private_page`` (never cached, no referrer).

The form shares the link budgets of the client address (``ratelimits.budgets``) with the
confirm and withdraw links, and the link it sends counts against the daily caps on a
signer's emails (``models.outbox``), so it can neither probe nor flood.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.errors import InvalidToken
from signatory.core.extensions import db
from signatory.core.i18n import local_countries
from signatory.core.time import utcnow
from signatory.core.tokens import current_tokens
from signatory.core.web import private_page
from signatory.letters.queries import listed_letters
from signatory.models import HELD_STATUSES, Letter, Signature
from signatory.models.outbox import EmailCaps
from signatory.models.signature import load_signature
from signatory.organizations import logos
from signatory.privacy.forms import CorrectionForm, EntryForm, FindSignatureForm, WithdrawForm
from signatory.ratelimits import budgets
from signatory.ratelimits.budgets import limited
from signatory.signatures import own, queue
from signatory.signatures.own import CorrectionRefused, EntryEdit, RequestedEntry

notice_routes = Routes("public")
routes = Routes("signing")


DAY = 86400


def retention_figures() -> dict[str, int]:
    """The periods the notice states, in days, read from the configuration."""
    config = current_app.config
    return {
        "unconfirmed": config["UNCONFIRMED_PURGE_DAYS"],
        "withdrawn": config["WITHDRAWN_RETENTION_DAYS"],
        "outbox": config["OUTBOX_RETENTION_DAYS"],
        "sign_in": config["SIGN_IN_ATTEMPT_RETENTION_DAYS"],
        "client_prefix": config["CLIENT_PREFIX_RETENTION_DAYS"],
        "delivered": config["DELIVERED_RETENTION_DAYS"],
        "confirm_link": max(1, config["CONFIRM_TOKEN_MAX_AGE"] // DAY),
        "manage_link": max(1, config["MANAGE_TOKEN_MAX_AGE"] // DAY),
    }


@notice_routes.get("/privacy")
def privacy_notice() -> str:
    """What is collected, why, for how long, who sees it, and how to withdraw or correct."""
    return render_template("privacy/notice.html", days=retention_figures())


# --- "Send me my link" --------------------------------------------------------------------


def _find_form() -> tuple[FindSignatureForm, dict[str, Letter]]:
    letters = {letter.slug: letter for letter in listed_letters(db.session)}
    form = FindSignatureForm()
    form.letter.choices = [("", gettext("Choose a letter"))] + [
        (slug, letter.title) for slug, letter in letters.items()
    ]
    return form, letters


@routes.get("/my-signature")
def find_my_signature() -> Response:
    """The form to ask for the link to one's signature: an address and a letter."""
    form, _letters = _find_form()
    if not form.is_submitted():
        form.letter.data = request.args.get("letter", "")
    return private_page(render_template("privacy/find.html", form=form))


@routes.post("/my-signature")
@limited(budgets.LINKS, budgets.SIGN)
def send_my_link() -> Response:
    """Email the link if the address signed the letter; the same answer either way."""
    form, letters = _find_form()
    if not form.validate_on_submit():
        # What is wrong with what was typed, never whether anyone signed.
        return private_page((render_template("privacy/find.html", form=form), 400))
    letter = letters[form.letter.data or ""]
    own.send_manage_link(
        db.session,
        letter,
        form.email.data or "",
        now=utcnow(),
        caps=EmailCaps.from_config(current_app.config),
    )
    db.session.commit()
    return private_page(
        render_template("privacy/link_sent.html", letter=letter, email=form.email.data)
    )


# --- The manage page ----------------------------------------------------------------------


def _link_problem(token: str, error: InvalidToken) -> Response:
    signature = load_signature(db.session, error.signature_id) if error.signature_id else None
    page = render_template(
        "privacy/link_problem.html",
        reason=error.reason,
        letter=signature.letter if signature is not None else None,
        actual=getattr(error, "actual", None),
        manage_days=retention_figures()["manage_link"],
    )
    return private_page((page, error.status))


def _read(token: str) -> Signature:
    return own.signature_for_manage(db.session, current_tokens().read("manage", token))


def _render_manage(
    signature: Signature,
    token: str,
    *,
    correction_form: CorrectionForm | None = None,
    entry_form: EntryForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    correction_form = correction_form or CorrectionForm(
        organization=signature.requested_organization or signature.organization,
        name=signature.requested_name or signature.name,
        country=signature.requested_country or signature.country,
    )
    correction_form.country.choices = list(local_countries().items())
    page = render_template(
        "privacy/manage.html",
        signature=signature,
        letter=signature.letter,
        token=token,
        history=queue.signature_history(db.session, signature),
        emails=own.emails_about(db.session, signature),
        withdraw_form=WithdrawForm(),
        correction_form=correction_form,
        entry_form=entry_form or EntryForm(title=signature.title, website=signature.website),
        may_correct=own.may_request_correction(signature),
        may_withdraw=signature.status in HELD_STATUSES,
        # The organization's logo and its upload form (``organizations.public.upload_logo``).
        may_send_logo=logos.may_have_logo(signature),
        logo=logos.logo_of(db.session, signature.id),
        error=error,
    )
    return private_page((page, status))


def _moved_on(signature: Signature) -> Response:
    """After a change: the page again, at the fresh link (the one used is retired)."""
    token = current_tokens().make("manage", signature.id, signature.manage_nonce)
    return private_page(redirect(url_for("signing.my_signature", token=token), code=303))


@routes.get("/my-signature/<token>")
@limited(budgets.LINKS)
def my_signature(token: str) -> Response:
    """Everything held about the signature, with the buttons to withdraw or ask a correction."""
    try:
        signature = _read(token)
    except InvalidToken as error:
        return _link_problem(token, error)
    return _render_manage(signature, token)


@routes.post("/my-signature/<token>/withdraw")
@limited(budgets.LINKS)
def withdraw_my_signature(token: str) -> Response:
    """Withdraw the signature (the same service as the withdraw link); it leaves the list."""
    form = WithdrawForm()
    try:
        signature = _read(token)
    except InvalidToken as error:
        return _link_problem(token, error)
    if not form.validate_on_submit():
        return _render_manage(
            signature,
            token,
            error=gettext("The form had expired. Press the button again."),
            status=400,
        )
    try:
        own.withdraw_own(db.session, signature, now=utcnow())
    except InvalidToken:
        db.session.rollback()
        signature = _read(token)
        return _render_manage(
            signature,
            token,
            error=gettext("This signature is not on the letter, so there is nothing to withdraw."),
            status=409,
        )
    db.session.commit()
    flash(gettext("Your signature is withdrawn: it is no longer on the public list."), "ok")
    return _moved_on(signature)


@routes.post("/my-signature/<token>/correction")
@limited(budgets.LINKS)
def correct_my_signature(token: str) -> Response:
    """Ask the coordinators to correct the entry; nothing on the list changes until they do."""
    form = CorrectionForm()
    try:
        signature = _read(token)
    except InvalidToken as error:
        return _link_problem(token, error)
    if not form.validate_on_submit():
        return _render_manage(signature, token, correction_form=form, status=400)
    entry = RequestedEntry(
        organization=form.organization.data or None,
        name=form.name.data or "",
        country=form.country.data or None,
    )
    try:
        own.request_correction(db.session, signature, entry, now=utcnow())
    except CorrectionRefused as refused:
        return _refused_change(token, refused, form)
    db.session.commit()
    flash(
        gettext(
            "Your correction is sent to the letter's coordinators. Your entry stays as it "
            "is until they apply it."
        ),
        "ok",
    )
    return _moved_on(signature)


def _refused_change(
    token: str, refused: CorrectionRefused, form: CorrectionForm | EntryForm
) -> Response:
    """The manage page again with the refusal: beside its field (400), or above the page
    (409) when the signature's state forbids the change (off the letter, a delivered list)."""
    db.session.rollback()
    signature = _read(token)
    if refused.field:
        form[refused.field].errors = [str(refused)]
    return _render_manage(
        signature,
        token,
        correction_form=form if isinstance(form, CorrectionForm) else None,
        entry_form=form if isinstance(form, EntryForm) else None,
        error=None if refused.field else str(refused),
        status=400 if refused.field or own.may_request_correction(signature) else 409,
    )


@routes.post("/my-signature/<token>/entry")
@limited(budgets.LINKS)
def edit_my_entry(token: str) -> Response:
    """Change the title or the organization's website: on the list at once, no review."""
    form = EntryForm()
    try:
        signature = _read(token)
    except InvalidToken as error:
        return _link_problem(token, error)
    if not form.validate_on_submit():
        return _render_manage(
            signature,
            token,
            entry_form=form,
            error=gettext("The form had expired. Press the button again."),
            status=400,
        )
    edit = EntryEdit(title=form.title.data or None, website=form.website.data or None)
    try:
        own.edit_entry(db.session, signature, edit, now=utcnow())
    except CorrectionRefused as refused:
        return _refused_change(token, refused, form)
    db.session.commit()
    flash(gettext("Your entry is updated: the public list shows it now."), "ok")
    return _moved_on(signature)
