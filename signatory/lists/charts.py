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
from signatory.lists.worldmap import WorldMap, world_map

WIDTH = 640
LABEL_WIDTH = 240
VALUE_WIDTH = 70
ROW_HEIGHT = 28
BAR_HEIGHT = 18
TOP = 8
LABEL_CHARACTERS = 32
TOP_COUNTRIES = 12
# A phone's drawing of the same chart, at about the width it is shown (390 px less the
# page's margins), so its text stays the page's size: each label above its bar.
NARROW_WIDTH = 360
NARROW_VALUE_WIDTH = 64
NARROW_ROW_HEIGHT = 42
NARROW_BAR_HEIGHT = 14

PLOT_LEFT = 64
PLOT_RIGHT = 16
PLOT_TOP = 16
PLOT_BOTTOM = 40
TIME_HEIGHT = 280
NARROW_PLOT_LEFT = 52
NARROW_TIME_HEIGHT = 240
# At least this much room per date on the time axis, so no two labels ever touch.
X_TICK_SPACING = 110
Y_TICKS = 4


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    index: int
    # The bar's share of the room it may fill: 1 for the largest named row. The group of
    # every other row (``rest``) is drawn on the same scale, cut at the end of the room
    # (``capped``) when it outgrows it, so the named rows stay readable beside it.
    fraction: float
    rest: bool = False

    @property
    def short_label(self) -> str:
        """The label cut to fit beside the bar; the table below has it whole."""
        if len(self.label) <= LABEL_CHARACTERS:
            return self.label
        return self.label[: LABEL_CHARACTERS - 1].rstrip() + "…"

    @property
    def capped(self) -> bool:
        return self.fraction > 1

    def _length(self, room: int) -> float:
        # A bar of 1 among 100,000 still shows as a sliver.
        return max(1.0, round(room * min(self.fraction, 1.0), 1)) if self.fraction else 0.0

    @property
    def y(self) -> float:
        return TOP + self.index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2

    @property
    def length(self) -> float:
        return self._length(WIDTH - LABEL_WIDTH - VALUE_WIDTH)

    @property
    def narrow_label_y(self) -> float:
        return TOP + self.index * NARROW_ROW_HEIGHT + 13

    @property
    def narrow_y(self) -> float:
        return self.narrow_label_y + 8

    @property
    def narrow_length(self) -> float:
        return self._length(NARROW_WIDTH - NARROW_VALUE_WIDTH)


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
    narrow_width: int = NARROW_WIDTH
    narrow_bar_height: int = NARROW_BAR_HEIGHT

    @property
    def height(self) -> int:
        return TOP * 2 + ROW_HEIGHT * len(self.bars)

    @property
    def narrow_height(self) -> int:
        return TOP * 2 + NARROW_ROW_HEIGHT * len(self.bars)


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
class TimePlot:
    """The time chart drawn at one width: its line, area and ticks."""

    name: str  # "wide" or "narrow"
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    line: str  # polyline points
    area: str  # path of the area under the line
    x_ticks: list[Tick]
    y_ticks: list[Tick]


@dataclass(frozen=True)
class TimeChart:
    key: str
    title: str
    description: str
    rows: list[DayRow]
    plots: tuple[TimePlot, TimePlot]  # wide, narrow

    @property
    def line(self) -> str:
        return self.plots[0].line

    @property
    def x_ticks(self) -> list[Tick]:
        return self.plots[0].x_ticks

    @property
    def y_ticks(self) -> list[Tick]:
        return self.plots[0].y_ticks


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
    grouped = len(drawn) < len(ordered)
    named = drawn[:-1] if grouped else drawn
    largest = max((value for _, value in named), default=0)
    bars = [
        Bar(
            label=label,
            value=value,
            index=index,
            fraction=value / largest if largest else 0.0,
            rest=grouped and index == len(drawn) - 1,
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


def nice_axis(value: int, steps: int = Y_TICKS) -> tuple[int, int]:
    """A round axis for counts up to ``value``: (top, step), the step 1, 2 or 5 × 10^k.

    At most ``steps`` steps of whole numbers: 50 gives 0, 20, 40, 60, not 0, 12, 25, 37, 50.
    """
    step = nice_ceiling(math.ceil(max(value, 1) / steps))
    return step * math.ceil(max(value, 1) / step), step


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

    plots = (
        _time_plot("wide", rows, WIDTH, TIME_HEIGHT, PLOT_LEFT),
        _time_plot("narrow", rows, NARROW_WIDTH, NARROW_TIME_HEIGHT, NARROW_PLOT_LEFT),
    )
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
        rows=rows,
        plots=plots,
    )


def _spaced(days: int, per_day: float) -> list[int]:
    """Which of ``days`` get a date on the axis: first and last, and as many evenly between
    as keep ``X_TICK_SPACING`` pixels between any two (``per_day`` pixels a day)."""
    if days == 1:
        return [0]
    for count in range(min(days, 12), 2, -1):
        indexes = sorted({round(n * (days - 1) / (count - 1)) for n in range(count)})
        if (
            min(b - a for a, b in zip(indexes, indexes[1:], strict=False)) * per_day
            >= X_TICK_SPACING
        ):
            return indexes
    return [0, days - 1]


def _time_plot(name: str, rows: list[DayRow], width: int, height: int, left: int) -> TimePlot:
    """The running total of ``rows`` drawn ``width`` wide: round y ticks, dates that never touch."""
    days = [row.day for row in rows]
    top, step = nice_axis(rows[-1].total)
    right, plot_top, bottom = width - PLOT_RIGHT, PLOT_TOP, height - PLOT_BOTTOM
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
    y_ticks = [Tick(y(value), _count(value)) for value in range(0, top + 1, step)]
    # The year only where the dates span two; the table names every day in full.
    with_year = days[0].year != days[-1].year
    indexes = _spaced(len(days), (right - left) / span if len(days) > 1 else 0)
    x_ticks = [Tick(x(i), _day_label(days[i], with_year)) for i in indexes]
    return TimePlot(
        name, width, height, left, right, plot_top, bottom, line, area, x_ticks, y_ticks
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
    world: WorldMap | None  # drawn with by_country, whose table holds its numbers
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
        world=world_map(countries) if countries else None,
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
