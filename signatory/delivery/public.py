"""What was delivered: the frozen file, byte for byte, and a printable delivery page."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.delivery import frozen
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
    )


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
