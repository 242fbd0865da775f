"""A letter's audit trail in the workspace: the page (filterable, paginated) and its CSV.

The CSV is asked for with a POST, like the coordinators' exports
(``signatures.manage.exports``): downloading it is itself recorded.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from signatory.audit.trail import (
    FILTER_MAX,
    AuditFilter,
    audit_page,
    export_extent,
    filter_options,
    iter_csv,
)
from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.spreadsheets import dated_filename
from signatory.core.time import utcnow
from signatory.core.web import private_download, streamed
from signatory.models import Letter, Membership
from signatory.models import audit as audit_log
from signatory.team.access import letter_route

routes = Routes("manage")


def _filter_from(values: Any) -> AuditFilter:
    action = values.get("action", "").strip()
    actor = values.get("actor", "").strip()
    if len(action) > FILTER_MAX or len(actor) > FILTER_MAX:
        abort(400, description=gettext("That filter is longer than any action or actor here."))
    return AuditFilter(action=action, actor=actor)


def _before_arg() -> int | None:
    raw = request.args.get("before", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        abort(
            400,
            description=gettext("This page link is damaged. Start again from the newest events."),
        )
    return int(raw)


@routes.get("/letters/<slug>/audit")
@letter_route("moderator")
def audit(letter: Letter, membership: Membership) -> str:
    """The letter's audit trail, newest first, filterable by action and by actor."""
    audit_filter = _filter_from(request.args)
    before = _before_arg()
    page = audit_page(
        db.session,
        letter,
        audit_filter,
        before=before,
        limit=int(current_app.config.get("MANAGE_PAGE_SIZE", 50)),
    )
    return render_template(
        "audit/manage/trail.html",
        letter=letter,
        page=page,
        audit_filter=audit_filter,
        options=filter_options(db.session, letter),
        paged=before is not None,
    )


@routes.route("/letters/<slug>/audit.csv", methods=["GET", "POST"])
@letter_route("moderator")
def audit_csv(letter: Letter, membership: Membership) -> BaseResponse:
    """The trail (with the page's filters) as CSV, streamed; the download is itself audited."""
    if request.method == "GET":
        return redirect(url_for("manage.audit", slug=letter.slug), code=303)
    audit_filter = _filter_from(request.form)
    now = utcnow()
    name = dated_filename(letter.slug, "audit", "csv", now=now)
    rows, up_to_id = export_extent(db.session, letter, audit_filter)
    audit_log.record(
        db.session,
        "audit.exported",
        actor_label="coordinator",
        actor_id=current_user.id,
        letter_id=letter.id,
        detail={
            "format": "csv",
            "rows": rows,
            "action": audit_filter.action,
            "actor": audit_filter.actor,
        },
        now=now,
    )
    # Committed before the first byte, like the coordinator exports.
    db.session.commit()
    letter_id = letter.id
    chunks = streamed(
        lambda session: session.get(Letter, letter_id),
        lambda session, found: iter_csv(
            session, found, audit_filter, up_to_id=up_to_id, release=session.rollback
        ),
    )
    return private_download(Response(chunks, content_type="text/csv; charset=utf-8"), name)
