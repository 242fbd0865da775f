"""The logo wall, the logos' images, and the signer's own logo (upload and preview).

An image is only ever served as we re-encoded it (``organizations.images``), as PNG, with
``nosniff`` and a policy that lets it run and load nothing. The public address carries
the image's hash (``/letters/<slug>/logos/<id>-<sha8>.png``), so it is cached for good:
a new upload gets a new address. It answers 404 unless the logo is approved and its
signature published.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.errors import ChangedMeanwhile, InvalidToken
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import current_tokens
from signatory.core.web import private_page
from signatory.letters.lookup import public_letter_or_404
from signatory.models import Signature
from signatory.organizations import logos
from signatory.organizations.forms import LogoForm
from signatory.ratelimits import budgets
from signatory.ratelimits.budgets import limited

public_routes = Routes("public")
routes = Routes("signing")

# A year, and never revalidated: the address changes with the image.
IMMUTABLE = "public, max-age=31536000, immutable"
IMAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


def image_response(image: bytes, media_type: str, *, cache: str) -> Response:
    """An image we made, sent so that no browser can take it for anything else."""
    response = Response(image, mimetype=media_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = IMAGE_POLICY
    response.headers["Cache-Control"] = cache
    response.headers["Content-Disposition"] = "inline"
    return response


@public_routes.get("/letters/<slug>/logos")
def logo_wall(slug: str) -> tuple[str, int]:
    """The approved logos of the letter's published organizations, a page at a time."""
    letter = public_letter_or_404(slug, with_versions=False)
    token = request.args.get("after")
    try:
        after = logos.decode_wall_cursor(token) if token else None
    except logos.InvalidWallCursor:
        abort(
            400,
            description=gettext(
                "This page of logos does not exist. Start again from the first page."
            ),
        )
    page = logos.wall_page(
        db.session, letter, after=after, limit=current_app.config["LOGO_WALL_PAGE_SIZE"]
    )
    return render_template(
        "organizations/wall.html", letter=letter, page=page, paged=bool(token)
    ), 200


@public_routes.get("/letters/<slug>/logos/<int:logo_id>-<digest>.png")
def logo_file(slug: str, logo_id: int, digest: str) -> Response:
    """One approved logo's image, as we re-encoded it."""
    found = logos.public_logo(db.session, slug, logo_id, digest)
    if found is None:
        abort(404, description=gettext("There is no logo at this address."))
    image, media_type = found
    return image_response(image, media_type, cache=IMMUTABLE)


# --- The signer's own logo, from the manage-my-signature page ---------------------------


def _link_problem(error: InvalidToken) -> Response:
    page = render_template("organizations/logo_link_problem.html", reason=error.reason)
    return private_page((page, error.status))


def _refused(signature: Signature, token: str, form: LogoForm, status: int) -> Response:
    page = render_template(
        "organizations/logo_refused.html",
        signature=signature,
        letter=signature.letter,
        token=token,
        form=form,
    )
    return private_page((page, status))


@routes.post("/my-signature/<token>/logo")
@limited(budgets.LINKS)
def upload_logo(token: str) -> Response:
    """Store the organization's logo (replacing any earlier one) for the coordinators' review.

    Like every change made from the manage page, it retires the link used and moves the
    page on to a fresh one. A refused file changes nothing, and the page says why.
    """
    try:
        signature = logos.signature_for_upload(db.session, current_tokens().read("manage", token))
    except InvalidToken as error:
        return _link_problem(error)
    form = LogoForm()
    if not logos.may_have_logo(signature):
        form.logo.errors = [
            gettext("Only an organization's signature on the letter can carry a logo.")
        ]
        return _refused(signature, token, form, 409)
    if not form.validate_on_submit():
        return _refused(signature, token, form, form.refusal_status)
    assert form.prepared is not None  # validated
    try:
        logos.replace_logo(db.session, signature, form.prepared, now=utcnow())
        logos.move_manage_link_on(signature)
        db.session.flush()
    except ChangedMeanwhile:
        db.session.rollback()
        form.logo.errors = [gettext("Another logo was sent at the same moment. Try again.")]
        signature = logos.signature_for_upload(db.session, current_tokens().read("manage", token))
        return _refused(signature, token, form, 409)
    fresh = current_tokens().make("manage", signature.id, signature.manage_nonce)
    db.session.commit()
    flash(
        gettext(
            "Your logo is saved. It will appear on the letter once the coordinators approve it."
        ),
        "ok",
    )
    return private_page(redirect(url_for("signing.my_signature", token=fresh), code=303))


@routes.get("/my-signature/<token>/logo.png")
@limited(budgets.LINKS)
def my_logo(token: str) -> Response:
    """The signer's own logo as we stored it, whatever its review status (never cached)."""
    try:
        signature = logos.signature_for_upload(db.session, current_tokens().read("manage", token))
    except InvalidToken as error:
        return _link_problem(error)
    logo = logos.logo_of(db.session, signature.id)
    if logo is None:
        abort(404, description=gettext("No logo was uploaded for this signature."))
    response = image_response(logo.image, logo.media_type, cache="no-store")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
