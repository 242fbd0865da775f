"""The stats page's world map: each country shaded by its number of signatures.

The shapes (``world-map.json``) are Natural Earth's 1:110m countries in the Equal Earth
projection, built once by ``scripts/build_world_map.py`` and kept with the code, so the
map is drawn on the server with no script and no request elsewhere. Shades come in at
most five steps with round bounds (1–9, 10–99, …) so that a reader can tell them apart,
and the legend says each step's range in words; the by-country table beside the map holds
every number, including countries too small to draw at this scale.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

from flask_babel import gettext

from signatory.core.i18n import local_country_name, number

STEPS = 5


@dataclass(frozen=True)
class Shape:
    code: str  # ISO 3166-1 alpha-2; "" for land with no code of its own
    name: str
    path: str
    signatures: int
    shade: int  # its colour: 0 for none, else 1 (palest) to STEPS (darkest)


@dataclass(frozen=True)
class Step:
    shade: int
    label: str  # "10–99"


@dataclass(frozen=True)
class WorldMap:
    width: int
    height: int
    shapes: list[Shape]
    legend: list[Step]
    description: str


@cache
def _drawing() -> dict:
    text = resources.files("signatory.lists").joinpath("world-map.json").read_text("utf-8")
    return json.loads(text)


def _round_numbers(largest: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, … up to ``largest``."""
    found: list[int] = []
    power = 1
    while power <= largest:
        found.extend(n for n in (power, 2 * power, 5 * power) if n <= largest)
        power *= 10
    return found


def step_floors(largest: int, steps: int = STEPS) -> list[int]:
    """The lowest count of each shade: round numbers spaced evenly on a log scale.

    ``step_floors(50_000)`` is ``[1, 10, 100, 500, 5000]``; ``step_floors(3)`` is ``[1, 2]``.
    """
    if largest < 1:
        return []
    candidates = _round_numbers(largest)
    floors: list[int] = []
    for i in range(steps):
        target = math.log10(largest) * i / steps
        nearest = min(candidates, key=lambda n: (abs(math.log10(n) - target), n))
        if not floors or nearest > floors[-1]:
            floors.append(nearest)
    return floors


def _shade(step: int, floors: list[int]) -> int:
    """The colour of ``step`` (1 for the lowest): the top step is always the darkest, so a
    letter with few signatures per country still draws in colours that stand apart."""
    return 0 if step == 0 else STEPS - len(floors) + step


def _step(count: int, floors: list[int]) -> int:
    return sum(1 for floor in floors if count >= floor)


def _range(low: int, high: int) -> str:
    return number(low) if low == high else f"{number(low)}–{number(high)}"


def world_map(countries: dict[str, int]) -> WorldMap:
    """The map of ``countries`` (alpha-2 code → published signatures)."""
    drawing = _drawing()
    largest = max(countries.values(), default=0)
    floors = step_floors(largest)
    shapes = [
        Shape(
            code=code,
            name=local_country_name(code) if code else "",
            path=path,
            signatures=countries.get(code, 0) if code else 0,
            shade=_shade(_step(countries.get(code, 0), floors), floors) if code else 0,
        )
        for code, path in drawing["shapes"].items()
    ]
    highs = [floor - 1 for floor in floors[1:]] + [largest]
    legend = [
        Step(_shade(step, floors), _range(low, high))
        for step, (low, high) in enumerate(zip(floors, highs, strict=True), start=1)
    ]
    description = gettext(
        "A world map: the darker a country, the more signatures from it; "
        "no shade means none. Every country, including those too small to draw, "
        "is in the table of signatures by country."
    )
    return WorldMap(drawing["width"], drawing["height"], shapes, legend, description)
