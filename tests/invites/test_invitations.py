"""Invitations: inviting one organization or many, the emailed link, signing with it once,
revoking it, and the sign POST of an invite-only letter without one."""

from __future__ import annotations

from signatory.core.extensions import db
from tests.conftest import audit_trail, fetch_csrf, post_form, queued_mail, sign_in, text_part
from tests.factories import find_letter, make_letter, make_member
from tests.invites.conftest import (
    ORG_FORM,
    PAGE,
    SLUG,
    follow_invitation,
    invitation_link,
    invitations,
    invite_many,
    invite_one,
    press,
    set_policy_directly,
    sign,
    signatures,
)


def invited_letter(app) -> None:
    set_policy_directly(app, "invited")


# -- inviting ------------------------------------------------------------------------------


def test_inviting_one_stores_it_queues_the_email_and_audits(app, editor):
    response = invite_one(editor, name="Ana Silva", note="We would be glad of your support.")
    assert response.status_code == 303
    [invitation] = invitations(app)
    assert (invitation.organization, invitation.email) == (
        "Digital Rights Example",
        "contact@digitalrights.example.org",
    )
    [message] = queued_mail(app, "signing_invitation")
    assert message.to_addr == "contact@digitalrights.example.org"
    [event] = audit_trail(app, "invitation.created")
    assert event.detail["organization"] == "Digital Rights Example"


def test_a_bad_address_is_refused_beside_the_field(app, editor):
    response = invite_one(editor, email="not-an-address")
    assert response.status_code == 400
    assert 'id="email-error"' in response.get_data(as_text=True)
    assert invitations(app) == [] and queued_mail(app, "signing_invitation") == []


def test_inviting_a_pending_organization_again_is_refused(app, editor):
    invite_one(editor)
    response = invite_one(editor, organization="DIGITAL RIGHTS example", email="b@x.org")
    assert response.status_code == 409
    assert "already has an invitation" in response.get_data(as_text=True)
    assert len(invitations(app)) == 1


def test_many_lines_invite_each_organization(app, editor):
    lines = (
        "Friends of the Earth, International, info@foe.example, Ana Silva\n"
        "\n"
        "Access Example, hello@access.example\n"
    )
    assert invite_many(editor, lines).status_code == 303
    assert [(i.organization, i.email, i.name) for i in invitations(app)] == [
        ("Friends of the Earth, International", "info@foe.example", "Ana Silva"),
        ("Access Example", "hello@access.example", None),
    ]
    assert len(queued_mail(app, "signing_invitation")) == 2


def test_bad_lines_are_listed_by_number_and_nothing_is_stored(app, editor):
    lines = (
        "Good Org, good@org.example\nNo address here\nBad Org, bad@@x\nGood Org, again@org.example"
    )
    response = invite_many(editor, lines)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Line 2:" in page and "Line 3:" in page
    assert "Line 1:" not in page
    assert invitations(app) == [] and queued_mail(app, "signing_invitation") == []


def test_an_organization_twice_in_one_list_is_refused_by_line(app, editor):
    response = invite_many(editor, "Good Org, a@org.example\ngood org, b@org.example")
    assert response.status_code == 400
    assert "Line 2:" in response.get_data(as_text=True)
    assert invitations(app) == []


def test_hostile_lines_are_refused_by_line_without_swallowing_the_next(app, editor):
    lines = '"Unclosed Org, a@org.example\nNul\x00 Org, b@org.example\nBell\x07 Org, c@org.example'
    response = invite_many(editor, lines)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Line 2:" in page and "Line 3:" in page
    assert invitations(app) == []


def test_an_empty_list_is_refused(app, editor):
    assert invite_many(editor, "\n  \n").status_code == 400


def test_an_oversized_paste_is_refused(app, editor):
    assert invite_many(editor, "x" * 200_001).status_code == 413
    assert invitations(app) == []


def test_a_moderator_may_not_invite(app, client, letter):
    with app.app_context():
        make_member(db.session, find_letter(db.session, SLUG), role="moderator", email="mo@x.org")
        db.session.commit()
    sign_in(client, "mo@x.org")
    response = post_form(client, f"{PAGE}/new", organization="Org", email="a@org.example")
    assert response.status_code == 403
    assert invitations(app) == []


