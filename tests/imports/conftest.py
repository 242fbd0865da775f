"""The imports' fixtures: an open letter with a team, and CSV files to import into it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from signatory.core.extensions import db
from signatory.models import Signature
from tests.factories import make_letter, make_team

HEADER = "Organization,Type,Website,Country,Name,Title,Email\n"
GOOD_ROWS = (
    "Digital Rights Kenya,ngo,https://drk.example.org,Kenya,Amina Njoroge,Director,"
    "amina@drk.example.org\n"
    "Café Numérique,Association,cafe.example.fr,FR,Luc Martin,Président,luc@cafe.example.fr\n"
    "Red Libre,ONG,https://redlibre.example.es,España,Ana Ruiz,,ana@redlibre.example.es\n"
)
GOOD_CSV = HEADER + GOOD_ROWS


@pytest.fixture
def team(app: Flask) -> dict[str, str]:
    """The open letter "coalition" and its coordinators' emails by role."""
    with app.app_context():
        letter = make_letter(db.session, slug="coalition")
        emails = make_team(db.session, letter)
        db.session.commit()
        return emails


def write_csv(tmp_path: Path, text: str | bytes, name: str = "signatories.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def signatures_of(app: Flask) -> list[Signature]:
    """Every signature as committed, oldest first, detached."""
    with app.app_context():
        rows = list(db.session.scalars(db.select(Signature).order_by(Signature.id)))
        db.session.expunge_all()
        return rows
