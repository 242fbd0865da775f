"""Races end in one defined state: conditional updates and constraints, not check-then-act.

Two kinds of test. Threads send the same request at once through the app (SQLite
serialises the writers; the unique indexes and conditional updates decide who wins). And
interleavings that only a database without a global write lock allows (PostgreSQL's read
committed): one session reads, another commits a change, the first then acts on what it
read. The second kind is built here with two sessions whose objects outlive their
transactions, so the stale read is certain rather than a matter of timing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from signatory.abuse import bulk
from signatory.core.errors import InvalidToken
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload, current_tokens
from signatory.models import AuditEvent, BulkAction, OutboxMessage, Signature
from signatory.signatures import moderation, service
from signatory.signatures.moderation import ModerationError
from tests.conftest import fetch_csrf
from tests.factories import make_coordinator, make_letter, make_signature

SLUG = "raced"


@pytest.fixture
def sessions(app) -> Iterator[tuple[Session, Session]]:
    """Two sessions on the app's database whose objects keep what they read after a commit."""
    with app.app_context():
        make = sessionmaker(bind=db.engine, expire_on_commit=False)
        first, second = make(), make()
        yield first, second
        first.close()
        second.close()


def setup(session: Session, *, status: str = "pending_review", moderation_policy: str = "all"):
    letter = make_letter(session, slug=SLUG, moderation=moderation_policy)
    coordinator = make_coordinator(session)
    signature = make_signature(session, letter, status=status)
    session.commit()
    return letter.id, coordinator.id, signature.id


def committed(app, model, **where):
    with app.app_context():
        query = select(model).filter_by(**where)
        return list(db.session.scalars(query))


def actions(app) -> list[str]:
    return [e.action for e in committed(app, AuditEvent)]


def stale_read(session: Session, letter_id: int, coordinator_id: int, signature_id: int):
    """What a moderator's request read before the other change committed."""
    from signatory.models import Coordinator, Letter

    letter = session.get(Letter, letter_id)
    actor = session.get(Coordinator, coordinator_id)
    signature = session.get(Signature, signature_id)
    assert signature is not None and signature.status
    session.commit()  # the read's transaction ends; its objects keep the old status
    return letter, actor, signature


def test_an_approval_that_lost_the_race_to_a_withdrawal_changes_nothing(app, sessions):
    moderator_side, signer_side = sessions
    ids = setup(signer_side)
    letter, actor, seen = stale_read(moderator_side, *ids)
    signature = signer_side.get(Signature, ids[2])
    service.withdraw(
        signer_side, TokenPayload(signature.id, signature.withdraw_nonce), now=utcnow()
    )
    signer_side.commit()

    with pytest.raises(ModerationError, match="changed while"):
        moderation.decide(
            moderator_side, letter, [seen.id], decision="approve", reason=None, actor=actor,
            now=utcnow(),
        )  # fmt: skip
    moderator_side.rollback()
    (row,) = committed(app, Signature, id=ids[2])
    assert row.status == "withdrawn" and row.published_at is None
    assert "signature.approved" not in actions(app)
    assert [m.template for m in committed(app, OutboxMessage)] == ["withdrawal_receipt"]


def test_two_moderators_deciding_one_signature_leave_the_first_decision(app, sessions):
    first, second = sessions
    ids = setup(second)
    letter, actor, seen = stale_read(first, *ids)
    moderation.decide(
        second, second.get(type(letter), ids[0]), [ids[2]], decision="reject", reason="spam",
        actor=second.get(type(actor), ids[1]), now=utcnow(),
    )  # fmt: skip
    second.commit()

    with pytest.raises(ModerationError, match="changed while"):
        moderation.decide(
            first, letter, [seen.id], decision="approve", reason=None, actor=actor, now=utcnow()
        )
    first.rollback()
    (row,) = committed(app, Signature, id=ids[2])
    assert (row.status, row.moderation_reason) == ("rejected", "spam")
    assert actions(app).count("signature.rejected") == 1
    assert "signature.approved" not in actions(app)


