"""Charts: accessible SVG drawn on the server, with every number also in a table."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from signatory.lists import charts
from signatory.lists import queries as service
from tests.factories import make_letter, make_signature
from tests.lists.pages import page_html

BASE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def stats_page(client: FlaskClient, slug: str = "civic") -> str:
    return page_html(client, f"/letters/{slug}/stats")


def figure(page: str, key: str) -> str:
    match = re.search(rf'<figure class="chart" id="{key}">.*?</figure>', page, re.S)
    assert match, f"no {key} chart on the page"
    return match.group(0)


def svg_of(fragment: str) -> str:
    match = re.search(r"<svg.*?</svg>", fragment, re.S)
    assert match, "no svg in the chart"
    return match.group(0)


def table_rows(fragment: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", fragment, re.S)
    assert body, "no table body"
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in rows
    ]


@pytest.fixture
def letter_with_support(session: Session) -> None:
    letter = make_letter(session, slug="civic")
    for n, (country, kind) in enumerate(
        [("KE", "ngo"), ("KE", "union"), ("KE", "ngo"), ("DE", "ngo"), ("BR", "academic")]
    ):
        make_signature(
            session,
            letter,
            country=country,
            organization_type=kind,
            published_at=BASE + timedelta(days=n // 2),
        )
    make_signature(
        session, letter, kind="individual", country="DE", published_at=BASE + timedelta(days=4)
    )
    make_signature(session, letter, country="FR", status="withdrawn")
    session.commit()


@pytest.mark.usefixtures("letter_with_support")
def test_each_chart_is_an_image_with_a_title_and_a_description(client: FlaskClient) -> None:
    page = stats_page(client)

    for key in ("by-country", "by-type", "over-time"):
        svg = svg_of(figure(page, key))
        assert 'role="img"' in svg
        assert f'aria-labelledby="{key}-title"' in svg
        assert f'aria-describedby="{key}-desc"' in svg
        assert re.search(rf'<title id="{key}-title">[^<]+</title>', svg)
        assert re.search(rf'<desc id="{key}-desc">[^<]+</desc>', svg)


@pytest.mark.usefixtures("letter_with_support")
def test_country_chart_has_its_numbers_in_a_table(client: FlaskClient) -> None:
    chart = figure(stats_page(client), "by-country")

    assert table_rows(chart) == [["Kenya", "3"], ["Germany", "2"], ["Brazil", "1"]]
    assert re.search(r'<th scope="col">Country</th>', chart)
    assert "<caption" in chart


@pytest.mark.usefixtures("letter_with_support")
def test_country_chart_draws_a_bar_for_each_country_with_its_count(client: FlaskClient) -> None:
    svg = svg_of(figure(stats_page(client), "by-country"))

    assert re.findall(r'class="chart-label"[^>]*>([^<]+)<', svg) == ["Kenya", "Germany", "Brazil"]
    assert re.findall(r'class="chart-value"[^>]*>([^<]+)<', svg) == ["3", "2", "1"]
    assert "6 signatures across 3 countries" in svg


@pytest.mark.usefixtures("letter_with_support")
def test_type_chart_counts_organizations_by_type(client: FlaskClient) -> None:
    chart = figure(stats_page(client), "by-type")

    assert table_rows(chart) == [
        ["Non-governmental organization", "3"],
        ["Trade union", "1"],
        ["University or research institute", "1"],
    ]


@pytest.mark.usefixtures("letter_with_support")
def test_time_chart_tables_the_running_total_for_every_day(client: FlaskClient) -> None:
    chart = figure(stats_page(client), "over-time")

    assert table_rows(chart) == [
        ["1 March 2025", "2", "2"],
        ["2 March 2025", "2", "4"],
        ["3 March 2025", "1", "5"],
        ["4 March 2025", "0", "5"],
        ["5 March 2025", "1", "6"],
    ]


@pytest.mark.usefixtures("letter_with_support")
def test_numbers_tables_are_in_details_so_the_page_stays_short(client: FlaskClient) -> None:
    page = stats_page(client)

    assert page.count('<details class="chart-numbers">') == 3


def test_names_signers_typed_are_never_drawn_in_a_chart(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="جمعية الحقوق الرقمية", name="שרה כהן")
    session.commit()

    page = stats_page(client)

    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        assert "جمعية" not in svg and "שרה" not in svg


def test_a_letter_without_signatures_has_nothing_to_chart(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    page = stats_page(client)

    assert "<svg" not in page
    assert "nothing to chart" in page


def test_stats_of_a_draft_letter_is_404(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="secret", status="draft")
    session.commit()

    assert client.get("/letters/secret/stats").status_code == 404


def test_letter_page_and_list_link_to_the_charts(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    for url in ("/letters/civic", "/letters/civic/signatories"):
        assert 'href="/letters/civic/stats"' in client.get(url).get_data(as_text=True)


def test_bar_chart_groups_the_smallest_rows_but_tables_them_all() -> None:
    rows = [(f"Country {n:02}", 100 - n) for n in range(20)]

    chart = charts.bar_chart(
        "c",
        "By country",
        rows,
        label_header="Country",
        value_header="Signatures",
        noun="signature",
        groups=("country", "countries"),
        shown=12,
        others="Other countries",
    )

    assert len(chart.bars) == 13
    assert chart.bars[-1].label == "Other countries (8)"
    assert chart.bars[-1].value == sum(100 - n for n in range(12, 20))
    assert len(chart.rows) == 20
    assert chart.total == sum(value for _, value in rows)


def test_bar_lengths_are_proportional_and_never_vanish() -> None:
    chart = charts.bar_chart(
        "c",
        "T",
        [("Big", 100_000), ("Tiny", 1)],
        label_header="Country",
        value_header="Signatures",
        noun="signature",
        groups=("country", "countries"),
    )

    big, tiny = chart.bars
    assert big.length == charts.WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH
    assert 0 < tiny.length <= 1


def test_long_labels_are_shortened_in_the_picture_only() -> None:
    name = "Congo, The Democratic Republic of the"
    chart = charts.bar_chart(
        "c",
        "T",
        [(name, 3)],
        label_header="Country",
        value_header="Signatures",
        noun="signature",
        groups=("country", "countries"),
    )

    assert chart.bars[0].short_label.endswith("…")
    assert len(chart.bars[0].short_label) <= charts.LABEL_CHARACTERS
    assert chart.rows == [(name, 3)]


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (101, 200), (99_999, 100_000)]
)
def test_nice_ceiling_rounds_up_to_one_two_or_five(value: int, ceiling: int) -> None:
    assert charts.nice_ceiling(value) == ceiling


def test_time_chart_fills_days_without_signatures() -> None:
    chart = charts.time_chart([(date(2025, 3, 1), 5), (date(2025, 3, 4), 2)])

    assert [(row.day.day, row.new, row.total) for row in chart.rows] == [
        (1, 5, 5),
        (2, 0, 5),
        (3, 0, 5),
        (4, 2, 7),
    ]


def test_time_chart_of_a_single_day_still_draws_a_line() -> None:
    chart = charts.time_chart([(date(2025, 3, 1), 5)])

    assert len(chart.line.split()) == 2
    assert "5" in chart.description


def test_time_chart_line_rises_to_the_top_tick() -> None:
    chart = charts.time_chart([(date(2025, 3, 1), 5), (date(2025, 3, 2), 5)])

    last_y = float(chart.line.split()[-1].split(",")[1])
    top_tick = chart.y_ticks[-1]
    assert top_tick.label == "10"
    assert last_y == top_tick.position


def test_published_per_day_counts_published_signatures_by_utc_day(session: Session) -> None:
    letter = make_letter(session)
    make_signature(session, letter, published_at=datetime(2025, 3, 1, 23, 59, tzinfo=UTC))
    make_signature(session, letter, published_at=datetime(2025, 3, 2, 0, 1, tzinfo=UTC))
    make_signature(session, letter, published_at=datetime(2025, 3, 2, 8, 0, tzinfo=UTC))
    make_signature(session, letter, status="withdrawn")

    assert service.published_per_day(session, letter) == [
        (date(2025, 3, 1), 1),
        (date(2025, 3, 2), 2),
    ]


@pytest.mark.parametrize(
    ("value", "ticks"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (10, [0, 5, 10]),
        (50, [0, 20, 40, 60]),
        (101, [0, 50, 100, 150]),
    ],
)
def test_the_time_axis_counts_in_round_steps(value: int, ticks: list[int]) -> None:
    top, step = charts.nice_axis(value)

    assert list(range(0, top + 1, step)) == ticks


def test_the_group_of_other_rows_does_not_shrink_the_named_ones() -> None:
    rows = [("Kenya", 40), ("Brazil", 20)] + [(f"Country {n:02}", 10) for n in range(30)]

    chart = charts.bar_chart(
        "c", "T", rows, label_header="Country", value_header="Signatures",
        noun="signature", groups=("country", "countries"), shown=2, others="Other countries",
    )  # fmt: skip

    kenya, brazil, rest = chart.bars
    assert kenya.length == charts.WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH
    assert brazil.length == kenya.length / 2
    assert (rest.rest, rest.capped, rest.value) == (True, True, 300)
    assert rest.length == kenya.length  # cut at the end of the room, its number beside it
    assert rest.narrow_length == kenya.narrow_length == charts.NARROW_WIDTH - 64


def test_dates_on_the_time_axis_never_touch_at_either_width() -> None:
    start = date(2026, 11, 10)
    chart = charts.time_chart([(start + timedelta(days=n), n + 1) for n in range(45)])

    for plot in chart.plots:
        positions = [tick.position for tick in plot.x_ticks]
        gaps = [b - a for a, b in zip(positions, positions[1:], strict=False)]
        assert len(positions) >= 2
        assert min(gaps) >= charts.X_TICK_SPACING - 1
        assert all("2026" not in tick.label for tick in plot.x_ticks)  # one year: said once
    assert chart.plots[1].width == charts.NARROW_WIDTH


@pytest.mark.usefixtures("letter_with_support")
def test_a_phone_gets_a_drawing_of_each_chart_that_fits_it(client: FlaskClient) -> None:
    page = stats_page(client)

    for key in ("by-country", "by-type", "over-time"):
        chart = figure(page, key)
        assert (
            f'class="chart-svg chart-narrow" role="img" aria-labelledby="{key}-narrow-title"'
            in chart
        )
        assert f'viewBox="0 0 {charts.NARROW_WIDTH} ' in chart
