"""The audit trail page and its CSV: filters, pages, readable detail, and nothing editable."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from signatory.audit.manage import AuditFilter, audit_page
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import AuditEvent, audit
from tests.conftest import post_form, sign_in
from tests.downloads import csv_rows
from tests.factories import make_coordinator, make_letter, make_member, make_signature

SLUG = "civic"
MODERATOR = "moderator@coalition.example.org"
AUDIT = f"/manage/letters/{SLUG}/audit"


@pytest.fixture
def world(app) -> dict[str, int]:
    """A letter with a moderator and a few events by a coordinator, a signer and the system."""
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        moderator = make_member(
            db.session, letter, role="moderator", email=MODERATOR, name="Mo Moderator"
        )
        signature = make_signature(db.session, letter, organization="Audited Org")
        start = utcnow() - timedelta(hours=1)
        record = [
            ("signature.created", "signer", None, signature.id, {"kind": "organization"}),
            ("signature.confirmed", "signer", None, signature.id, {"status": "published"}),
            (
                "signature.corrected",
                "coordinator",
                moderator.id,
                signature.id,
                {"field": "organization", "before": "Audted Org", "after": "Audited Org"},
            ),
            ("letter.opened", "coordinator", moderator.id, None, {}),
        ]
        for n, (action, label, actor_id, signature_id, detail) in enumerate(record):
            audit.record(
                db.session,
                action,
                actor_label=label,
                actor_id=actor_id,
                letter_id=letter.id,
                signature_id=signature_id,
                detail=detail,
                now=start + timedelta(minutes=n),
            )
        other = make_letter(db.session)
        audit.record(db.session, "letter.opened", actor_label="cli", letter_id=other.id)
        db.session.commit()
        return {"letter": letter.id, "moderator": moderator.id, "signature": signature.id}


@pytest.fixture
def moderator(client, world):
    return sign_in(client, MODERATOR)


def rows_of(page: str) -> list[str]:
    """The actions in the trail's table, in page order."""
    return re.findall(r'<th scope="row"><code>([^<]+)</code></th>', page)


def download(client, **filters) -> tuple[object, list[list[str]]]:
    response = post_form(client, f"{AUDIT}.csv", form_page=AUDIT, **filters)
    return response, csv_rows(response.get_data(as_text=True))


def test_the_trail_lists_this_letters_events_newest_first(moderator):
    page = moderator.get(AUDIT).get_data(as_text=True)
    assert rows_of(page) == [
        "letter.opened",
        "signature.corrected",
        "signature.confirmed",
        "signature.created",
    ]


def test_the_trail_says_who_acted_and_on_which_signature(moderator, world):
    page = moderator.get(AUDIT).get_data(as_text=True)
    assert "Mo Moderator" in page and "signer" in page
    assert f"/manage/letters/{SLUG}/signatures/{world['signature']}" in page
    assert "<bdi>Audited Org</bdi>" in page


def test_a_correction_reads_as_before_and_after(moderator):
    page = moderator.get(AUDIT).get_data(as_text=True)
    assert "organization: “<bdi>Audted Org</bdi>” → “<bdi>Audited Org</bdi>”" in page


def test_the_trail_filters_by_action_prefix(moderator):
    page = moderator.get(f"{AUDIT}?action=signature.").get_data(as_text=True)
    assert rows_of(page) == ["signature.corrected", "signature.confirmed", "signature.created"]


def test_the_trail_filters_by_exact_action(moderator):
    page = moderator.get(f"{AUDIT}?action=signature.confirmed").get_data(as_text=True)
    assert rows_of(page) == ["signature.confirmed"]


def test_a_prefix_filter_takes_wildcards_literally(moderator):
    assert rows_of(moderator.get(f"{AUDIT}?action=%25.").get_data(as_text=True)) == []


def test_the_trail_filters_by_coordinator_and_by_label(moderator, world):
    by_coordinator = moderator.get(f"{AUDIT}?actor={world['moderator']}").get_data(as_text=True)
    assert rows_of(by_coordinator) == ["letter.opened", "signature.corrected"]
    by_signer = moderator.get(f"{AUDIT}?actor=signer").get_data(as_text=True)
    assert rows_of(by_signer) == ["signature.confirmed", "signature.created"]


def test_the_filter_menus_offer_what_occurs(moderator):
    page = moderator.get(AUDIT).get_data(as_text=True)
    assert 'value="signature."' in page and 'value="signature.corrected"' in page
    assert "Mo Moderator (moderator@coalition.example.org)" in page
    assert 'value="signer"' in page


