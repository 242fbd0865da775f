"""The policy that hides signatures not re-confirmed in time: not before N days, then off
the list and out of the kept counts, in batches, audited, and back in place once kept."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.letters.queries import published_counts
from signatory.lists.queries import published_page
from signatory.mail.chores import chores_of
from signatory.models import Letter, Signature, SignatureTally, transition
from signatory.reconfirm.lapsing import LapseWatch, lapse_due
from tests.conftest import audit_trail
from tests.factories import make_signature
from tests.reconfirm.conftest import SLUG, Told, keep_path, press_keep

DAYS = 14


def _set_policy(app: Flask, days: int | None) -> None:
    with app.app_context():
        db.session.scalar(select(Letter).where(Letter.slug == SLUG)).reconfirm_days = days
        db.session.commit()


def _lapse(app: Flask, now: datetime, **options: int) -> dict[int, int]:
    with app.app_context():
        return lapse_due(db.session, now=now, **options)


def _statuses(app: Flask, told: Told) -> dict[str, str]:
    with app.app_context():
        return {
            name: db.session.get(Signature, signature_id).status
            for name, signature_id in told.ids.items()
        }


def _published_total(app: Flask) -> int:
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        return published_counts(db.session, letter).total


@pytest.fixture
def answered(app: Flask, client: FlaskClient, told: Told) -> Told:
    """EFF kept its signature on version 2, Article 19 withdrew; Amnesty and Ada did nothing."""
    press_keep(client, keep_path(app, told.ids["EFF"]))
    with app.app_context():
        transition(db.session.get(Signature, told.ids["Article 19"]), "withdraw", now=utcnow())
        db.session.commit()
    _set_policy(app, DAYS)
    return told


def test_nothing_lapses_before_the_days_have_passed(app: Flask, answered: Told) -> None:
    done = _lapse(app, answered.told_at + timedelta(days=DAYS) - timedelta(seconds=1))

    assert done == {}
    assert _statuses(app, answered)["Amnesty"] == "published"


def test_after_the_days_the_silent_signatures_lapse_and_the_others_stay(
    app: Flask, answered: Told
) -> None:
    _lapse(app, answered.told_at + timedelta(days=DAYS, seconds=1))

    assert _statuses(app, answered) == {
        "Amnesty": "lapsed",
        "Ada": "lapsed",
        "EFF": "published",
        "Article 19": "withdrawn",
    }


def test_lapsed_signatures_leave_the_kept_counts_and_the_list(
    app: Flask, client: FlaskClient, answered: Told
) -> None:
    assert _published_total(app) == 3

    _lapse(app, answered.told_at + timedelta(days=DAYS, seconds=1))

    assert _published_total(app) == 1
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        lapsed = db.session.scalar(
            select(func.sum(SignatureTally.signatures)).where(
                SignatureTally.letter_id == letter.id, SignatureTally.status == "lapsed"
            )
        )
        assert lapsed == 2
    page = client.get(f"/letters/{SLUG}/signatories").get_data(as_text=True)
    assert "EFF" in page and "Amnesty" not in page and "Ada Lovelace" not in page


def test_no_policy_lapses_nobody(app: Flask, answered: Told) -> None:
    _set_policy(app, None)

    assert _lapse(app, answered.told_at + timedelta(days=400)) == {}
    assert _statuses(app, answered)["Amnesty"] == "published"


def test_a_signature_that_was_not_told_does_not_lapse(app: Flask, answered: Told) -> None:
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        newcomer = make_signature(db.session, letter, organization="Newcomer").id
        db.session.commit()

    _lapse(app, answered.told_at + timedelta(days=DAYS, seconds=1))

    with app.app_context():
        assert db.session.get(Signature, newcomer).status == "published"


def test_lapsing_is_audited_once_per_run_and_letter_with_the_count(
    app: Flask, answered: Told
) -> None:
    now = answered.told_at + timedelta(days=DAYS, seconds=1)
    _lapse(app, now, batch_size=1)
    _lapse(app, now + timedelta(hours=1))

    [event_] = audit_trail(app, "letter.signatures_lapsed")
    assert event_.actor_label == "system"
    assert event_.detail == {"count": 2, "days": DAYS, "versions": [2]}


def test_lapsing_runs_in_batches_of_conditional_updates(app: Flask, answered: Told) -> None:
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        db.session.execute(
            Signature.__table__.update()
            .where(Signature.letter_id == letter.id)
            .values(reconfirmed_version_id=None)
        )
        db.session.commit()
    updates: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE SIGNATURE SET STATUS"):
            updates.append(statement)

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            done = lapse_due(
                db.session, now=answered.told_at + timedelta(days=DAYS, seconds=1), batch_size=2
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)

    # Amnesty, EFF and Ada (the kept mark cleared above): 2 + 1 rows, two UPDATEs.
    assert list(done.values()) == [3]
    assert len(updates) == 2


def test_keeping_a_lapsed_signature_brings_it_back_to_its_place(
    app: Flask, client: FlaskClient, answered: Told
) -> None:
    with app.app_context():
        signature = db.session.get(Signature, answered.ids["Amnesty"])
        published_at = signature.published_at
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        order_before = [s.id for s in published_page(db.session, letter, limit=10).items]
    _lapse(app, answered.told_at + timedelta(days=DAYS, seconds=1))

    response = press_keep(client, keep_path(app, answered.ids["Amnesty"]))

    assert response.status_code == 200
    with app.app_context():
        signature = db.session.get(Signature, answered.ids["Amnesty"])
        assert signature.status == "published"
        assert signature.published_at == published_at
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        order_after = [s.id for s in published_page(db.session, letter, limit=10).items]
    assert order_after == [i for i in order_before if i != answered.ids["Ada"]]
    assert _published_total(app) == 2
    [kept] = [e for e in audit_trail(app, "signature.reconfirmed") if e.detail["was_lapsed"]]
    assert kept.signature_id == answered.ids["Amnesty"]


def test_a_lapsed_signature_still_holds_its_address(app: Flask, answered: Told) -> None:
    _lapse(app, answered.told_at + timedelta(days=DAYS, seconds=1))

    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        with pytest.raises(Exception, match="UNIQUE|unique|duplicate"):
            make_signature(db.session, letter, email="amnesty@amnesty.org", status="unconfirmed")
        db.session.rollback()


def test_the_mail_worker_runs_the_lapsing_chore(app: Flask, answered: Told) -> None:
    [watch] = [chore for chore in chores_of(app) if isinstance(chore, LapseWatch)]

    with app.app_context():
        done = watch.run_if_due(db.session, now=answered.told_at + timedelta(days=DAYS, seconds=1))
        again = watch.run_if_due(db.session, now=answered.told_at + timedelta(days=DAYS, seconds=2))

    assert done is not None and sum(done.values()) == 2
    assert again is None
