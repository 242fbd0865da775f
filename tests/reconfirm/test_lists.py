"""Who re-confirmed, in public: the list's version column (kept pages included), the CSV's
``reconfirmed_version`` column and the API's field of the same name."""

from __future__ import annotations

import csv
import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signatory.caching import HEADER
from signatory.core.extensions import db
from signatory.models import Letter
from tests.reconfirm.conftest import SLUG, Told, keep_path, press_keep


def _list_revision(app: Flask) -> int:
    with app.app_context():
        revision = db.session.scalar(select(Letter.list_revision).where(Letter.slug == SLUG))
        assert revision is not None
        return revision


def _row_of(page: str, name: str) -> str:
    start = page.index(f">{name}<")
    return page[start : page.index("</tr>", start)]


def test_the_list_shows_the_version_signed_and_the_one_re_confirmed(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    press_keep(client, keep_path(app, told.ids["EFF"]))

    page = client.get(f"/letters/{SLUG}/signatories").get_data(as_text=True)

    assert 'v1 · <span class="reconfirmed">re-confirmed v2</span>' in _row_of(page, "EFF")
    assert "re-confirmed" not in _row_of(page, "Amnesty")
    assert "re-confirmed v2" not in _row_of(page, "Ada Lovelace")


def test_a_kept_list_page_is_not_stale_after_a_re_confirmation(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    path = f"/letters/{SLUG}/signatories"
    client.get(path)
    before = client.get(path)
    assert before.headers[HEADER] == "hit", "the list page should be kept between changes"
    revision = _list_revision(app)

    press_keep(client, keep_path(app, told.ids["EFF"]))
    after = client.get(path)

    assert _list_revision(app) > revision
    assert after.headers[HEADER] == "miss"
    assert "re-confirmed v2" in _row_of(after.get_data(as_text=True), "EFF")


def test_the_csv_has_a_reconfirmed_version_column(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    press_keep(client, keep_path(app, told.ids["EFF"]))

    body = client.get(f"/letters/{SLUG}/signatories.csv").get_data(as_text=True)

    rows = {
        row["Organization or affiliation"] or row["Signer name"]: row
        for row in csv.DictReader(io.StringIO(body.removeprefix("\ufeff")))
    }
    assert (rows["EFF"]["Letter version"], rows["EFF"]["reconfirmed_version"]) == ("1", "2")
    assert (rows["Amnesty"]["Letter version"], rows["Amnesty"]["reconfirmed_version"]) == ("1", "")


def test_the_api_gives_each_signature_its_reconfirmed_version(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    press_keep(client, keep_path(app, told.ids["EFF"]))

    signatures = client.get(f"/api/v1/letters/{SLUG}/signatures").get_json()["signatures"]

    by_id = {s["id"]: s for s in signatures}
    assert (by_id[told.ids["EFF"]]["version"], by_id[told.ids["EFF"]]["reconfirmed_version"]) == (
        1,
        2,
    )
    assert by_id[told.ids["Amnesty"]]["reconfirmed_version"] is None


def test_the_live_feed_of_the_list_carries_the_reconfirmed_version(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    press_keep(client, keep_path(app, told.ids["EFF"]))

    body = client.get(f"/letters/{SLUG}/live.json").get_json()

    [eff] = [item for item in body["latest"] if item["id"] == told.ids["EFF"]]
    assert eff["reconfirmed_version"] == 2