def test_the_trail_pages_by_event_id(app, moderator):
    app.config["MANAGE_PAGE_SIZE"] = 3
    first = moderator.get(AUDIT).get_data(as_text=True)
    assert len(rows_of(first)) == 3
    older = re.search(r'href="([^"]*before=\d+)"', first)
    assert older, "no link to older events"
    second = moderator.get(html.unescape(older.group(1))).get_data(as_text=True)
    assert rows_of(second) == ["signature.created"]
    assert "Older events" not in second


def test_paging_keeps_the_filters(app, moderator):
    app.config["MANAGE_PAGE_SIZE"] = 2
    first = moderator.get(f"{AUDIT}?action=signature.").get_data(as_text=True)
    older = html.unescape(re.search(r'href="([^"]*before=\d+)"', first).group(1))
    assert "action=signature." in older
    assert rows_of(moderator.get(older).get_data(as_text=True)) == ["signature.created"]


def test_a_damaged_page_link_is_a_clear_400(moderator):
    response = moderator.get(f"{AUDIT}?before=abc")
    assert response.status_code == 400
    assert "damaged" in response.get_data(as_text=True)


def test_the_service_pages_without_overlap(session):
    letter = make_letter(session)
    for n in range(5):
        audit.record(session, f"test.{n}", actor_label="system", letter_id=letter.id)
    session.flush()
    first = audit_page(session, letter, AuditFilter(), limit=2)
    second = audit_page(session, letter, AuditFilter(), before=first.next_before, limit=2)
    third = audit_page(session, letter, AuditFilter(), before=second.next_before, limit=2)
    actions = [e.event.action for page in (first, second, third) for e in page.entries]
    assert actions == ["test.4", "test.3", "test.2", "test.1", "test.0"]
    assert third.next_before is None


def test_an_event_by_a_deleted_coordinator_still_shows(session):
    letter = make_letter(session)
    gone = make_coordinator(session)
    audit.record(
        session, "letter.closed", actor_label="coordinator", actor_id=gone.id, letter_id=letter.id
    )
    session.flush()
    session.delete(gone)
    session.flush()
    session.expire_all()
    [entry] = audit_page(session, letter, AuditFilter()).entries
    assert entry.who == "coordinator"


# --- The CSV ----------------------------------------------------------------------------------


def test_the_csv_holds_the_trail_oldest_first(moderator, world):
    response, rows = download(moderator)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert rows[0][:3] == ["Event ID", "Time (UTC)", "Action"]
    assert [row[2] for row in rows[1:]] == [
        "signature.created",
        "signature.confirmed",
        "signature.corrected",
        "letter.opened",
    ]
    corrected = rows[3]
    assert corrected[3] == "Mo Moderator" and corrected[6] == str(world["signature"])
    assert '"before": "Audted Org"' in corrected[8]


def test_the_csv_is_not_cached_and_named_for_the_letter(moderator):
    response, _ = download(moderator)
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="civic-audit-\d{4}-\d{2}-\d{2}\.csv"', disposition)


def test_the_csv_applies_the_filters(moderator):
    _, rows = download(moderator, action="signature.", actor="signer")
    assert [row[2] for row in rows[1:]] == ["signature.created", "signature.confirmed"]


def test_the_csv_neutralises_formulas(app, moderator, world):
    with app.app_context():
        audit.record(
            db.session,
            "=HYPERLINK(1)",
            actor_label="@system",
            letter_id=world["letter"],
            detail={"note": "x"},
        )
        db.session.commit()
    _, rows = download(moderator)
    last = rows[-1]
    assert last[2] == "'=HYPERLINK(1)" and last[3] == "'@system"


def test_downloading_the_csv_is_audited(app, moderator, world):
    download(moderator, action="signature.")
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.exported"))
        assert event.actor_id == world["moderator"] and event.letter_id == world["letter"]
        assert event.detail == {"format": "csv", "rows": 3, "action": "signature.", "actor": ""}


def test_the_csv_ends_where_it_began(moderator):
    # Its own "audit.exported" event comes after: the file does not include it.
    _, rows = download(moderator)
    assert "audit.exported" not in [row[2] for row in rows]


def test_opening_the_csv_address_leads_to_the_trail(moderator):
    response = moderator.get(f"{AUDIT}.csv")
    assert response.status_code == 303 and response.headers["Location"].endswith(AUDIT)


def test_the_csv_needs_the_csrf_token(moderator):
    assert moderator.post(f"{AUDIT}.csv").status_code == 400


def test_the_trail_offers_no_way_to_change_an_event(moderator):
    page = moderator.get(AUDIT).get_data(as_text=True)
    forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page)
    assert forms, "expected at least the download and sign-out forms"
    assert all(action.endswith(("/audit.csv", "/logout")) for action in forms)


def test_an_actor_id_beyond_any_database_integer_matches_nothing(moderator):
    response = moderator.get(f"{AUDIT}?actor={'9' * 25}")
    assert response.status_code == 200 and rows_of(response.get_data(as_text=True)) == []
