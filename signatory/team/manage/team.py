"""A letter's team page, the owners' changes to it, and the invitation link.

Anyone on the team sees who else is on it; only owners invite, change roles, remove
members and revoke invitations. The invitation link is public (the invited person may
have no account yet); a GET only shows what the invitation is for, and joining happens
on POST, so a mail scanner that opens the link accepts nothing.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.errors import InvalidArgument, InvalidToken
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import EXPIRED, TokenPayload, current_tokens
from signatory.core.web import private_page
from signatory.models import Coordinator, Invitation, Letter, Membership
from signatory.models.membership import load_invitation
from signatory.team import accounts
from signatory.team import membership as team_service
from signatory.team.access import (
    current_coordinator,
    letter_route,
    membership_for,
    public_route,
    start_session,
)
from signatory.team.forms import ROLE_CHOICES, InviteForm, JoinForm, RoleForm
from signatory.team.mail import ROLE_DESCRIPTIONS, ROLE_NAMES
from signatory.team.manage.signin import LINK_STATUS

routes = Routes("manage")


def _role_name(role: str | None) -> str:
    """A role as a sentence names it ("editor"), in the reader's language."""
    name = ROLE_NAMES.get(role or "")
    return str(name) if name is not None else (role or "")


# -- the team page and the owners' changes -----------------------------------------------


