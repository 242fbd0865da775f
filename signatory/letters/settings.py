"""A letter's settings (title, recipient, deadline, policies) and its status actions.

The status itself changes only in the letter's status machine (``models.status``): here
the coordinators' actions are checked and their refusals worded for them, and every
change is audited. Services add and flush, and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext

from signatory.core.database import DbSession
from signatory.core.i18n import N_, long_datetime
from signatory.letters.queries import published_counts
from signatory.letters.service import (
    RECIPIENT_MAX,
    TITLE_MAX,
    LetterDelivered,
    LetterError,
    refuse_if_delivered,
)
from signatory.models import (
    Coordinator,
    DeadlinePassed,
    IllegalTransition,
    Letter,
    LetterStatus,
    Moderation,
    audit,
    change_letter_status,
)
from signatory.models.letter import DisposableEmail

# --- Settings -----------------------------------------------------------------


@dataclass(frozen=True)
class LetterSettings:
    title: str
    recipient: str
    deadline: datetime | None
    allow_individuals: bool
    moderation: str
    require_domain_match: bool
    # What signing with a disposable-mail address does (``models.letter.DisposableEmail``).
    disposable_email: str = DisposableEmail.REFUSE
    # The signature goal, and the milestones as typed ("100 500 50%"): see ``check_goal``.
    goal: int | None = None
    goal_milestones: str | None = None
    # Whether the sign form asks "why we signed" (``organizations.statements``).
    statements_enabled: bool = False


# The largest goal or milestone: far beyond any letter, small enough for any integer column.
GOAL_MAX = 100_000_000
# Milestones a letter may have besides its goal: a few emails, not a stream of them.
MILESTONES_MAX = 20


def check_goal(goal: int | None, milestones: str | None) -> str | None:
    """The milestones as stored ("100, 500, 50%"), checked against the goal; or None.

    Each milestone is a whole number of signatures or a whole percentage of the goal,
    separated by commas, semicolons or spaces. A thousands separator is refused rather
    than guessed at: "1,000" could be a list of two.
    """
    if goal is not None and not 1 <= goal <= GOAL_MAX:
        raise LetterError(
            gettext(
                "Give a goal between 1 and %(max)s signatures, or leave it empty.",
                max=f"{GOAL_MAX:,}",
            ),
            field="goal",
        )
    parts = [part for part in re.split(r"[\s,;]+", milestones or "") if part]
    counts: set[int] = set()
    shares: set[int] = set()
    for part in parts:
        share = part.endswith("%")
        digits = part[:-1] if share else part
        value = int(digits) if digits.isascii() and digits.isdigit() else 0
        if share and not 1 <= value <= 100:
            raise LetterError(
                gettext("“%(part)s” is not a share of the goal from 1%% to 100%%.", part=part),
                field="goal_milestones",
            )
        if not share and not 1 <= value <= GOAL_MAX:
            raise LetterError(
                gettext(
                    "“%(part)s” is not a number of signatures. Write each milestone as a "
                    "whole number without separators, such as 1000, or as a share of the "
                    "goal, such as 50%%.",
                    part=part,
                ),
                field="goal_milestones",
            )
        (shares if share else counts).add(value)
    if shares and goal is None:
        raise LetterError(
            gettext("A milestone in percent needs a goal: set the goal, or give counts."),
            field="goal_milestones",
        )
    if len(counts) + len(shares) > MILESTONES_MAX:
        raise LetterError(
            gettext("Give at most %(max)s milestones.", max=MILESTONES_MAX),
            field="goal_milestones",
        )
    stored = [str(count) for count in sorted(counts)] + [f"{share}%" for share in sorted(shares)]
    return ", ".join(stored) or None


def passed_milestone(letter: Letter, published: int) -> int:
    """The highest of the letter's goal and milestones that ``published`` already reaches.

    Set whenever the goal or the milestones change, so a milestone the letter had passed
    before it was chosen is never announced as news.
    """
    return max((count for count in letter.milestone_counts() if count <= published), default=0)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def update_settings(
    session: DbSession,
    letter: Letter,
    settings: LetterSettings,
    *,
    actor: Coordinator,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Change title, recipient, deadline and policies; return what changed (audited).

    A new deadline must be in the future: one in the past would close signing the
    moment it is saved, which is what "close" is for. An old deadline left as it is
    does not stop other settings from being saved.
    """
    refuse_if_delivered(letter, "its settings")
    title, recipient = settings.title.strip(), settings.recipient.strip()
    if not title or len(title) > TITLE_MAX:
        raise LetterError(
            gettext("Give a title of 1 to %(max)s characters.", max=TITLE_MAX),
            field="title",
        )
    if not recipient or len(recipient) > RECIPIENT_MAX:
        raise LetterError(
            gettext("Name the recipient in 1 to %(max)s characters.", max=RECIPIENT_MAX),
            field="recipient",
        )
    if settings.moderation not in set(Moderation):
        raise LetterError(gettext("Choose one of the moderation options."), field="moderation")
    if settings.disposable_email not in set(DisposableEmail):
        raise LetterError(
            gettext("Choose what happens to disposable email addresses."),
            field="disposable_email",
        )
    milestones = check_goal(settings.goal, settings.goal_milestones)
    deadline = settings.deadline
    if deadline is not None and deadline.tzinfo is None:
        raise ValueError("the deadline must be timezone-aware (UTC)")
    if (
        deadline is not None
        and letter.deadline is not None
        and deadline == letter.deadline.replace(second=0, microsecond=0)
    ):
        # The form shows minutes: a field left as it was keeps the stored deadline exactly.
        deadline = letter.deadline
    if deadline is not None and deadline != letter.deadline and deadline <= now:
        raise LetterError(
            gettext(
                "That deadline has already passed (it is now %(now)s UTC). "
                "Choose a later time, or close the letter instead.",
                now=f"{now:%Y-%m-%d %H:%M}",
            ),
            field="deadline",
        )
    wanted = {
        "title": title,
        "recipient": recipient,
        "deadline": deadline,
        "allow_individuals": settings.allow_individuals,
        "moderation": settings.moderation,
        "require_domain_match": settings.require_domain_match,
        "disposable_email": settings.disposable_email,
        "goal": settings.goal,
        "goal_milestones": milestones,
        "statements_enabled": settings.statements_enabled,
    }
    changes: dict[str, dict[str, Any]] = {}
    for name, value in wanted.items():
        old = getattr(letter, name)
        if old != value:
            changes[name] = {"from": _jsonable(old), "to": _jsonable(value)}
            setattr(letter, name, value)
    if "goal" in changes or "goal_milestones" in changes:
        letter.goal_milestone_reached = passed_milestone(
            letter, published_counts(session, letter).total
        )
    if changes:
        audit.record(
            session,
            "letter.settings_changed",
            actor_label="coordinator",
            actor_id=actor.id,
            letter_id=letter.id,
            detail={"changes": changes},
            now=now,
        )
    return changes


