"""Lead organizations: coordinators mark, reorder and remove them; the letter page, the list,
the CSV and the API name them first; a lead that leaves the list is a lead no more."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Signature, transition
from signatory.models.signature import LEADS_MAX
from signatory.organizations import leads as service
from tests.conftest import add_signature, audit_trail, post_form, sign_in
from tests.downloads import csv_records
from tests.factories import find_letter, make_letter, make_member, make_signature

SLUG = "civic"
LEADS = f"/manage/letters/{SLUG}/leads"
EDITOR = "editor@coalition.example.org"
MODERATOR = "moderator@coalition.example.org"


@pytest.fixture
def letter_id(app: Flask) -> int:
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        make_member(db.session, letter, role="editor", email=EDITOR)
        make_member(db.session, letter, role="moderator", email=MODERATOR)
        db.session.commit()
        return letter.id


@pytest.fixture
def editor(client: FlaskClient, letter_id: int) -> FlaskClient:
    return sign_in(client, EDITOR)


def organization(app: Flask, name: str, **values: object) -> int:
    return add_signature(app, SLUG, organization=name, **values)


def mark(client: FlaskClient, signature_id: int, role: str = "initiator"):
    return post_form(client, LEADS, form_page=LEADS, signature=str(signature_id), role=role)


def move(client: FlaskClient, signature_id: int, direction: str):
    return post_form(client, f"{LEADS}/{signature_id}/move", form_page=LEADS, direction=direction)


def remove(client: FlaskClient, signature_id: int):
    return post_form(client, f"{LEADS}/{signature_id}/remove", form_page=LEADS)


def lead_of(app: Flask, signature_id: int) -> tuple[str | None, int | None]:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        return signature.lead_role, signature.lead_rank


def order_in(text: str, *names: str) -> list[str]:
    """``names`` in the order they first appear in ``text``."""
    return sorted(names, key=lambda name: text.index(name))


def letter_sentence(client: FlaskClient) -> str:
    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    found = re.search(r'<p class="lead-sentence" data-leads>(.*?)</p>', page, re.S)
    assert found, "the letter page has no lead sentence"
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


# --- Marking, reordering, removing ---------------------------------------------------------


def test_marking_a_published_organization_makes_it_a_lead(app, editor) -> None:
    civic = organization(app, "Civic Watch")

    response = mark(editor, civic, "initiator")

    assert response.status_code == 303
    assert lead_of(app, civic) == ("initiator", 1)


def test_marking_records_an_audit_event(app, editor) -> None:
    civic = organization(app, "Civic Watch")

    mark(editor, civic, "co-sponsor")

    (event,) = audit_trail(app, "organization.lead_marked")
    assert event.signature_id == civic
    assert event.detail["role"] == "co-sponsor"
    assert event.actor_id is not None


def test_marking_again_with_the_same_role_records_nothing_more(app, editor) -> None:
    civic = organization(app, "Civic Watch")
    mark(editor, civic)

    mark(editor, civic)

    assert len(audit_trail(app, "organization.lead_marked")) == 1


def test_changing_a_leads_role_keeps_its_place(app, editor) -> None:
    civic = organization(app, "Civic Watch")
    mark(editor, civic, "initiator")

    mark(editor, civic, "co-sponsor")

    assert lead_of(app, civic) == ("co-sponsor", 1)


def test_moving_a_lead_up_puts_it_before_the_one_above(app, editor) -> None:
    first, second = organization(app, "Alpha Union"), organization(app, "Beta Trust")
    mark(editor, first)
    mark(editor, second)

    assert move(editor, second, "up").status_code == 303

    assert lead_of(app, second)[1] < lead_of(app, first)[1]
    (event,) = audit_trail(app, "organization.lead_moved")
    assert event.detail["direction"] == "up"


def test_moving_the_first_lead_up_changes_nothing(app, editor) -> None:
    first, second = organization(app, "Alpha Union"), organization(app, "Beta Trust")
    mark(editor, first)
    mark(editor, second)

    move(editor, first, "up")

    assert lead_of(app, first)[1] < lead_of(app, second)[1]
    assert audit_trail(app, "organization.lead_moved") == []


def test_removing_a_lead_keeps_its_signature_on_the_list(app, editor) -> None:
    civic = organization(app, "Civic Watch")
    mark(editor, civic)

    assert remove(editor, civic).status_code == 303

    assert lead_of(app, civic) == (None, None)
    with app.app_context():
        assert db.session.get(Signature, civic).status == "published"
    assert len(audit_trail(app, "organization.lead_removed")) == 1


def test_the_page_lists_the_leads_and_finds_organizations_by_name(app, editor) -> None:
    civic = organization(app, "Civic Watch")
    organization(app, "Press Freedom Network")
    mark(editor, civic)

    page = editor.get(f"{LEADS}?q=press").get_data(as_text=True)

    assert "Civic Watch" in page.split('id="leads-add-title"')[0]
    found = page.split('id="leads-add-title"')[1]
    assert "Press Freedom Network" in found and "Civic Watch" not in found


def test_the_search_pages_by_keyset_with_a_more_link(app, editor) -> None:
    for n in range(3):
        organization(app, f"Group {n}")
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        first = service.search_organizations(db.session, letter, "group", limit=2)
        rest = service.search_organizations(
            db.session, letter, "group", after=first.next_position, limit=2
        )

    assert [o.organization for o in first.items] == ["Group 0", "Group 1"]
    assert [o.organization for o in rest.items] == ["Group 2"] and rest.next_position is None


def test_the_workspace_tab_links_to_the_leads_page(app, editor) -> None:
    page = editor.get(f"/manage/letters/{SLUG}/").get_data(as_text=True)

    assert f'href="{LEADS}"' in page


# --- Access and bad input -------------------------------------------------------------------


def test_a_moderator_may_not_change_the_leads(app, client, letter_id) -> None:
    civic = organization(app, "Civic Watch")
    sign_in(client, MODERATOR)

    assert client.get(LEADS).status_code == 403
    assert post_form(client, LEADS, signature=str(civic), role="initiator").status_code == 403
    assert lead_of(app, civic) == (None, None)


def test_a_coordinator_of_another_letter_gets_404(app, client, letter_id) -> None:
    with app.app_context():
        other = make_letter(db.session, slug="other")
        make_member(db.session, other, role="owner", email="other@coalition.example.org")
        db.session.commit()
    sign_in(client, "other@coalition.example.org")

    assert client.get(LEADS).status_code == 404


def test_marking_without_the_csrf_token_is_refused(app, editor) -> None:
    civic = organization(app, "Civic Watch")

    response = editor.post(LEADS, data={"signature": str(civic), "role": "initiator"})

    assert response.status_code == 400
    assert lead_of(app, civic) == (None, None)


def test_marking_an_individual_is_refused_with_422(app, editor) -> None:
    person = add_signature(app, SLUG, kind="individual", name="Amina Diallo")

    response = mark(editor, person)

    assert response.status_code == 422
    assert "individual" in response.get_data(as_text=True)
    assert lead_of(app, person) == (None, None)


def test_marking_another_letters_signature_is_404(app, editor) -> None:
    with app.app_context():
        make_letter(db.session, slug="elsewhere")
        db.session.commit()
    foreign = add_signature(app, "elsewhere", organization="Foreign Org")

    assert mark(editor, foreign).status_code == 404
    assert lead_of(app, foreign) == (None, None)


def test_marking_an_unpublished_organization_is_refused_with_409(app, editor) -> None:
    waiting = organization(app, "Waiting Org", status="pending_review")

    assert mark(editor, waiting).status_code == 409
    assert lead_of(app, waiting) == (None, None)


@pytest.mark.parametrize(
    "data",
    [
        {"signature": "1", "role": "sponsor"},
        {"signature": "abc", "role": "initiator"},
        {"signature": "9" * 40, "role": "initiator"},
        {"role": "initiator"},
    ],
)
def test_a_malformed_mark_is_refused_with_400(app, editor, data) -> None:
    organization(app, "Civic Watch")

    response = post_form(editor, LEADS, form_page=LEADS, **data)

    assert response.status_code == 400
    assert audit_trail(app, "organization.lead_marked") == []


def test_a_bad_direction_is_refused_with_400(app, editor) -> None:
    civic = organization(app, "Civic Watch")
    mark(editor, civic)

    assert move(editor, civic, "sideways").status_code == 400


def test_removing_an_organization_that_is_not_a_lead_is_404(app, editor) -> None:
    civic = organization(app, "Civic Watch")

    assert remove(editor, civic).status_code == 404


def test_an_oversized_search_is_refused_with_400(app, editor) -> None:
    response = editor.get(f"{LEADS}?q={'x' * 500}")

    assert response.status_code == 400
    assert "under 100 characters" in response.get_data(as_text=True)


def test_a_forged_more_link_is_refused_with_400(app, editor) -> None:
    assert editor.get(f"{LEADS}?after=%00%00").status_code == 400


def test_a_letter_takes_at_most_leads_max_leads(app, editor) -> None:
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        for n in range(LEADS_MAX):
            make_signature(db.session, letter, organization=f"Lead {n}", lead_role="initiator",
                           lead_rank=n + 1)  # fmt: skip
        db.session.commit()
    one_more = organization(app, "One Too Many")

    assert mark(editor, one_more).status_code == 409
    assert lead_of(app, one_more) == (None, None)


# --- Leaving the list ends the role ---------------------------------------------------------


def test_a_withdrawn_lead_is_no_longer_a_lead(app, editor, client) -> None:
    civic = organization(app, "Civic Watch")
    mark(editor, civic)

    with app.app_context():
        signature = db.session.get(Signature, civic)
        transition(signature, "withdraw", now=utcnow())
        db.session.commit()

    assert lead_of(app, civic) == (None, None)
    assert "Civic Watch" not in client.get(f"/letters/{SLUG}/signatories").get_data(as_text=True)


def test_an_unpublished_lead_is_no_longer_a_lead(app, client, letter_id) -> None:
    civic = organization(app, "Civic Watch")
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        make_member(db.session, letter, role="owner", email="owner@coalition.example.org")
        db.session.commit()
    sign_in(client, "owner@coalition.example.org")
    mark(client, civic)

    response = post_form(client, f"/manage/letters/{SLUG}/signatures/{civic}/unpublish")

    assert response.status_code == 303
    assert lead_of(app, civic) == (None, None)


def test_a_held_lead_keeps_its_role_but_is_not_shown(app, editor, client) -> None:
    civic = organization(app, "Civic Watch")
    mark(editor, civic)

    with app.app_context():
        signature = db.session.get(Signature, civic)
        transition(signature, "hold", now=utcnow())
        db.session.commit()

    assert lead_of(app, civic)[0] == "initiator"
    assert "data-leads" not in client.get(f"/letters/{SLUG}").get_data(as_text=True)


# --- Shown first ----------------------------------------------------------------------------


def test_the_letter_page_names_one_initiator(app, editor, client) -> None:
    civic = organization(app, "Civic Watch")
    mark(editor, civic)

    assert letter_sentence(client) == "Initiated by Civic Watch."


def test_the_letter_page_names_two_initiators_and_counts_the_others(app, editor, client) -> None:
    a, b = organization(app, "Alpha Union"), organization(app, "Beta Trust")
    organization(app, "Gamma Group")
    mark(editor, a)
    mark(editor, b)

    assert letter_sentence(client) == (
        "Initiated by Alpha Union and Beta Trust and joined by 1 organization."
    )


def test_the_letter_page_names_many_with_co_sponsors_in_order(app, editor, client) -> None:
    names = ["Alpha Union", "Beta Trust", "Gamma Group", "Delta Forum"]
    ids = [organization(app, name) for name in names]
    for extra in range(2):
        organization(app, f"Member {extra}")
    mark(editor, ids[0])
    mark(editor, ids[1])
    mark(editor, ids[2])
    mark(editor, ids[3], "co-sponsor")
    move(editor, ids[2], "up")

    assert letter_sentence(client) == (
        "Initiated by Alpha Union, Gamma Group and Beta Trust, co-sponsored by Delta Forum, "
        "and joined by 2 other organizations."
    )


def test_the_letter_page_with_co_sponsors_only(app, editor, client) -> None:
    civic = organization(app, "Civic Watch")
    organization(app, "Other One")
    mark(editor, civic, "co-sponsor")

    assert letter_sentence(client) == "Co-sponsored by Civic Watch and joined by 1 organization."


def test_the_letter_page_escapes_a_lead_name(app, editor, client) -> None:
    evil = organization(app, "<script>alert(1)</script> Org")
    mark(editor, evil)

    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_the_list_shows_the_leads_first_in_their_order(app, editor, client) -> None:
    organization(app, "Early Signer")
    sponsor, initiator = organization(app, "Zeta Sponsor"), organization(app, "Yota Initiator")
    mark(editor, sponsor, "co-sponsor")
    mark(editor, initiator, "initiator")

    page = client.get(f"/letters/{SLUG}/signatories").get_data(as_text=True)
    block = page.split("data-leads>", 1)[1].split("</section>", 1)[0]

    assert order_in(block, "Zeta Sponsor", "Yota Initiator") == ["Yota Initiator", "Zeta Sponsor"]
    assert page.index("data-leads") < page.index("Early Signer")


def test_the_csv_has_a_lead_column(app, editor, client) -> None:
    plain = organization(app, "Plain Org")
    civic, press = organization(app, "Civic Watch"), organization(app, "Press Network")
    mark(editor, civic, "initiator")
    mark(editor, press, "co-sponsor")
    del plain

    records = csv_records(client.get(f"/letters/{SLUG}/signatories.csv").get_data(as_text=True))
    leads = {row["Organization or affiliation"]: row["lead"] for row in records}

    assert leads == {"Plain Org": "", "Civic Watch": "initiator", "Press Network": "co-sponsor"}


def test_the_api_gives_each_signature_its_lead(app, editor, client) -> None:
    civic = organization(app, "Civic Watch")
    organization(app, "Plain Org")
    add_signature(app, SLUG, kind="individual", name="Amina Diallo")
    mark(editor, civic, "co-sponsor")

    items = client.get(f"/api/v1/letters/{SLUG}/signatures").get_json()["signatures"]
    leads = {item["organization"] or item["name"]: item["lead"] for item in items}

    assert leads == {"Civic Watch": "co-sponsor", "Plain Org": None, "Amina Diallo": None}


def test_marking_a_lead_moves_the_list_revision_on(app, editor) -> None:
    civic = organization(app, "Civic Watch")
    with app.app_context():
        before = find_letter(db.session, SLUG).list_revision

    mark(editor, civic)

    with app.app_context():
        assert find_letter(db.session, SLUG).list_revision > before
