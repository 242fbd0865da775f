"""The import pages: upload a CSV, map its columns, see every row's problems, import.

The uploaded file is kept server-side (``ImportBatch``) between the preview and the import;
the browser sends back only the mapping and the attestation, and every row is checked
again when the import is pressed.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.extensions import csrf, db
from signatory.core.time import utcnow
from signatory.imports import reading, service
from signatory.imports.forms import ImportForm, UploadForm, posted_mapping
from signatory.imports.rows import FIELD_LABELS, FIELDS, guess_mapping
from signatory.models import ImportBatch, Letter, Membership
from signatory.models.outbox import EmailCaps
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")
# The rows of problems a page lists; the rest are counted.
ERRORS_SHOWN = 500
SAMPLE_ROWS = 5
# Room for the form's other parts beside the file.
_FORM_OVERHEAD = 64 * 1024


def _limits() -> reading.Limits:
    return reading.Limits.from_config(current_app.config)


def _upload_page(letter: Letter, form: UploadForm, status: int = 200) -> tuple[str, int]:
    return render_template(
        "imports/manage/upload.html",
        letter=letter,
        form=form,
        limits=_limits(),
        size=reading.size_text(_limits().max_bytes),
    ), status


@routes.route("/letters/<slug>/import", methods=["GET", "POST"])
@letter_route("editor")
def import_signatures(letter: Letter, membership: Membership) -> Response | tuple[str, int]:
    """Upload a CSV of signatories; it is kept for an hour while its columns are mapped."""
    limits = _limits()
    if request.method == "POST":
        # The site's forms are small (MAX_CONTENT_LENGTH); this one carries a file. The
        # view is exempt from CSRFProtect's check before it, which would read the body
        # under the small limit, and checks the token itself under the larger one.
        request.max_content_length = limits.max_bytes + _FORM_OVERHEAD
        try:
            csrf.protect()
            request.files  # noqa: B018 - parse now, under the limit
        except RequestEntityTooLarge:
            form = UploadForm(formdata=None)
            form.file.errors = [reading.too_large(limits)]
            return _upload_page(letter, form, 413)
    form = UploadForm()
    if request.method == "GET":
        return _upload_page(letter, form)
    if not form.validate_on_submit():
        return _upload_page(letter, form, 400)
    upload = form.file.data
    data = upload.read(limits.max_bytes + 1)
    try:
        text = reading.decode(data, encoding=form.encoding.data or "utf-8", limits=limits)
        table = reading.parse(text, limits=limits)
    except reading.UnreadableFile as error:
        form.file.errors = [error.message]
        status = 413 if len(data) > limits.max_bytes else 422
        return _upload_page(letter, form, status)
    now = utcnow()
    batch = service.store_batch(
        db.session,
        letter,
        current_coordinator(),
        filename=upload.filename or "upload.csv",
        text=text,
        mapping=guess_mapping(table.header),
        now=now,
        minutes=int(current_app.config.get("IMPORT_BATCH_MINUTES", service.BATCH_MINUTES)),
    )
    db.session.commit()
    return redirect(url_for("manage.import_preview", slug=letter.slug, batch_id=batch.id), 303)


@routes.route("/letters/<slug>/import/<int:batch_id>", methods=["GET", "POST"])
@letter_route("editor")
def import_preview(
    letter: Letter, membership: Membership, batch_id: int
) -> Response | tuple[str, int]:
    """The mapping and every row's problems; "Import" checks everything again and imports."""
    now = utcnow()
    coordinator = current_coordinator()
    batch = service.open_batch(db.session, letter, coordinator, batch_id, now=now)
    if batch is None:
        flash(gettext("That upload has expired or was imported already. Upload the file again."))
        return redirect(url_for("manage.import_signatures", slug=letter.slug), 303)
    try:
        table = reading.parse(batch.text, limits=_limits())
    except reading.UnreadableFile as error:  # the limits were lowered since the upload
        flash(error.message, "error")
        return redirect(url_for("manage.import_signatures", slug=letter.slug), 303)
    form = ImportForm()
    mapping_problems: list[str] = []
    if request.method == "POST":
        if not form.validate_on_submit():
            return _preview_page(letter, batch, table, service.batch_mapping(batch), form, 400)
        mapping, mapping_problems = posted_mapping(request.form, len(table.header))
    else:
        mapping = service.batch_mapping(batch)
    try:
        checked = service.preview(
            db.session,
            letter,
            table,
            mapping,
            now=now,
            check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
        )
    except service.ImportRefused as error:
        flash(error.message, "error")
        return _preview_page(letter, batch, table, mapping, form, 409)
    checked.problems[:0] = mapping_problems
    if request.method == "GET":
        return _preview_page(letter, batch, table, mapping, form, 200, checked)
    if request.form.get("action") != "import" or not checked.ready:
        service.remember_mapping(batch, mapping)
        db.session.commit()
        wanted = request.form.get("action") == "import"
        return _preview_page(letter, batch, table, mapping, form, 422 if wanted else 200, checked)

    try:
        result = service.import_rows(
            db.session,
            letter,
            checked,
            actor=coordinator,
            attested=bool(form.attest.data),
            filename=batch.filename,
            now=now,
            caps=EmailCaps.from_config(current_app.config),
        )
    except service.ImportRefused as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("manage.import_preview", slug=letter.slug, batch_id=batch_id), 303)
    db.session.delete(batch)
    db.session.commit()
    flash(_summary(result, attested=bool(form.attest.data)), "ok")
    return redirect(url_for("manage.import_signatures", slug=letter.slug), 303)


def _summary(result: service.Imported, *, attested: bool) -> str:
    if attested:
        return gettext(
            "Imported %(count)s signatures, published at once as added by the coordinators.",
            count=result.signatures,
        )
    text = gettext(
        "Imported %(count)s signatures; %(emailed)s confirmation emails queued. Each "
        "appears on the list once its signer confirms.",
        count=result.signatures,
        emailed=result.emailed,
    )
    if result.held_back:
        text += " " + gettext(
            "%(held)s were held back by the daily email caps.", held=result.held_back
        )
    return text


def _preview_page(
    letter: Letter,
    batch: ImportBatch,
    table: reading.Table,
    mapping: dict[int, str],
    form: ImportForm,
    status: int,
    checked: service.Preview | None = None,
) -> tuple[str, int]:
    errors = checked.errors if checked else []
    page: dict[str, Any] = {
        "letter": letter,
        "batch": batch,
        "header": table.header,
        "row_count": len(table.rows),
        "mapping": mapping,
        "fields": [(name, FIELD_LABELS[name]) for name in FIELDS],
        "form": form,
        "checked": checked,
        "errors": errors[:ERRORS_SHOWN],
        "errors_hidden": max(0, len(errors) - ERRORS_SHOWN),
        # The first rows as they would be stored, to see that the columns are right.
        "sample": checked.rows[:SAMPLE_ROWS] if checked else [],
    }
    return render_template("imports/manage/preview.html", **page), status
