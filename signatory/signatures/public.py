"""The signer's pages: the letter with its sign form, the sign POST, the confirm and withdraw links.

A GET on an emailed link only shows a page with a button; the change happens on POST,
so mail scanners that open links cannot confirm or withdraw on the signer's behalf.
"""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from signatory import caching
from signatory.core.access import Routes
from signatory.core.database import end_reads, reads_first
from signatory.core.errors import InvalidToken
from signatory.core.extensions import db
from signatory.core.i18n import current_locale, interface_language, reader_languages
from signatory.core.time import utcnow
from signatory.core.tokens import EXPIRED, TokenPayload, current_tokens
from signatory.core.web import private_page
from signatory.invites import service as invites
from signatory.letters import texts
from signatory.letters.lookup import no_such_letter, public_letter_or_404
from signatory.letters.queries import published_counts
from signatory.lists import live
from signatory.lists.live import LATEST
from signatory.lists.queries import latest_public, lead_organizations
from signatory.lists.share import share_context
from signatory.models import Letter, Signature, SigningInvitation, SigningPolicy
from signatory.models.signature import load_signature
from signatory.organizations import logos
from signatory.ratelimits import budgets
from signatory.ratelimits.budgets import RateLimited, limited
from signatory.ratelimits.clients import address_prefix, client_address
from signatory.signatures import service, signing
from signatory.signatures.forms import SignForm, drawn_now
from signatory.signatures.service import (
    DisposableEmailRefused,
    DomainMismatch,
    EmailCaps,
    IndividualsNotAllowed,
    LetterNotOpen,
    OrganizationAlreadySigned,
)
from signatory.updates import service as updates

# The letter page is a public page (``public.letter``); what signers send and the links they
# are emailed are the signing side's (``signing.*``).
letter_pages = Routes("public")
routes = Routes("signing")


# --- The letter page, with its sign form --------------------------------------------------


def render_letter_page(
    letter: Letter,
    form: SignForm | None = None,
    status: int = 200,
    invitation: SigningInvitation | None = None,
) -> tuple[str, int]:
    """The letter, its recipient, its count and the sign form (with errors, when given one).

    The text is shown in the language asked for with ``?text=``, else in the first of the
    reader's languages (``reader_languages``) the version has a text in, else in the
    authoritative one.
    """
    if form is None:
        form = SignForm(
            allow_individuals=letter.allow_individuals,
            check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
        )
    counts = live.list_cached(letter, "counts", lambda: published_counts(db.session, letter))
    page = render_template(
        "signatures/letter.html",
        letter=letter,
        version=letter.current_version,
        text=texts.choose_text(
            texts.public_texts(db.session, letter.current_version),
            requested=request.args.get("text"),
            preferred=reader_languages(),
            interface=interface_language(),
        ),
        counts=counts,
        latest=latest_public(db.session, letter, limit=LATEST).signatures,
        leads=live.list_cached(letter, "leads", lambda: lead_organizations(db.session, letter)),
        accepting=letter.accepts_signatures(utcnow()),
        form=form,
        share=share_context(letter, counts),
        # Whom the letter accepts (``invites``), and the invitation that opened the form.
        allowed_domains=invites.shown_list(letter.allowed_domains, current_locale()),
        invitation=invitation,
        **_newest_updates(letter),
    )
    return page, status


def _newest_updates(letter: Letter) -> dict[str, Any]:
    """The newest updates the coordinators posted, for the letter page (one indexed query).

    The kept page (``caching``) stays true: posting or editing an update moves the
    letter's revision (migration 0018's triggers).
    """
    newest = updates.updates_of(db.session, letter.id, limit=updates.ON_LETTER_PAGE + 1)
    return {
        "letter_updates": newest[: updates.ON_LETTER_PAGE],
        "more_letter_updates": len(newest) > updates.ON_LETTER_PAGE,
    }


