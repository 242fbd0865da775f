"""Charts of a letter's support, drawn on the server as plain SVG: no script, no image files.

Each chart is a picture for those who would rather look (an ``<svg role="img">`` with a
``<title>`` and a ``<desc>`` that says what it shows in words) and a real table of the same
numbers for those who would rather read, or cannot see it. The functions here only do
the arithmetic (bar lengths, axis ticks, the cumulative line); ``_charts.html`` draws.

The labels drawn inside the SVG come from the app's own reference lists (country and
organization type names); no name a signer typed is ever drawn there, so no label can
arrive in a script or direction the chart does not expect.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext

from signatory.core.i18n import (
    count_text,
    day_date,
    local_country_name,
    month_day,
    number,
    organization_type_name,
)

WIDTH = 640
LABEL_WIDTH = 240
VALUE_WIDTH = 70
ROW_HEIGHT = 28
BAR_HEIGHT = 18
TOP = 8
LABEL_CHARACTERS = 32
TOP_COUNTRIES = 12

PLOT_LEFT = 64
PLOT_RIGHT = 16
PLOT_TOP = 16
PLOT_BOTTOM = 40
TIME_HEIGHT = 280
X_TICKS = 6


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: float
    length: float

    @property
    def short_label(self) -> str:
        """The label cut to fit beside the bar; the table below has it whole."""
        if len(self.label) <= LABEL_CHARACTERS:
            return self.label
        return self.label[: LABEL_CHARACTERS - 1].rstrip() + "…"


@dataclass(frozen=True)
class BarChart:
    key: str
    title: str
    description: str
    label_header: str
    value_header: str
    bars: list[Bar]
    # The whole table, which may hold more rows than the bars (e.g. every country).
    rows: list[tuple[str, int]]
    total: int

    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def height(self) -> int:
        return TOP * 2 + ROW_HEIGHT * len(self.bars)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class DayRow:
    day: date
    new: int
    total: int


@dataclass(frozen=True)
class TimeChart:
    key: str
    title: str
    description: str
    line: str  # polyline points
    area: str  # path of the area under the line
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    rows: list[DayRow]

    width: int = WIDTH
    height: int = TIME_HEIGHT
    left: int = PLOT_LEFT
    right: int = WIDTH - PLOT_RIGHT
    top: int = PLOT_TOP
    bottom: int = TIME_HEIGHT - PLOT_BOTTOM


def _count(value: int) -> str:
    return number(value)


def _plural(value: int, noun: str) -> str:
    return f"{_count(value)} {noun}{'' if value == 1 else 's'}"


def _english_summary(noun: str, groups: tuple[str, str]) -> Callable[[int, int], str]:
    def summary(total: int, count: int) -> str:
        group = groups[0] if count == 1 else groups[1]
        return f"{_plural(total, noun)} across {_count(count)} {group}."

    return summary


def bar_chart(
    key: str,
    title: str,
    rows: list[tuple[str, int]],
    *,
    label_header: str,
    value_header: str,
    noun: str,
    groups: tuple[str, str],
    shown: int | None = None,
    others: str = "Others",
    summary: Callable[[int, int], str] | None = None,
    empty: str | None = None,
) -> BarChart:
    """Horizontal bars for ``rows`` (label, count), largest first.

    ``noun`` is what is counted ("signature"), ``groups`` what the rows are, singular and
    plural ("country", "countries"). With ``shown``, the first ``shown`` rows get a bar
    each and the rest share one (``others``); the table keeps every row. ``summary``
    (total, number of rows) and ``empty`` say the same in the reader's language.
    """
    ordered = sorted(rows, key=lambda row: (-row[1], row[0]))
    total = sum(value for _, value in ordered)
    drawn = ordered
    if shown is not None and len(ordered) > shown + 1:
        rest = ordered[shown:]
        drawn = [*ordered[:shown], (f"{others} ({len(rest)})", sum(v for _, v in rest))]
    largest = max((value for _, value in drawn), default=0)
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = [
        Bar(
            label=label,
            value=value,
            y=TOP + index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2,
            # A bar of 1 among 100,000 still shows as a sliver.
            length=max(1.0, round(room * value / largest, 1)) if largest else 0.0,
        )
        for index, (label, value) in enumerate(drawn)
    ]
    if ordered:
        leaders = ", ".join(f"{label} {_count(value)}" for label, value in ordered[:3])
        said = (summary or _english_summary(noun, groups))(total, len(ordered))
        description = f"{said} {gettext('Most: %(leaders)s.', leaders=leaders)}"
    else:
        description = empty or f"No {noun}s yet."
    return BarChart(
        key=key,
        title=title,
        description=description,
        label_header=label_header,
        value_header=value_header,
        bars=bars,
        rows=ordered,
        total=total,
    )


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^k (k ≥ 0) at or above ``value``: a round axis top."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _day_label(day: date, with_year: bool) -> str:
    return month_day(day, with_year)


def _long_day(day: date) -> str:
    return day_date(day)


def time_chart(per_day: list[tuple[date, int]]) -> TimeChart:
    """Signatures over time: the running total at the end of each UTC day, as a line."""
    counts = dict(per_day)
    first, last = per_day[0][0], per_day[-1][0]
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    rows: list[DayRow] = []
    running = 0
    for day in days:
        running += counts.get(day, 0)
        rows.append(DayRow(day, counts.get(day, 0), running))

    top = nice_ceiling(running)
    left, right = PLOT_LEFT, WIDTH - PLOT_RIGHT
    plot_top, bottom = PLOT_TOP, TIME_HEIGHT - PLOT_BOTTOM
    span = max(1, len(days) - 1)

    def x(index: int) -> float:
        # A single day still draws: as a flat line across the plot.
        return round(left + (right - left) * (index / span if len(days) > 1 else 1), 1)

    def y(value: int) -> float:
        return round(bottom - (bottom - plot_top) * value / top, 1)

    points = [(x(i), y(row.total)) for i, row in enumerate(rows)]
    if len(points) == 1:
        points = [(float(left), points[0][1]), points[0]]
    line = " ".join(f"{px},{py}" for px, py in points)
    area = (
        f"M{points[0][0]},{bottom} "
        + " ".join(f"L{px},{py}" for px, py in points)
        + f" L{points[-1][0]},{bottom} Z"
    )

    steps = 4 if top >= 4 else top
    y_ticks = [Tick(y(top * n // steps), _count(top * n // steps)) for n in range(steps + 1)]
    with_year = first.year != last.year
    count = min(X_TICKS, len(days))
    indexes = sorted({round(n * (len(days) - 1) / max(1, count - 1)) for n in range(count)})
    x_ticks = [
        Tick(x(i), _day_label(days[i], with_year or i in (0, len(days) - 1))) for i in indexes
    ]

    busiest = max(rows, key=lambda row: (row.new, -row.day.toordinal()))
    description = " ".join(
        (
            gettext(
                "From %(first)s to %(last)s the total grew from %(start)s to %(end)s.",
                first=_long_day(first),
                last=_long_day(last),
                start=_count(rows[0].total),
                end=_count(running),
            ),
            count_text(
                "The busiest day was %(day)s, with %(num)s new signature.",
                "The busiest day was %(day)s, with %(num)s new signatures.",
                busiest.new,
                day=_long_day(busiest.day),
            ),
        )
    )
    return TimeChart(
        key="over-time",
        title=gettext("Signatures over time"),
        description=description,
        line=line,
        area=area,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        rows=rows,
    )


def _signatures_by_country(total: int, count: int) -> str:
    return gettext(
        "%(signatures)s across %(countries)s.",
        signatures=count_text("%(num)s signature", "%(num)s signatures", total),
        countries=count_text("%(num)s country", "%(num)s countries", count),
    )


def _organizations_by_type(total: int, count: int) -> str:
    return gettext(
        "%(organizations)s across %(types)s.",
        organizations=count_text("%(num)s organization", "%(num)s organizations", total),
        types=count_text("%(num)s type", "%(num)s types", count),
    )


@dataclass(frozen=True)
class LetterCharts:
    """The charts of the stats page."""

    by_country: BarChart
    by_type: BarChart
    over_time: TimeChart | None


def letter_charts(
    countries: dict[str, int], types: dict[str, int], per_day: list[tuple[date, int]]
) -> LetterCharts:
    """The published list by country, by organization type, and over time."""
    return LetterCharts(
        by_country=bar_chart(
            "by-country",
            gettext("Signatures by country"),
            [(local_country_name(code), n) for code, n in countries.items()],
            label_header=gettext("Country"),
            value_header=gettext("Signatures"),
            noun="signature",
            groups=("country", "countries"),
            shown=TOP_COUNTRIES,
            others=gettext("Other countries"),
            summary=_signatures_by_country,
            empty=gettext("No signatures yet."),
        ),
        by_type=bar_chart(
            "by-type",
            gettext("Organizations by type"),
            [(organization_type_name(code), n) for code, n in types.items()],
            label_header=gettext("Type"),
            value_header=gettext("Organizations"),
            noun="organization",
            groups=("type", "types"),
            summary=_organizations_by_type,
            empty=gettext("No organizations yet."),
        ),
        over_time=time_chart(per_day) if per_day else None,
    )
