"""The coordinators' page of who may sign a letter: its signing policy, inviting
organizations (one, or many pasted at once), and the invitations' list with their
resend and revoke buttons.

Editors and owners only (``letter_route("editor")``): the policy is one of the letter's
settings, and an invitation speaks for the letter; moderators review signatures and do
neither (``team.mail.ROLE_DESCRIPTIONS``).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext, ngettext
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.i18n import current_locale
from signatory.core.time import utcnow
from signatory.invites import entries, service
from signatory.invites.forms import BatchForm, InviteForm, PolicyForm
from signatory.invites.policy import DomainsRefused
from signatory.models import Letter, Membership
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")


def _page(
    letter: Letter,
    *,
    policy_form: PolicyForm | None = None,
    invite_form: InviteForm | None = None,
    batch_form: BatchForm | None = None,
    line_errors: list[tuple[int, str]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    invitations = service.invitations_of(db.session, letter)
    if policy_form is None:
        policy_form = PolicyForm(
            data={
                "signing_policy": letter.signing_policy,
                "allowed_domains": letter.allowed_domains or "",
            }
        )
    page = render_template(
        "invites/manage/invitations.html",
        letter=letter,
        invitations=invitations,
        counts=service.state_counts(invitations),
        policy_form=policy_form,
        invite_form=invite_form or InviteForm(formdata=None),
        batch_form=batch_form or BatchForm(formdata=None),
        line_errors=line_errors or [],
    )
    return page, status


def _back(letter: Letter) -> Response:
    return redirect(url_for("manage.signing_invitations", slug=letter.slug), 303)


@routes.get("/letters/<slug>/invitations")
@letter_route("editor")
def signing_invitations(letter: Letter, membership: Membership) -> tuple[str, int]:
    """Who may sign the letter, and every invitation with what became of it."""
    return _page(letter)


@routes.post("/letters/<slug>/invitations/policy")
@letter_route("editor")
def set_signing_policy(letter: Letter, membership: Membership) -> Any:
    """Set whom the letter accepts signatures from (and the allowed domains)."""
    form = PolicyForm()
    if not form.validate():
        return _page(letter, policy_form=form, status=400)
    try:
        service.set_policy(
            db.session,
            letter,
            form.signing_policy.data or "",
            form.allowed_domains.data or "",
            actor=current_coordinator(),
            now=utcnow(),
        )
    except DomainsRefused as refused:
        db.session.rollback()
        form.allowed_domains.errors = [str(refused)]
        return _page(letter, policy_form=form, status=400)
    db.session.commit()
    flash(gettext("Saved: the letter page says who may sign."), "ok")
    return _back(letter)


def _invited(letter: Letter, invited: list[entries.InviteEntry]) -> None:
    service.invite(
        db.session,
        letter,
        invited,
        actor=current_coordinator(),
        now=utcnow(),
        locale=current_locale(),
    )


@routes.post("/letters/<slug>/invitations/new")
@letter_route("editor")
def invite_signer(letter: Letter, membership: Membership) -> Any:
    """Invite one organization: its invitation is emailed through the outbox."""
    form = InviteForm()
    if not form.validate():
        return _page(letter, invite_form=form, status=400)
    raw = entries.InviteEntry(
        organization=form.organization.data or "",
        email=form.email.data or "",
        name=form.name.data or None,
        note=form.note.data or None,
    )
    try:
        _invited(letter, [entries.checked_entry(raw)])
    except entries.EntryRefused as refused:
        db.session.rollback()
        getattr(form, refused.field).errors = [refused.message]
        return _page(letter, invite_form=form, status=400)
    except entries.LinesRefused as refused:
        db.session.rollback()
        form.organization.errors = [message for _, message in refused.errors]
        return _page(letter, invite_form=form, status=409)
    except service.NotAccepting as refused:
        db.session.rollback()
        form.form_errors = [refused.message]
        return _page(letter, invite_form=form, status=409)
    db.session.commit()
    flash(gettext("Invitation sent to %(email)s.", email=raw.email), "ok")
    return _back(letter)


@routes.post("/letters/<slug>/invitations/batch")
@letter_route("editor")
def invite_signers(letter: Letter, membership: Membership) -> Any:
    """Invite every organization of a pasted list, or none: errors are listed by line."""
    form = BatchForm()
    if not form.validate():
        return _page(letter, batch_form=form, status=413)
    try:
        parsed = entries.parse_lines(form.lines.data or "")
        _invited(letter, parsed)
    except entries.LinesRefused as refused:
        db.session.rollback()
        return _page(letter, batch_form=form, line_errors=refused.errors, status=400)
    except service.NotAccepting as refused:
        db.session.rollback()
        form.form_errors = [refused.message]
        return _page(letter, batch_form=form, status=409)
    db.session.commit()
    flash(ngettext("%(num)s invitation sent.", "%(num)s invitations sent.", len(parsed)), "ok")
    return _back(letter)


def _act(letter: Letter, invitation_id: int, action: str) -> Any:
    try:
        if action == "resend":
            done = service.resend(
                db.session,
                letter,
                invitation_id,
                actor=current_coordinator(),
                now=utcnow(),
                locale=current_locale(),
            )
            message = gettext("Invitation sent again to %(email)s.", email=done.email)
        else:
            done = service.revoke(
                db.session, letter, invitation_id, actor=current_coordinator(), now=utcnow()
            )
            message = gettext(
                "Invitation of %(organization)s revoked: its link no longer works.",
                organization=done.organization,
            )
    except LookupError:
        db.session.rollback()
        abort(404, description=gettext("This letter has no such invitation."))
    except (service.NotPending, service.NotAccepting) as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return _page(letter, status=409)
    db.session.commit()
    flash(message, "ok")
    return _back(letter)


@routes.post("/letters/<slug>/invitations/<int:invitation_id>/resend")
@letter_route("editor")
def resend_signing_invitation(letter: Letter, membership: Membership, invitation_id: int) -> Any:
    """Email a pending invitation's link again."""
    return _act(letter, invitation_id, "resend")


@routes.post("/letters/<slug>/invitations/<int:invitation_id>/revoke")
@letter_route("editor")
def revoke_signing_invitation(letter: Letter, membership: Membership, invitation_id: int) -> Any:
    """Revoke a pending invitation: its link answers that it was revoked."""
    return _act(letter, invitation_id, "revoke")
