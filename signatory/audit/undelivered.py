"""A letter's undelivered mail, for its coordinators: which email, to whom, why, since when.

What happened to a letter's mail is part of what happened to it, so the page sits beside
the audit trail. The rows and the count come from ``mail.accounting``; this module names
the emails (the mail layer knows none by name) and links each to its signature.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from flask import g, render_template
from flask_babel import lazy_gettext
from sqlalchemy import select

from signatory.core.access import Routes
from signatory.core.database import DbSession
from signatory.core.extensions import db
from signatory.mail import accounting
from signatory.models import Letter, Membership, OutboxMessage, Signature
from signatory.team.access import Permissions, letter_route

routes = Routes("manage")

ENDPOINT = "manage.undelivered_mail"
# More than anyone reads on one page; the count says how many there are in all.
PAGE_LIMIT = 500

# Each email by the name it is registered under; one not listed shows its name.
EMAIL_KINDS = {
    "confirm_request": lazy_gettext("Confirmation request"),
    "signature_confirmed": lazy_gettext("Confirmation receipt"),
    "withdraw_link": lazy_gettext("Withdrawal link"),
    "withdrawal_receipt": lazy_gettext("Withdrawal receipt"),
    "version_changed": lazy_gettext("New version notice"),
    "manage_link": lazy_gettext("Link to manage a signature"),
    "signature_approved": lazy_gettext("Approval notice"),
    "signature_rejected": lazy_gettext("Rejection notice"),
    "review_needed": lazy_gettext("Review request to a coordinator"),
    "invitation": lazy_gettext("Team invitation"),
    "digest": lazy_gettext("Daily digest"),
    "password_reset": lazy_gettext("Password reset"),
}


@dataclass(frozen=True)
class UndeliveredRow:
    """One undelivered message as the page shows it."""

    message: OutboxMessage
    kind_label: str
    # The signature it was about, when it belongs to this letter: (id, label).
    signature: tuple[int, str] | None


def undelivered_rows(
    session: DbSession, letter: Letter, *, limit: int = PAGE_LIMIT
) -> list[UndeliveredRow]:
    """The letter's undelivered messages, each with its email's name and its signature."""
    messages = accounting.undelivered_mail(session, letter.id, limit=limit)
    ids = {m.signature_id for m in messages if m.signature_id is not None}
    labels: dict[int, str] = {}
    if ids:
        found = session.execute(
            select(Signature.id, Signature.kind, Signature.organization, Signature.name).where(
                Signature.id.in_(ids), Signature.letter_id == letter.id
            )
        )
        for row_id, kind, organization, name in found:
            labels[row_id] = (organization if kind == "organization" else name) or f"#{row_id}"
    return [
        UndeliveredRow(
            message=message,
            kind_label=str(EMAIL_KINDS.get(message.template, message.template.replace("_", " "))),
            signature=(
                (message.signature_id, labels[message.signature_id])
                if message.signature_id in labels
                else None
            ),
        )
        for message in messages
    ]


@routes.get("/letters/<slug>/mail")
@letter_route("moderator")
def undelivered_mail(letter: Letter, membership: Membership) -> str:
    """The letter's emails that failed for good or are still being retried."""
    rows = undelivered_rows(db.session, letter)
    return render_template(
        "audit/manage/undelivered.html",
        letter=letter,
        failed=[row for row in rows if row.message.status == "failed"],
        retrying=[row for row in rows if row.message.status != "failed"],
        limit=PAGE_LIMIT,
    )


def undelivered_count() -> dict[str, Any]:
    """For the letter's workspace frame: how many of its emails are undelivered.

    Given to every page of a letter whose viewer may open the list (the tab shows it, the
    overview too); never while an error page is being rendered, which must not touch a
    database that may be the very thing that failed.
    """
    membership = g.get("membership")
    # Registered on the workspace's blueprint: it runs for workspace pages only.
    if membership is None or sys.exc_info()[0] is not None:
        return {}
    if not Permissions(membership).opens(ENDPOINT):
        return {}
    return {"undelivered_mail": accounting.count_undelivered(db.session, membership.letter_id)}
