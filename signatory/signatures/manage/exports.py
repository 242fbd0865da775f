"""Coordinator exports: the full list with emails, as CSV and as XLSX (editors and owners).

A download is asked for with a POST from the export page, not a GET link: each one
writes an audit event, so it is a change that needs the CSRF token like any other, and
on SQLite a GET (which begins a deferred, read-only transaction) could not take the
write lock reliably once it had read. A GET on a download address leads to the page.
"""

from __future__ import annotations

import tempfile
import weakref
from collections.abc import Iterator
from typing import IO

from flask import Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.web import private_download, streamed
from signatory.letters import queries as service
from signatory.models import Letter, Membership
from signatory.signatures import exports as export_service
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An XLSX under this size is built in memory; a larger one spills to a temporary file.
XLSX_IN_MEMORY = 8 * 1024 * 1024


def _read_and_close(file: IO[bytes], chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    # Closing the temporary file removes it: once sent, or when the client goes away.
    try:
        while chunk := file.read(chunk_size):
            yield chunk
    finally:
        file.close()


@routes.get("/letters/<slug>/export")
@letter_route("editor")
def exports(letter: Letter, membership: Membership) -> str:
    """The page offering the full list as CSV or XLSX."""
    now = utcnow()
    return render_template(
        "signatures/manage/exports.html",
        letter=letter,
        counts=service.status_counts(db.session, letter),
        csv_name=export_service.filename(letter, export_service.CSV, now=now),
        xlsx_name=export_service.filename(letter, export_service.XLSX, now=now),
    )


def _to_export_page(letter: Letter) -> BaseResponse:
    return redirect(url_for("manage.exports", slug=letter.slug), code=303)


@routes.route("/letters/<slug>/export.csv", methods=["GET", "POST"])
@letter_route("editor")
def export_csv(letter: Letter, membership: Membership) -> BaseResponse:
    """Every signature in every status, with emails, as CSV (UTF-8 with BOM), streamed."""
    if request.method == "GET":
        return _to_export_page(letter)
    now = utcnow()
    name = export_service.filename(letter, export_service.CSV, now=now)
    extent = export_service.snapshot(db.session, letter)
    export_service.record_export(
        db.session,
        letter,
        fmt=export_service.CSV,
        rows=extent.rows,
        actor=current_coordinator(),
        now=now,
    )
    # Committed before the first byte: a download that happened is never missing from the
    # trail, even if the client goes away halfway.
    db.session.commit()
    letter_id = letter.id
    chunks = streamed(
        lambda session: session.get(Letter, letter_id),
        lambda session, found: export_service.iter_csv(
            session, found, up_to_id=extent.up_to_id, release=session.rollback
        ),
    )
    return private_download(Response(chunks, content_type="text/csv; charset=utf-8"), name)


@routes.route("/letters/<slug>/export.xlsx", methods=["GET", "POST"])
@letter_route("editor")
def export_xlsx(letter: Letter, membership: Membership) -> BaseResponse:
    """Every signature in every status, with emails, as an XLSX workbook."""
    if request.method == "GET":
        return _to_export_page(letter)
    now = utcnow()
    name = export_service.filename(letter, export_service.XLSX, now=now)
    extent = export_service.snapshot(db.session, letter)
    # Nothing is pending yet: end the transaction the access check began, so the build
    # below reads batch by batch (see ``release``) instead of holding the write lock.
    db.session.commit()
    # A ZIP file cannot be sent before it is finished: the rows go to a temporary file in
    # batches, so memory stays flat, and the file is sent from there.
    target = tempfile.SpooledTemporaryFile(max_size=XLSX_IN_MEMORY)  # noqa: SIM115
    try:
        rows = export_service.write_xlsx(
            db.session, letter, target, up_to_id=extent.up_to_id, release=db.session.rollback
        )
        export_service.record_export(
            db.session,
            letter,
            fmt=export_service.XLSX,
            rows=rows,
            actor=current_coordinator(),
            now=now,
        )
        db.session.commit()
        size = target.tell()
        target.seek(0)
    except BaseException:
        target.close()
        raise
    body = _read_and_close(target)
    # A response dropped unsent and unclosed (a test that only checks the status) still
    # lets go of the file when its body is collected.
    weakref.finalize(body, target.close)
    response = Response(body, mimetype=XLSX_TYPE)
    response.headers["Content-Length"] = str(size)
    return private_download(response, name)
