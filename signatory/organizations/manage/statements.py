"""The "why we signed" moderation page of a letter (moderators and up): each pending
statement shown as text, approved or rejected."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import AnyOf

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, Membership
from signatory.organizations import statements
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")


class StatementDecisionForm(FlaskForm):
    """A moderator's decision on one statement (the button pressed)."""

    decision = StringField(validators=[AnyOf(tuple(statements.DECISIONS))])


def _queue_page(letter: Letter, status: int = 200) -> tuple[str, int]:
    page = render_template(
        "organizations/manage/statements.html",
        letter=letter,
        queued=statements.pending_statements(db.session, letter),
        limit=statements.QUEUE_LIMIT,
        form=StatementDecisionForm(formdata=None),
    )
    return page, status


@routes.get("/letters/<slug>/statements")
@letter_route("moderator")
def statement_queue(letter: Letter, membership: Membership) -> tuple[str, int]:
    """The letter's statements awaiting a decision, each with Approve and Reject."""
    return _queue_page(letter)


@routes.post("/letters/<slug>/statements/<int:signature_id>")
@letter_route("moderator")
def decide_statement(
    letter: Letter, membership: Membership, signature_id: int
) -> Response | tuple[str, int]:
    """Approve or reject the statement of one signature of the letter."""
    form = StatementDecisionForm()
    if not form.validate_on_submit():
        flash(gettext("The decision was not understood; choose Approve or Reject."), "error")
        return _queue_page(letter, 400)
    try:
        decided = statements.decide(
            db.session,
            letter,
            signature_id,
            decision=form.decision.data,
            actor=current_coordinator(),
            now=utcnow(),
        )
    except LookupError:
        db.session.rollback()
        abort(404, description=gettext("There is no such statement on this letter."))
    except statements.StatementDecided:
        db.session.rollback()
        flash(
            gettext("This statement was decided already, or its signature changed meanwhile."),
            "error",
        )
        return _queue_page(letter, 409)
    db.session.commit()
    if decided == statements.StatementStatus.APPROVED:
        flash(gettext("Statement approved: it is shown on the list with its signature."), "ok")
    else:
        flash(gettext("Statement rejected: it will not be shown."), "ok")
    return redirect(url_for("manage.statement_queue", slug=letter.slug), code=303)
