"""Moderation pages: the review queue, the list of all signatures, and one signature."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from signatory.core.extensions import db
from signatory.core.freemail import email_domain, is_free_mail
from signatory.core.text import has_control_characters
from signatory.core.time import utcnow
from signatory.manage import bp, moderation_service, service
from signatory.manage.access import current_coordinator, letter_route
from signatory.manage.moderation_service import (
    REASON_MAX,
    InvalidCorrection,
    InvalidDecision,
    InvalidReason,
    ModerationError,
    NothingSelected,
)
from signatory.models import Letter, Membership, Signature, SignatureStatus
from signatory.public.service import Cursor, InvalidCursor
from signatory.signing.forms import NAME_MAX

Rendered = str | tuple[str, int]


# --- Forms ------------------------------------------------------------------------------


def _one_line(form: FlaskForm, field: Any) -> None:
    if field.data and has_control_characters(field.data):
        raise ValidationError(gettext("Use letters, numbers and punctuation only, on one line."))


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


_REASON = TextAreaField(
    _l("Reason"),
    filters=[_strip],
    validators=[
        Length(
            max=REASON_MAX,
            message=_l("Keep the reason under %(max)s characters.", max=REASON_MAX),
        )
    ],
)


class DecisionForm(FlaskForm):
    """Approve or reject the ticked signatures, with one optional reason for all of them."""

    # The checkboxes are drawn by the template, one per row; any id is accepted here and
    # the service checks each belongs to the letter and is awaiting review.
    signature = SelectMultipleField(coerce=int, validate_choice=False)
    decision = HiddenField()
    reason = _REASON
    # The queue page the form was sent from, to come back to it.
    after = HiddenField()
    # "signature" when sent from one signature's page, to go back there.
    return_to = HiddenField()


class UnpublishForm(FlaskForm):
    reason = _REASON


def _name_validators() -> list[Any]:
    return [
        # Checked after the spaces are stripped: "   " is empty too.
        DataRequired(_l("Enter the corrected name; it cannot be empty.")),
        Length(max=NAME_MAX, message=_l("Keep it under %(max)s characters.", max=NAME_MAX)),
        _one_line,
    ]


# The same limits as the sign form (signing/forms.py): a correction may not smuggle in
# what a signer could not have typed.
class CorrectOrganizationForm(FlaskForm):
    organization = StringField(_l("Organization"), filters=[_strip], validators=_name_validators())


class CorrectNameForm(FlaskForm):
    name = StringField(_l("Signer name"), filters=[_strip], validators=_name_validators())


CORRECTION_FORMS: dict[str, type[FlaskForm]] = {
    "organization": CorrectOrganizationForm,
    "name": CorrectNameForm,
}


# --- Helpers ----------------------------------------------------------------------------


def _page_size() -> int:
    return int(current_app.config.get("MANAGE_PAGE_SIZE", 50))


def _cursor(token: str) -> Cursor | None:
    try:
        return moderation_service.parse_cursor(token)
    except InvalidCursor:
        abort(
            400,
            description=gettext("This page link is damaged or out of date. Start from page one."),
        )


def _signature_or_404(letter: Letter, signature_id: int) -> Signature:
    signature = moderation_service.signature_of(db.session, letter, signature_id)
    if signature is None:
        abort(404, description="There is no such signature on this letter.")
    return signature


# --- The queue --------------------------------------------------------------------------


def _render_queue(
    letter: Letter,
    membership: Membership,
    form: DecisionForm,
    *,
    after: str = "",
    selected: list[int] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Rendered:
    page = moderation_service.queue_page(
        db.session, letter, after=_cursor(after), limit=_page_size()
    )
    counts = service.status_counts(db.session, letter)
    page_html = render_template(
        "manage/moderation/queue.html",
        letter=letter,
        membership=membership,
        form=form,
        page=page,
        after=after,
        selected=set(selected or ()),
        error=error,
        pending=counts.get(SignatureStatus.PENDING_REVIEW, 0),
        published=counts.get(SignatureStatus.PUBLISHED, 0),
        current_version=letter.current_version.number,
    )
    return page_html, status


@bp.get("/letters/<slug>/moderation")
@letter_route("moderator")
def moderation(letter: Letter, membership: Membership) -> Rendered:
    """Signatures awaiting review, newest first, with what a moderator needs to decide."""
    after = request.args.get("after", "")
    return _render_queue(letter, membership, DecisionForm(after=after), after=after)


@bp.post("/letters/<slug>/moderation")
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
        return _render_queue(letter, membership, form, after=after, error=error, status=400)
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
            letter, membership, form, after=after, selected=ids, error=str(error), status=status
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

STATUS_LABELS = {
    SignatureStatus.PENDING_REVIEW.value: _l("Awaiting review"),
    SignatureStatus.PUBLISHED.value: _l("Published"),
    SignatureStatus.UNCONFIRMED.value: _l("Unconfirmed"),
    SignatureStatus.REJECTED.value: _l("Rejected"),
    SignatureStatus.WITHDRAWN.value: _l("Withdrawn"),
}
SEARCH_MAX = 200


@bp.get("/letters/<slug>/signatures")
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
    page = moderation_service.signatures_page(
        db.session,
        letter,
        status=status or None,
        search=search,
        after=_cursor(after),
        limit=_page_size(),
    )
    return render_template(
        "manage/moderation/signatures.html",
        letter=letter,
        membership=membership,
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
    membership: Membership,
    signature: Signature,
    *,
    forms: dict[str, FlaskForm] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Rendered:
    forms = forms or {}
    domain = email_domain(signature.email)
    page_html = render_template(
        "manage/moderation/signature.html",
        letter=letter,
        membership=membership,
        signature=signature,
        email_domain=domain,
        free_mail=is_free_mail(domain),
        organization_form=forms.get("organization")
        or CorrectOrganizationForm(organization=signature.organization),
        name_form=forms.get("name") or CorrectNameForm(name=signature.name),
        unpublish_form=forms.get("unpublish") or UnpublishForm(),
        decision_form=DecisionForm(return_to="signature"),
        history=moderation_service.signature_history(db.session, signature),
        status_labels=STATUS_LABELS,
        current_version=letter.current_version.number,
        error=error,
    )
    return page_html, status


@bp.get("/letters/<slug>/signatures/<int:signature_id>")
@letter_route("moderator")
def signature(letter: Letter, membership: Membership, signature_id: int) -> Rendered:
    """One signature in full, its history, and what a moderator can do with it."""
    return _render_signature(letter, membership, _signature_or_404(letter, signature_id))


@bp.post("/letters/<slug>/signatures/<int:signature_id>/correct")
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
        return _render_signature(
            letter, membership, signature, forms={field_name: form}, status=400
        )
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
        return _render_signature(
            letter, membership, signature, forms={field_name: form}, status=status
        )
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


@bp.post("/letters/<slug>/signatures/<int:signature_id>/unpublish")
@letter_route("moderator")
def unpublish_signature(
    letter: Letter, membership: Membership, signature_id: int
) -> Response | Rendered:
    """Take a published signature off the public list; it returns to the review queue."""
    signature = _signature_or_404(letter, signature_id)
    form = UnpublishForm()
    if not form.validate_on_submit():
        return _render_signature(
            letter, membership, signature, forms={"unpublish": form}, status=400
        )
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
            letter, membership, signature, forms={"unpublish": form}, error=str(error), status=409
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
