"""Bulk holds and rejections: every signature of a letter that matches a rule, in one go.

A rule is a client-address prefix, an email domain and a time window, any of them, at
least one. A coordinator first sees how many signatures match, by status (``count``);
the action then carries that number and is refused if the match has changed meanwhile,
so nobody holds or rejects signatures they were not shown.

- **Hold** takes published signatures off the list into the review queue, keeping their
  place (their publication time), and marks pending and unconfirmed ones so that they
  wait for review when confirmed. A hold is one ``BulkAction``; releasing it puts back on
  the list what it took off, in its old place, and lets the others go on as if never held.
- **Reject** rejects every match for good, published ones included (unpublished first,
  through the status machine). It sends no email: a flood's addresses are often someone
  else's, and a rejected flood must not become a mail cannon.

Every action and release writes one audit event with the rule and the counts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm.exc import StaleDataError

from signatory.core.database import DbSession
from signatory.core.errors import DomainError
from signatory.models import (
    Coordinator,
    Letter,
    LetterStatus,
    Signature,
    SignatureStatus,
    audit,
    needs_review,
    transition,
)
from signatory.models.bulk import BulkAction, BulkKind
from signatory.ratelimits.clients import UNKNOWN, address_prefix

# What a bulk action can change: everything not already decided for good.
ACTIONABLE = (
    SignatureStatus.UNCONFIRMED,
    SignatureStatus.PENDING_REVIEW,
    SignatureStatus.PUBLISHED,
)
# More than this in one action is a rule too wide to check by eye: narrow it.
MAX_MATCH = 20_000
DOMAIN_MAX = 253


class BulkError(DomainError):
    """A rule or action that cannot be used; ``str(error)`` is written for the coordinator."""


@dataclass(frozen=True)
class Rule:
    prefix: str | None = None
    domain: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def as_detail(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "domain": self.domain,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }

    def query_args(self) -> dict[str, str]:
        """The rule as the match page's query string, to come back to it."""
        return {
            name: value.strftime("%Y-%m-%dT%H:%M:%S") if isinstance(value, datetime) else value
            for name, value in (
                ("prefix", self.prefix),
                ("domain", self.domain),
                ("since", self.since),
                ("until", self.until),
            )
            if value
        }


def _time(value: str | None, label: str) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BulkError(
            gettext("%(label)s must be a date and time such as 2026-12-01T14:30.", label=label)
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_rule(
    prefix: str | None, domain: str | None, since: str | None, until: str | None
) -> Rule:
    """A rule from what the coordinator typed or followed; ``BulkError`` if it cannot be used."""
    prefix = (prefix or "").strip()
    domain = (domain or "").strip().lower().lstrip("@").rstrip(".")
    stored_prefix = None
    if prefix:
        # A prefix as stored (an IPv4 /24, an IPv6 /48), from an address or network in it.
        try:
            network = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            raise BulkError(
                gettext("Enter an address prefix such as 203.0.113.0/24 or 2001:db8:1::/48.")
            ) from None
        stored_prefix = address_prefix(str(network.network_address))
        if stored_prefix == UNKNOWN:
            raise BulkError(gettext("Enter an address prefix such as 203.0.113.0/24."))
    if domain and (
        len(domain) > DOMAIN_MAX
        or "." not in domain
        or any(not (c.isalnum() or c in ".-") for c in domain)
    ):
        raise BulkError(gettext("Enter an email domain such as example.org."))
    start = _time(since, gettext("From"))
    end = _time(until, gettext("Until"))
    if start and end and start >= end:
        raise BulkError(gettext("The start of the time window must come before its end."))
    if not (stored_prefix or domain or start or end):
        raise BulkError(
            gettext("Give at least one of an address prefix, an email domain or a time window.")
        )
    return Rule(prefix=stored_prefix, domain=domain or None, since=start, until=end)


def _conditions(letter: Letter, rule: Rule) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Signature.letter_id == letter.id,
        Signature.status.in_(ACTIONABLE),
    ]
    if rule.prefix:
        conditions.append(Signature.client_prefix == rule.prefix)
    if rule.domain:
        conditions.append(Signature.email_key.endswith("@" + rule.domain, autoescape=True))
    if rule.since:
        conditions.append(Signature.created_at >= rule.since)
    if rule.until:
        conditions.append(Signature.created_at < rule.until)
    return conditions


def count(session: DbSession, letter: Letter, rule: Rule) -> dict[str, int]:
    """How many signatures of ``letter`` the rule matches, by status (the dry run)."""
    rows = session.execute(
        select(Signature.status, func.count())
        .where(*_conditions(letter, rule))
        .group_by(Signature.status)
    ).all()
    return {str(status): int(n) for status, n in rows}


def _matching(session: DbSession, letter: Letter, rule: Rule, expected: int) -> list[Signature]:
    if letter.status == LetterStatus.DELIVERED:
        raise BulkError(gettext("This letter has been delivered: its list is final."))
    found = list(
        session.scalars(
            select(Signature)
            .where(*_conditions(letter, rule))
            .order_by(Signature.id)
            .limit(MAX_MATCH + 1)
        )
    )
    if len(found) > MAX_MATCH:
        raise BulkError(
            gettext(
                "More than %(max)s signatures match: narrow the rule (a shorter time window, "
                "a prefix and a domain together).",
                max=MAX_MATCH,
            )
        )
    if not found:
        raise BulkError(gettext("No signature matches this rule any more. Nothing was changed."))
    if len(found) != expected:
        raise BulkError(
            gettext(
                "%(now)s signatures match now, not the %(expected)s you were shown: new "
                "signatures arrived or others were decided meanwhile. Nothing was changed; "
                "check the new count and confirm again.",
                now=len(found),
                expected=expected,
            )
        )
    return found