def test_a_coordinator_of_another_letter_cannot_revoke_this_letters_invitation(app, editor):
    invite_one(editor)
    [invitation] = invitations(app)
    with app.app_context():
        other = make_letter(db.session, slug="other-letter")
        make_member(db.session, other, role="owner", email="owner@other.example.org")
        db.session.commit()
    stranger = sign_in(app.test_client(), "owner@other.example.org")
    assert post_form(stranger, f"{PAGE}/{invitation.id}/revoke").status_code == 404
    other_page = f"/manage/letters/other-letter/invitations/{invitation.id}/revoke"
    assert post_form(stranger, other_page).status_code == 404
    assert invitations(app)[0].revoked_at is None


def test_the_list_shows_each_invitation_with_its_status_and_counts(app, editor):
    invite_many(editor, "First Org, a@first.example\nSecond Org, b@second.example")
    press(editor, invitations(app)[1].id, "revoke")
    page = editor.get(PAGE).get_data(as_text=True)
    assert "First Org" in page and "Second Org" in page
    assert "Invited: 2" in page and "Revoked: 1" in page and "Not used yet: 1" in page


def test_the_letters_tabs_link_to_the_invitations(app, editor):
    assert f'href="{PAGE}"' in editor.get(f"/manage/letters/{SLUG}/").get_data(as_text=True)


def test_a_draft_letter_sends_no_invitations(app, editor):
    with app.app_context():
        find_letter(db.session, SLUG).status = "draft"
        db.session.commit()
    assert invite_one(editor).status_code == 409
    assert invitations(app) == []


# -- the email -----------------------------------------------------------------------------


def test_the_invitation_email_reaches_the_smtp_server_with_its_link(
    app, editor, runner, smtp_server
):
    invite_one(editor, name="Ana Silva")
    app.config["MAIL_URL"] = smtp_server.url
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    [email] = smtp_server.wait_for(1)
    assert email["To"] == "contact@digitalrights.example.org"
    assert (
        "Digital Rights Example" in email["Subject"] and "Protect civic space" in email["Subject"]
    )
    text = text_part(email)
    assert "Hello Ana Silva," in text and "http://signatory.test/invitation/" in text


def test_resending_emails_a_link_to_the_same_invitation_and_audits(app, editor):
    invite_one(editor)
    first = invitation_link(app)
    [invitation] = invitations(app)
    assert press(editor, invitation.id, "resend").status_code == 303
    assert len(queued_mail(app, "signing_invitation")) == 2
    # The same invitation: the link sent first still works beside the new one.
    assert app.test_client().get(first).status_code == 303
    assert app.test_client().get(invitation_link(app)).status_code == 303
    assert invitations(app)[0].sent_count == 2
    assert audit_trail(app, "invitation.resent")


def test_a_revoked_invitation_is_not_emailed(app, editor, runner, smtp_server):
    invite_one(editor)
    press(editor, invitations(app)[0].id, "revoke")
    app.config["MAIL_URL"] = smtp_server.url
    runner.invoke(args=["mail", "send"])
    assert smtp_server.messages == []


# -- the link and signing ------------------------------------------------------------------


def _invited(app, editor) -> str:
    invited_letter(app)
    invite_one(editor)
    return invitation_link(app)


def test_the_link_opens_the_form_with_the_organization_and_address_filled_in(app, editor):
    link = _invited(app, editor)
    page, _ = follow_invitation(app.test_client(), link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="Digital Rights Example"' in html
    assert 'value="contact@digitalrights.example.org"' in html
    assert "You may sign from another address at your organization" in html
    assert (
        page.headers["Cache-Control"].startswith("private")
        or "no-store" in page.headers["Cache-Control"]
    )


def test_opening_the_link_marks_it_opened(app, editor):
    link = _invited(app, editor)
    follow_invitation(app.test_client(), link)
    assert invitations(app)[0].opened_at is not None


def test_an_invited_colleague_signs_from_another_address(app, editor):
    link = _invited(app, editor)
    browser = app.test_client()
    _, page = follow_invitation(browser, link)
    response = sign(browser, page, email="lizzie@digitalrights.example.org")
    assert response.status_code == 303
    [signature] = signatures(app)
    [invitation] = invitations(app)
    assert signature.organization == "Digital Rights Example"
    assert (invitation.signature_id, invitation.used_at is not None) == (signature.id, True)
    [event] = audit_trail(app, "invitation.used")
    assert event.detail["email_changed"] is True


def test_the_invitation_binds_the_organization(app, editor):
    link = _invited(app, editor)
    browser = app.test_client()
    _, page = follow_invitation(browser, link)
    response = sign(browser, page, organization="Another Organization")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Your invitation is for Digital Rights Example" in page
    assert 'name="invitation"' in page, "the form drawn again keeps its invitation"
    assert signatures(app) == [] and invitations(app)[0].used_at is None


def test_a_used_link_answers_that_it_was_used(app, editor):
    link = _invited(app, editor)
    browser = app.test_client()
    _, page = follow_invitation(browser, link)
    sign(browser, page)
    again = app.test_client().get(link)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)


