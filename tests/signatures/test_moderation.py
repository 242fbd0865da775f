"""The moderation queue, decisions, corrections and unpublishing: services and pages."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import AuditEvent, Letter, Signature
from signatory.signatures import moderation as moderation_service
from signatory.signatures import queue
from signatory.signatures.moderation import NotAwaitingReview, OrganizationPlaceTaken
from signatory.signatures.similar import ACRONYM, SAME, SPELLING, NameIndex
from tests.conftest import add_signature, audit_trail, post_form, sign_in
from tests.factories import make_coordinator, make_letter, make_member, make_signature

SLUG = "civic"
MODERATOR = "moderator@coalition.example.org"
QUEUE = f"/manage/letters/{SLUG}/moderation"
SIGNATURES = f"/manage/letters/{SLUG}/signatures"


# --- Fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def letter_id(app) -> int:
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG, moderation="all")
        make_member(db.session, letter, role="moderator", email=MODERATOR, name="Mo Moderator")
        db.session.commit()
        return letter.id


@pytest.fixture
def moderator(client, letter_id):
    return sign_in(client, MODERATOR)


def load(app, signature_id: int) -> Signature:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        db.session.expunge(signature)
        return signature


def decide(client, ids: list[int], decision: str, reason: str = ""):
    return post_form(
        client, QUEUE, signature=[str(i) for i in ids], decision=decision, reason=reason
    )


def pending(session, letter: Letter, **values) -> Signature:
    return make_signature(session, letter, status="pending_review", **values)


# --- The similar-names index ----------------------------------------------------------------


def index_of(*names: str) -> NameIndex:
    return NameIndex.build((i, name, "published", None, None) for i, name in enumerate(names, 1))


def reasons(index: NameIndex, name: str) -> dict[str, str]:
    similar, _ = index.similar_to(999, name)
    return {each.organization: each.reason for each in similar}


def test_the_same_name_in_other_case_and_punctuation_is_noticed():
    assert reasons(index_of("Electronic Frontier Foundation (EFF)"), "E.F.F.") == {
        "Electronic Frontier Foundation (EFF)": SAME
    }


def test_an_acronym_of_a_listed_name_is_noticed_both_ways():
    assert reasons(index_of("Electronic Frontier Foundation"), "EFF") == {
        "Electronic Frontier Foundation": ACRONYM
    }
    assert reasons(index_of("EFF"), "Electronic Frontier Foundation") == {"EFF": ACRONYM}


def test_an_acronym_leaves_out_small_words():
    assert reasons(index_of("Centre for Democracy and Technology"), "CDT") == {
        "Centre for Democracy and Technology": ACRONYM
    }


def test_a_near_miss_in_spelling_is_noticed():
    assert reasons(index_of("Electronic Frontier Foundation"), "Electonic Frontier Foundation") == {
        "Electronic Frontier Foundation": SPELLING
    }


def test_accents_and_case_do_not_hide_a_name():
    assert reasons(
        index_of("Asociación Civil por la Igualdad"), "ASOCIACION CIVIL POR LA IGUALDAD"
    ) == {"Asociación Civil por la Igualdad": SAME}


def test_unrelated_names_are_not_flagged():
    index = index_of("Electronic Frontier Foundation", "Access Now", "Privacy International")
    assert reasons(index, "Article 19") == {}


def test_a_signature_is_not_similar_to_itself():
    index = NameIndex.build([(7, "Access Now", "pending_review", None, None)])
    assert index.similar_to(7, "Access Now") == ([], 0)


def test_similar_names_are_capped_and_the_rest_counted():
    index = index_of(*[f"Access Now {suffix}" for suffix in "ABCDEFGH"])
    similar, more = index.similar_to(999, "Access Now A", cap=3)
    assert len(similar) == 3 and more == 5
    assert similar[0].organization == "Access Now A" and similar[0].reason == SAME


# --- The queue --------------------------------------------------------------------------------


def test_the_queue_holds_only_signatures_awaiting_review_newest_first(session):
    letter = make_letter(session, moderation="all")
    older = pending(session, letter)
    newer = pending(session, letter)
    older.created_at = utcnow() - timedelta(hours=2)
    for status in ("published", "unconfirmed", "rejected", "withdrawn"):
        make_signature(session, letter, status=status)
    pending(session, make_letter(session))  # another letter's queue
    session.flush()

    page = queue.queue_page(session, letter)

    assert [item.signature.id for item in page.items] == [newer.id, older.id]


def test_the_queue_flags_domain_match_free_mail_and_similar_names(session):
    letter = make_letter(session, moderation="all")
    make_signature(session, letter, organization="Electronic Frontier Foundation")
    pending(session, letter, organization="EFF", email="eff.team@gmail.com", domain_verified=False)
    session.flush()

    [item] = queue.queue_page(session, letter).items

    assert item.email_domain == "gmail.com" and item.free_mail
    assert not item.signature.domain_verified
    assert [(s.organization, s.reason) for s in item.similar] == [
        ("Electronic Frontier Foundation", ACRONYM)
    ]


def test_the_queue_compares_with_other_signatures_in_the_queue_too(session):
    letter = make_letter(session, moderation="all")
    first = pending(session, letter, organization="Electronic Frontier Foundation")
    pending(session, letter, organization="EFF")
    session.flush()

    items = {item.signature.organization: item for item in queue.queue_page(session, letter).items}

    assert [s.signature_id for s in items["EFF"].similar] == [first.id]
    assert items["Electronic Frontier Foundation"].similar[0].organization == "EFF"


def test_the_queue_pages_with_a_cursor_and_no_row_twice(session):
    letter = make_letter(session, moderation="all")
    ids = [pending(session, letter).id for _ in range(5)]

    first = queue.queue_page(session, letter, limit=2)
    cursor = queue.parse_cursor(first.next_cursor)
    second = queue.queue_page(session, letter, after=cursor, limit=2)
    third = queue.queue_page(session, letter, after=queue.parse_cursor(second.next_cursor), limit=2)

    seen = [item.signature.id for page in (first, second, third) for item in page.items]
    assert seen == sorted(ids, reverse=True)
    assert third.next_cursor is None


def test_the_queue_page_shows_what_a_moderator_needs(app, moderator, letter_id):
    add_signature(app, SLUG, organization="Electronic Frontier Foundation")
    add_signature(
        app,
        SLUG,
        status="pending_review",
        organization="EFF",
        name="Eve Signer",
        title="Campaigner",
        email="eve@gmail.com",
        domain_verified=False,
        website="https://eff.example.org",
    )

    page = moderator.get(QUEUE).get_data(as_text=True)

    assert "<bdi>EFF</bdi>" in page
    assert "Eve Signer" in page and "Campaigner" in page
    assert "eve@gmail.com" in page
    assert "Email domain does not match the website" in page
    assert "Free-mail address" in page
    assert "Electronic Frontier Foundation" in page and "acronym" in page
    assert "version 1" in page
    assert 'type="checkbox" name="signature"' in page


def test_an_empty_queue_says_so(moderator):
    assert "Nothing is awaiting review" in moderator.get(QUEUE).get_data(as_text=True)


def test_a_damaged_queue_cursor_is_a_clear_400(moderator):
    response = moderator.get(f"{QUEUE}?after=not*a*cursor")
    assert response.status_code == 400
    assert "page link is damaged" in response.get_data(as_text=True)


# --- Decisions --------------------------------------------------------------------------------


def test_bulk_approve_publishes_every_ticked_signature_with_the_reason(app, moderator, letter_id):
    ids = [add_signature(app, SLUG, status="pending_review") for _ in range(3)]

    response = decide(moderator, ids[:2], "approve", reason="Known partners")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(QUEUE)
    approved = [load(app, i) for i in ids[:2]]
    assert {s.status for s in approved} == {"published"}
    assert all(s.published_at is not None for s in approved)
    assert {s.moderation_reason for s in approved} == {"Known partners"}
    assert all(s.moderated_at is not None and s.moderated_by_id for s in approved)
    assert load(app, ids[2]).status == "pending_review"
    audited = audit_trail(app, "signature.approved")
    assert sorted(e.signature_id for e in audited) == ids[:2]
    assert all(e.actor_label == "coordinator" and e.actor_id for e in audited)
    assert audited[0].detail == {"reason": "Known partners"}


def test_bulk_reject_rejects_every_ticked_signature(app, moderator, letter_id):
    ids = [add_signature(app, SLUG, status="pending_review") for _ in range(2)]

    response = decide(moderator, ids, "reject", reason="Not an organization")

    assert response.status_code == 303
    assert {load(app, i).status for i in ids} == {"rejected"}
    assert len(audit_trail(app, "signature.rejected")) == 2
    assert "Rejected 2 signatures" in moderator.get(QUEUE).get_data(as_text=True)


def test_an_approval_without_a_reason_stores_none(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG, status="pending_review")
    decide(moderator, [signature_id], "approve")
    assert load(app, signature_id).moderation_reason is None
    assert audit_trail(app, "signature.approved")[0].detail == {}


def test_approved_signatures_appear_in_the_public_list_and_api_at_once(app, moderator, letter_id):
    signature_id = add_signature(
        app, SLUG, status="pending_review", organization="Freshly Approved Network"
    )
    assert "Freshly Approved Network" not in moderator.get(f"/letters/{SLUG}/signatories").get_data(
        as_text=True
    )

    decide(moderator, [signature_id], "approve")

    assert "Freshly Approved Network" in moderator.get(f"/letters/{SLUG}/signatories").get_data(
        as_text=True
    )
    api = moderator.get(f"/api/v1/letters/{SLUG}/signatures").get_json()
    assert [s["organization"] for s in api["signatures"]] == ["Freshly Approved Network"]
    assert moderator.get(f"/api/v1/letters/{SLUG}").get_json()["counts"]["organizations"] == 1


def keep_stored_key(session, signature_id, *, organization):
    """Rename an organization without re-deriving its key, as an older normaliser left it.

    A Core UPDATE: the ORM's mapper events would compute the key afresh.
    """
    table = Signature.__table__
    session.execute(
        update(table).where(table.c.id == signature_id).values(organization=organization)
    )


def test_an_approval_that_would_list_an_organization_twice_is_refused_and_changes_nothing(
    app, moderator, letter_id
):
    add_signature(app, SLUG, organization="EFF")
    # A key written by an older normaliser lets a second "EFF" sit in the queue; approving
    # it must still not put the organization on the list twice.
    stale = add_signature(app, SLUG, status="pending_review", organization="Old spelling")
    with app.app_context():
        keep_stored_key(db.session, stale, organization="E.F.F.")
        db.session.commit()
    other = add_signature(app, SLUG, status="pending_review")

    response = decide(moderator, [stale, other], "approve")

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "already signed this letter" in page and "Nothing was changed" in page
    assert load(app, stale).status == "pending_review"
    assert load(app, other).status == "pending_review"
    assert audit_trail(app, "signature.approved") == []
    # The ticks survive, so the moderator only has to untick the culprit.
    assert f'value="{other}" id="select-{other}" checked' in page


def test_deciding_a_signature_someone_already_decided_changes_nothing(app, moderator, letter_id):
    decided = add_signature(app, SLUG, status="rejected")
    waiting = add_signature(app, SLUG, status="pending_review")

    response = decide(moderator, [decided, waiting], "approve")

    assert response.status_code == 409
    assert "no longer awaiting review" in response.get_data(as_text=True)
    assert load(app, waiting).status == "pending_review"


def test_a_signature_of_another_letter_cannot_be_decided(app, moderator, letter_id):
    with app.app_context():
        other_letter = make_letter(db.session)
        foreign = make_signature(db.session, other_letter, status="pending_review").id
        db.session.commit()

    response = decide(moderator, [foreign], "approve")

    assert response.status_code == 409
    assert load(app, foreign).status == "pending_review"


def test_deciding_with_nothing_ticked_says_what_to_do(moderator):
    response = decide(moderator, [], "approve")
    assert response.status_code == 400
    assert "Select at least one signature" in response.get_data(as_text=True)


def test_an_unknown_decision_is_refused(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG, status="pending_review")
    response = decide(moderator, [signature_id], "publish-everything")
    assert response.status_code == 400
    assert load(app, signature_id).status == "pending_review"


def test_an_overlong_reason_is_refused_next_to_the_field(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG, status="pending_review")
    response = decide(moderator, [signature_id], "reject", reason="x" * 501)
    assert response.status_code == 400
    assert "Keep the reason under 500 characters" in response.get_data(as_text=True)
    assert load(app, signature_id).status == "pending_review"


def test_a_decision_without_the_csrf_token_changes_nothing(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG, status="pending_review")
    response = moderator.post(QUEUE, data={"signature": [str(signature_id)], "decision": "approve"})
    assert response.status_code == 400
    assert load(app, signature_id).status == "pending_review"


def test_a_decision_from_the_signature_page_returns_there(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG, status="pending_review")
    response = post_form(
        moderator,
        QUEUE,
        signature=str(signature_id),
        decision="approve",
        return_to="signature",
    )
    assert response.headers["Location"].endswith(f"{SIGNATURES}/{signature_id}")


def test_the_service_refuses_to_approve_twice(session):
    letter = make_letter(session, moderation="all")
    actor = make_coordinator(session)
    signature = pending(session, letter)
    moderation_service.decide(
        session, letter, [signature.id], decision="approve", reason=None, actor=actor, now=utcnow()
    )
    with pytest.raises(NotAwaitingReview):
        moderation_service.decide(
            session,
            letter,
            [signature.id],
            decision="approve",
            reason=None,
            actor=actor,
            now=utcnow(),
        )


# --- The list of all signatures -------------------------------------------------------------


def test_the_signatures_page_lists_every_status_with_emails(app, moderator, letter_id):
    for status in ("published", "pending_review", "unconfirmed", "rejected", "withdrawn"):
        add_signature(app, SLUG, status=status, email=f"{status}@example.org")
    page = moderator.get(SIGNATURES).get_data(as_text=True)
    for status in ("published", "pending_review", "unconfirmed", "rejected", "withdrawn"):
        assert f"{status}@example.org" in page


def test_the_signatures_page_filters_by_status(app, moderator, letter_id):
    add_signature(app, SLUG, status="published", organization="Listed Org")
    add_signature(app, SLUG, status="rejected", organization="Refused Org")
    page = moderator.get(f"{SIGNATURES}?status=rejected").get_data(as_text=True)
    assert "Refused Org" in page and "Listed Org" not in page


def test_the_search_ignores_case_accents_and_punctuation_in_organizations(
    app, moderator, letter_id
):
    add_signature(app, SLUG, organization="Café Coopérative", email="a@cafe.example.org")
    add_signature(app, SLUG, organization="E.F.F.", email="b@eff.example.org")
    add_signature(app, SLUG, organization="Unrelated", email="c@other.example.org")

    assert "Café Coopérative" in moderator.get(f"{SIGNATURES}?q=CAFE+cooperative").get_data(
        as_text=True
    )
    found = moderator.get(f"{SIGNATURES}?q=eff").get_data(as_text=True)
    assert "E.F.F." in found and "Unrelated" not in found


def test_the_search_finds_names_and_emails(app, moderator, letter_id):
    add_signature(app, SLUG, name="Grace Hopper", email="grace@navy.example.org")
    add_signature(app, SLUG, name="Someone Else", email="else@example.org")
    assert "Grace Hopper" in moderator.get(f"{SIGNATURES}?q=hopper").get_data(as_text=True)
    by_email = moderator.get(f"{SIGNATURES}?q=navy.example").get_data(as_text=True)
    assert "Grace Hopper" in by_email and "Someone Else" not in by_email


def test_search_wildcards_are_taken_literally(app, moderator, letter_id):
    add_signature(app, SLUG, name="Plain Name")
    assert "Plain Name" not in moderator.get(f"{SIGNATURES}?q=%25").get_data(as_text=True)


def test_an_unknown_status_filter_is_a_clear_400(moderator):
    response = moderator.get(f"{SIGNATURES}?status=everything")
    assert response.status_code == 400


def test_the_signatures_page_paginates(app, moderator, letter_id):
    app.config["MANAGE_PAGE_SIZE"] = 2
    for n in range(3):
        add_signature(app, SLUG, organization=f"Paged Org {n}")

    first = moderator.get(SIGNATURES).get_data(as_text=True)
    assert "Paged Org 2" in first and "Paged Org 1" in first and "Paged Org 0" not in first
    older = re.search(r'href="([^"]*after=[^"]+)">Older signatures', first)
    assert older, "no link to the next page"
    second = moderator.get(html.unescape(older.group(1))).get_data(as_text=True)

    assert "Paged Org 0" in second and "Paged Org 2" not in second
    assert "Older signatures →" not in second


# --- Corrections ------------------------------------------------------------------------------


def correct(client, signature_id: int, field: str, value: str):
    return post_form(client, f"{SIGNATURES}/{signature_id}/correct", field=field, **{field: value})


def test_a_correction_keeps_the_original_in_the_audit_trail(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG, organization="Electonic Frontier Foundation")

    response = correct(moderator, signature_id, "organization", "Electronic Frontier Foundation")

    assert response.status_code == 303
    signature = load(app, signature_id)
    assert signature.organization == "Electronic Frontier Foundation"
    assert signature.organization_key == "electronicfrontierfoundation"
    [event] = audit_trail(app, "signature.corrected")
    assert event.detail == {
        "field": "organization",
        "before": "Electonic Frontier Foundation",
        "after": "Electronic Frontier Foundation",
    }
    assert event.signature_id == signature_id and event.actor_id is not None
    assert "Electronic Frontier Foundation" in moderator.get(
        f"/letters/{SLUG}/signatories"
    ).get_data(as_text=True)


def test_the_signer_name_can_be_corrected(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG, name="Ada Lovelce")
    correct(moderator, signature_id, "name", "Ada Lovelace")
    assert load(app, signature_id).name == "Ada Lovelace"
    assert audit_trail(app, "signature.corrected")[0].detail["before"] == "Ada Lovelce"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("   ", "cannot be empty"),
        ("x" * 201, "under 200 characters"),
        ("Evil\u202eCorp", "invisible characters (U+202E RIGHT-TO-LEFT OVERRIDE)"),
        ("www.evil.example", "not a web address"),
        ("Two\nlines", "on one line"),
    ],
)
def test_a_bad_correction_is_refused_next_to_the_field(app, moderator, letter_id, value, message):
    signature_id = add_signature(app, SLUG, organization="Original Name")
    response = correct(moderator, signature_id, "organization", value)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert load(app, signature_id).organization == "Original Name"
    assert audit_trail(app, "signature.corrected") == []


def test_a_correction_to_a_name_already_on_the_list_is_refused(app, moderator, letter_id):
    add_signature(app, SLUG, organization="Access Now")
    signature_id = add_signature(app, SLUG, organization="Acess Now")

    response = correct(moderator, signature_id, "organization", "ACCESS NOW")

    assert response.status_code == 409
    assert "already signed this letter" in response.get_data(as_text=True)
    assert load(app, signature_id).organization == "Acess Now"


def test_only_names_can_be_corrected(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG)
    response = post_form(
        moderator, f"{SIGNATURES}/{signature_id}/correct", field="email", email="x@y.z"
    )
    assert response.status_code == 400


# --- Unpublishing -----------------------------------------------------------------------------


def test_unpublishing_takes_a_signature_off_the_public_list_and_back_to_the_queue(
    app, moderator, letter_id
):
    signature_id = add_signature(app, SLUG, organization="Second Thoughts Org")

    response = post_form(
        moderator, f"{SIGNATURES}/{signature_id}/unpublish", reason="Signer not authorised"
    )

    assert response.status_code == 303
    assert "back in the review queue" in moderator.get(response.headers["Location"]).get_data(
        as_text=True
    )
    signature = load(app, signature_id)
    assert signature.status == "pending_review" and signature.published_at is None
    assert signature.moderation_reason == "Signer not authorised"
    assert "Second Thoughts Org" not in moderator.get(f"/letters/{SLUG}/signatories").get_data(
        as_text=True
    )
    assert "Second Thoughts Org" in moderator.get(QUEUE).get_data(as_text=True)
    [event] = audit_trail(app, "signature.unpublished")
    assert event.detail == {"reason": "Signer not authorised"}


def test_unpublishing_a_signature_that_is_not_published_is_refused(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG, status="withdrawn")
    response = post_form(moderator, f"{SIGNATURES}/{signature_id}/unpublish")
    assert response.status_code == 409
    assert "nothing to unpublish" in response.get_data(as_text=True)
    assert load(app, signature_id).status == "withdrawn"


def test_a_signature_of_another_letter_is_not_found(app, moderator, letter_id):
    with app.app_context():
        foreign = make_signature(db.session, make_letter(db.session)).id
        db.session.commit()
    assert moderator.get(f"{SIGNATURES}/{foreign}").status_code == 404
    assert post_form(moderator, f"{SIGNATURES}/{foreign}/unpublish").status_code == 404


def test_the_signature_page_shows_its_history(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG, organization="Histori Org")
    correct(moderator, signature_id, "organization", "History Org")
    page = moderator.get(f"{SIGNATURES}/{signature_id}").get_data(as_text=True)
    assert "signature.corrected" in page and "Mo Moderator" in page
    assert "Histori Org" in page  # the spelling before, from the audit detail


# --- Every change is audited ------------------------------------------------------------------


def test_every_moderation_action_writes_an_audit_event(app, moderator, letter_id):
    waiting = [add_signature(app, SLUG, status="pending_review") for _ in range(2)]
    published = add_signature(app, SLUG)
    actions = [
        lambda: decide(moderator, [waiting[0]], "approve"),
        lambda: decide(moderator, [waiting[1]], "reject"),
        lambda: correct(moderator, published, "name", "Corrected Name"),
        lambda: post_form(moderator, f"{SIGNATURES}/{published}/unpublish"),
    ]
    for act in actions:
        before = len(audit_trail(app))
        assert act().status_code == 303
        assert len(audit_trail(app)) == before + 1


def test_a_refused_action_writes_no_audit_event(app, moderator, letter_id):
    signature_id = add_signature(app, SLUG, status="rejected")
    before = len(audit_trail(app))
    decide(moderator, [signature_id], "approve")
    assert len(audit_trail(app)) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_the_service_names_the_holder_of_an_organization_place(session):
    letter = make_letter(session, moderation="all")
    holder = make_signature(session, letter, organization="EFF")
    stale = pending(session, letter, organization="Old spelling")
    keep_stored_key(session, stale.id, organization="E F F")  # its key still says "oldspelling"
    session.expire(stale)
    with pytest.raises(OrganizationPlaceTaken) as raised:
        moderation_service.decide(
            session,
            letter,
            [stale.id],
            decision="approve",
            reason=None,
            actor=make_coordinator(session),
            now=utcnow(),
        )
    assert raised.value.holder_id == holder.id


def test_a_signatures_page_names_the_coordinator_who_decided_it(app, moderator, letter_id):
    with app.app_context():
        decider = make_coordinator(db.session, name="Dana Decider")
        db.session.commit()
        decider_id = decider.id
    signature = add_signature(
        app, SLUG, status="rejected", moderated_by_id=decider_id, moderated_at=utcnow()
    )

    response = moderator.get(f"{SIGNATURES}/{signature}")

    assert response.status_code == 200
    assert "Dana Decider" in response.get_data(as_text=True)


def test_ids_beyond_any_database_integer_name_nothing(app, moderator, letter_id):
    huge = "9" * 25
    assert moderator.get(f"{SIGNATURES}/{huge}").status_code == 404
    assert post_form(moderator, QUEUE, signature=huge, decision="approve").status_code == 409
