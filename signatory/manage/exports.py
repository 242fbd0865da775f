"""Coordinator exports: the full list with emails, as CSV and as XLSX (editors and owners).

A download is asked for with a POST from the export page, not a GET link: each one
writes an audit event, so it is a change that needs the CSRF token like any other, and
on SQLite a GET (which begins a deferred, read-only transaction) could not take the
write lock reliably once it had read. A GET on a download address leads to the page.
"""

from __future__ import annotations

import tempfile
import weakref
from collections.abc import Callable, Iterator
from typing import IO

from flask import Response, current_app, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.manage import bp, export_service, service
from signatory.manage.access import current_coordinator, letter_route
from signatory.models import Letter, Membership

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An XLSX under this size is built in memory; a larger one spills to a temporary file.
XLSX_IN_MEMORY = 8 * 1024 * 1024


def streamed(letter: Letter, produce: Callable[[Session, Letter], Iterator[str]]) -> Iterator[str]:
    """The chunks of ``produce(session, letter)``, read in an app context of their own.

    Unlike ``stream_with_context``, nothing is pushed until the first chunk is asked for,
    and the context is popped by the generator that pushed it when the body ends or the
    client goes away: a response dropped unread leaves no context behind for the garbage
    collector to pop later, out of order, in the middle of another request. ``produce``
    gets ``session.rollback`` as its ``release``: each batch is read in a transaction of
    its own, so a slow client holds no database lock between batches.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    letter_id = letter.id

    def generate() -> Iterator[str]:
        with app.app_context():
            # The request's session is gone by now: read the letter again in this one.
            found = db.session.get(Letter, letter_id)
            if found is not None:
                yield from produce(db.session, found)

    return generate()


def _read_and_close(file: IO[bytes], chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    # Closing the temporary file removes it: once sent, or when the client goes away.
    try:
        while chunk := file.read(chunk_size):
            yield chunk
    finally:
        file.close()


def private_download(response: Response, name: str) -> Response:
    """Mark ``response`` as an attachment named ``name`` that nothing may cache."""
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # Emails of every signer, or who did what: no browser or proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/letters/<slug>/export")
@letter_route("editor")
def exports(letter: Letter, membership: Membership) -> str:
    """The page offering the full list as CSV or XLSX."""
    now = utcnow()
    return render_template(
        "manage/exports/index.html",
        letter=letter,
        membership=membership,
        counts=service.status_counts(db.session, letter),
        csv_name=export_service.filename(letter, export_service.CSV, now=now),
        xlsx_name=export_service.filename(letter, export_service.XLSX, now=now),
    )


def _to_export_page(letter: Letter) -> Response:
    return redirect(url_for("manage.exports", slug=letter.slug), code=303)


@bp.route("/letters/<slug>/export.csv", methods=["GET", "POST"])
@letter_route("editor")
def export_csv(letter: Letter, membership: Membership) -> Response:
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
    chunks = streamed(
        letter,
        lambda session, found: export_service.iter_csv(
            session, found, up_to_id=extent.up_to_id, release=session.rollback
        ),
    )
    return private_download(Response(chunks, content_type="text/csv; charset=utf-8"), name)


@bp.route("/letters/<slug>/export.xlsx", methods=["GET", "POST"])
@letter_route("editor")
def export_xlsx(letter: Letter, membership: Membership) -> Response:
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
