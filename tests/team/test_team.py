"""A letter's team: invitations by email, joining by link, roles, removal, the last owner."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload, Tokens
from signatory.models import Coordinator, Invitation, Membership
from signatory.team import membership as team_service
from tests.conftest import (
    SECRET,
    audit_trail,
    fetch_csrf,
    html_part,
    post_form,
    queued_mail,
    render_queued,
    sign_in,
    text_part,
)
from tests.factories import PASSWORD, find_letter, make_coordinator, make_letter, make_member

OWNER = "owner@coalition.example.org"
INVITED = "newcomer@partner.example.org"
NEW_PASSWORD = "the newcomer's own passphrase"


@pytest.fixture
def letter(app) -> str:
    with app.app_context():
        letter = make_letter(db.session, slug="civic-space", title="Protect civic space")
        make_member(db.session, letter, role="owner", email=OWNER, name="Olive Owner")
        db.session.commit()
        return letter.slug


@pytest.fixture
def owner(client, letter):
    return sign_in(client, OWNER)


def member_of(app, role: str, email: str, slug: str = "civic-space") -> int:
    """Put ``email`` (made if new) on the letter ``slug`` (made if new) with ``role``."""
    with app.app_context():
        letter = find_letter(db.session, slug) or make_letter(db.session, slug=slug)
        coordinator = db.session.scalar(select(Coordinator).where(Coordinator.email == email))
        coordinator = coordinator or make_coordinator(db.session, email=email)
        make_member(db.session, letter, role=role, coordinator=coordinator)
        db.session.commit()
        return db.session.scalar(
            select(Membership.id).where(
                Membership.letter_id == letter.id, Membership.coordinator_id == coordinator.id
            )
        )


def invite(client, email=INVITED, role="moderator", slug="civic-space"):
    return post_form(client, f"/manage/letters/{slug}/team/invite", email=email, role=role)


def invite_link(app, message_id: int | None = None) -> str:
    """The path of the link in the (latest) invitation email, rendered as the worker would."""
    message_id = message_id or queued_mail(app, "invitation")[-1].id
    match = re.search(
        r"http://signatory\.test(/manage/invite/\S+)", text_part(render_queued(app, message_id))
    )
    assert match, "no invitation link in the email"
    return match.group(1)


def membership(app, email: str, slug: str = "civic-space") -> Membership | None:
    with app.app_context():
        row = db.session.scalar(
            select(Membership)
            .join(Coordinator, Coordinator.id == Membership.coordinator_id)
            .where(Coordinator.email == email, Membership.letter.has(slug=slug))
        )
        if row is not None:
            db.session.expunge(row)
        return row


def accept_as_newcomer(app, path: str, name="Nico Newcomer", password=NEW_PASSWORD):
    """Open the link in a fresh browser and create the account; returns that browser."""
    browser = app.test_client()
    token = fetch_csrf(browser, path)
    response = browser.post(
        path,
        data={
            "csrf_token": token,
            "name": name,
            "password": password,
            "password_again": password,
        },
    )
    return browser, response


# -- the page ----------------------------------------------------------------------------


def test_the_team_page_lists_members_with_their_roles(app, owner):
    member_of(app, "moderator", "mod@coalition.example.org")
    html = owner.get("/manage/letters/civic-space/team").get_data(as_text=True)
    assert "Olive Owner" in html and OWNER in html
    assert "mod@coalition.example.org" in html
    assert "Invite a coordinator" in html


def test_a_moderator_sees_the_team_but_not_the_owners_forms(app, client, letter):
    member_of(app, "moderator", "mod@coalition.example.org")
    sign_in(client, "mod@coalition.example.org")
    response = client.get("/manage/letters/civic-space/team")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert OWNER in html
    assert "Invite a coordinator" not in html
    assert "/team/invite" not in html


def test_a_stranger_gets_404_on_the_team_page(app, client, letter):
    with app.app_context():
        other = make_letter(db.session, slug="elsewhere")
        make_member(db.session, other, role="owner", email="x@elsewhere.example.org")
        db.session.commit()
    sign_in(client, "x@elsewhere.example.org")
    assert client.get("/manage/letters/civic-space/team").status_code == 404


def test_an_editor_cannot_invite(app, client, letter):
    member_of(app, "editor", "ed@coalition.example.org")
    sign_in(client, "ed@coalition.example.org")
    assert invite(client).status_code == 403
    assert queued_mail(app, "invitation") == []


# -- inviting ----------------------------------------------------------------------------


def test_inviting_records_the_invitation_queues_the_email_and_audits(app, owner):
    response = invite(owner, email="Newcomer@Partner.example.org", role="editor")
    assert response.status_code == 303
    with app.app_context():
        [invitation] = db.session.scalars(select(Invitation)).all()
        assert (invitation.email, invitation.role) == (INVITED, "editor")
    [message] = queued_mail(app, "invitation")
    assert message.to_addr == INVITED
    [event] = audit_trail(app, "team.invited")
    assert event.detail["email"] == INVITED and event.detail["role"] == "editor"
    assert INVITED in owner.get("/manage/letters/civic-space/team").get_data(as_text=True)


def test_the_invitation_email_names_the_letter_and_the_inviter(app, owner):
    invite(owner)
    email = render_queued(app, queued_mail(app, "invitation")[0].id)
    assert email["To"] == INVITED
    assert "Olive Owner" in email["Subject"] and "Protect civic space" in email["Subject"]
    text = text_part(email)
    link = re.search(r"http://signatory\.test/manage/invite/\S+", text).group(0)
    assert "as moderator" in text
    assert "new coordinator account" in text
    assert link in html_part(email)


def test_the_invitation_email_is_delivered_over_smtp(app, owner, runner, smtp_server):
    invite(owner)
    app.config["MAIL_URL"] = smtp_server.url
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    [email] = smtp_server.wait_for(1)
    assert email["To"] == INVITED
    assert "/manage/invite/" in text_part(email)


def test_inviting_someone_already_on_the_team_says_so(app, owner):
    member_of(app, "moderator", "mod@coalition.example.org")
    response = invite(owner, email="mod@coalition.example.org", role="editor")
    assert response.status_code == 409
    assert "already on this letter" in response.get_data(as_text=True)
    assert queued_mail(app, "invitation") == []


def test_an_invalid_address_is_refused_next_to_the_field(app, owner):
    response = invite(owner, email="not an address")
    assert response.status_code == 400
    assert "not a valid email address" in response.get_data(as_text=True)
    assert queued_mail(app, "invitation") == []


def test_an_unknown_role_is_refused(app, owner):
    assert invite(owner, role="admin").status_code == 400
    assert queued_mail(app, "invitation") == []


def test_inviting_a_pending_address_again_replaces_the_old_invitation(app, owner):
    invite(owner, role="moderator")
    old_link = invite_link(app)
    invite(owner, role="editor")
    with app.app_context():
        rows = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
        assert [r.revoked_at is not None for r in rows] == [True, False]
    response = app.test_client().get(old_link)
    assert response.status_code == 410
    assert "withdrawn" in response.get_data(as_text=True)
    [replaced] = audit_trail(app, "team.invitation_revoked")
    assert replaced.detail["replaced"] is True


def test_an_owner_revokes_a_pending_invitation(app, owner):
    invite(owner)
    link = invite_link(app)
    with app.app_context():
        invitation_id = db.session.scalar(select(Invitation.id))
    response = post_form(
        owner, f"/manage/letters/civic-space/team/invitations/{invitation_id}/revoke"
    )
    assert response.status_code == 303
    assert len(audit_trail(app, "team.invitation_revoked")) == 1
    assert app.test_client().get(link).status_code == 410
    page = owner.get("/manage/letters/civic-space/team").get_data(as_text=True)
    assert "No invitations are waiting." in page


def test_an_invitation_of_another_letter_cannot_be_revoked_from_this_one(app, owner, letter):
    with app.app_context():
        other = make_letter(db.session, slug="elsewhere")
        foreign = Invitation(letter_id=other.id, email="a@example.org", role="editor")
        db.session.add(foreign)
        db.session.commit()
        foreign_id = foreign.id
    path = f"/manage/letters/civic-space/team/invitations/{foreign_id}/revoke"
    assert post_form(owner, path).status_code == 404
    with app.app_context():
        assert db.session.get(Invitation, foreign_id).revoked_at is None


# -- accepting ---------------------------------------------------------------------------


def test_opening_an_invitation_link_only_shows_a_page(app, owner):
    invite(owner)
    page = app.test_client().get(invite_link(app))
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "Protect civic space" in html and "Olive Owner" in html
    assert "Create my account and join" in html
    assert membership(app, INVITED) is None


def test_accepting_as_a_new_account_creates_it_and_joins_with_the_role(app, owner):
    invite(owner, role="moderator")
    browser, response = accept_as_newcomer(app, invite_link(app))
    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/letters/civic-space/"
    joined = membership(app, INVITED)
    assert joined is not None and joined.role == "moderator"
    assert browser.get("/manage/").status_code == 200  # signed in as the new account
    with app.app_context():
        newcomer = db.session.scalar(select(Coordinator).where(Coordinator.email == INVITED))
        assert newcomer.name == "Nico Newcomer"
        newcomer_id = newcomer.id
    [created] = audit_trail(app, "coordinator.created")
    [event] = audit_trail(app, "team.joined")
    assert created.actor_id == event.actor_id == newcomer_id
    assert created.actor_label == "coordinator"


def test_an_invited_moderator_can_moderate_but_not_edit(app, owner):
    invite(owner, role="moderator")
    browser, _ = accept_as_newcomer(app, invite_link(app))
    assert browser.get("/manage/letters/civic-space/moderation").status_code not in (403, 404)
    assert browser.get("/manage/letters/civic-space/signatures").status_code not in (403, 404)
    assert browser.get("/manage/letters/civic-space/edit").status_code == 403
    assert browser.get("/manage/letters/civic-space/delivery").status_code == 403
    assert invite(browser, email="friend@partner.example.org").status_code == 403


def test_an_accepted_invitation_link_cannot_be_used_again(app, owner):
    invite(owner)
    link = invite_link(app)
    browser, _ = accept_as_newcomer(app, link)
    again = browser.get(link)
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert "already been accepted" in html
    assert "Go to the letter" in html
    other = app.test_client()
    second = other.post(
        link,
        data={
            "csrf_token": fetch_csrf(other, "/manage/login"),
            "name": "Someone Else",
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
    )
    assert second.status_code == 409


def test_the_new_account_form_refuses_a_short_password(app, owner):
    invite(owner)
    _, response = accept_as_newcomer(app, invite_link(app), password="short")
    assert response.status_code == 400
    assert membership(app, INVITED) is None


def test_an_existing_account_must_sign_in_before_accepting(app, owner):
    with app.app_context():
        make_coordinator(db.session, email=INVITED, name="Existing Person")
        db.session.commit()
    invite(owner, role="editor")
    link = invite_link(app)
    browser = app.test_client()
    page = browser.get(link).get_data(as_text=True)
    assert "Sign in to accept" in page
    assert "Create my account" not in page
    response = browser.post(link, data={"csrf_token": fetch_csrf(browser, "/manage/login")})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/manage/login?next={link}"
    assert membership(app, INVITED) is None

    token = fetch_csrf(browser, "/manage/login")
    signed = browser.post(
        f"/manage/login?next={link}",
        data={"csrf_token": token, "email": INVITED, "password": PASSWORD},
    )
    assert signed.headers["Location"] == link
    assert "Join the team" in browser.get(link).get_data(as_text=True)
    assert membership(app, INVITED) is None  # still nothing on GET
    accepted = browser.post(link, data={"csrf_token": fetch_csrf(browser, link)})
    assert accepted.status_code == 303
    assert membership(app, INVITED).role == "editor"


def test_an_invitation_cannot_be_accepted_by_another_account(app, owner):
    with app.app_context():
        make_coordinator(db.session, email=INVITED)
        make_coordinator(db.session, email="someone.else@partner.example.org")
        db.session.commit()
    invite(owner)
    link = invite_link(app)
    browser = app.test_client()
    sign_in(browser, "someone.else@partner.example.org")
    assert browser.get(link).status_code == 403
    response = browser.post(link, data={"csrf_token": fetch_csrf(browser, "/manage/")})
    assert response.status_code == 403
    assert membership(app, INVITED) is None
    assert membership(app, "someone.else@partner.example.org") is None


def test_an_expired_invitation_link_says_so_and_names_the_letter(app, owner):
    invite(owner)
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        age = app.config["INVITE_TOKEN_MAX_AGE"] + 5
        token = Tokens(SECRET, {}, clock=lambda: time.time() - age).make(
            "invite", invitation.id, invitation.nonce
        )
    response = app.test_client().get(f"/manage/invite/{token}")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "expired" in html and "Protect civic space" in html and "Olive Owner" in html


def test_a_tampered_invitation_link_is_not_valid(app, owner):
    invite(owner)
    link = invite_link(app)
    response = app.test_client().get(link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB"))
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_a_reset_link_is_not_an_invitation(app, owner):
    with app.app_context():
        coordinator = db.session.scalar(select(Coordinator).where(Coordinator.email == OWNER))
        token = app.extensions["signatory.tokens"].make(
            "sign-in", coordinator.id, coordinator.reset_nonce
        )
    response = app.test_client().get(f"/manage/invite/{token}")
    assert response.status_code == 400
    assert "for something else" in response.get_data(as_text=True)


# -- roles and removal -------------------------------------------------------------------


def test_an_owner_changes_a_members_role(app, owner):
    member_id = member_of(app, "moderator", "mod@coalition.example.org")
    response = post_form(owner, f"/manage/letters/civic-space/team/{member_id}/role", role="editor")
    assert response.status_code == 303
    assert membership(app, "mod@coalition.example.org").role == "editor"
    [event] = audit_trail(app, "team.role_changed")
    assert (event.detail["from"], event.detail["to"]) == ("moderator", "editor")


def test_the_last_owner_cannot_be_demoted(app, owner):
    mine = membership(app, OWNER).id
    response = post_form(owner, f"/manage/letters/civic-space/team/{mine}/role", role="editor")
    assert response.status_code == 409
    assert "at least one owner" in response.get_data(as_text=True)
    assert membership(app, OWNER).role == "owner"
    assert audit_trail(app, "team.role_changed") == []


def test_the_last_owner_cannot_be_removed(app, owner):
    mine = membership(app, OWNER).id
    response = post_form(owner, f"/manage/letters/civic-space/team/{mine}/remove")
    assert response.status_code == 409
    assert "at least one owner" in response.get_data(as_text=True)
    assert membership(app, OWNER) is not None


def test_an_owner_can_step_down_while_another_owner_remains(app, owner):
    member_of(app, "owner", "second@coalition.example.org")
    mine = membership(app, OWNER).id
    response = post_form(owner, f"/manage/letters/civic-space/team/{mine}/role", role="moderator")
    assert response.status_code == 303
    assert membership(app, OWNER).role == "moderator"


def test_a_removed_member_gets_404_on_the_letter(app, owner, letter):
    member_id = member_of(app, "editor", "ed@coalition.example.org")
    removed = app.test_client()
    sign_in(removed, "ed@coalition.example.org")
    assert removed.get("/manage/letters/civic-space/").status_code == 200
    response = post_form(owner, f"/manage/letters/civic-space/team/{member_id}/remove")
    assert response.status_code == 303
    assert membership(app, "ed@coalition.example.org") is None
    assert removed.get("/manage/letters/civic-space/").status_code == 404
    [event] = audit_trail(app, "team.removed")
    assert event.detail["email"] == "ed@coalition.example.org"


def test_a_member_of_another_letter_cannot_be_changed_from_this_one(app, owner, letter):
    foreign = member_of(app, "editor", "ed@elsewhere.example.org", slug="elsewhere")
    role = post_form(owner, f"/manage/letters/civic-space/team/{foreign}/role", role="moderator")
    remove = post_form(owner, f"/manage/letters/civic-space/team/{foreign}/remove")
    assert role.status_code == remove.status_code == 404
    assert membership(app, "ed@elsewhere.example.org", slug="elsewhere").role == "editor"


def test_a_moderator_cannot_change_roles(app, client, letter):
    member_id = member_of(app, "moderator", "mod@coalition.example.org")
    sign_in(client, "mod@coalition.example.org")
    response = post_form(client, f"/manage/letters/civic-space/team/{member_id}/role", role="owner")
    assert response.status_code == 403
    assert membership(app, "mod@coalition.example.org").role == "moderator"


def test_an_owner_can_leave_the_team_while_another_owner_remains(app, owner):
    member_of(app, "owner", "second@coalition.example.org")
    mine = membership(app, OWNER).id
    response = post_form(owner, f"/manage/letters/civic-space/team/{mine}/remove")
    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/"
    assert owner.get("/manage/letters/civic-space/team").status_code == 404


# -- the service, without a request ------------------------------------------------------


def test_the_service_keeps_the_last_owner_however_it_is_asked(session):
    letter = make_letter(session)
    owner = make_member(session, letter, role="owner")
    [mine] = team_service.members(session, letter)
    with pytest.raises(team_service.LastOwner):
        team_service.change_role(
            session, letter, mine.id, actor=owner, role="moderator", now=utcnow()
        )
    with pytest.raises(team_service.LastOwner):
        team_service.remove_member(session, letter, mine.id, actor=owner, now=utcnow())


def test_the_service_lists_owners_first_then_editors_then_moderators(session):
    letter = make_letter(session)
    for role in ("moderator", "owner", "editor"):
        make_member(session, letter, role=role)
    assert [m.role for m in team_service.members(session, letter)] == [
        "owner",
        "editor",
        "moderator",
    ]


def test_accepting_with_the_wrong_account_is_refused_by_the_service(session):
    letter = make_letter(session)
    owner = make_member(session, letter, role="owner")
    invitation = team_service.invite(
        session, letter, actor=owner, email=INVITED, role="editor", now=utcnow()
    )
    stranger = make_coordinator(session)
    payload = TokenPayload(invitation.id, invitation.nonce)
    with pytest.raises(team_service.WrongAccount):
        team_service.accept_as(session, payload, stranger, now=utcnow())
    assert invitation.accepted_at is None


def test_a_stale_nonce_counts_as_an_accepted_invitation(session):
    letter = make_letter(session)
    owner = make_member(session, letter, role="owner")
    invitation = team_service.invite(
        session, letter, actor=owner, email=INVITED, role="editor", now=utcnow()
    )
    with pytest.raises(team_service.InvitationUnusable) as raised:
        team_service.invitation_for_token(session, TokenPayload(invitation.id, "old-nonce"))
    assert raised.value.reason == "accepted"