@letter_pages.get("/letters/<slug>")
def letter(slug: str) -> Response:
    """The letter and, while it is open, the form to sign it.

    Rendered once per state of the letter and its list, language and reader's languages
    (``caching``); the form's CSRF token and drawn-at time are each visitor's own. Opened
    by an invitation link (``?invitation=``), it is the invited organization's own page.
    """
    token = request.args.get("invitation")
    if token is not None:
        return _invited_letter_page(slug, token)
    return live.kept_page(
        "letter",
        slug,
        # Read again with its versions (the page shows the current one's text).
        lambda _: render_letter_page(public_letter_or_404(slug)),
        varies=(tuple(reader_languages()),),
        holes=(
            # Flask-WTF keeps the request's token in g under the field's name.
            caching.Hole("csrf", generate_csrf, lambda: g.get("csrf_token")),
            caching.Hole("drawn", drawn_now, lambda: g.get("sign_form_drawn")),
        ),
    )


def _invited_letter_page(slug: str, token: str) -> Response:
    """The letter with its form filled in for the invited organization and address.

    Never kept, and private: it names the invited address. A link that cannot be used
    goes to the invitation link's own page, which says why (``invites.public``).
    """
    letter = public_letter_or_404(slug)
    try:
        invitation = invites.invitation_for_token(
            db.session, current_tokens(), token, letter_id=letter.id
        )
    except InvalidToken:
        return redirect(url_for("signing.invitation_link", token=token), code=303)
    form = SignForm(
        allow_individuals=letter.allow_individuals,
        check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
        data={
            "kind": "organization",
            "organization": invitation.organization,
            "email": invitation.email,
            "invitation": token,
        },
    )
    return private_page(render_letter_page(letter, form, invitation=invitation))


def _admission(
    letter: signing.SigningLetter, form: SignForm
) -> tuple[invites.Admission, str | None]:
    """The invitation an invite-only letter's sign POST carries, and its organization."""
    if letter.signing_policy != SigningPolicy.INVITED:
        return invites.Admission(), None
    return invites.admit_invited(
        db.session, current_tokens(), letter_id=letter.id, token=form.invitation.data
    )


def _invitation_required(refusal: invites.InvitationRequired) -> Response:
    """403: an invite-only letter, and no invitation that works (the page says why)."""
    page = render_template("invites/link_problem.html", reason=refusal.reason)
    return private_page((page, 403))


def _policy_refusal(
    slug: str, letter: signing.SigningLetter, form: SignForm, invited: str | None
) -> tuple[str, int] | None:
    """The page again (400) when the letter's policy refuses the valid form's signer."""
    try:
        invites.check_signer(
            letter.signing_policy,
            letter.allowed_domains,
            invited_organization=invited,
            kind=form.kind.data,
            organization=form.organization.data,
            email_domain=form.email_domain,
        )
    except invites.DomainNotAllowed:
        domains = invites.shown_list(letter.allowed_domains, current_locale())
        form.email.errors = [gettext("Only addresses at %(domains)s can sign.", domains=domains)]
    except invites.NotInvitedOrganization as refusal:
        form.organization.errors = [
            gettext(
                "Your invitation is for %(organization)s. To sign for another organization, "
                "ask the coordinators for its own invitation.",
                organization=refusal.organization,
            )
        ]
    else:
        return None
    return _refused(slug, form, 400)


# --- Signing and the emailed links ---------------------------------------------------------


def _sign_limited(refusal: RateLimited) -> Response:
    """The letter page again, with what was typed and why it was not taken (a 429)."""
    letter = public_letter_or_404(str((request.view_args or {})["slug"]))
    flash(
        f"{refusal.message} "
        + gettext("Nothing was saved; what you typed is still in the form below."),
        "error",
    )
    # The page's own form reads what was posted, so what was typed stays in it.
    return make_response(render_letter_page(letter, status=429))


