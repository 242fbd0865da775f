"""A letter whose text changed after people signed it, its earlier signatories told, and
the keep links of their emails."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.letters import service as letters_service
from signatory.models import LetterVersion
from signatory.signatures import changes
from tests.conftest import csrf_token_from, queued_mail, render_queued, text_part
from tests.factories import find_letter, make_letter, make_member, make_signature

SLUG = "civic-space"
V1 = "We ask the Committee to **protect** civic space.\n\nKeep negotiations open."
V2 = "We urge the Committee to **protect** civic space.\n\nKeep negotiations open."
V3 = "We urge the Committee to **defend** civic space.\n\nKeep negotiations open."
KEEP_LINK = re.compile(r"http://signatory\.test(/letters/[^/\s]+/keep/\S+)")


@dataclass
class Told:
    """The letter, its editor's email, and the signatures told of version 2, by name."""

    slug: str
    editor: str
    ids: dict[str, int]
    told_at: datetime


def publish_and_tell(app: Flask, slug: str, body: str, number: int, *, now: datetime) -> int:
    """Publish ``body`` as substantive version ``number`` and email earlier signatories."""
    with app.app_context():
        letter = find_letter(db.session, slug)
        assert letter is not None
        editor = make_member(db.session, letter, role="editor")
        letters_service.publish_version(
            db.session,
            letter,
            body_markdown=body,
            kind="substantive",
            change_note=f"Version {number}: stronger wording.",
            author=editor,
            now=now,
        )
        count = changes.notify_signatories(db.session, letter, number, actor=editor, now=now)
        db.session.commit()
        return count


@pytest.fixture
def told(app: Flask) -> Told:
    """Three organizations and an individual signed version 1; version 2 is told to all."""
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG, body=V1)
        editor = make_member(db.session, letter, role="editor").email
        ids = {
            name: make_signature(db.session, letter, organization=name, email=f"{key}@{key}.org").id
            for key, name in (("amnesty", "Amnesty"), ("eff", "EFF"), ("article", "Article 19"))
        }
        ids["Ada"] = make_signature(
            db.session, letter, kind="individual", name="Ada Lovelace", email="ada@example.org"
        ).id
        db.session.commit()
    now = utcnow()
    publish_and_tell(app, SLUG, V2, 2, now=now)
    return Told(SLUG, editor, ids, now)


def keep_path(app: Flask, signature_id: int, version: int = 2) -> str:
    """The keep link of the change email about ``version`` queued for ``signature_id``."""
    with app.app_context():
        version_ids = set(
            db.session.scalars(
                select(LetterVersion.id).where(LetterVersion.number == version)
            ).all()
        )
    [message] = [
        m
        for m in queued_mail(app, "version_changed")
        if m.signature_id == signature_id and m.context["version_id"] in version_ids
    ]
    match = KEEP_LINK.search(text_part(render_queued(app, message.id)))
    assert match, "the change email carries no keep link"
    return match.group(1)


def press_keep(client: FlaskClient, path: str) -> TestResponse:
    """Open the keep link and press its button, as a signer would. A page without the
    button (kept already, refused) is pressed anyway, as from a tab left open."""
    page = client.get(path).get_data(as_text=True)
    if 'name="csrf_token"' not in page:
        page = client.get("/manage/login").get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token_from(page)})
