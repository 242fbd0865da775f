"""What was delivered: the frozen file, byte for byte, and a printable delivery page."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from flask import Flask, Response, abort, current_app, render_template, request
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.web import error_response
from signatory.delivery import frozen, package, store
from signatory.delivery import service as delivery_service
from signatory.letters.lookup import public_letter_or_404
from signatory.models import Delivery, Letter, LetterStatus

routes = Routes("public")


def _delivery_or_404(letter: Letter) -> Delivery:
    delivery = delivery_service.delivery_of(db.session, letter)
    if delivery is None:
        abort(
            404,
            description=gettext(
                "This letter has not been delivered yet, so there is no delivered "
                "list. The current list of signatories is on the letter's page."
            ),
        )
    return delivery


@routes.get("/letters/<slug>/delivered.csv")
def delivered_csv(slug: str) -> BaseResponse:
    """The list as it was delivered: the stored bytes, never rebuilt, with their hash.

    ``ETag`` is the SHA-256 (so a cached copy is revalidated against the fingerprint the
    page shows) and ``Repr-Digest`` (RFC 9530) carries the same hash for tools that check.
    """
    letter = public_letter_or_404(slug)
    delivery = _delivery_or_404(letter)
    body = bytes(delivery.csv_bytes)
    response = Response(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{frozen.delivered_filename(letter, delivery)}"'
    )
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    response.set_etag(delivery.sha256)
    # The bytes never change once delivered; a day's caching is safe, and the ETag lets a
    # cache check cheaply after that.
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response.make_conditional(request)


@routes.get("/letters/<slug>/delivered")
def delivered(slug: str) -> str:
    """The delivery, ready to print: the letter, then organizations and individuals by country."""
    letter = public_letter_or_404(slug)
    delivery = _delivery_or_404(letter)
    return render_template(
        "delivery/delivered.html",
        letter=letter,
        delivery=delivery,
        version=delivery_service.delivered_version(db.session, letter, delivery),
        sections=frozen.delivered_sections(bytes(delivery.csv_bytes)),
        filename=frozen.delivered_filename(letter, delivery),
        csv_size=store.size_text(len(delivery.csv_bytes)),
        package_files=store.files_of(_app(), package.package_inputs(db.session, letter, delivery)),
    )


# --- The delivery package: the PDF and the ZIP --------------------------------------------

_MEDIA_TYPES = {store.PDF: "application/pdf", store.ZIP: "application/zip"}


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _package_file(slug: str, kind: str) -> BaseResponse:
    letter = public_letter_or_404(slug)
    delivery = _delivery_or_404(letter)
    inputs = package.package_inputs(db.session, letter, delivery)
    kept = store.store_of(_app()).find(inputs, kind)
    if kept is None and store.prepare(_app(), inputs):
        kept = store.store_of(_app()).find(inputs, kind)
    if kept is None:
        return error_response(
            503,
            "package_being_prepared",
            gettext(
                "The delivery package of this long list is being prepared; it takes a few "
                "minutes, once. The delivered list (CSV) can be downloaded already."
            ),
            retry_after=120,
        )
    # Read whole (a few megabytes at most), as the CSV is: the response then holds no file.
    response = Response(kept.path.read_bytes(), content_type=_MEDIA_TYPES[kind])
    # The bytes are a function of the frozen data, which the name of the file is the
    # fingerprint of: the same ETag always means the same bytes, on any server.
    response.set_etag(f"{kept.path.stem}-{kind}")
    filename = inputs.pdf_filename if kind == store.PDF else inputs.zip_filename
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Never changes once delivered, as the CSV: a day's caching, then a cheap revalidation.
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response.make_conditional(request)


@routes.get("/letters/<slug>/delivered.pdf")
def delivered_pdf(slug: str) -> BaseResponse:
    """The delivery as a PDF: the letter, its lead organizations, every signatory, the hash.

    Built once from the frozen data and kept; a long list is built in the background
    first, answered meanwhile with 503 and ``Retry-After``.
    """
    return _package_file(slug, store.PDF)


@routes.get("/letters/<slug>/delivered.zip")
def delivered_zip(slug: str) -> BaseResponse:
    """The delivery package: the text (Markdown, PDF), CSV, XLSX and a manifest of hashes."""
    return _package_file(slug, store.ZIP)


def delivery_banner() -> dict[str, Any]:
    """The delivery record for the letter page's banner, on that page only.

    The letter page's view is shared with the signing blueprint's re-renders, so the
    record is looked up here rather than passed by each caller: one small query, and
    only on the letter page of a delivered letter.
    """
    if request.endpoint != "public.letter" or not request.view_args:
        return {}
    delivery = db.session.scalar(
        select(Delivery)
        .join(Letter, Letter.id == Delivery.letter_id)
        .where(
            Letter.slug == request.view_args.get("slug"),
            Letter.status == LetterStatus.DELIVERED,
        )
        .order_by(Delivery.id.desc())
        .limit(1)
    )
    return {"delivery": delivery}
