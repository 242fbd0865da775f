"""Moderation pages: the review queue, the list of all signatures, and one signature."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.domains import email_domain, is_free_mail
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.letters import queries as service
from signatory.lists.cursors import Cursor, InvalidCursor
from signatory.models import Letter, Membership, Signature, SignatureStatus
from signatory.signatures import moderation as moderation_service
from signatory.signatures import own, queue
from signatory.signatures.forms import (
    CORRECTION_FORMS,
    CorrectNameForm,
    CorrectOrganizationForm,
    DecisionForm,
    UnpublishForm,
)
from signatory.signatures.moderation import (
    InvalidCorrection,
    InvalidDecision,
    InvalidReason,
    ModerationError,
    NothingSelected,
)
from signatory.signatures.queue import STATUS_LABELS
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")

Rendered = str | tuple[str, int]


# --- Helpers ----------------------------------------------------------------------------


def _page_size() -> int:
    return int(current_app.config.get("MANAGE_PAGE_SIZE", 50))


def _cursor(token: str) -> Cursor | None:
    try:
        return queue.parse_cursor(token)
    except InvalidCursor:
        abort(
            400,
            description=gettext("This page link is damaged or out of date. Start from page one."),
        )


def _signature_or_404(letter: Letter, signature_id: int) -> Signature:
    signature = queue.signature_of(db.session, letter, signature_id)
    if signature is None:
        abort(404, description="There is no such signature on this letter.")
    return signature


# --- The queue --------------------------------------------------------------------------


def _render_queue(
    letter: Letter,
    form: DecisionForm,
    *,
    after: str = "",
    selected: list[int] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Rendered:
    page = queue.queue_page(db.session, letter, after=_cursor(after), limit=_page_size())
    counts = service.status_counts(db.session, letter)
    page_html = render_template(
        "signatures/manage/queue.html",
        letter=letter,
        form=form,
        page=page,
        after=after,
        selected=set(selected or ()),
        error=error,
        pending=counts.get(SignatureStatus.PENDING_REVIEW, 0),
        published=counts.get(SignatureStatus.PUBLISHED, 0),
        current_version=letter.current_version.number,
        corrections=own.pending_corrections(db.session, letter),
    )
    return page_html, status


@routes.get("/letters/<slug>/moderation")
@letter_route("moderator")
def moderation(letter: Letter, membership: Membership) -> Rendered:
    """Signatures awaiting review, newest first, with what a moderator needs to decide."""
    after = request.args.get("after", "")
    return _render_queue(letter, DecisionForm(after=after), after=after)


@routes.post("/letters/<slug>/moderation")
@letter_route("moderator")
def moderate(letter: Letter, membership: Membership) -> Response | Rendered:
    """Approve or reject the ticked signatures, all or none, with an optional reason."""
    form = DecisionForm()
    after = form.after.data or ""
    if not form.validate_on_submit():
        if form.signature.errors:
            error = gettext("The selection was not understood. Reload the page and tick again.")
        else:
            error = gettext("Please correct the reason and send again.")
        return _render_queue(letter, form, after=after, error=error, status=400)
    ids = form.signature.data or []
    try:
        decided = moderation_service.decide(
            db.session,
            letter,
            ids,
            decision=form.decision.data or "",
            reason=form.reason.data,
            actor=current_coordinator(),
            now=utcnow(),
        )
    except ModerationError as error:
        db.session.rollback()
        if isinstance(error, InvalidReason):
            form.reason.errors = [str(error)]
        # A form to correct, or a conflict with what others did meanwhile.
        status = (
            400 if isinstance(error, NothingSelected | InvalidReason | InvalidDecision) else 409
        )
        return _render_queue(
            letter, form, after=after, selected=ids, error=str(error), status=status
        )
    db.session.commit()
    approved = form.decision.data == moderation_service.APPROVE
    if len(decided) == 1:
        label = moderation_service.label_of(decided[0])
        flash(
            gettext("Approved “%(label)s”.", label=label)
            if approved
            else gettext("Rejected “%(label)s”.", label=label),
            "ok",
        )
    elif approved:
        flash(
            ngettext("Approved %(num)d signature.", "Approved %(num)d signatures.", len(decided)),
            "ok",
        )
    else:
        flash(
            ngettext("Rejected %(num)d signature.", "Rejected %(num)d signatures.", len(decided)),
            "ok",
        )
    if form.return_to.data == "signature" and len(decided) == 1:
        target = url_for("manage.signature", slug=letter.slug, signature_id=decided[0].id)
    else:
        target = url_for("manage.moderation", slug=letter.slug, after=after or None)
    return redirect(target, code=303)


# --- All signatures ---------------------------------------------------------------------

SEARCH_MAX = 200


@routes.get("/letters/<slug>/signatures")
@letter_route("moderator")
def signatures(letter: Letter, membership: Membership) -> str:
    """Every signature, in every status, newest first: filter by status, search, page."""
    status = request.args.get("status", "")
    if status and status not in STATUS_LABELS:
        abort(400, description=gettext("Choose a status from the list."))
    search = request.args.get("q", "").strip()
    if len(search) > SEARCH_MAX:
        abort(400, description=gettext("Search for at most %(max)s characters.", max=SEARCH_MAX))
    after = request.args.get("after", "")
    page = queue.signatures_page(
        db.session,
        letter,
        status=status or None,
        search=search,
        after=_cursor(after),
        limit=_page_size(),
    )
    return render_template(
        "signatures/manage/signatures.html",
        letter=letter,
        page=page,
        status=status,
        search=search,
        paged=bool(after),
        status_labels=STATUS_LABELS,
        counts=service.status_counts(db.session, letter),
    )


# --- One signature ----------------------------------------------------------------------


def _render_signature(
    letter: Letter,
    signature: Signature,
    *,
    forms: dict[str, FlaskForm] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Rendered:
    forms = forms or {}
    domain = email_domain(signature.email)
    page_html = render_template(
        "signatures/manage/signature.html",
        letter=letter,
        signature=signature,
        email_domain=domain,
        free_mail=is_free_mail(domain),
        organization_form=forms.get("organization")
        or CorrectOrganizationForm(organization=signature.organization),
        name_form=forms.get("name") or CorrectNameForm(name=signature.name),
        unpublish_form=forms.get("unpublish") or UnpublishForm(),
        decision_form=DecisionForm(return_to="signature"),
        history=queue.signature_history(db.session, signature),
        status_labels=STATUS_LABELS,
        current_version=letter.current_version.number,
        error=error,
    )
    return page_html, status


@routes.get("/letters/<slug>/signatures/<int:signature_id>")
@letter_route("moderator")
def signature(letter: Letter, membership: Membership, signature_id: int) -> Rendered:
    """One signature in full, its history, and what a moderator can do with it."""
    return _render_signature(letter, _signature_or_404(letter, signature_id))


@routes.post("/letters/<slug>/signatures/<int:signature_id>/correct")
@letter_route("moderator")
def correct_signature(
    letter: Letter, membership: Membership, signature_id: int
) -> Response | Rendered:
    """Correct a display typo in the organization or the signer's name; the original is audited."""
    signature = _signature_or_404(letter, signature_id)
    field_name = request.form.get("field", "")
    form_class = CORRECTION_FORMS.get(field_name)
    if form_class is None:
        abort(400, description=gettext("Choose the organization or the signer's name to correct."))
    form = form_class()
    if not form.validate_on_submit():
        return _render_signature(letter, signature, forms={field_name: form}, status=400)
    try:
        moderation_service.correct(
            db.session,
            signature,
            field_name=field_name,
            value=form[field_name].data,
            actor=current_coordinator(),
            now=utcnow(),
        )
    except ModerationError as error:
        db.session.rollback()
        form[field_name].errors = [str(error)]
        status = 400 if isinstance(error, InvalidCorrection) else 409
        return _render_signature(letter, signature, forms={field_name: form}, status=status)
    db.session.commit()
    flash(
        gettext("Corrected the organization. The previous spelling is kept in the audit trail.")
        if field_name == "organization"
        else gettext(
            "Corrected the signer name. The previous spelling is kept in the audit trail."
        ),
        "ok",
    )
    return redirect(
        url_for("manage.signature", slug=letter.slug, signature_id=signature.id), code=303
    )