def test_a_bulk_rejection_that_lost_the_race_to_a_confirmation_changes_nothing(app, sessions):
    coordinator_side, signer_side = sessions
    letter = make_letter(signer_side, slug=SLUG)
    actor = make_coordinator(signer_side)
    flood = [
        make_signature(signer_side, letter, status="unconfirmed", client_prefix="203.0.113.0/24")
        for _ in range(3)
    ]
    signer_side.commit()
    stale_letter, stale_actor, _ = stale_read(coordinator_side, letter.id, actor.id, flood[0].id)
    rule = bulk.parse_rule("203.0.113.0/24", None, None, None)
    for each in flood:  # the bulk action's own read, before the confirmation commits
        coordinator_side.get(Signature, each.id)
    coordinator_side.commit()
    service.confirm(signer_side, TokenPayload(flood[0].id, flood[0].confirm_nonce), now=utcnow())
    signer_side.commit()

    with pytest.raises(bulk.BulkError):
        bulk.reject(
            coordinator_side, stale_letter, rule, expected=3, reason=None, actor=stale_actor,
            now=utcnow(),
        )  # fmt: skip
    coordinator_side.rollback()
    statuses = sorted(s.status for s in committed(app, Signature))
    assert statuses == ["published", "unconfirmed", "unconfirmed"]
    assert committed(app, BulkAction) == []


def test_a_correction_racing_a_withdrawal_does_not_touch_the_withdrawn_signature(app, sessions):
    moderator_side, signer_side = sessions
    ids = setup(signer_side, status="published", moderation_policy="none")
    _, actor, seen = stale_read(moderator_side, *ids)
    signature = signer_side.get(Signature, ids[2])
    service.withdraw(
        signer_side, TokenPayload(signature.id, signature.withdraw_nonce), now=utcnow()
    )
    signer_side.commit()

    with pytest.raises(ModerationError, match="changed while"):
        moderation.correct(
            moderator_side, seen, field_name="name", value="Someone Else", actor=actor,
            now=utcnow(),
        )  # fmt: skip
    moderator_side.rollback()
    (row,) = committed(app, Signature, id=ids[2])
    assert (row.status, row.name) == ("withdrawn", "Ada Example")


def _in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_simultaneous_identical_signs_make_one_signature(app):
    with app.app_context():
        make_letter(db.session, slug=SLUG)
        db.session.commit()
    clients = [app.test_client() for _ in range(6)]
    tokens = [fetch_csrf(c, f"/letters/{SLUG}") for c in clients]
    form = {
        "kind": "organization", "organization": "Open Rights Example", "country": "GB",
        "organization_type": "ngo", "website": "https://openrights.example.org",
        "name": "Jim Signer", "email": "jim@openrights.example.org", "authorised": "y",
    }  # fmt: skip

    def sign(i: int) -> int:
        data = {"csrf_token": tokens[i], **form}
        return clients[i].post(f"/letters/{SLUG}/sign", data=data).status_code

    assert _in_threads(6, sign) == [303] * 6
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 1


def test_parallel_confirmations_make_one_transition(app):
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        signature = make_signature(db.session, letter, status="unconfirmed")
        db.session.commit()
        token = current_tokens().make("confirm", signature.id, signature.confirm_nonce)
    clients = [app.test_client() for _ in range(5)]
    csrf = [fetch_csrf(c, f"/confirm/{token}") for c in clients]

    def confirm(i: int) -> int:
        return clients[i].post(f"/confirm/{token}", data={"csrf_token": csrf[i]}).status_code

    assert sorted(_in_threads(5, confirm)) == [200, 409, 409, 409, 409]
    assert actions(app).count("signature.confirmed") == 1
    assert [m.template for m in committed(app, OutboxMessage)] == ["signature_confirmed"]


def test_a_withdrawal_that_lost_the_race_to_a_decision_is_answered_as_a_used_link(app, sessions):
    signer_side, moderator_side = sessions
    ids = setup(moderator_side)
    _, _, seen = stale_read(signer_side, *ids)
    letter, actor, _ = stale_read(moderator_side, *ids)
    moderation.decide(
        moderator_side, letter, [ids[2]], decision="reject", reason=None, actor=actor,
        now=utcnow(),
    )  # fmt: skip
    moderator_side.commit()

    with pytest.raises(InvalidToken) as raised:
        service.withdraw(signer_side, TokenPayload(seen.id, seen.withdraw_nonce), now=utcnow())
    signer_side.rollback()
    assert raised.value.reason == "used"
    (row,) = committed(app, Signature, id=ids[2])
    assert row.status == "rejected"
    assert "signature.withdrawn" not in actions(app)
    assert "withdrawal_receipt" not in [m.template for m in committed(app, OutboxMessage)]


def test_a_change_refused_as_stale_at_commit_gets_a_409_page_saying_nothing_was_saved(app):
    from sqlalchemy.orm.exc import StaleDataError

    def stale() -> str:
        raise StaleDataError("UPDATE statement on table 'signature' expected to update 1 row")

    app.add_url_rule("/test-stale", "test_stale", stale, methods=["GET"])
    response = app.test_client().get("/test-stale")
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Someone else changed this while your request was on its way" in body
    assert "Nothing you sent was saved" in body and "Traceback" not in body