STATUS_ACTIONS = ("open", "close", "reopen")

_WRONG_STATUS = {
    "open": N_("Only a draft can be opened; this letter is %(status)s."),
    "close": N_("Only an open letter can be closed; this letter is %(status)s."),
    "reopen": N_("Only a closed letter can be reopened; this letter is %(status)s."),
}
_STATUS_WORDS = {
    "draft": N_("draft"),
    "open": N_("open"),
    "closed": N_("closed"),
    "delivered": N_("delivered"),
}


def change_status(
    session: DbSession, letter: Letter, action: str, *, actor: Coordinator, now: datetime
) -> Letter:
    """Open a draft, close an open letter, or reopen a closed one (audited).

    The letter's status machine decides (``models.status``); this words its refusals for
    the coordinator: a delivered letter stays closed, a passed deadline must move first.
    """
    if action not in STATUS_ACTIONS:
        raise LetterError(f"Unknown action {action!r}.")
    try:
        set_letter_status(
            session, letter, action, now=now, actor_label="coordinator", actor_id=actor.id
        )
    except DeadlinePassed as error:
        raise LetterError(
            gettext(
                "The deadline (%(when)s) has passed, so the letter would take no signatures. "
                "Set a later deadline, or clear it, first.",
                when=long_datetime(error.deadline),
            ),
            field="deadline",
        ) from None
    except IllegalTransition as error:
        if error.current == LetterStatus.DELIVERED:
            raise LetterDelivered(
                gettext(
                    "This letter was delivered to its recipient; signing stays closed for good."
                )
            ) from None
        status = _STATUS_WORDS.get(error.current)
        raise LetterError(
            gettext(_WRONG_STATUS[action], status=gettext(status) if status else error.current)
        ) from None
    return letter


def set_letter_status(
    session: DbSession,
    letter: Letter,
    event: str,
    *,
    now: datetime,
    actor_label: str = "cli",
    actor_id: int | None = None,
) -> Letter:
    """Open, close or reopen ``letter`` through its status machine, and audit the change.

    ``IllegalTransition`` (``DeadlinePassed`` among them) when the letter cannot make it;
    each caller words that for its own audience. Delivery audits its own event.
    """
    previous = letter.status
    status = change_letter_status(session, letter, event, now=now)
    audit.record(
        session,
        "letter.status_changed",
        actor_label=actor_label,
        actor_id=actor_id,
        letter_id=letter.id,
        detail={"from": str(previous), "to": str(status)},
        now=now,
    )
    return letter
