"""The traffic page of a letter (moderators and up): where signatures came from lately,
trending prefixes and domains, a dry run of a rule, and bulk holds and rejections."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from werkzeug.wrappers import Response

from signatory.abuse import bulk, reports
from signatory.abuse.forms import BulkForm, ReleaseForm, RuleForm
from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, Membership
from signatory.signatures.moderation import ModerationError, clean_reason
from signatory.signatures.queue import STATUS_LABELS
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")


def _rule_of(form: RuleForm | BulkForm) -> bulk.Rule:
    return bulk.parse_rule(form.prefix.data, form.domain.data, form.since.data, form.until.data)


@routes.get("/letters/<slug>/traffic")
@letter_route("moderator")
def traffic(letter: Letter, membership: Membership) -> str:
    """Signatures of the last hour and day by address prefix and email domain."""
    return render_template(
        "abuse/manage/traffic.html",
        letter=letter,
        report=reports.traffic(db.session, letter, now=utcnow()),
        actions=bulk.holds(db.session, letter),
        rule_form=RuleForm(request.args),
        release_form=ReleaseForm(),
    )


@routes.get("/letters/<slug>/traffic/match")
@letter_route("moderator")
def match(letter: Letter, membership: Membership) -> tuple[str, int]:
    """The dry run: how many signatures a rule matches, by status, before anything is done."""
    form = RuleForm(request.args)
    rule: bulk.Rule | None = None
    counts: dict[str, int] = {}
    status = 200
    if form.validate():
        try:
            rule = bulk.parse_rule(
                form.prefix.data, form.domain.data, form.since.data, form.until.data
            )
        except bulk.BulkError as error:
            form.prefix.errors = [*form.prefix.errors, str(error)]
            status = 400
        else:
            counts = bulk.count(db.session, letter, rule)
    else:
        status = 400
    total = sum(counts.values())
    page = render_template(
        "abuse/manage/match.html",
        letter=letter,
        form=form,
        rule=rule,
        counts=counts,
        total=total,
        too_many=total > bulk.MAX_MATCH,
        status_labels=STATUS_LABELS,
        action_form=BulkForm(),
    )
    return page, status


def _match_url(letter: Letter, rule: bulk.Rule) -> str:
    args: dict[str, Any] = rule.query_args()
    return url_for("manage.match", slug=letter.slug, **args)


def _act(letter: Letter, kind: str) -> Response:
    form = BulkForm()
    if not form.validate():
        flash(gettext("The action was not understood; look at the matches again."), "error")
        return redirect(url_for("manage.traffic", slug=letter.slug), code=303)
    try:
        rule = _rule_of(form)
    except bulk.BulkError as error:
        flash(str(error), "error")
        return redirect(url_for("manage.traffic", slug=letter.slug), code=303)
    act = bulk.hold if kind == "hold" else bulk.reject
    try:
        action = act(
            db.session,
            letter,
            rule,
            expected=int(form.expected.data),
            reason=clean_reason(form.reason.data),
            actor=current_coordinator(),
            now=utcnow(),
        )
    except (bulk.BulkError, ModerationError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(_match_url(letter, rule), code=303)
    db.session.commit()
    if kind == "hold":
        message = ngettext(
            "%(num)d signature held for review. Release the hold below to undo it.",
            "%(num)d signatures held for review. Release the hold below to undo it.",
            action.matched,
        )
    else:
        message = ngettext(
            "%(num)d signature rejected.", "%(num)d signatures rejected.", action.matched
        )
    flash(message, "ok")
    return redirect(url_for("manage.traffic", slug=letter.slug), code=303)


@routes.post("/letters/<slug>/traffic/hold")
@letter_route("moderator")
def hold(letter: Letter, membership: Membership) -> Response:
    """Hold every match of the rule for review (reversible)."""
    return _act(letter, "hold")


@routes.post("/letters/<slug>/traffic/reject")
@letter_route("moderator")
def reject(letter: Letter, membership: Membership) -> Response:
    """Reject every match of the rule (for good)."""
    return _act(letter, "reject")


@routes.post("/letters/<slug>/traffic/holds/<int:action_id>/release")
@letter_route("moderator")
def release(letter: Letter, membership: Membership, action_id: int) -> Response:
    """Undo a hold: what it took off the list goes back, in its old place."""
    if not ReleaseForm().validate():
        abort(400)
    try:
        result = bulk.release(
            db.session, letter, action_id, actor=current_coordinator(), now=utcnow()
        )
    except bulk.BulkError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(
            gettext(
                "Hold released: %(restored)s back on the list, %(in_review)s still in the "
                "review queue.",
                restored=result["restored"],
                in_review=result["in_review"],
            ),
            "ok",
        )
    return redirect(url_for("manage.traffic", slug=letter.slug), code=303)