@routes.post("/letters/<slug>/sign")
@limited(budgets.SIGN, answer=_sign_limited)
def sign(slug: str) -> Response | tuple[str, int]:
    """Take a signature; on success send the signer to check their inbox.

    The letter is read as signing needs it (``signing.SigningLetter``), without its text,
    which only a refusal's page shows (``_refused`` reads the letter again then).
    """
    # The checks read, on connections of their own (``signing.check_signing``); only the
    # signature, its audit event and its email are written, and only they hold SQLite's
    # write lock. A refusal's page reads through the session, without the lock
    # (``reads_first``; ``end_reads`` below ends that before the writes).
    reads_first()
    letter = signing.signing_letter(db.engine, slug)
    if letter is None:
        no_such_letter()
    form = SignForm.posted(
        allow_individuals=letter.allow_individuals,
        check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
        statements=letter.statements_enabled,
    )
    now = utcnow()
    if not letter.accepts_signatures(now):
        return _refused(slug, form, 409)
    # An invite-only letter takes no form without a working invitation, valid or not.
    try:
        admission, invited = _admission(letter, form)
    except invites.InvitationRequired as refusal:
        return _invitation_required(refusal)
    if not form.validate():
        return _refused(slug, form, 400)
    refused = _policy_refusal(slug, letter, form, invited)
    if refused is not None:
        return refused
    # Only a valid form spends its domain's budget: typos never use up an organization's.
    budgets.spend_for_email(form.email.data)
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
        client_prefix=address_prefix(client_address()),
        updates_consent=bool(form.updates_consent.data),
        authorised_statement=form.authorised_statement,
        statement=form.statement.data or None,
    )
    caps = EmailCaps.from_config(current_app.config)
    try:
        check = signing.check_signing(db.engine, letter, data, now=now, caps=caps)
        end_reads(db.session)
        recorded = signing.record_signature(db.session, letter, data, check, now=now, caps=caps)
    except LetterNotOpen:
        db.session.rollback()
        return _refused(slug, form, 409)
    except IndividualsNotAllowed:
        db.session.rollback()
        form.kind.errors = [gettext("This letter is signed by organizations only.")]
        return _refused(slug, form, 400)
    except DomainMismatch:
        db.session.rollback()
        form.email.errors = [
            gettext(
                "This letter asks organizations to sign from an address at their own "
                "website's domain. Use your work email, or check the website address."
            )
        ]
        return _refused(slug, form, 400)
    except DisposableEmailRefused:
        db.session.rollback()
        form.email.errors = [
            gettext(
                "Addresses at %(domain)s are disposable and cannot sign this letter. "
                "Use an address you will keep, such as your work email.",
                domain=data.email_domain,
            )
        ]
        return _refused(slug, form, 400)
    except OrganizationAlreadySigned:
        db.session.rollback()
        form.organization.errors = [
            gettext(
                "%(organization)s has already signed this letter. If someone else should "
                "sign for it, ask the letter's coordinators.",
                organization=data.organization,
            )
        ]
        return _refused(slug, form, 409)
    # Only a new signature takes the logo sent with it: signing again with the same address
    # must not let whoever knows it replace a logo (the signer's own page can).
    if form.prepared_logo is not None and recorded.created:
        logos.attach_new(
            db.session,
            signature_id=recorded.signature_id,
            letter_id=letter.id,
            prepared=form.prepared_logo,
            now=now,
        )
    if recorded.created:
        try:
            invites.use_invitation(
                db.session,
                admission,
                letter_id=letter.id,
                signature_id=recorded.signature_id,
                email=data.email,
                now=now,
            )
        except invites.InvitationRequired as refusal:
            db.session.rollback()
            return _invitation_required(refusal)
    # Named before the commit, which expires the letter: reading it again would open a
    # second transaction, on SQLite a second wait for the write lock.
    check_email_url = url_for("signing.check_email", slug=letter.slug)
    db.session.commit()
    return redirect(check_email_url, code=303)


def _refused(slug: str, form: SignForm, status: int) -> tuple[str, int]:
    """The letter page again, with the form as posted and why it was not taken."""
    return render_letter_page(public_letter_or_404(slug), form.shown_again(), status=status)


@routes.get("/letters/<slug>/signed")
def check_email(slug: str) -> str:
    """The same page whether the signature is new or the email had signed before."""
    letter = public_letter_or_404(slug)
    return render_template("signatures/check_email.html", letter=letter)