def _team_page(
    letter: Letter,
    membership: Membership,
    *,
    invite_form: InviteForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    now = utcnow()
    lifetime = timedelta(seconds=current_app.config["INVITE_TOKEN_MAX_AGE"])
    page = render_template(
        "team/manage/team.html",
        letter=letter,
        members=team_service.members(db.session, letter),
        pending=team_service.pending_invitations(db.session, letter, lifetime=lifetime, now=now),
        invite_form=invite_form or InviteForm(formdata=None),
        roles=ROLE_CHOICES,
        error=error,
    )
    return page, status


@routes.get("/letters/<slug>/team")
@letter_route("moderator")
def team(letter: Letter, membership: Membership) -> tuple[str, int]:
    """Who coordinates this letter, in which role, and who has been invited."""
    return _team_page(letter, membership)


@routes.post("/letters/<slug>/team/invite")
@letter_route("owner")
def invite(letter: Letter, membership: Membership) -> Response | tuple[str, int]:
    """Invite someone by email with a role; the invitation email goes through the outbox."""
    form = InviteForm()
    if not form.validate_on_submit():
        return _team_page(letter, membership, invite_form=form, status=400)
    try:
        invitation = team_service.invite(
            db.session,
            letter,
            actor=current_coordinator(),
            email=form.email.data,
            role=form.role.data,
            now=utcnow(),
        )
    except InvalidArgument as error:
        db.session.rollback()
        form.email.errors = [str(error)]
        return _team_page(letter, membership, invite_form=form, status=400)
    except team_service.AlreadyMember as error:
        db.session.rollback()
        form.email.errors = [str(error)]
        return _team_page(letter, membership, invite_form=form, status=409)
    db.session.commit()
    flash(
        gettext(
            "Invitation sent to %(email)s as %(role)s.",
            email=invitation.email,
            role=_role_name(invitation.role),
        ),
        "ok",
    )
    return redirect(url_for("manage.team", slug=letter.slug), code=303)


def _team_change_failed(
    letter: Letter, membership: Membership, error: team_service.TeamError
) -> tuple[str, int]:
    db.session.rollback()
    if isinstance(error, team_service.NotFound):
        abort(404)
    return _team_page(letter, membership, error=str(error), status=409)


@routes.post("/letters/<slug>/team/<int:member_id>/role")
@letter_route("owner")
def change_role(
    letter: Letter, membership: Membership, member_id: int
) -> Response | tuple[str, int]:
    """Give a member another role (the last owner keeps theirs)."""
    form = RoleForm()
    if not form.validate_on_submit():
        return _team_page(letter, membership, error=gettext("Choose one of the roles."), status=400)
    try:
        changed = team_service.change_role(
            db.session,
            letter,
            member_id,
            actor=current_coordinator(),
            role=form.role.data,
            now=utcnow(),
        )
    except team_service.TeamError as error:
        return _team_change_failed(letter, membership, error)
    name = changed.coordinator.name
    db.session.commit()
    flash(gettext("%(name)s is now %(role)s.", name=name, role=_role_name(form.role.data)), "ok")
    return redirect(url_for("manage.team", slug=letter.slug), code=303)


@routes.post("/letters/<slug>/team/<int:member_id>/remove")
@letter_route("owner")
def remove_member(
    letter: Letter, membership: Membership, member_id: int
) -> Response | tuple[str, int]:
    """Take a member off this letter's team (the last owner stays)."""
    try:
        removed = team_service.remove_member(
            db.session, letter, member_id, actor=current_coordinator(), now=utcnow()
        )
    except team_service.TeamError as error:
        return _team_change_failed(letter, membership, error)
    name, was_me = removed.name, removed.id == current_user.id
    db.session.commit()
    if was_me:
        flash(gettext("You left the team of “%(title)s”.", title=letter.title), "ok")
        return redirect(url_for("manage.dashboard"), code=303)
    flash(gettext("%(name)s is no longer on the team.", name=name), "ok")
    return redirect(url_for("manage.team", slug=letter.slug), code=303)


@routes.post("/letters/<slug>/team/invitations/<int:invitation_id>/revoke")
@letter_route("owner")
def revoke_invitation(
    letter: Letter, membership: Membership, invitation_id: int
) -> Response | tuple[str, int]:
    """Withdraw a pending invitation: its link stops working."""
    try:
        invitation = team_service.revoke_invitation(
            db.session, letter, invitation_id, actor=current_coordinator(), now=utcnow()
        )
    except team_service.TeamError as error:
        return _team_change_failed(letter, membership, error)
    email = invitation.email
    db.session.commit()
    flash(
        gettext("The invitation to %(email)s is withdrawn; its link no longer works.", email=email),
        "ok",
    )
    return redirect(url_for("manage.team", slug=letter.slug), code=303)


# -- the invitation link -----------------------------------------------------------------


def _invitation_problem(
    reason: str, invitation: Invitation | None = None, actual: str | None = None
) -> Response:
    # Someone who already joined (the usual reason a link is "used") is sent to the letter.
    is_member = (
        invitation is not None
        and current_user.is_authenticated
        and membership_for(current_user, invitation.letter.slug) is not None
    )
    page = render_template(
        "team/manage/invitation_problem.html",
        reason=reason,
        invitation=invitation,
        actual=actual,
        is_member=is_member,
    )
    return private_page((page, LINK_STATUS.get(reason, 400)))


def _read_invitation(token: str) -> tuple[TokenPayload, Invitation]:
    payload = current_tokens().read("invite", token)
    return payload, team_service.invitation_for_token(db.session, payload)


def _token_problem(token: str, error: InvalidToken) -> Response:
    invitation = None
    if error.reason == EXPIRED:
        # Still signed by us, so it names its invitation: the page can say what it was for.
        payload = current_tokens().read("invite", token, allow_expired=True)
        invitation = load_invitation(db.session, payload.row_id)
    return _invitation_problem(error.reason, invitation, getattr(error, "actual", None))


def _joined(membership: Membership) -> Response:
    letter = db.session.get(Letter, membership.letter_id)
    assert letter is not None  # the membership was just made, on this letter
    flash(
        gettext(
            "Welcome to the team of “%(title)s”. Your role: %(role)s.",
            title=letter.title,
            role=_role_name(membership.role),
        ),
        "ok",
    )
    return redirect(url_for("manage.overview", slug=letter.slug), code=303)


@routes.route("/invite/<token>", methods=["GET", "POST"])
@public_route
def invitation(token: str) -> Response:
    """Show an invitation (GET) and accept it (POST), with a new or an existing account."""
    try:
        payload, invitation = _read_invitation(token)
    except InvalidToken as error:
        return _token_problem(token, error)
    except team_service.InvitationUnusable as error:
        return _invitation_problem(error.reason, error.invitation)
    account = team_service.account_for(db.session, invitation)
    if account is None:
        return _join_with_new_account(payload, invitation)
    return _join_with_account(payload, invitation)


def _page(invitation: Invitation, status: int = 200, **context: object) -> Response:
    page = render_template(
        "team/manage/invitation.html",
        invitation=invitation,
        role_description=ROLE_DESCRIPTIONS[invitation.role],
        **context,
    )
    return private_page((page, status))


def _join_with_new_account(payload: TokenPayload, invitation: Invitation) -> Response:
    form = JoinForm()
    if request.method == "GET":
        return _page(invitation, form=form)
    if not form.validate_on_submit():
        return _page(invitation, 400, form=form)
    try:
        membership = team_service.accept_with_new_account(
            db.session, payload, name=form.name.data, password=form.password.data, now=utcnow()
        )
    except accounts.AccountExists:
        # Made meanwhile (another invitation, the CLI): join with that account instead.
        db.session.rollback()
        flash(gettext("An account with this address exists: sign in with it to accept."), "info")
        return redirect(url_for("manage.login", next=request.path), code=303)
    except InvalidArgument as error:
        db.session.rollback()
        form.name.errors = [str(error)]
        return _page(invitation, 400, form=form)
    except team_service.InvitationUnusable as error:
        db.session.rollback()
        return _invitation_problem(error.reason, error.invitation)
    db.session.commit()
    coordinator = db.session.get(Coordinator, membership.coordinator_id)
    assert coordinator is not None  # the account was made in this request
    start_session(coordinator)
    return _joined(membership)


def _join_with_account(payload: TokenPayload, invitation: Invitation) -> Response:
    if not current_user.is_authenticated:
        if request.method == "POST":
            return redirect(url_for("manage.login", next=request.path), code=303)
        return _page(invitation, login_url=url_for("manage.login", next=request.path))
    if current_user.email != invitation.email:
        return _page(invitation, 403, wrong_account=True)
    if request.method == "GET":
        return _page(invitation, signed_in=True)
    try:
        membership = team_service.accept_as(
            db.session, payload, current_coordinator(), now=utcnow()
        )
    except team_service.InvitationUnusable as error:
        db.session.rollback()
        return _invitation_problem(error.reason, error.invitation)
    db.session.commit()
    return _joined(membership)
