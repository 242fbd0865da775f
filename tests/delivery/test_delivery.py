"""Delivery: signing closes, the list is frozen with its SHA-256, and anyone can check it."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload
from signatory.delivery import service as delivery_service
from signatory.delivery.frozen import parse_rows
from signatory.delivery.service import (
    AlreadyDelivered,
    DeliveryData,
    InvalidDelivery,
    NotDeliverable,
)
from signatory.models import AuditEvent, Coordinator, Delivery, Letter, Signature
from signatory.signatures import service, signing
from signatory.signatures.service import LetterNotOpen
from tests.conftest import fetch_csrf, sign_in
from tests.factories import make_letter, make_member, make_signature, make_team


def data(**overrides: object) -> DeliveryData:
    values: dict[str, object] = {
        "delivered_to": "Chair of the Ad Hoc Committee",
        "delivered_at": utcnow() - timedelta(hours=1),
        "method": "by email to the secretariat",
        "note": "Acknowledged by the secretariat.",
    }
    values.update(overrides)
    return DeliveryData(**values)  # type: ignore[arg-type]


@pytest.fixture
def letter(session: Session) -> Letter:
    """An open letter with organizations in three countries and two individuals."""
    letter = make_letter(session, slug="civic")
    for organization, country in (
        ("Zeta Rights", "DE"),
        ("alpha Digital", "DE"),
        ("Kenya ICT Action", "KE"),
        ("Ärzte für Netze", "AT"),
    ):
        make_signature(session, letter, organization=organization, country=country)
    make_signature(
        session, letter, kind="individual", name="Zoë Adams", country="KE", organization="Uni A"
    )
    make_signature(session, letter, kind="individual", name="Ben Okoro", country="NG")
    make_signature(session, letter, status="pending_review", organization="Waiting Org")
    make_signature(session, letter, status="unconfirmed", organization="Never Confirmed")
    return letter


def deliver(session: Session, letter: Letter, **overrides: object) -> Delivery:
    owner = make_member(session, letter, role="owner")
    delivery = delivery_service.deliver(
        session, letter, data(**overrides), actor=owner, now=utcnow()
    )
    session.commit()
    return delivery


# --- The service -------------------------------------------------------------------------


def test_delivery_freezes_exactly_the_bytes_of_the_public_csv(
    session: Session, client: FlaskClient, letter: Letter
) -> None:
    session.commit()
    public = client.get("/letters/civic/signatories.csv").get_data()

    delivery = deliver(session, letter)

    assert delivery.csv_bytes == public
    assert delivery.sha256 == hashlib.sha256(public).hexdigest()


def test_delivery_counts_each_section_of_the_frozen_list(session: Session, letter: Letter) -> None:
    delivery = deliver(session, letter)

    assert (delivery.organizations, delivery.individuals) == (4, 2)


def test_delivery_closes_signing_and_audits_who_delivered(session: Session, letter: Letter) -> None:
    delivery = deliver(session, letter)

    assert letter.status == "delivered"
    assert letter.closed_at is not None
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "letter.delivered"))
    assert event is not None and event.actor_id == delivery.created_by_id
    assert event.actor_label == "coordinator"
    assert event.detail["sha256"] == delivery.sha256
    assert event.detail["organizations"] == 4


def test_a_delivered_letter_cannot_be_delivered_again(session: Session, letter: Letter) -> None:
    first = deliver(session, letter)
    owner = make_member(session, letter, role="owner")

    with pytest.raises(AlreadyDelivered):
        delivery_service.deliver(session, letter, data(), actor=owner, now=utcnow())

    assert session.scalars(select(Delivery)).all() == [first]


def test_a_draft_cannot_be_delivered(session: Session) -> None:
    draft = make_letter(session, status="draft")
    owner = make_member(session, draft, role="owner")

    with pytest.raises(NotDeliverable):
        delivery_service.deliver(session, draft, data(), actor=owner, now=utcnow())
    assert draft.status == "draft"


def test_a_closed_letter_can_be_delivered(session: Session) -> None:
    closed = make_letter(session, status="closed")
    make_signature(session, closed)

    assert deliver(session, closed).organizations == 1


def test_a_delivery_in_the_future_is_refused(session: Session, letter: Letter) -> None:
    owner = make_member(session, letter, role="owner")

    with pytest.raises(InvalidDelivery) as refused:
        delivery_service.deliver(
            session,
            letter,
            data(delivered_at=utcnow() + timedelta(days=1)),
            actor=owner,
            now=utcnow(),
        )
    assert refused.value.field == "delivered_at"
    assert letter.status == "open"


def test_a_delivered_letter_refuses_new_signatures(session: Session, letter: Letter) -> None:
    deliver(session, letter)
    sign_data = service.SignatureData(
        kind="organization",
        name="Late Signer",
        email="late@late.example.org",
        email_domain="late.example.org",
        country="FR",
        organization="Late Org",
        organization_type="ngo",
        website="https://late.example.org",
    )

    with pytest.raises(LetterNotOpen):
        signing.sign(session, letter, sign_data, now=utcnow())


def test_a_delivered_letter_refuses_a_late_confirmation(session: Session, letter: Letter) -> None:
    deliver(session, letter)
    unconfirmed = next(s for s in _signatures(session, letter) if s.status == "unconfirmed")

    with pytest.raises(LetterNotOpen):
        service.confirm(
            session, TokenPayload(unconfirmed.id, unconfirmed.confirm_nonce), now=utcnow()
        )


def _signatures(session: Session, letter: Letter) -> list[Signature]:
    return list(session.scalars(select(Signature).where(Signature.letter_id == letter.id)))


def test_the_frozen_list_stays_when_a_signature_is_withdrawn_later(
    session: Session, client: FlaskClient, letter: Letter
) -> None:
    delivery = deliver(session, letter)
    published = next(s for s in _signatures(session, letter) if s.status == "published")
    service.withdraw(session, TokenPayload(published.id, published.withdraw_nonce), now=utcnow())
    session.commit()

    served = client.get("/letters/civic/delivered.csv").get_data()

    assert hashlib.sha256(served).hexdigest() == delivery.sha256
    assert client.get("/letters/civic/signatories.csv").get_data() != served


# --- The public side ---------------------------------------------------------------------


def test_the_delivered_file_is_served_byte_for_byte_with_its_hash(
    session: Session, client: FlaskClient, letter: Letter
) -> None:
    delivery = deliver(session, letter)

    response = client.get("/letters/civic/delivered.csv")

    assert response.status_code == 200
    body = response.get_data()
    assert body == delivery.csv_bytes
    assert hashlib.sha256(body).hexdigest() == delivery.sha256
    assert response.headers["ETag"] == f'"{delivery.sha256}"'
    expected = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert response.headers["Repr-Digest"] == f"sha-256=:{expected}:"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="civic-delivered-\d{4}-\d{2}-\d{2}\.csv"', disposition
    )


def test_the_delivered_file_answers_a_matching_etag_with_304(
    session: Session, client: FlaskClient, letter: Letter
) -> None:
    delivery = deliver(session, letter)

    response = client.get(
        "/letters/civic/delivered.csv", headers={"If-None-Match": f'"{delivery.sha256}"'}
    )

    assert response.status_code == 304


def test_the_public_page_shows_the_delivery_and_the_hash_of_the_served_file(
    session: Session, client: FlaskClient, letter: Letter
) -> None:
    deliver(session, letter)
    served_hash = hashlib.sha256(client.get("/letters/civic/delivered.csv").get_data()).hexdigest()

    page = client.get("/letters/civic").get_data(as_text=True)

    assert "Delivered to <strong><bdi>Chair of the Ad Hoc Committee</bdi></strong>" in page
    assert "4 organizations and 2 individuals" in page
    assert served_hash in page
    assert "/letters/civic/delivered.csv" in page
    assert '/letters/civic/delivered"' in page


def test_the_public_page_of_an_undelivered_letter_has_no_delivery_banner(
    session: Session, client: FlaskClient, letter: Letter
) -> None:
    session.commit()

    page = client.get("/letters/civic").get_data(as_text=True)

    assert "delivered.csv" not in page


@pytest.mark.parametrize("path", ["/letters/civic/delivered.csv", "/letters/civic/delivered"])
def test_nothing_delivered_means_404(
    session: Session, client: FlaskClient, letter: Letter, path: str
) -> None:
    session.commit()

    assert client.get(path).status_code == 404


def _section(html: str, section: str) -> str:
    """One section of the printable page, from its title to the next section or the end."""
    start = html.index(f'id="{section}s-title"')
    end = html.find('<section class="delivered-section"', start)
    return html[start : end if end != -1 else len(html)]


def _row_names(html: str, section: str) -> list[str]:
    """The row headers of one section of the printable page, in page order."""
    return re.findall(r'<th scope="row"><bdi>([^<]*)</bdi>', _section(html, section))


def _captions(html: str, section: str) -> list[str]:
    return re.findall(r"<caption><bdi>([^<]*)</bdi>", _section(html, section))


def test_the_printable_page_lists_the_frozen_rows_by_section_country_and_name(
    session: Session, client: FlaskClient, letter: Letter
) -> None:
    deliver(session, letter)
    # Approved after the delivery: on the public list, but not in what was handed over.
    waiting = next(s for s in _signatures(session, letter) if s.status == "pending_review")
    waiting.status = "published"
    waiting.published_at = utcnow()
    session.commit()

    html = client.get("/letters/civic/delivered").get_data(as_text=True)

    assert _captions(html, "organization") == ["Austria", "Germany", "Kenya"]
    assert _row_names(html, "organization") == [
        "Ärzte für Netze",
        "alpha Digital",
        "Zeta Rights",
        "Kenya ICT Action",
    ]
    assert _captions(html, "individual") == ["Kenya", "Nigeria"]
    assert _row_names(html, "individual") == ["Zoë Adams", "Ben Okoro"]
    assert "Waiting Org" not in html
    assert html.index('id="organizations-title"') < html.index('id="individuals-title"')
    assert "Affiliation (for identification only)" in html


def test_the_printable_page_agrees_with_the_frozen_file(
    session: Session, client: FlaskClient, letter: Letter
) -> None:
    delivery = deliver(session, letter)
    rows = parse_rows(client.get("/letters/civic/delivered.csv").get_data())

    html = client.get("/letters/civic/delivered").get_data(as_text=True)

    printed = _row_names(html, "organization") + _row_names(html, "individual")
    frozen = [r.organization if r.kind == "organization" else r.name for r in rows]
    assert sorted(printed) == sorted(frozen)
    assert delivery.sha256 in html
    assert "protect</strong> civic space" in html


def test_the_printable_page_shows_names_without_the_spreadsheet_guard(
    session: Session, client: FlaskClient
) -> None:
    letter = make_letter(session, slug="guarded")
    make_signature(session, letter, organization="=Equal Rights", country="FR")
    deliver(session, letter)

    html = client.get("/letters/guarded/delivered").get_data(as_text=True)
    served = client.get("/letters/guarded/delivered.csv").get_data().decode("utf-8")

    assert "'=Equal Rights" in served
    assert _row_names(html, "organization") == ["=Equal Rights"]


def test_parse_rows_takes_off_only_the_guard_that_neutralise_added() -> None:
    from signatory.lists.writers import BOM, HEADER, csv_chunk, neutralise

    cells = ["Organization", "x", "FR", "France", "", "", "", "", "no", "", "1"]
    names = ["=SUM(A1)", " -1", "'quoted", "plain"]
    text = BOM + csv_chunk([HEADER])
    text += csv_chunk([[neutralise(c) for c in [cells[0], name, *cells[2:]]] for name in names])

    rows = parse_rows(text.encode("utf-8"))

    assert [row.organization for row in rows] == names


# --- The workspace page ------------------------------------------------------------------
#
# These go through HTTP as a signed-in coordinator, so they set up and check in their own
# app contexts: a request inside the ``session`` fixture's context would share its ``g``
# (and so its CSRF token and signed-in user) with every other request.


@pytest.fixture
def team(app: Flask) -> dict[str, str]:
    """The letter "civic" (as in ``letter``) with an owner and an editor; their emails."""
    with app.app_context():
        letter = make_letter(db.session, slug="civic")
        make_signature(db.session, letter, organization="Zeta Rights", country="DE")
        make_signature(db.session, letter, kind="individual", name="Ben Okoro", country="NG")
        emails = make_team(db.session, letter, roles=("owner", "editor"))
        db.session.commit()
    return emails


def deliveries(app: Flask) -> list[Delivery]:
    with app.app_context():
        found = list(db.session.scalars(select(Delivery)))
        db.session.expunge_all()
    return found


def _form(client: FlaskClient, **overrides: str) -> dict[str, str]:
    values = {
        "csrf_token": fetch_csrf(client, "/manage/letters/civic/delivery"),
        "delivered_to": "Chair of the Ad Hoc Committee",
        "delivered_at": (utcnow() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "method": "in person",
        "note": "Handed over at the opening session.",
        "confirm": "y",
    }
    values.update(overrides)
    return values


def test_an_owner_delivers_through_the_form_and_sees_the_record(
    app: Flask, client: FlaskClient, team: dict[str, str]
) -> None:
    sign_in(client, team["owner"])

    response = client.post("/manage/letters/civic/delivery", data=_form(client))

    assert response.status_code == 303
    [delivery] = deliveries(app)
    assert delivery.method == "in person"
    assert (delivery.organizations, delivery.individuals) == (1, 1)
    page = client.get("/manage/letters/civic/delivery").get_data(as_text=True)
    assert delivery.sha256 in page
    assert "/letters/civic/delivered.csv" in page
    assert '/letters/civic/delivered"' in page


def test_delivering_through_the_form_is_audited_as_the_owner(
    app: Flask, client: FlaskClient, team: dict[str, str]
) -> None:
    sign_in(client, team["owner"])

    client.post("/manage/letters/civic/delivery", data=_form(client))

    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "letter.delivered"))
        owner = db.session.scalar(select(Coordinator).where(Coordinator.email == team["owner"]))
        assert event is not None and owner is not None
        assert (event.actor_label, event.actor_id) == ("coordinator", owner.id)
        assert event.detail["method"] == "in person"


def test_the_form_suggests_the_recipient_and_now(client: FlaskClient, team: dict[str, str]) -> None:
    sign_in(client, team["owner"])

    page = client.get("/manage/letters/civic/delivery").get_data(as_text=True)

    assert 'value="Chair of the Ad Hoc Committee"' in page
    assert f'value="{utcnow():%Y-%m-%dT}' in page


def test_the_form_needs_the_confirmation_box(
    app: Flask, client: FlaskClient, team: dict[str, str]
) -> None:
    sign_in(client, team["owner"])
    form = _form(client)
    del form["confirm"]

    response = client.post("/manage/letters/civic/delivery", data=form)

    assert response.status_code == 400
    assert "Tick the box to confirm." in response.get_data(as_text=True)
    assert deliveries(app) == []


def test_the_form_refuses_a_time_in_the_future_next_to_the_field(
    app: Flask, client: FlaskClient, team: dict[str, str]
) -> None:
    sign_in(client, team["owner"])
    later = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    response = client.post("/manage/letters/civic/delivery", data=_form(client, delivered_at=later))

    assert response.status_code == 400
    assert 'id="delivered_at-error"' in response.get_data(as_text=True)
    assert deliveries(app) == []


def test_the_form_explains_an_unreadable_time(
    app: Flask, client: FlaskClient, team: dict[str, str]
) -> None:
    sign_in(client, team["owner"])

    response = client.post(
        "/manage/letters/civic/delivery", data=_form(client, delivered_at="yesterday")
    )

    assert response.status_code == 400
    assert "Enter a date and time" in response.get_data(as_text=True)
    assert deliveries(app) == []


def test_a_second_delivery_through_the_form_is_refused(
    app: Flask, client: FlaskClient, team: dict[str, str]
) -> None:
    sign_in(client, team["owner"])
    client.post("/manage/letters/civic/delivery", data=_form(client))
    [first] = deliveries(app)

    response = client.post(
        "/manage/letters/civic/delivery", data=_form(client, delivered_to="Someone else")
    )

    assert response.status_code == 409
    assert [d.id for d in deliveries(app)] == [first.id]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_editor_may_not_deliver(
    app: Flask, client: FlaskClient, team: dict[str, str], method: str
) -> None:
    sign_in(client, team["editor"])

    if method == "GET":
        response = client.get("/manage/letters/civic/delivery")
    else:
        token = fetch_csrf(client, "/manage/")
        response = client.post(
            "/manage/letters/civic/delivery", data={"csrf_token": token, "confirm": "y"}
        )

    assert response.status_code == 403
    assert deliveries(app) == []