def _letter_of(payload: TokenPayload) -> Letter | None:
    """The letter of the signature a link names (the link's signature was read already)."""
    signature = load_signature(db.session, payload.row_id)
    return signature.letter if signature is not None else None


def _link_problem(purpose: str, token: str, error: InvalidToken) -> Response:
    signature = load_signature(db.session, error.signature_id) if error.signature_id else None
    status = error.status
    page = render_template(
        "signatures/link_problem.html",
        purpose=purpose,
        reason=error.reason,
        token=token,
        signature=signature,
        actual=getattr(error, "actual", None),
        purge_days=current_app.config["UNCONFIRMED_PURGE_DAYS"],
    )
    return private_page((page, status))


def _read(purpose: str, token: str) -> tuple[TokenPayload, Signature]:
    payload = current_tokens().read(purpose, token)
    return payload, service.signature_for_token(db.session, purpose, payload)


def _link_page(purpose: str, token: str) -> Response:
    try:
        _, signature = _read(purpose, token)
    except InvalidToken as error:
        return _link_problem(purpose, token, error)
    return private_page(
        render_template(f"signatures/{purpose}.html", signature=signature, token=token)
    )


@routes.get("/confirm/<token>")
@limited(budgets.LINKS)
def confirm_page(token: str) -> Response:
    """Show what is about to be confirmed, with a button."""
    return _link_page("confirm", token)


@routes.get("/withdraw/<token>")
@limited(budgets.LINKS)
def withdraw_page(token: str) -> Response:
    """Show what is about to be withdrawn, with a button."""
    return _link_page("withdraw", token)


@routes.post("/confirm/<token>")
@limited(budgets.LINKS)
def confirm(token: str) -> Response:
    """Confirm the signature: it is published, or waits for the coordinators' review."""
    try:
        payload = current_tokens().read("confirm", token)
        signature = service.confirm(db.session, payload, now=utcnow())
    except InvalidToken as error:
        db.session.rollback()
        return _link_problem("confirm", token, error)
    except OrganizationAlreadySigned:
        db.session.rollback()
        signature = service.signature_for_token(db.session, "confirm", payload)
        page = render_template("signatures/organization_taken.html", signature=signature)
        return private_page((page, 409))
    except LetterNotOpen:
        db.session.rollback()
        letter = _letter_of(payload)
        page = render_template("signatures/letter_closed.html", letter=letter)
        return private_page((page, 409))
    db.session.commit()
    return private_page(render_template("signatures/confirmed.html", signature=signature))


@routes.post("/withdraw/<token>")
@limited(budgets.LINKS)
def withdraw(token: str) -> Response:
    """Withdraw the signature: it leaves the public list at once."""
    try:
        payload = current_tokens().read("withdraw", token)
        signature = service.withdraw(db.session, payload, now=utcnow())
    except InvalidToken as error:
        db.session.rollback()
        return _link_problem("withdraw", token, error)
    db.session.commit()
    return private_page(render_template("signatures/withdrawn.html", signature=signature))


@routes.post("/<any(confirm, withdraw):purpose>/<token>/resend")
@limited(budgets.LINKS, budgets.SIGN)
def resend(purpose: str, token: str) -> Response:
    """Send a fresh link in place of an expired one, to the address already on record."""
    try:
        payload = current_tokens().read(purpose, token)
    except InvalidToken as error:
        if error.reason != EXPIRED:
            return _link_problem(purpose, token, error)
        payload = current_tokens().read(purpose, token, allow_expired=True)
    else:
        # Not expired: nothing to replace; the link itself still works.
        return redirect(url_for(f"signing.{purpose}_page", token=token), code=303)
    try:
        signature = service.resend_after_expiry(
            db.session,
            purpose,
            payload,
            now=utcnow(),
            caps=EmailCaps.from_config(current_app.config),
        )
    except InvalidToken as error:
        db.session.rollback()
        return _link_problem(purpose, token, error)
    except LetterNotOpen:
        db.session.rollback()
        letter = _letter_of(payload)
        return private_page((render_template("signatures/letter_closed.html", letter=letter), 409))
    db.session.commit()
    return private_page(render_template("signatures/resent.html", signature=signature))