@routes.post("/letters/<slug>/signatures/<int:signature_id>/unpublish")
@letter_route("moderator")
def unpublish_signature(
    letter: Letter, membership: Membership, signature_id: int
) -> Response | Rendered:
    """Take a published signature off the public list; it returns to the review queue."""
    signature = _signature_or_404(letter, signature_id)
    form = UnpublishForm()
    if not form.validate_on_submit():
        return _render_signature(letter, signature, forms={"unpublish": form}, status=400)
    try:
        moderation_service.unpublish(
            db.session,
            signature,
            reason=form.reason.data,
            actor=current_coordinator(),
            now=utcnow(),
        )
    except ModerationError as error:
        db.session.rollback()
        return _render_signature(
            letter, signature, forms={"unpublish": form}, error=str(error), status=409
        )
    db.session.commit()
    flash(
        gettext(
            "Unpublished “%(label)s”: it is off the public list and back in the review queue.",
            label=moderation_service.label_of(signature),
        ),
        "ok",
    )
    return redirect(
        url_for("manage.signature", slug=letter.slug, signature_id=signature.id), code=303
    )


# --- Corrections the signers asked for ----------------------------------------------------


@routes.post("/letters/<slug>/signatures/<int:signature_id>/correction")
@letter_route("moderator")
def decide_correction(
    letter: Letter, membership: Membership, signature_id: int
) -> Response | Rendered:
    """Apply or decline the correction a signer asked for from their own page."""
    signature = _signature_or_404(letter, signature_id)
    decision = request.form.get("decision", "")
    if not FlaskForm().validate_on_submit() or decision not in ("approve", "decline"):
        error = gettext("Choose Apply or Decline, then send again.")
        return _render_queue(letter, DecisionForm(), error=error, status=400)
    try:
        moderation_service.decide_correction(
            db.session,
            letter,
            signature,
            approve=decision == "approve",
            actor=current_coordinator(),
            now=utcnow(),
        )
    except ModerationError as error:
        db.session.rollback()
        return _render_queue(letter, DecisionForm(), error=str(error), status=409)
    db.session.commit()
    label = moderation_service.label_of(signature)
    flash(
        gettext("Applied the correction to “%(label)s”.", label=label)
        if decision == "approve"
        else gettext("Declined the correction to “%(label)s”.", label=label),
        "ok",
    )
    return redirect(url_for("manage.moderation", slug=letter.slug), code=303)