def _flush(session: DbSession) -> None:
    # Each update is conditional on the status read (``Signature.__mapper_args__``): a
    # signature confirmed, withdrawn or decided since the match was read stops the action
    # (the page rolls back and says so).
    try:
        session.flush()
    except StaleDataError:
        raise BulkError(
            gettext(
                "Some of these signatures changed while the action ran (a confirmation, a "
                "withdrawal or another coordinator's decision). Nothing was changed; count "
                "the matches again."
            )
        ) from None


def _by_status(signatures: Sequence[Signature]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for signature in signatures:
        counts[signature.status] = counts.get(signature.status, 0) + 1
    return counts


def _record(
    session: DbSession,
    action: str,
    letter: Letter,
    actor: Coordinator,
    now: datetime,
    detail: dict[str, Any],
) -> None:
    audit.record(
        session,
        action,
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        detail=detail,
        now=now,
    )


def _act(
    session: DbSession,
    letter: Letter,
    rule: Rule,
    kind: BulkKind,
    *,
    expected: int,
    reason: str | None,
    actor: Coordinator,
    now: datetime,
) -> BulkAction:
    signatures = _matching(session, letter, rule, expected)
    counts = _by_status(signatures)
    action = BulkAction(
        letter_id=letter.id,
        kind=kind,
        criteria=rule.as_detail(),
        counts=counts,
        matched=len(signatures),
        actor_id=actor.id,
        created_at=now,
    )
    session.add(action)
    session.flush()
    for signature in signatures:
        if kind == BulkKind.HOLD:
            if signature.status == SignatureStatus.PUBLISHED:
                transition(signature, "hold", now=now)
            signature.hold_id = action.id
        else:
            if signature.status == SignatureStatus.PUBLISHED:
                transition(signature, "unpublish", now=now)
            transition(signature, "reject", now=now)
            signature.hold_id = None
        signature.moderated_by_id = actor.id
        signature.moderated_at = now
        signature.moderation_reason = reason
    audited = "signatures.held" if kind == BulkKind.HOLD else "signatures.rejected_in_bulk"
    detail = {"bulk_action": action.id, "rule": rule.as_detail(), "counts": counts}
    _record(session, audited, letter, actor, now, detail)
    _flush(session)
    return action


def hold(
    session: DbSession,
    letter: Letter,
    rule: Rule,
    *,
    expected: int,
    reason: str | None,
    actor: Coordinator,
    now: datetime,
) -> BulkAction:
    """Hold every match for review; ``expected`` is the count the coordinator was shown."""
    return _act(
        session, letter, rule, BulkKind.HOLD, expected=expected, reason=reason, actor=actor,
        now=now,
    )  # fmt: skip


def reject(
    session: DbSession,
    letter: Letter,
    rule: Rule,
    *,
    expected: int,
    reason: str | None,
    actor: Coordinator,
    now: datetime,
) -> BulkAction:
    """Reject every match for good; ``expected`` is the count the coordinator was shown."""
    return _act(
        session, letter, rule, BulkKind.REJECT, expected=expected, reason=reason, actor=actor,
        now=now,
    )  # fmt: skip


def release(
    session: DbSession, letter: Letter, action_id: int, *, actor: Coordinator, now: datetime
) -> dict[str, int]:
    """Undo hold ``action_id``: what it took off the list goes back, in its old place.

    Signatures a moderator decided meanwhile keep that decision. One held while
    unconfirmed and confirmed since is published now if the letter would not have asked
    for a review without the hold. Returns how many went back and how many stay in review.
    """
    action = session.scalar(
        select(BulkAction).where(
            BulkAction.id == action_id,
            BulkAction.letter_id == letter.id,
            BulkAction.kind == BulkKind.HOLD,
        )
    )
    if action is None:
        raise BulkError(gettext("There is no such hold on this letter."))
    if action.released_at is not None:
        raise BulkError(gettext("This hold was released already. Nothing was changed."))
    if letter.status == LetterStatus.DELIVERED:
        raise BulkError(gettext("This letter has been delivered: its list is final."))
    held = list(
        session.scalars(
            select(Signature)
            .where(Signature.letter_id == letter.id, Signature.hold_id == action.id)
            .order_by(Signature.id)
        )
    )
    restored = in_review = 0
    for signature in held:
        signature.hold_id = None
        if signature.status != SignatureStatus.PENDING_REVIEW:
            continue
        if signature.published_at is not None or not needs_review(letter, signature):
            transition(signature, "release", now=now)
            restored += 1
        else:
            in_review += 1
    action.released_at = now
    action.released_by_id = actor.id
    result = {"restored": restored, "in_review": in_review, "released": len(held)}
    _record(
        session, "signatures.released", letter, actor, now, {"bulk_action": action.id, **result}
    )
    session.flush()
    return result


def holds(session: DbSession, letter: Letter, *, limit: int = 20) -> list[BulkAction]:
    """The letter's latest bulk actions, newest first."""
    return list(
        session.scalars(
            select(BulkAction)
            .where(BulkAction.letter_id == letter.id)
            .order_by(BulkAction.created_at.desc(), BulkAction.id.desc())
            .limit(limit)
        )
    )
