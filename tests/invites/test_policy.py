"""The signing policy: set by editors, said plainly on the letter page, enforced by the
sign POST, and never stale on the kept letter page."""

from __future__ import annotations

from signatory.core.extensions import db
from tests.conftest import audit_trail, post_form, sign_in
from tests.factories import find_letter, make_letter, make_member
from tests.invites.conftest import (
    SLUG,
    policy_of,
    set_policy,
    set_policy_directly,
    sign,
    signatures,
)


def test_a_letter_accepts_anyone_by_default(app, letter):
    assert policy_of(app) == ("anyone", None)


def test_an_editor_sets_allowed_domains_and_they_are_stored_normalised(app, editor):
    response = set_policy(editor, "domains", "UN.org\n*.gov.uk")
    assert response.status_code == 303
    assert policy_of(app) == ("domains", "un.org, *.gov.uk")


def test_setting_the_policy_is_audited(app, editor):
    set_policy(editor, "invited")
    [event] = audit_trail(app, "letter.signing_policy")
    assert event.detail["policy"] == "invited" and event.detail["before"] == "anyone"


def test_a_bad_domain_is_refused_beside_the_field_and_nothing_changes(app, editor):
    response = set_policy(editor, "domains", "un.org, https://gov.uk")
    assert response.status_code == 400
    assert "is a web address" in response.get_data(as_text=True)
    assert policy_of(app) == ("anyone", None)


def test_the_domains_policy_needs_a_domain(app, editor):
    assert set_policy(editor, "domains", "").status_code == 400
    assert policy_of(app) == ("anyone", None)


def test_an_unknown_policy_is_refused(app, editor):
    assert set_policy(editor, "everyone-but-bob").status_code == 400
    assert policy_of(app) == ("anyone", None)


def test_back_to_anyone_forgets_the_domains(app, editor):
    set_policy(editor, "domains", "un.org")
    set_policy(editor, "anyone", "un.org")
    assert policy_of(app) == ("anyone", None)


def test_a_moderator_may_not_set_the_policy(app, client, letter):
    with app.app_context():
        make_member(db.session, find_letter(db.session, SLUG), role="moderator", email="mo@x.org")
        db.session.commit()
    sign_in(client, "mo@x.org")
    assert client.get(f"/manage/letters/{SLUG}/invitations").status_code == 403
    response = post_form(
        client, f"/manage/letters/{SLUG}/invitations/policy", signing_policy="invited"
    )
    assert response.status_code == 403
    assert policy_of(app) == ("anyone", None)


def test_a_coordinator_of_another_letter_gets_404(app, client, letter):
    with app.app_context():
        other = make_letter(db.session, slug="other-letter")
        make_member(db.session, other, role="owner", email="owner@other.example.org")
        db.session.commit()
    sign_in(client, "owner@other.example.org")
    assert client.get(f"/manage/letters/{SLUG}/invitations").status_code == 404
    token_page = client.get("/manage/letters/other-letter/invitations")
    assert token_page.status_code == 200
    assert set_policy(client, "invited", slug="other-letter").status_code == 303
    assert policy_of(app) == ("anyone", None)


def test_the_letter_page_says_which_domains_may_sign(app, client, letter):
    set_policy_directly(app, "domains", "un.org, *.gov.uk")
    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    assert "Only addresses at un.org or *.gov.uk can sign." in page


def test_the_letter_page_of_an_invite_only_letter_says_so_and_draws_no_form(app, client, letter):
    set_policy_directly(app, "invited")
    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    assert "Signing is by invitation: use the link in your invitation email." in page
    assert 'name="email"' not in page


def test_the_kept_letter_page_changes_at_once_when_the_policy_changes(app, client, editor):
    browser = app.test_client()
    first = browser.get(f"/letters/{SLUG}").get_data(as_text=True)
    assert "Signing is by invitation" not in first
    before = _revision(app)
    set_policy(editor, "invited")
    assert _revision(app) > before
    assert "Signing is by invitation" in browser.get(f"/letters/{SLUG}").get_data(as_text=True)
    set_policy(editor, "domains", "un.org")
    assert "Only addresses at un.org can sign." in browser.get(f"/letters/{SLUG}").get_data(
        as_text=True
    )


def _revision(app) -> int:
    with app.app_context():
        return find_letter(db.session, SLUG).revision


def test_an_address_at_an_allowed_domain_signs(app, client, letter):
    set_policy_directly(app, "domains", "*.example.org")
    assert sign(client).status_code == 303
    assert len(signatures(app)) == 1


def test_an_address_at_another_domain_is_refused_beside_the_email_field(app, client, letter):
    set_policy_directly(app, "domains", "un.org")
    response = sign(client)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="email-error">Only addresses at un.org can sign.' in page
    assert signatures(app) == []


def test_a_subdomain_of_a_plain_entry_is_refused(app, client, letter):
    set_policy_directly(app, "domains", "example.org")
    assert sign(client).status_code == 400
    assert signatures(app) == []
