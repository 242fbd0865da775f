"""What every page of the site shares: its icon."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_every_page_names_the_icon_and_favicon_ico_leads_to_it(client: FlaskClient) -> None:
    page = client.get("/privacy").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page

    asked = client.get("/favicon.ico")
    assert asked.status_code == 301
    assert asked.headers["Location"].endswith("/static/favicon.svg")
    assert "max-age=86400" in asked.headers["Cache-Control"]

    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/svg+xml"
        assert icon.get_data(as_text=True).startswith("<svg ")