def test_a_used_link_cannot_sign_again_from_another_address(app, editor):
    link = _invited(app, editor)
    browser = app.test_client()
    _, page = follow_invitation(browser, link)
    sign(browser, page)
    token = page.split("invitation=")[1].split("#")[0]
    second = app.test_client()
    response = sign(second, invitation=token, email="other@digitalrights.example.org")
    assert response.status_code == 403
    assert "already been used" in response.get_data(as_text=True)
    assert len(signatures(app)) == 1


def test_a_revoked_link_answers_a_clear_page(app, editor):
    link = _invited(app, editor)
    assert press(editor, invitations(app)[0].id, "revoke").status_code == 303
    response = app.test_client().get(link)
    assert response.status_code == 410
    assert "This invitation was revoked" in response.get_data(as_text=True)
    assert audit_trail(app, "invitation.revoked")


def test_the_form_of_a_link_revoked_meanwhile_is_refused(app, editor):
    link = _invited(app, editor)
    browser = app.test_client()
    _, page = follow_invitation(browser, link)
    html_page = browser.get(page)
    press(editor, invitations(app)[0].id, "revoke")
    token = page.split("invitation=")[1].split("#")[0]
    assert html_page.status_code == 200
    response = sign(browser, invitation=token)
    assert response.status_code == 403
    assert signatures(app) == []


def test_a_used_invitation_cannot_be_revoked(app, editor):
    link = _invited(app, editor)
    browser = app.test_client()
    _, page = follow_invitation(browser, link)
    sign(browser, page)
    response = press(editor, invitations(app)[0].id, "revoke")
    assert response.status_code == 409
    assert invitations(app)[0].revoked_at is None


def test_a_forged_or_garbled_link_is_a_clear_400(app, editor):
    link = _invited(app, editor)
    browser = app.test_client()
    for bad in (link[:-3] + "abc", "/invitation/nonsense", "/invitation/" + "A" * 3000):
        response = browser.get(bad)
        assert response.status_code == 400, bad
        assert "not valid" in response.get_data(as_text=True)


def test_another_purposes_token_is_not_an_invitation(app, editor):
    _invited(app, editor)
    token = app.extensions["signatory.tokens"].make("confirm", invitations(app)[0].id, "x")
    assert app.test_client().get(f"/invitation/{token}").status_code == 400


def test_a_garbled_invitation_on_the_letter_page_goes_to_the_links_page(app, editor):
    _invited(app, editor)
    response = app.test_client().get(f"/letters/{SLUG}?invitation=garbled")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/invitation/garbled")


def test_a_direct_sign_post_without_an_invitation_is_403(app, letter):
    invited_letter(app)
    response = sign(app.test_client())
    assert response.status_code == 403
    assert "Signing is by invitation" in response.get_data(as_text=True)
    assert signatures(app) == []


def test_a_direct_sign_post_with_a_forged_invitation_is_403(app, letter):
    invited_letter(app)
    response = sign(app.test_client(), invitation="eyJpZCI6MSwibiI6IngifQ.forged.sig")
    assert response.status_code == 403
    assert signatures(app) == []


def test_an_invitation_of_another_letter_does_not_open_this_one(app, editor):
    link = _invited(app, editor)
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        other = make_letter(db.session, slug="other-letter")
        other.signing_policy = "invited"
        db.session.commit()
    browser = app.test_client()
    page = browser.get("/letters/other-letter").get_data(as_text=True)
    assert "Signing is by invitation" in page
    response = browser.post(
        "/letters/other-letter/sign",
        data={**_form(browser), "invitation": token},
    )
    assert response.status_code == 403
    assert signatures(app) == []


def _form(browser) -> dict[str, str]:
    return {**ORG_FORM, "csrf_token": fetch_csrf(browser, "/manage/login")}


def test_an_invitation_does_nothing_on_a_letter_open_to_anyone(app, editor):
    invite_one(editor)
    assert sign(app.test_client()).status_code == 303
    assert invitations(app)[0].used_at is None
