"""Delivery: the owner records the hand-over, which closes signing and freezes the list."""

from __future__ import annotations

import logging

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.i18n import count_text
from signatory.core.time import utcnow
from signatory.delivery import frozen, package, service, store
from signatory.delivery.forms import METHOD_SUGGESTIONS, DeliveryForm
from signatory.models import Coordinator, Delivery, Letter, Membership
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")
log = logging.getLogger("signatory.delivery")


def _render_record(letter: Letter, status: int = 200) -> tuple[str, int]:
    delivery = service.delivery_of(db.session, letter)
    assert delivery is not None
    creator = (
        db.session.get(Coordinator, delivery.created_by_id) if delivery.created_by_id else None
    )
    return (
        render_template(
            "delivery/manage/record.html",
            letter=letter,
            delivery=delivery,
            delivered_by=creator.name if creator else None,
            filename=frozen.delivered_filename(letter, delivery),
            package_files=store.files_of(
                current_app._get_current_object(),  # type: ignore[attr-defined]
                package.package_inputs(db.session, letter, delivery),
            ),
        ),
        status,
    )


def _prepare_package(letter: Letter, delivery: Delivery) -> None:
    """Build the PDF and ZIP once, now (a long list: in the background), after the commit.

    The delivery stands whatever happens here: a failure is logged, and the package is
    built again on its first download.
    """
    try:
        store.prepare(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            package.package_inputs(db.session, letter, delivery),
        )
    except Exception:
        log.exception("preparing the delivery package of %s failed", letter.slug)


@routes.route("/letters/<slug>/delivery", methods=["GET", "POST"])
@letter_route("owner")
def delivery(letter: Letter, membership: Membership) -> Response | tuple[str, int]:
    """Mark the letter delivered (once); afterwards, show what was handed over and its hash."""
    if service.delivery_of(db.session, letter) is not None:
        if request.method == "POST":
            flash(
                gettext("This letter was already delivered; its delivered list cannot change."),
                "error",
            )
            return _render_record(letter, 409)
        return _render_record(letter)

    now = utcnow()
    deliverable = letter.status in service.DELIVERABLE
    form = DeliveryForm(
        data={
            "delivered_to": letter.recipient,
            "delivered_at": now.replace(second=0, microsecond=0),
        }
    )
    page = {
        "letter": letter,
        "form": form,
        "deliverable": deliverable,
        "suggestions": METHOD_SUGGESTIONS,
    }
    if request.method == "GET":
        return render_template("delivery/manage/form.html", **page), 200
    if not deliverable:
        return render_template("delivery/manage/form.html", **page), 409
    if not form.validate_on_submit():
        return render_template("delivery/manage/form.html", **page), 400

    # Validated: InputRequired and the field's format make it a datetime.
    assert form.delivered_at.data is not None
    data = service.DeliveryData(
        delivered_to=form.delivered_to.data or "",
        delivered_at=form.delivered_at.data,
        method=form.method.data or "",
        note=form.note.data or "",
    )
    try:
        record = service.deliver(db.session, letter, data, actor=current_coordinator(), now=now)
    except service.InvalidDelivery as error:
        db.session.rollback()
        getattr(form, error.field).errors.append(error.message)
        return render_template("delivery/manage/form.html", **page), 400
    except service.AlreadyDelivered:
        db.session.rollback()
        flash(
            gettext("Another owner delivered this letter a moment ago; here is their record."),
            "error",
        )
        return redirect(url_for("manage.delivery", slug=letter.slug), code=303)
    db.session.commit()
    _prepare_package(letter, record)
    flash(
        gettext(
            "Delivered. Signing is closed and the list is frozen: %(organizations)s and "
            "%(individuals)s.",
            organizations=count_text(
                "%(num)s organization", "%(num)s organizations", record.organizations
            ),
            individuals=count_text("%(num)s individual", "%(num)s individuals", record.individuals),
        ),
        "ok",
    )
    return redirect(url_for("manage.delivery", slug=letter.slug), code=303)
