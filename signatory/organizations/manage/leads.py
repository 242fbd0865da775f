"""The lead organizations of a letter (editors and up): the current leads, each removable and
movable within its role, and a search among the published organizations to add one."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange

from signatory.core.access import Routes
from signatory.core.errors import ChangedMeanwhile
from signatory.core.extensions import db
from signatory.core.text import stripped
from signatory.core.time import utcnow
from signatory.lists.cursors import InvalidCursor, decode_name_cursor, encode_name_cursor
from signatory.lists.queries import lead_organizations
from signatory.models import Letter, Membership
from signatory.models.signature import LEADS_MAX, LeadRole
from signatory.organizations import leads as service
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")

ROLE_LABELS = {
    LeadRole.INITIATOR: _l("Initiator"),
    LeadRole.CO_SPONSOR: _l("Co-sponsor"),
}
_ID_MAX = 2**63 - 1


class _BackToSearch(FlaskForm):
    # The search the form was sent from, to come back to it.
    q = HiddenField(filters=[stripped], validators=[Length(max=service.SEARCH_MAX_LENGTH)])


class MarkLeadForm(_BackToSearch):
    signature = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=_ID_MAX)])
    role = SelectField(
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()]
    )


class MoveLeadForm(_BackToSearch):
    direction = SelectField(choices=[SelectChoice("up", "up"), SelectChoice("down", "down")])


def _page(letter: Letter, *, error: str | None = None, status: int = 200) -> tuple[str, int]:
    """The leads page: the leads, and the search the query string asks for (when it makes sense)."""
    search = (request.args.get("q") or "").strip()
    after_token = request.args.get("after") or ""
    found = None
    if len(search) > service.SEARCH_MAX_LENGTH:
        error = error or gettext(
            "Keep the search under %(max)s characters.", max=service.SEARCH_MAX_LENGTH
        )
        status = max(status, 400)
        search = ""
    else:
        try:
            after = decode_name_cursor(after_token) if after_token else None
        except InvalidCursor:
            error = error or gettext("That “more” link is not valid; search again.")
            status = max(status, 400)
            after = None
        found = service.search_organizations(db.session, letter, search, after=after)
    current = lead_organizations(db.session, letter)
    page = render_template(
        "organizations/manage/leads.html",
        letter=letter,
        groups=[
            (role, label, [lead for lead in current if lead.role == role])
            for role, label in ROLE_LABELS.items()
        ],
        lead_count=len(current),
        leads_max=LEADS_MAX,
        role_labels=ROLE_LABELS,
        search=search,
        found=found,
        more_url=(
            url_for(
                "manage.leads",
                slug=letter.slug,
                q=search or None,
                after=encode_name_cursor(found.next_position),
            )
            if found and found.next_position
            else None
        ),
        paged=bool(after_token) and found is not None,
        error=error,
    )
    return page, status


def _back(letter: Letter, form: _BackToSearch) -> Response:
    search = form.q.data if not form.q.errors else None
    return redirect(url_for("manage.leads", slug=letter.slug, q=search or None), code=303)


def _refused(letter: Letter, message: str, status: int) -> tuple[str, int]:
    db.session.rollback()
    return _page(letter, error=message, status=status)


@routes.get("/letters/<slug>/leads")
@letter_route("editor")
def leads(letter: Letter, membership: Membership) -> tuple[str, int]:
    """The letter's lead organizations, and a search to add one (``?q=``, ``&after=``)."""
    return _page(letter)


@routes.post("/letters/<slug>/leads")
@letter_route("editor")
def mark_lead(letter: Letter, membership: Membership) -> Response | tuple[str, int]:
    """Make a published organization a lead (initiator or co-sponsor), or change its role."""
    form = MarkLeadForm()
    if not form.validate_on_submit():
        return _refused(
            letter,
            gettext("Choose an organization and a role from the page, then send again."),
            400,
        )
    try:
        changed = service.mark_lead(
            db.session,
            letter,
            form.signature.data,
            form.role.data,
            actor=current_coordinator(),
            now=utcnow(),
        )
    except service.LeadRefused as refused:
        return _refused(letter, str(refused), refused.status)
    except ChangedMeanwhile:
        return _refused(
            letter, gettext("The signature changed meanwhile (withdrawn or unpublished)."), 409
        )
    db.session.commit()
    if changed:
        flash(gettext("Saved: it is named among the lead organizations."), "ok")
    return _back(letter, form)


@routes.post("/letters/<slug>/leads/<int:signature_id>/remove")
@letter_route("editor")
def remove_lead(
    letter: Letter, membership: Membership, signature_id: int
) -> Response | tuple[str, int]:
    """Take an organization off the leads; its signature stays on the list."""
    form = _BackToSearch()
    if not form.validate_on_submit():
        return _refused(letter, gettext("The form was not understood; send it again."), 400)
    try:
        service.remove_lead(
            db.session, letter, signature_id, actor=current_coordinator(), now=utcnow()
        )
    except service.LeadRefused as refused:
        return _refused(letter, str(refused), refused.status)
    except ChangedMeanwhile:
        return _refused(letter, gettext("The signature changed meanwhile; look again."), 409)
    db.session.commit()
    flash(gettext("Removed from the lead organizations; it stays on the list."), "ok")
    return _back(letter, form)


@routes.post("/letters/<slug>/leads/<int:signature_id>/move")
@letter_route("editor")
def move_lead(
    letter: Letter, membership: Membership, signature_id: int
) -> Response | tuple[str, int]:
    """Move a lead one place up or down among the leads of its role."""
    form = MoveLeadForm()
    if not form.validate_on_submit():
        return _refused(letter, gettext("The form was not understood; send it again."), 400)
    try:
        service.move_lead(
            db.session,
            letter,
            signature_id,
            form.direction.data,
            actor=current_coordinator(),
            now=utcnow(),
        )
    except service.LeadRefused as refused:
        return _refused(letter, str(refused), refused.status)
    except ChangedMeanwhile:
        return _refused(letter, gettext("The signature changed meanwhile; look again."), 409)
    db.session.commit()
    return _back(letter, form)
