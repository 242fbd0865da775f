"""The world map on the stats page: countries shaded by signatures, drawn on the server."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from signatory.lists.worldmap import step_floors, world_map
from tests.factories import make_letter, make_signature
from tests.lists.pages import page_html


def map_svg(page: str) -> str:
    match = re.search(r'<svg class="chart-svg world-map-svg".*?</svg>', page, re.S)
    assert match, "no world map on the page"
    return match.group(0)


def shades(svg: str) -> dict[str, tuple[int, str]]:
    """Country name → (shade, its hover text), from the drawn paths."""
    found = re.findall(
        r'<path class="map-shade-(\d)" d="[^"]+"><title>([^<:]+): ([^<]+)</title></path>', svg
    )
    return {name: (int(shade), count) for shade, name, count in found}


@pytest.fixture
def letter_from_three_countries(session: Session) -> None:
    letter = make_letter(session, slug="civic")
    for country, n in (("KE", 12), ("DE", 3), ("BR", 1)):
        for _ in range(n):
            make_signature(session, letter, country=country)
    make_signature(session, letter, country="FR", status="withdrawn")
    session.commit()


@pytest.mark.usefixtures("letter_from_three_countries")
def test_the_map_shades_each_country_by_its_published_signatures(client: FlaskClient) -> None:
    svg = map_svg(page_html(client, "/letters/civic/stats"))
    drawn = shades(svg)

    # Four steps (1, 2–4, 5–9, 10–12), the top one in the darkest of the five colours.
    assert drawn["Kenya"] == (5, "12")
    assert drawn["Germany"] == (3, "3")
    assert drawn["Brazil"] == (2, "1")
    assert drawn["France"] == (0, "0")  # withdrawn: not counted
    assert len(drawn) > 150  # the whole world, not only the countries that signed


@pytest.mark.usefixtures("letter_from_three_countries")
def test_the_map_is_a_named_image_with_a_legend_in_words(client: FlaskClient) -> None:
    page = page_html(client, "/letters/civic/stats")
    svg = map_svg(page)

    assert 'role="img"' in svg
    assert re.search(r'<title id="by-country-map-title">World map of signatures', svg)
    assert re.search(r'<desc id="by-country-map-desc">[^<]*darker', svg)
    legend = re.search(r'<ul class="map-legend".*?</ul>', page, re.S)
    assert legend
    labels = [
        re.sub(r"<[^>]+>", "", item).strip()
        for item in re.findall(r"<li>(.*?)</li>", legend.group(0))
    ]
    assert labels == ["None", "1", "2–4", "5–9", "10–12"]


@pytest.mark.usefixtures("letter_from_three_countries")
def test_the_map_sits_in_the_country_figure_whose_table_holds_its_numbers(
    client: FlaskClient,
) -> None:
    page = page_html(client, "/letters/civic/stats")
    figure = re.search(r'<figure class="chart" id="by-country">.*?</figure>', page, re.S)

    assert figure and "world-map-svg" in figure.group(0)
    assert '<details class="chart-numbers">' in figure.group(0).split("world-map-svg")[1]


def test_a_letter_without_signatures_draws_no_map(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="quiet")
    session.commit()

    assert "world-map-svg" not in page_html(client, "/letters/quiet/stats")


@pytest.mark.parametrize(
    ("largest", "floors"),
    [
        (1, [1]),
        (3, [1, 2]),
        (12, [1, 2, 5, 10]),
        (50_000, [1, 10, 100, 500, 5000]),
        (1_000_000, [1, 20, 200, 5000, 50_000]),
    ],
)
def test_shades_step_at_round_numbers_spread_evenly_on_a_log_scale(
    largest: int, floors: list[int]
) -> None:
    assert step_floors(largest) == floors


def test_every_drawn_country_has_a_path_and_land_without_a_code_has_no_count(
    app: Flask,
) -> None:
    with app.test_request_context():
        drawing = world_map({"KE": 5})

    codes = {shape.code for shape in drawing.shapes}
    assert {"KE", "US", "CN", "RU", "AU", "BR", "IN", "ZA"} <= codes
    assert "AQ" not in codes  # Antarctica is left out
    nameless = [shape for shape in drawing.shapes if not shape.code]
    assert nameless and all(shape.signatures == 0 and shape.shade == 0 for shape in nameless)
    assert all(re.fullmatch(r"(M\d+,\d+l[-\d, ]+z)+", shape.path) for shape in drawing.shapes)
