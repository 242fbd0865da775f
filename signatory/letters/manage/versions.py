"""A letter's versions in the workspace: each with its kind, note, author and signatures,
and any two compared (telling earlier signatories of one is ``signatures.manage.notify``)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.letters import versions as versions_service
from signatory.letters.service import LetterError
from signatory.models import Letter, Membership
from signatory.team.access import letter_route

routes = Routes("manage")


def compare_args(args: Any, latest: int) -> tuple[int, int] | None:
    """``from`` and ``to`` from a query string: None when neither is given, 400 when bad."""
    raw_from, raw_to = args.get("from", "").strip(), args.get("to", "").strip()
    if not raw_from and not raw_to:
        return None
    try:
        return versions_service.parse_compare(raw_from, raw_to, latest=latest)
    except LetterError as error:
        abort(400, description=error.message)


@routes.get("/letters/<slug>/versions")
@letter_route("moderator")
def versions(letter: Letter, membership: Membership) -> str:
    """Every version with its kind, note, author and signatures; any two compared."""
    latest = letter.current_version.number
    chosen = compare_args(request.args, latest)
    if chosen is None and latest > 1:
        chosen = (latest - 1, latest)
    comparison = versions_service.compare_versions(db.session, letter, *chosen) if chosen else None
    return render_template(
        "letters/manage/versions.html",
        letter=letter,
        summaries=versions_service.version_summaries(db.session, letter),
        comparison=comparison,
    )
