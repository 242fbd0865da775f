"""``flask mail retry``: re-queue failed mail by letter, by age or all, with a count first."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from signatory.core.time import utcnow
from signatory.mail.backends import backend_from_url
from signatory.mail.commands import mail_cli
from signatory.mail.worker import SendCounts, send_due
from signatory.models import OutboxMessage
from tests.conftest import SMTPServer, audit_trail
from tests.factories import make_letter
from tests.mail.failures import failed_mail

LEFT_OUT_HINT = "left out (add --include-permanent to re-queue them too)"


@pytest.fixture
def app_config(smtp_server: SMTPServer) -> dict[str, Any]:
    return {"MAIL_URL": smtp_server.url}


@pytest.fixture
def now() -> datetime:
    return utcnow().replace(microsecond=0)


@pytest.fixture
def outbox(session: Session, now: datetime) -> dict[str, int]:
    """Failed mail on two letters and one with no letter, of every kind and two ages."""
    treaty = make_letter(session, slug="treaty")
    other = make_letter(session, slug="other")
    session.commit()
    week_ago = now - timedelta(days=7)
    hour_ago = now - timedelta(hours=1)
    return {
        "treaty_exhausted_old": failed_mail(session, treaty, failed_at=week_ago),
        "treaty_exhausted_new": failed_mail(session, treaty, failed_at=hour_ago),
        "treaty_permanent": failed_mail(session, treaty, kind="permanent", failed_at=hour_ago),
        "treaty_obsolete": failed_mail(session, treaty, kind="obsolete", failed_at=hour_ago),
        "treaty_erased": failed_mail(session, treaty, failed_at=week_ago, to=""),
        "treaty_retrying": failed_mail(
            session, treaty, kind="temporary", failed_at=hour_ago, status="pending"
        ),
        "other_exhausted": failed_mail(session, other, failed_at=hour_ago),
        "no_letter_exhausted": failed_mail(session, None, failed_at=week_ago),
    }


def statuses(session: Session, outbox: dict[str, int]) -> dict[str, tuple[Any, ...]]:
    session.expire_all()
    found = {}
    for name, message_id in outbox.items():
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        found[name] = (message.status, message.failure_kind, message.attempts)
    # End the read: SQLite lets the command's own transactions in only then.
    session.rollback()
    return found


def requeued(before: dict[str, tuple[Any, ...]], *names: str) -> dict[str, tuple[Any, ...]]:
    """``before`` with ``names`` re-queued: pending, no failure, attempts reset."""
    return {**before, **{name: ("pending", None, 0) for name in names}}


def invoke(runner: Any, *args: str, input: str | None = None) -> Any:
    return runner.invoke(mail_cli, ["retry", *args], input=input)


# -- choosing what to re-queue -----------------------------------------------------------


def test_retry_without_a_choice_is_refused_and_changes_nothing(
    runner: Any, session: Session, outbox: dict[str, int]
) -> None:
    before = statuses(session, outbox)

    result = invoke(runner, "--yes")

    assert result.exit_code == 2
    assert "Say which failed mail to re-queue: --letter SLUG" in result.output
    assert statuses(session, outbox) == before


def test_retry_all_together_with_a_filter_is_refused(
    runner: Any, session: Session, outbox: dict[str, int]
) -> None:
    result = invoke(runner, "--all", "--letter", "treaty", "--yes")

    assert result.exit_code == 2
    assert "or --all (which goes with none of the others)" in result.output


def test_retry_by_letter_requeues_its_exhausted_mail_only(
    runner: Any, session: Session, outbox: dict[str, int], now: datetime
) -> None:
    before = statuses(session, outbox)

    result = invoke(runner, "--letter", "treaty", "--yes")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2 failed messages to re-queue (2 that ran out of attempts); "
        f"1 message refused for good {LEFT_OUT_HINT}.",
        "Re-queued 2 messages; the mail worker sends them on its next pass.",
    ]
    assert statuses(session, outbox) == requeued(
        before, "treaty_exhausted_old", "treaty_exhausted_new"
    )
    message = session.get(OutboxMessage, outbox["treaty_exhausted_old"])
    assert message is not None
    assert (message.last_error, message.smtp_code) == (None, None)
    assert abs(message.next_attempt_at - now) < timedelta(minutes=1)


def test_retry_with_include_permanent_requeues_refused_mail_too(
    runner: Any, session: Session, outbox: dict[str, int]
) -> None:
    before = statuses(session, outbox)

    result = invoke(runner, "--letter", "treaty", "--include-permanent", "--yes")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "3 failed messages to re-queue (2 that ran out of attempts, "
        "1 refused for good by the server)."
    )
    assert statuses(session, outbox) == requeued(
        before, "treaty_exhausted_old", "treaty_exhausted_new", "treaty_permanent"
    )


def test_retry_of_an_unknown_letter_says_so(runner: Any, outbox: dict[str, int]) -> None:
    result = invoke(runner, "--letter", "no-such-letter", "--yes")

    assert result.exit_code == 1
    assert "No letter has the address 'no-such-letter'." in result.output


def test_retry_older_than_takes_only_mail_that_failed_that_long_ago(
    runner: Any, session: Session, outbox: dict[str, int]
) -> None:
    before = statuses(session, outbox)

    result = invoke(runner, "--older-than", "2d", "--yes")

    assert result.exit_code == 0, result.output
    assert statuses(session, outbox) == requeued(
        before, "treaty_exhausted_old", "no_letter_exhausted"
    )


def test_retry_since_a_span_takes_only_recent_failures(
    runner: Any, session: Session, outbox: dict[str, int]
) -> None:
    before = statuses(session, outbox)

    result = invoke(runner, "--since", "12h", "--yes")

    assert result.exit_code == 0, result.output
    assert statuses(session, outbox) == requeued(before, "treaty_exhausted_new", "other_exhausted")


def test_retry_since_a_moment_and_a_letter_narrow_each_other(
    runner: Any, session: Session, outbox: dict[str, int], now: datetime
) -> None:
    before = statuses(session, outbox)
    moment = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    result = invoke(runner, "--since", moment, "--letter", "treaty", "--yes")

    assert result.exit_code == 0, result.output
    assert statuses(session, outbox) == requeued(before, "treaty_exhausted_new")


@pytest.mark.parametrize(("option", "value"), [("--older-than", "soon"), ("--since", "2d ago")])
def test_an_age_that_is_not_one_is_refused(runner: Any, option: str, value: str) -> None:
    result = invoke(runner, option, value, "--yes")

    assert result.exit_code == 2
    assert f"{value!r} is not a span of time such as 30m, 12h, 2d or 1w" in result.output


def test_retry_all_requeues_every_exhausted_message_but_not_obsolete_or_erased_ones(
    runner: Any, session: Session, outbox: dict[str, int]
) -> None:
    before = statuses(session, outbox)

    result = invoke(runner, "--all", "--include-permanent", "--yes")

    assert result.exit_code == 0, result.output
    assert "Re-queued 5 messages" in result.output
    after = statuses(session, outbox)
    assert after == requeued(
        before,
        "treaty_exhausted_old",
        "treaty_exhausted_new",
        "treaty_permanent",
        "other_exhausted",
        "no_letter_exhausted",
    )
    assert after["treaty_obsolete"] == ("failed", "obsolete", 1)
    assert after["treaty_erased"] == ("failed", "exhausted", 20)


# -- count first, then confirmation ------------------------------------------------------


def test_dry_run_prints_the_count_and_changes_nothing(
    app: Flask, runner: Any, session: Session, outbox: dict[str, int]
) -> None:
    before = statuses(session, outbox)

    result = invoke(runner, "--all", "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"4 failed messages to re-queue (4 that ran out of attempts); "
        f"1 message refused for good {LEFT_OUT_HINT}.",
        "Dry run: nothing was changed.",
    ]
    assert statuses(session, outbox) == before
    assert audit_trail(app, "mail.requeued") == []


def test_declining_the_confirmation_changes_nothing(
    app: Flask, runner: Any, session: Session, outbox: dict[str, int]
) -> None:
    before = statuses(session, outbox)

    result = invoke(runner, "--letter", "other", input="n\n")

    assert result.exit_code == 1
    assert "1 failed message to re-queue (1 that ran out of attempts)." in result.output
    assert "Re-queue 1 message? [y/N]: n" in result.output
    assert "Aborted" in result.output
    assert statuses(session, outbox) == before
    assert audit_trail(app, "mail.requeued") == []


def test_accepting_the_confirmation_requeues(
    runner: Any, session: Session, outbox: dict[str, int]
) -> None:
    before = statuses(session, outbox)

    result = invoke(runner, "--letter", "other", input="y\n")

    assert result.exit_code == 0, result.output
    assert "Re-queued 1 message;" in result.output
    assert statuses(session, outbox) == requeued(before, "other_exhausted")


def test_nothing_to_requeue_says_so_and_asks_nothing(runner: Any, outbox: dict[str, int]) -> None:
    result = invoke(runner, "--since", "1m")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["0 failed messages to re-queue."]


# -- the record, and what happens next ---------------------------------------------------


def test_requeuing_is_audited_per_letter_as_the_system_with_the_counts(
    app: Flask, runner: Any, session: Session, outbox: dict[str, int]
) -> None:
    treaty_id = session.get(OutboxMessage, outbox["treaty_permanent"]).letter_id  # type: ignore[union-attr]
    other_id = session.get(OutboxMessage, outbox["other_exhausted"]).letter_id  # type: ignore[union-attr]
    session.rollback()

    invoke(runner, "--all", "--include-permanent", "--yes")

    events = audit_trail(app, "mail.requeued")
    assert sorted(
        ((e.letter_id or 0), e.actor_label, e.actor_id, e.detail) for e in events
    ) == sorted(
        [
            (treaty_id, "system", None, {"count": 3, "exhausted": 2, "permanent": 1}),
            (other_id, "system", None, {"count": 1, "exhausted": 1, "permanent": 0}),
            (0, "system", None, {"count": 1, "exhausted": 1, "permanent": 0}),
        ]
    )


def test_requeued_mail_is_sent_on_the_next_pass(
    app: Flask, runner: Any, session: Session, outbox: dict[str, int], smtp_server: SMTPServer
) -> None:
    invoke(runner, "--letter", "other", "--yes")

    counts = send_due(session, backend_from_url(app.config["MAIL_URL"]))

    assert counts == SendCounts(sent=1, retried=0, failed=0)
    session.expire_all()
    message = session.get(OutboxMessage, outbox["other_exhausted"])
    assert message is not None
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)
    [email] = smtp_server.wait_for(1, timeout=5)
    assert email["To"] == message.to_addr
